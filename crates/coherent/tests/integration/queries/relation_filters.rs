//! Relation-path filters: to-one paths join (inner where the condition must hold, left and
//! guarded under `OR`/`NOT`), to-many paths are `EXISTS` subqueries with `any`, `none` and
//! `all`, many-to-many through the join table, and ordering by a related column.

use super::*;
use coherent::{Condition, Error, LockMode};

#[tokio::test]
async fn to_one_paths_join_and_nest() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let log = StatementLog::capture();
        assert_eq!(
            books(&orm, Book::AUTHOR.is(Author::NAME.eq("Ann"))).await,
            ["Dune 50%_off", "Rust in Action"],
            "{}",
            b.name
        );
        let sql = log.take();
        assert_eq!(sql.len(), 1, "{}: one statement", b.name);
        assert!(
            sql[0].contains("INNER JOIN") && !sql[0].contains("EXISTS"),
            "{}: a required to-one path is an inner join: {}",
            b.name,
            sql[0]
        );
        let in_uk = Book::AUTHOR.is(Author::COUNTRY.is(Country::NAME.eq("UK")));
        assert_eq!(
            books(&orm, in_uk.clone()).await,
            ["Dune 50%_off", "Rust in Action"],
            "{}",
            b.name
        );
        // Not written in the UK: Cid has no country, and his book still counts.
        assert_eq!(
            books(&orm, !in_uk).await,
            ["Go Programming", "rust for kids"],
            "{}",
            b.name
        );
        let sql = log.take();
        assert!(
            sql[1].contains("LEFT JOIN") && sql[1].contains("IS NOT NULL"),
            "{}: a negated path is a guarded left join: {}",
            b.name,
            sql[1]
        );
        // A missing referenced row never satisfies `is(..)`, not even `is(<column> IS NULL)`.
        assert_eq!(
            authors(
                &orm,
                Author::COUNTRY.is(Country::NAME.is_null()) | Author::BORN.is_null()
            )
            .await,
            ["Bob"],
            "{}",
            b.name
        );
        assert_eq!(
            authors(&orm, Author::COUNTRY.is(Filter::all())).await,
            ["Ann", "Bob", "Dee"],
            "{}",
            b.name
        );
        assert_eq!(
            authors(&orm, !Author::COUNTRY.is(Filter::all())).await,
            ["Cid"],
            "{}",
            b.name
        );
        // Two uses of one path share one join.
        let both = Book::AUTHOR.is(Author::BORN.lt(1960)) & Book::AUTHOR.is(Author::NAME.ne("Bob"));
        assert_eq!(books(&orm, both).await, ["Dune 50%_off", "Rust in Action"]);
        let sql = log.take();
        assert_eq!(sql[0].matches("JOIN").count(), 1, "{}: {}", b.name, sql[0]);
    }
}

