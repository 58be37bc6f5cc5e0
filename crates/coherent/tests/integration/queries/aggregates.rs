//! Selects of typed values (issue 13, item 4): projections of columns, to-one path columns
//! and aggregates, `group_by`, `having`, ordering by an aggregate, `exists`, rows as tuples
//! or as a `#[derive(FromRow)]` struct; and the refusals before any SQL (an aggregate in a
//! filter, `having` without `group_by`, an ungrouped column, a row type of another width).

use super::*;
use coherent::{Error, FromRow};

/// Each author's name with their number of books and total pages, from the library.
type PerAuthor = (String, i64, Option<i64>);

#[tokio::test]
async fn each_aggregate_function() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        type Every = (
            i64,
            i64,
            i64,
            Option<i64>,
            Option<f64>,
            Option<i32>,
            Option<i32>,
        );
        let row: Every = em
            .select((
                count_all::<Book>(),
                Book::PRICE.count(),
                Book::AUTHOR.count_distinct(),
                Book::PAGES.sum(),
                Book::PAGES.avg(),
                Book::PAGES.min(),
                Book::PAGES.max(),
            ))
            .one()
            .await
            .unwrap();
        assert_eq!(
            row,
            (4, 3, 3, Some(1150), Some(287.5), Some(100), Some(500)),
            "{}",
            b.name
        );
        assert_eq!(log.take().len(), 1, "{}: one statement", b.name);
        // Over a nullable column: NULLs are left out (Dune has no price).
        let (sum, avg, min, max): (Option<i64>, Option<f64>, Option<i32>, Option<i32>) = em
            .select((
                Book::PRICE.sum(),
                Book::PRICE.avg(),
                Book::PRICE.min(),
                Book::PRICE.max(),
            ))
            .one()
            .await
            .unwrap();
        assert_eq!(
            (sum, min, max),
            (Some(80), Some(10), Some(40)),
            "{}",
            b.name
        );
        assert!(
            (avg.unwrap() - 80.0 / 3.0).abs() < 1e-9,
            "{}: {avg:?}",
            b.name
        );
        // Text and a single item (its row is the item's type, not a tuple).
        let first: Option<String> = em.select(Book::TITLE.min()).one().await.unwrap();
        assert_eq!(first.as_deref(), Some("Dune 50%_off"), "{}", b.name);
        let last: Option<String> = em.select(Author::NAME.max()).one().await.unwrap();
        assert_eq!(last.as_deref(), Some("Dee"), "{}", b.name);
        let born: (Option<i32>, Option<i32>, i64) = em
            .select((Author::BORN.min(), Author::BORN.max(), Author::BORN.count()))
            .one()
            .await
            .unwrap();
        assert_eq!(born, (Some(1950), Some(1970), 3), "{}", b.name);
        // A filter narrows the rows first; an aggregate of a related column joins.
        let in_uk: (i64, Option<i32>) = em
            .select((count_all::<Book>(), Book::AUTHOR.then(Author::BORN).max()))
            .filter(Book::AUTHOR.is(Author::COUNTRY.is(Country::NAME.eq("UK"))))
            .one()
            .await
            .unwrap();
        assert_eq!(in_uk, (2, Some(1950)), "{}", b.name);
        // Plain columns without aggregates: one row per entity row.
        let mut titles: Vec<(String, i32)> = em
            .select((Book::TITLE, Book::PAGES))
            .filter(Book::PAGES.gt(200))
            .all()
            .await
            .unwrap();
        titles.sort();
        assert_eq!(
            titles,
            [
                ("Dune 50%_off".to_string(), 500),
                ("Go Programming".to_string(), 250),
                ("Rust in Action".to_string(), 300)
            ],
            "{}",
            b.name
        );
        // Nothing of this is an entity: the identity map is untouched.
        assert_eq!(em.len().unwrap(), 0, "{}: nothing merged", b.name);
    }
}

