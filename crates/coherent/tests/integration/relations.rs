//! Many-to-one references (`Ref<T>`, `#[many_to_one]`): foreign keys in the schema, keys
//! round-tripping, `get_reference` without a query, no hidden loads, and inserts and deletes
//! in dependency order.

use crate::common::*;
use coherent::Error;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "publishers")]
pub struct Publisher {
    #[primary_key]
    pub code: String,
    pub name: String,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "authors")]
pub struct Author {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "books")]
pub struct Book {
    #[primary_key]
    pub id: i64,
    pub title: String,
    #[many_to_one]
    pub author: Ref<Author>,
    #[many_to_one]
    pub publisher: Option<Ref<Publisher>>,
}

/// Registered children first: the commit order, not the registration order, decides.
async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| o.entity::<Book>().entity::<Author>().entity::<Publisher>())
        .await
}

fn book(title: &str, author: Ref<Author>, publisher: Option<Ref<Publisher>>) -> Book {
    Book {
        id: 0,
        title: title.into(),
        author,
        publisher,
    }
}

#[tokio::test]
async fn references_store_keys_and_never_load_behind_the_callers_back() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let ann = em
            .persist(Author {
                id: 0,
                name: "Ann".into(),
            })
            .unwrap();
        em.flush().await.unwrap();
        let ann_id = ann.read().id;
        em.persist(book("Dune", Ref::to(&ann), None)).unwrap();
        em.flush().await.unwrap();

        let reader = orm.em().fork();
        let log = StatementLog::capture();
        let books = reader.find::<Book>(Filter::all()).await.unwrap();
        assert_eq!(
            log.take().len(),
            1,
            "{}: one query, no hidden loads",
            b.name
        );
        let dune = books[0].read().clone();
        assert_eq!(dune.author.key(), ann_id, "{}", b.name);
        assert_eq!(dune.publisher, None);
        let err = dune.author.get().unwrap_err();
        assert!(
            matches!(
                err,
                Error::ReferenceNotLoaded {
                    entity: "Author",
                    ..
                }
            ),
            "{err:?}"
        );
        // Loading is explicit; a second load is answered from the identity map.
        let author = reader.load(&dune.author).await.unwrap();
        assert_eq!(author.read().name, "Ann");
        log.take();
        let again = reader.load(&dune.author).await.unwrap();
        assert!(Managed::ptr_eq(&author, &again));
        assert!(
            log.take().is_empty(),
            "{}: no query for a loaded entity",
            b.name
        );
        // get_reference: the managed instance if loaded, else a key, never a query.
        let r = reader.get_reference::<Author>(ann_id).unwrap();
        assert!(r.is_loaded() && Managed::ptr_eq(r.get().unwrap(), &author));
        let r = reader.get_reference::<Author>(ann_id + 1000).unwrap();
        assert!(!r.is_loaded());
        assert!(log.take().is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn a_reference_to_a_missing_row_is_a_foreign_key_violation_and_writes_nothing() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let orphan = em.persist(book("Orphan", Ref::to_key(4242), None)).unwrap();
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::ForeignKey),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(orphan.read().id, 0, "{}: still pending", b.name);
        let count = orm.em().fork().count::<Book>(Filter::all()).await.unwrap();
        assert_eq!(count, 0, "{}", b.name);
    }
}