#[tokio::test]
async fn to_many_paths_are_exists_subqueries() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let log = StatementLog::capture();
        assert_eq!(
            authors(&orm, Author::BOOKS.any(Book::TITLE.like("%Rust%"))).await,
            ["Ann"],
            "{}: like is case-sensitive everywhere",
            b.name
        );
        let sql = log.take();
        assert!(
            sql[0].contains("EXISTS") && !sql[0].contains("JOIN"),
            "{}: {}",
            b.name,
            sql[0]
        );
        assert_eq!(
            authors(&orm, Author::BOOKS.any(Book::TITLE.ilike("%rust%"))).await,
            ["Ann", "Bob"],
            "{}",
            b.name
        );
        assert_eq!(
            authors(&orm, Author::BOOKS.none(Filter::all())).await,
            ["Dee"],
            "{}",
            b.name
        );
        // `all` is true without items (Dee), and an unknown (NULL) price counts against it.
        assert_eq!(
            authors(&orm, Author::BOOKS.all(Book::PAGES.gt(200))).await,
            ["Ann", "Cid", "Dee"],
            "{}",
            b.name
        );
        assert_eq!(
            authors(&orm, Author::BOOKS.all(Book::PRICE.gt(5))).await,
            ["Bob", "Cid", "Dee"],
            "{}",
            b.name
        );
        // `all` over a nullable to-one path: a book whose author has no country fails it
        // (its join is a guarded left join, not an inner one that would drop the book).
        let em = orm.em().fork();
        let everywhere = em
            .find(Genre::BOOKS.all(Book::AUTHOR.is(Author::COUNTRY.is(Filter::all()))))
            .await
            .unwrap();
        let everywhere: Vec<String> = everywhere.iter().map(|g| g.read().name.clone()).collect();
        assert_eq!(everywhere, ["scifi"], "{}", b.name);
        assert_eq!(
            authors(&orm, Author::BOOKS.all(Filter::all())).await,
            ["Ann", "Bob", "Cid", "Dee"],
            "{}",
            b.name
        );
        // A to-one path inside a to-many one, and the other way round.
        assert_eq!(
            books(
                &orm,
                Book::AUTHOR.is(Author::BOOKS.any(Book::PAGES.gt(400)))
            )
            .await,
            ["Dune 50%_off", "Rust in Action"],
            "{}",
            b.name
        );
        assert_eq!(
            authors(
                &orm,
                Author::BOOKS.any(Book::AUTHOR.is(Author::COUNTRY.is(Country::NAME.eq("FR"))))
            )
            .await,
            ["Bob"],
            "{}",
            b.name
        );
        // Many-to-many, from the owning side and from the inverse side.
        assert_eq!(
            books(&orm, Book::GENRES.any(Genre::NAME.eq("scifi"))).await,
            ["Dune 50%_off"],
            "{}",
            b.name
        );
        let em = orm.em().fork();
        let genres = em
            .find_with(
                Genre::BOOKS.any(Book::AUTHOR.is(Author::NAME.eq("Cid"))),
                FindOptions::default().order_by([Genre::NAME.asc()]),
            )
            .await
            .unwrap();
        let genres: Vec<String> = genres.iter().map(|g| g.read().name.clone()).collect();
        assert_eq!(genres, ["tech"], "{}", b.name);
        assert_eq!(
            em.count(Author::BOOKS.any(Book::GENRES.any(Genre::NAME.eq("tech"))))
                .await
                .unwrap(),
            3,
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn orders_reach_related_columns_and_place_nulls() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let by_author = em
            .find_with(
                Filter::all(),
                FindOptions::default()
                    .order_by([Book::AUTHOR.then(Author::NAME).desc(), Book::TITLE.asc()]),
            )
            .await
            .unwrap();
        assert_eq!(
            titles(&by_author),
            [
                "Go Programming",
                "rust for kids",
                "Dune 50%_off",
                "Rust in Action"
            ],
            "{}",
            b.name
        );
        // Two steps, NULLs (Cid's missing country) first and then last, on every backend.
        let by_country = |nulls_first: bool| {
            let country = Book::AUTHOR.then(Author::COUNTRY).then(Country::NAME).asc();
            let country = if nulls_first {
                country.nulls_first()
            } else {
                country.nulls_last()
            };
            FindOptions::default().order_by([country, Book::TITLE.asc()])
        };
        let first = em.find_with(Filter::all(), by_country(true)).await.unwrap();
        assert_eq!(
            titles(&first),
            [
                "Go Programming",
                "rust for kids",
                "Dune 50%_off",
                "Rust in Action"
            ],
            "{}",
            b.name
        );
        let last = em
            .find_with(Filter::all(), by_country(false))
            .await
            .unwrap();
        assert_eq!(
            titles(&last),
            [
                "rust for kids",
                "Dune 50%_off",
                "Rust in Action",
                "Go Programming"
            ],
            "{}",
            b.name
        );
        let born = |o: Order| FindOptions::default().order_by([o]);
        let late_last = em
            .find_with(Filter::all(), born(Author::BORN.desc().nulls_last()))
            .await
            .unwrap();
        assert_eq!(
            names(&late_last),
            ["Cid", "Dee", "Ann", "Bob"],
            "{}",
            b.name
        );
        let unknown_first = em
            .find_with(Filter::all(), born(Author::BORN.asc().nulls_first()))
            .await
            .unwrap();
        assert_eq!(
            names(&unknown_first),
            ["Bob", "Ann", "Dee", "Cid"],
            "{}",
            b.name
        );
        // Paged: the key is appended after the related column.
        let page = em
            .find_with(
                Filter::all(),
                FindOptions::default()
                    .order_by([Book::AUTHOR.then(Author::NAME).asc()])
                    .limit(1)
                    .offset(1),
            )
            .await
            .unwrap();
        assert_eq!(titles(&page), ["Dune 50%_off"], "{}", b.name);
    }
}

#[tokio::test]
async fn relation_filters_lock_the_queried_rows() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        em.begin().await.unwrap();
        let found = em
            .find_with(
                Book::AUTHOR.is(Author::COUNTRY.is(Country::NAME.eq("UK"))) | Book::PAGES.lt(200),
                FindOptions::default()
                    .order_by([Book::TITLE.asc()])
                    .lock_mode(LockMode::PessimisticWrite),
            )
            .await
            .unwrap();
        let mut found = titles(&found);
        found.sort();
        assert_eq!(
            found,
            ["Dune 50%_off", "Rust in Action", "rust for kids"],
            "{}",
            b.name
        );
        em.commit().await.unwrap();
    }
}

#[tokio::test]
async fn paths_that_lead_nowhere_are_refused_before_any_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        // Typed handles cannot build these; a hand-made condition can.
        let not_a_reference = Filter::<Book>::from_condition(Condition::Related {
            column: "title",
            condition: Box::new(Condition::All),
        });
        let err = em.find(not_a_reference).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery(m) if m.contains("title")),
            "{err}"
        );
        let no_such_relation = Filter::<Author>::from_condition(Condition::Collection {
            relation: "reviews",
            quantifier: coherent::core::Quantifier::Any,
            condition: Box::new(Condition::All),
        });
        let err = em.count(no_such_relation).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery(m) if m.contains("reviews")),
            "{err}"
        );
        let wrong_root = FindOptions::default().order_by([Author::NAME.asc()]);
        let err = em
            .find_with(Filter::<Book>::all(), wrong_root)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(log.take_all().is_empty(), "{}: no SQL", b.name);
        assert_eq!(em.count(Filter::<Book>::all()).await.unwrap(), 4);
    }
}