#[tokio::test]
async fn group_by_having_and_order_by_an_aggregate() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let name = Book::AUTHOR.then(Author::NAME);
        let log = StatementLog::capture();
        let per_author: Vec<PerAuthor> = em
            .select((name, count_all::<Book>(), Book::PAGES.sum()))
            .group_by(name)
            .order_by([Book::PAGES.sum().desc()])
            .all()
            .await
            .unwrap();
        assert_eq!(
            per_author,
            [
                ("Ann".to_string(), 2, Some(800)),
                ("Cid".to_string(), 1, Some(250)),
                ("Bob".to_string(), 1, Some(100)),
            ],
            "{}",
            b.name
        );
        let sql = log.take();
        assert_eq!(sql.len(), 1, "{}", b.name);
        assert!(
            sql[0].contains("GROUP BY") && sql[0].contains("ORDER BY") && sql[0].contains("JOIN"),
            "{}: {}",
            b.name,
            sql[0]
        );
        // `having` keeps groups: on an aggregate, on two (both), on a grouping key.
        let having = |h: Filter<Book>| {
            em.select((name, count_all::<Book>(), Book::PAGES.sum()))
                .group_by(name)
                .having(h)
                .order_by([name.asc()])
                .all()
        };
        let rows: Vec<PerAuthor> = having(count_all::<Book>().gt(1)).await.unwrap();
        assert_eq!(rows, [("Ann".to_string(), 2, Some(800))], "{}", b.name);
        let rows: Vec<PerAuthor> = having(Book::PAGES.sum().gte(250) & Book::PAGES.max().lt(400))
            .await
            .unwrap();
        assert_eq!(rows, [("Cid".to_string(), 1, Some(250))], "{}", b.name);
        let rows: Vec<PerAuthor> = having(!count_all::<Book>().eq(1) | Book::PRICE.min().eq(10))
            .await
            .unwrap();
        assert_eq!(
            rows,
            [
                ("Ann".to_string(), 2, Some(800)),
                ("Bob".to_string(), 1, Some(100))
            ],
            "{}",
            b.name
        );
        // A having on a grouping key of the root, with a filter on rows before grouping.
        let rows: Vec<(Ref<Author>, i64)> = em
            .select((Book::AUTHOR, count_all::<Book>()))
            .filter(Book::PAGES.gt(150))
            .group_by(Book::AUTHOR)
            .having(Book::AUTHOR.ne(Ref::to_key(999)))
            .order_by([count_all::<Book>().desc(), Book::AUTHOR.asc()])
            .all()
            .await
            .unwrap();
        let counts: Vec<i64> = rows.iter().map(|r| r.1).collect();
        assert_eq!(
            counts,
            [2, 1],
            "{}: Bob's only book is filtered out",
            b.name
        );
        let ann = em
            .find_one_or_fail::<Author>(Author::NAME.eq("Ann"))
            .await
            .unwrap();
        assert_eq!(rows[0].0.key(), ann.key(), "{}", b.name);
        // A page of groups: sorted by the aggregate, then by the key (stable).
        let page: Vec<(String, i64)> = em
            .select((name, count_all::<Book>()))
            .group_by(name)
            .order_by([count_all::<Book>().asc()])
            .limit(2)
            .all()
            .await
            .unwrap();
        assert_eq!(
            page,
            [("Bob".to_string(), 1), ("Cid".to_string(), 1)],
            "{}",
            b.name
        );
        let rest: Vec<(String, i64)> = em
            .select((name, count_all::<Book>()))
            .group_by(name)
            .order_by([count_all::<Book>().asc()])
            .offset(2)
            .all()
            .await
            .unwrap();
        assert_eq!(rest, [("Ann".to_string(), 2)], "{}", b.name);
    }
}