#[tokio::test]
async fn inserts_follow_references_and_deletes_go_the_other_way() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let ann = em
            .persist(Author {
                id: 0,
                name: "Ann".into(),
            })
            .unwrap();
        em.flush().await.unwrap();
        // A new publisher (client key) and a book pointing at it, in one flush: the
        // publisher's INSERT must come first although Book was registered first.
        let acme = em
            .persist(Publisher {
                code: "acme".into(),
                name: "Acme".into(),
            })
            .unwrap();
        let book = em
            .persist(book("Dune", Ref::to(&ann), Some(Ref::to(&acme))))
            .unwrap();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let inserts: Vec<String> = log
            .take()
            .into_iter()
            .filter(|s| s.starts_with("INSERT"))
            .collect();
        assert_eq!(inserts.len(), 2, "{}: {inserts:?}", b.name);
        assert!(inserts[0].contains("publishers"), "{}: {inserts:?}", b.name);
        assert!(inserts[1].contains("books"), "{}: {inserts:?}", b.name);
        // Both removed in one flush: the book goes first, or the foreign key would refuse.
        em.remove(&acme).unwrap();
        em.remove(&book).unwrap();
        em.remove(&ann).unwrap();
        em.flush().await.unwrap();
        let check = orm.em().fork();
        assert_eq!(check.count::<Book>(Filter::all()).await.unwrap(), 0);
        assert_eq!(check.count::<Publisher>(Filter::all()).await.unwrap(), 0);
        assert_eq!(
            check.count::<Author>(Filter::all()).await.unwrap(),
            0,
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn changing_a_reference_writes_the_new_key() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let ann = em
            .persist(Author {
                id: 0,
                name: "Ann".into(),
            })
            .unwrap();
        let bob = em
            .persist(Author {
                id: 0,
                name: "Bob".into(),
            })
            .unwrap();
        em.flush().await.unwrap();
        let dune = em.persist(book("Dune", Ref::to(&ann), None)).unwrap();
        em.flush().await.unwrap();
        dune.write().author = Ref::to(&bob);
        assert_eq!(dune.changed_columns(), vec!["author_id"], "{}", b.name);
        em.flush().await.unwrap();
        let fresh = orm.em().fork();
        let stored = fresh
            .find_one_or_fail::<Book>(dune.read().id)
            .await
            .unwrap();
        assert_eq!(stored.read().author.key(), bob.read().id, "{}", b.name);
    }
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "reviews")]
pub struct Review {
    #[primary_key]
    pub id: i64,
    #[column(unique)]
    pub slug: String,
    #[many_to_one]
    pub book: Ref<Book>,
}

/// An Orm with reviews (children of books, children of authors) registered first.
async fn orm_with_reviews(b: &Backend) -> Orm {
    b.orm_with(|o| {
        o.entity::<Review>()
            .entity::<Book>()
            .entity::<Author>()
            .entity::<Publisher>()
    })
    .await
}

/// A new author, a new book of theirs and a new review of it with `slug`, all pending.
fn new_chain(
    em: &EntityManager,
    author: &str,
    slug: &str,
) -> (Managed<Author>, Managed<Book>, Managed<Review>) {
    let a = em
        .persist(Author {
            id: 0,
            name: author.into(),
        })
        .unwrap();
    let bk = em.persist(book(author, Ref::to(&a), None)).unwrap();
    let r = em
        .persist(Review {
            id: 0,
            slug: slug.into(),
            book: Ref::to(&bk),
        })
        .unwrap();
    (a, bk, r)
}

/// A new author, a new book by them and a new review of it, in one flush: each type's
/// INSERT runs once its parent's generated key is known (staged, in one transaction).
#[tokio::test]
async fn new_children_of_new_parents_get_their_keys_in_one_flush() {
    for b in backends() {
        let orm = orm_with_reviews(&b).await;
        let em = orm.em().fork();
        let (ann, dune, review) = new_chain(&em, "Ann", "great");
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let inserts: Vec<String> = log
            .take()
            .into_iter()
            .filter(|s| s.starts_with("INSERT"))
            .collect();
        assert_eq!(inserts.len(), 3, "{}: {inserts:?}", b.name);
        let (author_id, book_id) = (ann.read().id, dune.read().id);
        assert!(
            author_id > 0 && book_id > 0 && review.read().id > 0,
            "{}",
            b.name
        );
        let fresh = orm.em().fork();
        let stored = fresh.find_one_or_fail::<Book>(book_id).await.unwrap();
        assert_eq!(stored.read().author.key(), author_id, "{}", b.name);
        let stored = fresh
            .find_one_or_fail::<Review>(review.read().id)
            .await
            .unwrap();
        assert_eq!(stored.read().book.key(), book_id, "{}", b.name);
        assert!(
            !dune.is_dirty() && !review.is_dirty(),
            "{}: clean after the flush",
            b.name
        );
    }
}

