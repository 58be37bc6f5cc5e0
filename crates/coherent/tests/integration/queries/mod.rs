//! Queries beyond the entity's own columns (issue 13): relation-path filters, more
//! operators, ordering by related columns, raw fragments, and selects of typed values
//! (aggregates, projections, `exists`). Every test runs on every backend
//! against one small library ([`seed`]).

mod aggregates;
mod operators;
mod pagination;
mod partial;
mod raw_entities;
mod relation_filters;

use crate::common::*;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug)]
#[entity(table = "q_countries")]
pub struct Country {
    #[primary_key]
    pub id: i64,
    pub name: String,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "q_authors")]
pub struct Author {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub born: Option<i32>,
    #[many_to_one]
    pub country: Option<Ref<Country>>,
    #[one_to_many(mapped_by = "author")]
    pub books: Collection<Book>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "q_books")]
pub struct Book {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub pages: i32,
    pub price: Option<i32>,
    #[many_to_one]
    pub author: Ref<Author>,
    #[many_to_many]
    pub genres: Collection<Genre>,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "q_genres")]
pub struct Genre {
    #[primary_key]
    pub id: i64,
    pub name: String,
    #[many_to_many(mapped_by = "genres")]
    pub books: Collection<Book>,
}

pub async fn orm_for(b: &Backend) -> Orm {
    b.orm_with(|o| {
        o.entity::<Country>()
            .entity::<Author>()
            .entity::<Book>()
            .entity::<Genre>()
    })
    .await
}

/// The library every query test reads:
///
/// | author | born | country | books (pages, price, genres)                                   |
/// |--------|------|---------|----------------------------------------------------------------|
/// | Ann    | 1950 | UK      | "Rust in Action" (300, 40, tech); "Dune 50%_off" (500, NULL, scifi) |
/// | Bob    | NULL | FR      | "rust for kids" (100, 10, tech)                                 |
/// | Cid    | 1970 | none    | "Go Programming" (250, 30, tech)                                |
/// | Dee    | 1960 | UK      | none                                                           |
pub async fn seed(orm: &Orm) {
    let em = orm.em().fork();
    let uk = em
        .persist(Country {
            id: 0,
            name: "UK".into(),
        })
        .unwrap();
    let fr = em
        .persist(Country {
            id: 0,
            name: "FR".into(),
        })
        .unwrap();
    let author = |name: &str, born: Option<i32>, country: Option<&Managed<Country>>| Author {
        id: 0,
        name: name.into(),
        born,
        country: country.map(Ref::to),
        books: Collection::new(),
    };
    let ann = em.persist(author("Ann", Some(1950), Some(&uk))).unwrap();
    let bob = em.persist(author("Bob", None, Some(&fr))).unwrap();
    let cid = em.persist(author("Cid", Some(1970), None)).unwrap();
    em.persist(author("Dee", Some(1960), Some(&uk))).unwrap();
    let tech = em
        .persist(Genre {
            id: 0,
            name: "tech".into(),
            books: Collection::new(),
        })
        .unwrap();
    let scifi = em
        .persist(Genre {
            id: 0,
            name: "scifi".into(),
            books: Collection::new(),
        })
        .unwrap();
    for (title, pages, price, by, genre) in [
        ("Rust in Action", 300, Some(40), &ann, &tech),
        ("Dune 50%_off", 500, None, &ann, &scifi),
        ("rust for kids", 100, Some(10), &bob, &tech),
        ("Go Programming", 250, Some(30), &cid, &tech),
    ] {
        let book = em
            .persist(Book {
                id: 0,
                title: title.into(),
                pages,
                price,
                author: Ref::to(by),
                genres: Collection::new(),
            })
            .unwrap();
        book.write().genres.add(genre).unwrap();
    }
    em.flush().await.unwrap();
}

/// The names of `authors`, in order.
pub fn names(authors: &[Managed<Author>]) -> Vec<String> {
    authors.iter().map(|a| a.read().name.clone()).collect()
}

/// The titles of `books`, in order.
pub fn titles(books: &[Managed<Book>]) -> Vec<String> {
    books.iter().map(|b| b.read().title.clone()).collect()
}

/// The names of the authors matching `filter`, sorted by code point (not by the
/// database's collation, which differs between servers).
pub async fn authors(orm: &Orm, filter: Filter<Author>) -> Vec<String> {
    let em = orm.em().fork();
    let mut found = names(&em.find(filter).await.unwrap());
    found.sort();
    found
}

/// The titles of the books matching `filter`, sorted by code point.
pub async fn books(orm: &Orm, filter: Filter<Book>) -> Vec<String> {
    let em = orm.em().fork();
    let mut found = titles(&em.find(filter).await.unwrap());
    found.sort();
    found
}