#[tokio::test]
async fn group_by_a_related_column() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let country = Book::AUTHOR.then(Author::COUNTRY);
        let country_name = country.then(Country::NAME);
        let log = StatementLog::capture();
        // Through the author's nullable country: Cid has none, his book groups under NULL.
        let per_country: Vec<(Option<String>, i64, Option<i64>)> = em
            .select((country_name, count_all::<Book>(), Book::PAGES.sum()))
            .group_by(country_name)
            .order_by([country_name.asc().nulls_first()])
            .all()
            .await
            .unwrap();
        assert_eq!(
            per_country,
            [
                (None, 1, Some(250)),
                (Some("FR".to_string()), 1, Some(100)),
                (Some("UK".to_string()), 2, Some(800)),
            ],
            "{}",
            b.name
        );
        let sql = log.take();
        assert_eq!(sql.len(), 1, "{}", b.name);
        assert_eq!(
            sql[0].matches("LEFT JOIN").count(),
            2,
            "{}: {}",
            b.name,
            sql[0]
        );
        // By the reference itself (the author's country_id), decoded as an unloaded Ref.
        let mut by_ref: Vec<(Option<Ref<Country>>, i64)> = em
            .select((country, count_all::<Book>()))
            .group_by(country)
            .all()
            .await
            .unwrap();
        by_ref.sort_by_key(|(c, _)| c.as_ref().map(Ref::key));
        let uk = em
            .find_one_or_fail::<Country>(Country::NAME.eq("UK"))
            .await
            .unwrap();
        let counts: Vec<(Option<i64>, i64)> = by_ref
            .iter()
            .map(|(c, n)| (c.as_ref().map(Ref::key), *n))
            .collect();
        assert_eq!(counts.len(), 3, "{}", b.name);
        assert!(counts.contains(&(None, 1)), "{}: {counts:?}", b.name);
        assert!(
            counts.contains(&(Some(uk.key()), 2)),
            "{}: {counts:?}",
            b.name
        );
        assert!(
            by_ref
                .iter()
                .all(|(c, _)| c.as_ref().is_none_or(|r| !r.is_loaded()))
        );
        // Grouped by the author's key, the author's other columns have one value per group.
        let author_id = Book::AUTHOR.then(Author::ID);
        let rows: Vec<(String, Option<i32>, i64)> = em
            .select((
                name_of_author(),
                Book::AUTHOR.then(Author::BORN),
                count_all::<Book>(),
            ))
            .group_by(author_id)
            .order_by([name_of_author().asc()])
            .all()
            .await
            .unwrap();
        assert_eq!(
            rows,
            [
                ("Ann".to_string(), Some(1950), 2),
                ("Bob".to_string(), None, 1),
                ("Cid".to_string(), Some(1970), 1),
            ],
            "{}",
            b.name
        );
    }
}

fn name_of_author() -> coherent::PathColumn<Book, String> {
    Book::AUTHOR.then(Author::NAME)
}

#[tokio::test]
async fn empty_tables_and_empty_selections() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        type Totals = (i64, i64, Option<i64>, Option<f64>, Option<i32>, Option<i32>);
        let all = || {
            em.select((
                count_all::<Book>(),
                Book::PRICE.count(),
                Book::PAGES.sum(),
                Book::PAGES.avg(),
                Book::PAGES.min(),
                Book::PRICE.max(),
            ))
        };
        let empty: Totals = all().one().await.unwrap();
        assert_eq!(empty, (0, 0, None, None, None, None), "{}: no row", b.name);
        let none: Vec<(Ref<Author>, i64)> = em
            .select((Book::AUTHOR, count_all::<Book>()))
            .group_by(Book::AUTHOR)
            .all()
            .await
            .unwrap();
        assert!(none.is_empty(), "{}: no group", b.name);
        assert!(em.select(Book::TITLE).optional().await.unwrap().is_none());
        assert!(matches!(
            em.select(Book::TITLE).one().await,
            Err(Error::NotFound { entity: "Book", .. })
        ));
        seed(&orm).await;
        let filtered: Totals = all().filter(Book::PAGES.gt(10_000)).one().await.unwrap();
        assert_eq!(
            filtered,
            (0, 0, None, None, None, None),
            "{}: no match",
            b.name
        );
        // Only NULLs: Dune has no price.
        let (n, max): (i64, Option<i32>) = em
            .select((Book::PRICE.count(), Book::PRICE.max()))
            .filter(Book::TITLE.starts_with("Dune"))
            .one()
            .await
            .unwrap();
        assert_eq!((n, max), (0, None), "{}", b.name);
    }
}