/// The last stage fails (a duplicate slug): the whole flush is undone, in the database and in
/// memory (the author's and book's keys are unassigned again, all three still pending), and
/// flushing again once fixed writes each row once.
#[tokio::test]
async fn a_failed_stage_undoes_the_earlier_stages_in_memory_too() {
    for b in backends() {
        let orm = orm_with_reviews(&b).await;
        let seed = orm.em().fork();
        new_chain(&seed, "Old", "taken");
        seed.flush().await.unwrap();

        let em = orm.em().fork();
        let (ann, dune, review) = new_chain(&em, "Ann", "taken");
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(
            (ann.read().id, dune.read().id, review.read().id),
            (0, 0, 0),
            "{}",
            b.name
        );
        let check = orm.em().fork();
        assert_eq!(
            check.count::<Author>(Filter::all()).await.unwrap(),
            1,
            "{}",
            b.name
        );
        assert_eq!(
            check.count::<Book>(Filter::all()).await.unwrap(),
            1,
            "{}",
            b.name
        );
        assert!(
            !em.in_transaction().await,
            "{}: the staged scope ended",
            b.name
        );

        review.write().slug = "fresh".into();
        em.flush().await.unwrap();
        assert_eq!(
            check.count::<Author>(Filter::all()).await.unwrap(),
            2,
            "{}",
            b.name
        );
        assert_eq!(
            check.count::<Book>(Filter::all()).await.unwrap(),
            2,
            "{}",
            b.name
        );
        assert_eq!(
            check.count::<Review>(Filter::all()).await.unwrap(),
            2,
            "{}",
            b.name
        );
        let stored = check
            .find_one_or_fail::<Book>(dune.read().id)
            .await
            .unwrap();
        assert_eq!(stored.read().author.key(), ann.read().id, "{}", b.name);
    }
}

/// Populating the authors of 100 books is one query (select-in by key), not one per book;
/// afterwards every `em.load(&book.author)` is answered from the identity map.
#[tokio::test]
async fn populating_references_of_100_parents_is_one_query() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let seed = orm.em().fork();
        let authors: Vec<_> = (0..10)
            .map(|i| {
                seed.persist(Author {
                    id: 0,
                    name: format!("a{i}"),
                })
                .unwrap()
            })
            .collect();
        seed.flush().await.unwrap();
        for i in 0..100 {
            seed.persist(book(&format!("b{i}"), Ref::to(&authors[i % 10]), None))
                .unwrap();
        }
        seed.flush().await.unwrap();

        let em = orm.em().fork();
        let books = em.find::<Book>(Filter::all()).await.unwrap();
        assert_eq!(books.len(), 100);
        let log = StatementLog::capture();
        let loaded = em
            .populate(&books, |b: &Book| Some(&b.author))
            .await
            .unwrap();
        let statements = log.take();
        assert_eq!(statements.len(), 1, "{}: {statements:?}", b.name);
        assert_eq!(loaded.len(), 10, "{}", b.name);
        for bk in &books {
            let r = bk.read().author.clone();
            let a = em.load(&r).await.unwrap();
            assert_eq!(a.read().id, r.key());
        }
        assert!(
            log.take().is_empty(),
            "{}: every load from the identity map",
            b.name
        );
        // Nothing left to load: no query at all.
        em.populate(&books, |b: &Book| Some(&b.author))
            .await
            .unwrap();
        assert!(log.take().is_empty(), "{}", b.name);
        // Optional references: none set, nothing to query.
        let none = em
            .populate(&books, |b: &Book| b.publisher.as_ref())
            .await
            .unwrap();
        assert!(none.is_empty() && log.take().is_empty(), "{}", b.name);
    }
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "teams")]
pub struct Team {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[many_to_one]
    pub captain: Option<Ref<Player>>,
}

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "players")]
pub struct Player {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[many_to_one]
    pub team: Ref<Team>,
}

/// A new team whose captain is a new player of it: a cycle, all pending.
fn team_with_captain(
    em: &EntityManager,
    team: &str,
    captain: &str,
) -> (Managed<Team>, Managed<Player>) {
    let t = em
        .persist(Team {
            id: 0,
            name: team.into(),
            captain: None,
        })
        .unwrap();
    let p = em
        .persist(Player {
            id: 0,
            name: captain.into(),
            team: Ref::to(&t),
        })
        .unwrap();
    t.write().captain = Some(Ref::to(&p));
    (t, p)
}

