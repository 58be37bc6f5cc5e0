//! Relations: `#[many_to_one]` references and `#[one_to_many]` collections, on an in-memory
//! SQLite database (no setup).
//!
//! It shows, printing the SQL each step runs (a `tracing` layer on the `coherent::sql` target):
//! a new author with new books and a review persisted in one flush (cascade persist); an
//! unloaded collection read as a typed error, never a hidden query; two collection levels
//! loaded with `populate` in one select-in query per level; a book moved between authors;
//! orphan removal deleting a removed review; and the flush refusing (before any SQL) to
//! orphan a book whose non-nullable reference cannot be set to NULL.
//!
//! Run: `cargo run -p coherent --example relations`

use coherent::prelude::*;
use coherent::{Error, Result};
use std::sync::Mutex;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// An author. `books` is not a column: the books' `author_id` is the truth. Removing a book
/// without adding it to another author is refused (`Book.author` is not nullable).
#[derive(Entity, Clone, Debug)]
#[entity(table = "authors")]
struct Author {
    #[primary_key]
    id: i64,
    name: String,
    #[one_to_many(mapped_by = "author")]
    books: Collection<Book>,
}

/// A book: column `author_id` is a foreign key to `authors`. A review removed from its
/// `reviews` is deleted (orphan removal).
#[derive(Entity, Clone, Debug)]
#[entity(table = "books")]
struct Book {
    #[primary_key]
    id: i64,
    title: String,
    #[many_to_one]
    author: Ref<Author>,
    #[one_to_many(mapped_by = "book", orphan_removal)]
    reviews: Collection<Review>,
}

/// A review of a book (column `book_id`).
#[derive(Entity, Clone, Debug)]
#[entity(table = "reviews")]
struct Review {
    #[primary_key]
    id: i64,
    stars: i32,
    #[many_to_one]
    book: Ref<Book>,
}

/// The SQL statements logged since the last [`take_sql`].
static SQL: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps the `sql` field of every `coherent::sql` event.
struct SqlLog;

impl<S: tracing::Subscriber> Layer<S> for SqlLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Sql(Option<String>);
        impl tracing::field::Visit for Sql {
            fn record_str(&mut self, f: &tracing::field::Field, value: &str) {
                if f.name() == "sql" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if event.metadata().target() == coherent::query_log::TARGET {
            let mut sql = Sql(None);
            event.record(&mut sql);
            SQL.lock().unwrap().extend(sql.0);
        }
    }
}

/// Prints and clears the statements run since the last call.
fn take_sql() {
    let sql = std::mem::take(&mut *SQL.lock().unwrap());
    println!("   -- {} statement(s):", sql.len());
    for s in sql {
        println!("   {s}");
    }
}

fn author(name: &str) -> Author {
    let (id, name, books) = (0, name.to_owned(), Collection::new());
    Author { id, name, books }
}

fn book(title: &str, author: &Managed<Author>) -> Book {
    let (title, author, reviews) = (title.to_owned(), Ref::to(author), Collection::new());
    Book {
        id: 0,
        title,
        author,
        reviews,
    }
}

/// The titles of an author's books (an error if they are not loaded).
fn titles(author: &Managed<Author>) -> Result<Vec<String>> {
    let books = author.read().books.items()?.to_vec();
    Ok(books.iter().map(|b| b.read().title.clone()).collect())
}

/// The book of `author` titled `title` (its books must be loaded).
fn book_titled(author: &Managed<Author>, title: &str) -> Result<Managed<Book>> {
    let books = author.read().books.items()?.to_vec();
    let found = books.into_iter().find(|b| b.read().title == title);
    Ok(found.expect("a book of the author"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let subscriber = tracing_subscriber::registry().with(SqlLog);
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let orm = Orm::builder()
        .url("sqlite::memory:")
        .entity::<Author>()
        .entity::<Book>()
        .entity::<Review>()
        .build()
        .await?;
    orm.schema().create().await?;
    println!("1. Schema: references are foreign key columns, collections are not.");
    take_sql();

    println!("\n2. Two new authors, three new books and a review, persisted by one flush:");
    let em = orm.em().fork();
    let le_guin = em.persist(author("Ursula K. Le Guin"))?;
    let earthsea = book("A Wizard of Earthsea", &le_guin);
    let earthsea = le_guin.write().books.add_new(earthsea)?; // persisted with its owner
    let dispossessed = book("The Dispossessed", &le_guin);
    le_guin.write().books.add_new(dispossessed)?;
    let review = Review {
        id: 0,
        stars: 5,
        book: Ref::to(&earthsea),
    };
    let review = earthsea.write().reviews.add_new(review)?;
    let pratchett = em.persist(author("Terry Pratchett"))?;
    pratchett.write().books.add_new(book("Mort", &pratchett))?;
    em.flush().await?;
    take_sql();
    for a in [&le_guin, &pratchett] {
        let a = a.read();
        println!(
            "   author {} {:?}, books (keys): {:?}",
            a.id, a.name, a.books
        );
    }
    let review = review.read();
    println!("   review {} -> book_id {}", review.id, review.book.key());

    println!("\n3. A plain find leaves collections unloaded: reading one is an error, no query.");
    let em = orm.em().fork();
    let plain = em.find::<Author>(Filter::all()).await?;
    take_sql();
    match plain[0].read().books.items() {
        Err(e @ Error::CollectionNotLoaded { .. }) => println!("   books.items() -> Err: {e}"),
        other => unreachable!("unexpected {other:?}"),
    }
    take_sql();

    println!("\n4. populate([\"books\", \"books.reviews\"]): one select-in query per level.");
    let em = orm.em().fork();
    let options = FindOptions {
        order_by: vec![Author::ID.asc()],
        ..Default::default()
    };
    let options = options.populate(["books", "books.reviews"]);
    let authors = em.find_with::<Author>(Filter::all(), options).await?;
    take_sql();
    for a in &authors {
        println!("   {}: {:?}", a.read().name, titles(a)?);
    }
    let (le_guin, pratchett) = (&authors[0], &authors[1]);
    let earthsea = book_titled(le_guin, "A Wizard of Earthsea")?;
    println!(
        "   reviews of Earthsea: {} (loaded)",
        earthsea.read().reviews.len()?
    );

    println!(
        "\n5. Move \"The Dispossessed\": remove it from Le Guin's books, add it to Pratchett's."
    );
    let dispossessed = book_titled(le_guin, "The Dispossessed")?;
    le_guin.write().books.remove(&dispossessed)?;
    pratchett.write().books.add(&dispossessed)?;
    em.flush().await?;
    take_sql();
    println!(
        "   Le Guin: {:?}, Pratchett: {:?}",
        titles(le_guin)?,
        titles(pratchett)?
    );

    println!("\n6. Orphan removal: a review removed from Book.reviews is deleted.");
    let review = earthsea.read().reviews.items()?[0].clone();
    earthsea.write().reviews.remove(&review)?;
    em.flush().await?;
    take_sql();

    println!("\n7. Removing a book from its author without a new one is refused, before any SQL:");
    le_guin.write().books.remove(&earthsea)?;
    match em.flush().await {
        Err(e @ Error::RemovedItemNotNullable { .. }) => println!("   flush -> Err: {e}"),
        other => unreachable!("unexpected {other:?}"),
    }
    take_sql();
    le_guin.write().books.add(&earthsea)?;
    em.flush().await?;
    println!("   added back: the next flush has nothing to write");
    take_sql();
    Ok(())
}