#[tokio::test]
async fn exists_answers_without_loading() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        assert!(em.exists(Book::TITLE.eq("Dune 50%_off")).await.unwrap());
        assert!(!em.exists(Book::PAGES.gt(1_000)).await.unwrap());
        assert!(
            em.exists(Author::BOOKS.none(Filter::all())).await.unwrap(),
            "Dee"
        );
        assert!(
            !em.exists(Author::COUNTRY.is(Country::NAME.eq("DE")))
                .await
                .unwrap()
        );
        let sql = log.take();
        assert_eq!(sql.len(), 4, "{}", b.name);
        assert!(
            sql.iter()
                .all(|s| s.starts_with("SELECT 1 ") && s.contains("LIMIT")),
            "{}: {sql:?}",
            b.name
        );
        assert_eq!(em.len().unwrap(), 0, "{}: nothing merged", b.name);
        // Reads flush first: a pending insert is seen.
        let ann = em
            .find_one_or_fail::<Author>(Author::NAME.eq("Ann"))
            .await
            .unwrap();
        em.persist(Book {
            id: 0,
            title: "Fresh".into(),
            pages: 1,
            price: None,
            author: Ref::to(&ann),
            genres: Collection::new(),
        })
        .unwrap();
        assert!(
            em.exists(Book::TITLE.eq("Fresh")).await.unwrap(),
            "{}",
            b.name
        );
        let fresh: i64 = em.select(count_all::<Book>()).one().await.unwrap();
        assert_eq!(fresh, 5, "{}", b.name);
    }
}

#[tokio::test]
async fn refusals_come_before_any_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        // A pending insert: a refused select must not even flush it.
        let ann = em
            .find_one_or_fail::<Author>(Author::NAME.eq("Ann"))
            .await
            .unwrap();
        em.persist(Book {
            id: 0,
            title: "Pending".into(),
            pages: 1,
            price: None,
            author: Ref::to(&ann),
            genres: Collection::new(),
        })
        .unwrap();
        let log = StatementLog::capture();
        let refused: Vec<(&str, Error)> = vec![
            (
                "`having` needs a `group_by`",
                em.select(count_all::<Book>())
                    .having(count_all::<Book>().gt(1))
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "compare it in `having`",
                em.select(count_all::<Book>())
                    .filter(Book::PAGES.sum().gt(1))
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "compare it in `having`",
                em.find(count_all::<Book>().gt(1)).await.unwrap_err(),
            ),
            (
                "compare it in `having`",
                em.exists(!Book::PAGES.max().gt(1)).await.unwrap_err(),
            ),
            (
                "compare it in `having`",
                em.count(Book::PAGES.avg().gt(1.0)).await.unwrap_err(),
            ),
            (
                "title of Book is selected beside aggregates but not grouped",
                em.select((Book::TITLE, count_all::<Book>()))
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "title of Book is selected beside aggregates but not grouped",
                em.select((Book::AUTHOR, Book::TITLE, count_all::<Book>()))
                    .group_by(Book::AUTHOR)
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "author_id.name of Book is selected beside aggregates",
                em.select((Book::AUTHOR.then(Author::NAME), count_all::<Book>()))
                    .group_by(Book::AUTHOR)
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "pages of Book is sorted by beside aggregates",
                em.select((Book::AUTHOR, count_all::<Book>()))
                    .group_by(Book::AUTHOR)
                    .order_by([Book::PAGES.desc()])
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "`having` compares Book.pages, which is not grouped",
                em.select((Book::AUTHOR, count_all::<Book>()))
                    .group_by(Book::AUTHOR)
                    .having(Book::PAGES.gt(1))
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "relation condition in the `having`",
                em.select((Book::AUTHOR, count_all::<Book>()))
                    .group_by(Book::AUTHOR)
                    .having(Book::AUTHOR.is(Author::NAME.eq("Ann")))
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "returns 2 values per row, but",
                em.select((Book::AUTHOR, count_all::<Book>()))
                    .group_by(Book::AUTHOR)
                    .rows_as::<(i64, i64, i64)>()
                    .all()
                    .await
                    .unwrap_err(),
            ),
            (
                "returns 3 values per row, but",
                em.select((Book::AUTHOR, count_all::<Book>(), Book::PAGES.max()))
                    .group_by(Book::AUTHOR)
                    .rows_as::<BookCount>()
                    .one()
                    .await
                    .unwrap_err(),
            ),
        ];
        for (needle, err) in &refused {
            assert!(
                matches!(err, Error::InvalidQuery(m) if m.contains(needle)),
                "{}: expected InvalidQuery containing {needle:?}, got {err:?}",
                b.name
            );
        }
        // An aggregate order in an entity query is refused as an order is.
        let err = em
            .find_with::<Book>(
                Filter::all(),
                FindOptions::default().order_by([count_all::<Book>().desc()]),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("aggregate count(*)")),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take_all().is_empty(), "{}: no SQL ran", b.name);
        // Nothing changed: the insert is still pending, and the rows are the seed's.
        assert_eq!(
            books(&orm, Filter::all()).await.len(),
            4,
            "{}: nothing flushed",
            b.name
        );
        em.flush().await.unwrap();
        assert_eq!(books(&orm, Filter::all()).await.len(), 5, "{}", b.name);
    }
}