/// The logged statements that start with one of `kinds`, identifiers unquoted, checked
/// against `expected` prefixes in order.
fn assert_writes(log: &StatementLog, kinds: &[&str], expected: &[&str], backend: &str) {
    let writes: Vec<String> = log
        .take()
        .into_iter()
        .filter(|s| kinds.iter().any(|k| s.starts_with(k)))
        .map(|s| s.replace(['"', '`'], ""))
        .collect();
    assert_eq!(writes.len(), expected.len(), "{backend}: {writes:?}");
    for (w, e) in writes.iter().zip(expected) {
        assert!(w.starts_with(e), "{backend}: {writes:?}");
    }
}

/// A cycle (a team's captain is one of its players): broken at the nullable reference, as
/// Doctrine and MikroORM do. The team is inserted with no captain, then its player, then an
/// UPDATE sets the captain, all in one flush.
#[tokio::test]
async fn a_dependency_cycle_is_broken_at_the_nullable_reference() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Player>().entity::<Team>()).await;
        let em = orm.em().fork();
        let (team, ann) = team_with_captain(&em, "Reds", "Ann");
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert_writes(
            &log,
            &["INSERT", "UPDATE"],
            &["INSERT INTO teams", "INSERT INTO players", "UPDATE teams"],
            b.name,
        );
        assert!(!team.is_dirty() && !ann.is_dirty(), "{}", b.name);
        let fresh = orm.em().fork();
        let stored = fresh
            .find_one_or_fail::<Team>(team.read().id)
            .await
            .unwrap();
        let captain = stored.read().captain.clone().unwrap();
        assert_eq!(captain.key(), ann.read().id, "{}", b.name);
        let player = fresh
            .find_one_or_fail::<Player>(ann.read().id)
            .await
            .unwrap();
        assert_eq!(player.read().team.key(), team.read().id, "{}", b.name);
    }
}

/// Deleting both sides of a cycle in one flush: the nullable side is unlinked first (an
/// UPDATE setting the captain to NULL), then the rows are deleted.
#[tokio::test]
async fn deleting_a_dependency_cycle_unlinks_the_nullable_side_first() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Player>().entity::<Team>()).await;
        let em = orm.em().fork();
        let (team, bob) = team_with_captain(&em, "Blues", "Bob");
        em.flush().await.unwrap();

        em.remove(&team).unwrap();
        em.remove(&bob).unwrap();
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert_writes(
            &log,
            &["UPDATE", "DELETE"],
            &["UPDATE teams", "DELETE FROM players", "DELETE FROM teams"],
            b.name,
        );
        let check = orm.em().fork();
        assert_eq!(check.count::<Team>(Filter::all()).await.unwrap(), 0);
        assert_eq!(check.count::<Player>(Filter::all()).await.unwrap(), 0);
    }
}

/// With transactions disabled the stages still run in order (each a plain batch): new
/// children of new parents get their keys in one flush, and a failing stage keeps what ran
/// before it, as every flush without transactions does.
#[tokio::test]
async fn stages_run_in_order_with_transactions_disabled_too() {
    for b in backends() {
        let orm = b
            .orm_with(|o| {
                o.disable_transactions(true)
                    .entity::<Review>()
                    .entity::<Book>()
                    .entity::<Author>()
                    .entity::<Publisher>()
            })
            .await;
        let em = orm.em().fork();
        let (a, bk, r) = new_chain(&em, "Ann", "first");
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let kinds = statement_kinds(&log.take());
        assert!(
            !kinds
                .iter()
                .any(|k| k.starts_with("BEGIN") || k.starts_with("SAVEPOINT")),
            "{}: {kinds:?}",
            b.name
        );
        assert_eq!(r.read().book.key(), bk.read().id, "{}", b.name);
        assert_eq!(bk.read().author.key(), a.read().id, "{}", b.name);

        // A duplicate review slug fails the last stage: the author and book stay written
        // and managed, the review pending; fixing it writes only the review.
        let (a2, _bk2, r2) = new_chain(&em, "Bob", "first");
        assert!(em.flush().await.is_err());
        assert!(a2.read().id > 0 && r2.read().id == 0, "{}", b.name);
        r2.write().slug = "second".into();
        em.flush().await.unwrap();
        let check = orm.em().fork();
        assert_eq!(
            check.count::<Author>(Filter::all()).await.unwrap(),
            2,
            "{}",
            b.name
        );
        assert_eq!(
            check.count::<Review>(Filter::all()).await.unwrap(),
            2,
            "{}",
            b.name
        );
    }
}