/// Books per author as a struct.
#[derive(FromRow, Debug, PartialEq)]
struct BookCount {
    author: Ref<Author>,
    books: i64,
}

/// Per author: name, books, pages in all and the longest book.
#[derive(FromRow, Debug, PartialEq)]
struct AuthorStats {
    name: String,
    books: i64,
    pages: Option<i64>,
    longest: Option<i32>,
}

#[tokio::test]
async fn rows_as_tuples_and_derived_structs() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let name = Book::AUTHOR.then(Author::NAME);
        let stats: Vec<AuthorStats> = em
            .select((
                name,
                count_all::<Book>(),
                Book::PAGES.sum(),
                Book::PAGES.max(),
            ))
            .group_by(name)
            .order_by([name.asc()])
            .rows_as::<AuthorStats>()
            .all()
            .await
            .unwrap();
        assert_eq!(
            stats,
            [
                AuthorStats {
                    name: "Ann".into(),
                    books: 2,
                    pages: Some(800),
                    longest: Some(500)
                },
                AuthorStats {
                    name: "Bob".into(),
                    books: 1,
                    pages: Some(100),
                    longest: Some(100)
                },
                AuthorStats {
                    name: "Cid".into(),
                    books: 1,
                    pages: Some(250),
                    longest: Some(250)
                },
            ],
            "{}",
            b.name
        );
        let ann = em
            .find_one_or_fail::<Author>(Author::NAME.eq("Ann"))
            .await
            .unwrap();
        let top: BookCount = em
            .select((Book::AUTHOR, count_all::<Book>()))
            .group_by(Book::AUTHOR)
            .order_by([count_all::<Book>().desc()])
            .rows_as::<BookCount>()
            .one()
            .await
            .unwrap();
        assert_eq!(
            top,
            BookCount {
                author: Ref::to_key(ann.key()),
                books: 2
            },
            "{}",
            b.name
        );
        // Nested tuples flatten positionally.
        let nested: ((String, i64), Option<i64>) = em
            .select((name, count_all::<Book>(), Book::PAGES.sum()))
            .group_by(name)
            .having(count_all::<Book>().gt(1))
            .rows_as::<((String, i64), Option<i64>)>()
            .one()
            .await
            .unwrap();
        assert_eq!(nested, (("Ann".to_string(), 2), Some(800)), "{}", b.name);
        // A type that does not fit the value: a typed decode error naming the field.
        let err = em
            .select((Book::TITLE, count_all::<Book>()))
            .group_by(Book::TITLE)
            .rows_as::<(i64, i64)>()
            .all()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode { column, .. } if column == "Book[0]"),
            "{}: {err:?}",
            b.name
        );
        #[derive(FromRow, Debug)]
        #[allow(dead_code)]
        struct Wrong {
            title: i64,
            n: i64,
        }
        let err = em
            .select((Book::TITLE, count_all::<Book>()))
            .group_by(Book::TITLE)
            .rows_as::<Wrong>()
            .all()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode { column, .. } if column == "Wrong.title"),
            "{}: {err:?}",
            b.name
        );
    }
}

/// Posts with a timestamp, a decimal score and a float rating: the example (posts
/// per author with their last post date, in one statement) and each backend's decoding of
/// aggregates of date-times, decimals and floats.
#[cfg(all(feature = "chrono", feature = "rust_decimal"))]
mod posts {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use rust_decimal::Decimal;

    #[derive(Entity, Clone, Debug)]
    #[entity(table = "agg_writers")]
    pub struct Writer {
        #[primary_key]
        pub id: i64,
        pub name: String,
    }

    #[derive(Entity, Clone, Debug)]
    #[entity(table = "agg_posts")]
    pub struct Post {
        #[primary_key]
        pub id: i64,
        #[many_to_one]
        pub writer: Ref<Writer>,
        pub title: String,
        pub published_at: DateTime<Utc>,
        pub score: Decimal,
        pub rating: f32,
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 30, 15).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// Ann: two posts (March 2 and 9, scores 9.5 and 1.25); Bob: one (March 5, 9.75); Cid:
    /// none.
    async fn seeded(b: &Backend) -> (Orm, Vec<i64>) {
        let orm = b.orm_with(|o| o.entity::<Writer>().entity::<Post>()).await;
        let em = orm.em().fork();
        let writers: Vec<Managed<Writer>> = ["Ann", "Bob", "Cid"]
            .into_iter()
            .map(|name| {
                em.persist(Writer {
                    id: 0,
                    name: name.into(),
                })
                .unwrap()
            })
            .collect();
        for (w, title, when, score, rating) in [
            (0, "first", at(2, 8), "9.5", 4.5f32),
            (1, "hello", at(5, 12), "9.75", 3.0),
            (0, "second", at(9, 17), "1.25", 2.25),
        ] {
            em.persist(Post {
                id: 0,
                writer: Ref::to(&writers[w]),
                title: title.into(),
                published_at: when,
                score: dec(score),
                rating,
            })
            .unwrap();
        }
        em.flush().await.unwrap();
        let keys = writers.iter().map(Managed::key).collect();
        (orm, keys)
    }

    #[derive(FromRow, Debug, PartialEq)]
    struct WriterActivity {
        writer: Ref<Writer>,
        posts: i64,
        last_post: Option<DateTime<Utc>>,
    }

    #[tokio::test]
    async fn posts_per_author_with_their_last_post_date_in_one_statement() {
        for b in backends() {
            let (orm, writers) = seeded(&b).await;
            let em = orm.em().fork();
            let log = StatementLog::capture();
            let activity: Vec<(Ref<Writer>, i64, Option<DateTime<Utc>>)> = em
                .select((Post::WRITER, count_all::<Post>(), Post::PUBLISHED_AT.max()))
                .group_by(Post::WRITER)
                .order_by([Post::PUBLISHED_AT.max().desc()])
                .all()
                .await
                .unwrap();
            let sql = log.take();
            assert_eq!(sql.len(), 1, "{}: one statement: {sql:?}", b.name);
            let seen: Vec<(i64, i64, Option<DateTime<Utc>>)> = activity
                .iter()
                .map(|(w, n, last)| (w.key(), *n, *last))
                .collect();
            assert_eq!(
                seen,
                [
                    (writers[0], 2, Some(at(9, 17))),
                    (writers[1], 1, Some(at(5, 12)))
                ],
                "{}",
                b.name
            );
            // The same as a struct, with the first post too and a date-time in a having.
            let recent: Vec<WriterActivity> = em
                .select((Post::WRITER, count_all::<Post>(), Post::PUBLISHED_AT.max()))
                .group_by(Post::WRITER)
                .having(Post::PUBLISHED_AT.max().gt(at(6, 0)))
                .rows_as::<WriterActivity>()
                .all()
                .await
                .unwrap();
            assert_eq!(
                recent,
                [WriterActivity {
                    writer: Ref::to_key(writers[0]),
                    posts: 2,
                    last_post: Some(at(9, 17))
                }],
                "{}",
                b.name
            );
            let first: Option<DateTime<Utc>> =
                em.select(Post::PUBLISHED_AT.min()).one().await.unwrap();
            assert_eq!(first, Some(at(2, 8)), "{}", b.name);
            // With the writer's name, grouped by the writer's key.
            let named: Vec<(String, i64)> = em
                .select((Post::WRITER.then(Writer::NAME), count_all::<Post>()))
                .group_by(Post::WRITER.then(Writer::ID))
                .order_by([Post::WRITER.then(Writer::NAME).asc()])
                .all()
                .await
                .unwrap();
            assert_eq!(
                named,
                [("Ann".to_string(), 2), ("Bob".to_string(), 1)],
                "{}",
                b.name
            );
        }
    }

    #[tokio::test]
    async fn decimals_and_floats_aggregate_by_value() {
        for b in backends() {
            let (orm, writers) = seeded(&b).await;
            let em = orm.em().fork();
            let totals: (
                Option<Decimal>,
                Option<Decimal>,
                Option<Decimal>,
                Option<f64>,
            ) = em
                .select((
                    Post::SCORE.sum(),
                    Post::SCORE.min(),
                    Post::SCORE.max(),
                    Post::SCORE.avg(),
                ))
                .one()
                .await
                .unwrap();
            // By value (text would put "9.75" above "10.5" and "1.25" below "9.5").
            assert_eq!(
                (totals.0, totals.1, totals.2),
                (Some(dec("20.5")), Some(dec("1.25")), Some(dec("9.75"))),
                "{}",
                b.name
            );
            assert!((totals.3.unwrap() - 20.5 / 3.0).abs() < 1e-9, "{}", b.name);
            // Sums per writer compared by value in a having: Ann's 10.75 is above 10, Bob's
            // 9.75 is not (as text, "9.75" > "10").
            let above: Vec<(Ref<Writer>, Option<Decimal>)> = em
                .select((Post::WRITER, Post::SCORE.sum()))
                .group_by(Post::WRITER)
                .having(Post::SCORE.sum().gt(dec("10")))
                .all()
                .await
                .unwrap();
            assert_eq!(above.len(), 1, "{}: {above:?}", b.name);
            assert_eq!(above[0].0.key(), writers[0], "{}", b.name);
            assert_eq!(above[0].1, Some(dec("10.75")), "{}", b.name);
            let by_max: Vec<Option<Decimal>> = em
                .select((Post::WRITER, Post::SCORE.max()))
                .group_by(Post::WRITER)
                .order_by([Post::SCORE.max().desc()])
                .all()
                .await
                .unwrap()
                .into_iter()
                .map(|(_, m)| m)
                .collect();
            assert_eq!(by_max, [Some(dec("9.75")), Some(dec("9.5"))], "{}", b.name);
            // An f32 column sums and averages as f64; its min and max stay f32.
            let floats: (Option<f64>, Option<f64>, Option<f32>, Option<f32>) = em
                .select((
                    Post::RATING.sum(),
                    Post::RATING.avg(),
                    Post::RATING.min(),
                    Post::RATING.max(),
                ))
                .one()
                .await
                .unwrap();
            assert_eq!(
                floats,
                (Some(9.75), Some(3.25), Some(2.25), Some(4.5)),
                "{}",
                b.name
            );
        }
    }
}
