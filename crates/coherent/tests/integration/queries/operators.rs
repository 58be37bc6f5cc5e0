//! Operators beyond equality: case-insensitive like, literal prefix/suffix/contains with the
//! pattern characters escaped, between, column against column, and raw fragments with `?`
//! placeholders on every backend.

use super::*;
use coherent::{Error, Value};

#[tokio::test]
async fn text_operators_escape_and_fold_case_the_same_everywhere() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let cases: Vec<(Filter<Book>, Vec<&str>)> = vec![
            (Book::TITLE.like("rust%"), vec!["rust for kids"]),
            (
                Book::TITLE.ilike("RUST%"),
                vec!["Rust in Action", "rust for kids"],
            ),
            (Book::TITLE.like("%50!%"), vec![]),
            (Book::TITLE.like("Dune 50_\\_off"), vec![]),
            (Book::TITLE.like("Dune 5__\\_off"), vec![]),
            (Book::TITLE.starts_with("Dune 50%_"), vec!["Dune 50%_off"]),
            (Book::TITLE.starts_with("Dune 5_%"), vec![]),
            (Book::TITLE.contains("%"), vec!["Dune 50%_off"]),
            (Book::TITLE.contains("_"), vec!["Dune 50%_off"]),
            (Book::TITLE.contains("*"), vec![]),
            (Book::TITLE.ends_with("_off"), vec!["Dune 50%_off"]),
            (Book::TITLE.ends_with("in action"), vec![]),
            (Book::TITLE.icontains("IN ACTION"), vec!["Rust in Action"]),
            (Book::TITLE.icontains("%"), vec!["Dune 50%_off"]),
        ];
        for (filter, expected) in cases {
            let shown = format!("{filter:?}");
            assert_eq!(books(&orm, filter).await, expected, "{}: {shown}", b.name);
        }
        // The dialect's own operator: GLOB (case-sensitive) and LIKE on SQLite, ILIKE on
        // PostgreSQL, LOWER(..) LIKE LOWER(..) on MariaDB.
        let log = StatementLog::capture();
        books(&orm, Book::TITLE.like("a%")).await;
        books(&orm, Book::TITLE.ilike("a%")).await;
        let sql = log.take();
        let (sensitive, insensitive) = match b.dialect() {
            coherent::Dialect::Sqlite => ("GLOB ?", "LIKE ? ESCAPE '!'"),
            coherent::Dialect::Postgres => ("LIKE $1 ESCAPE '!'", "ILIKE $1 ESCAPE '!'"),
            coherent::Dialect::MySql => (
                "LIKE ? ESCAPE '!'",
                "LOWER(`title`) LIKE LOWER(?) ESCAPE '!'",
            ),
        };
        assert!(sql[0].contains(sensitive), "{}: {}", b.name, sql[0]);
        assert!(sql[1].contains(insensitive), "{}: {}", b.name, sql[1]);
    }
}

#[tokio::test]
async fn patterns_match_backslashes_and_globs_literally() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let odd = r"a\b*c?[d]!e";
        let author = em.find_one_or_fail(Author::NAME.eq("Dee")).await.unwrap();
        em.persist(Book {
            id: 0,
            title: odd.into(),
            pages: 1,
            price: None,
            author: Ref::to(&author),
            genres: Collection::new(),
        })
        .unwrap();
        em.flush().await.unwrap();
        for filter in [
            Book::TITLE.starts_with(r"a\b*"),
            Book::TITLE.contains("*c?[d]!"),
            Book::TITLE.ends_with("]!e"),
            Book::TITLE.like(r"a\b_c?%"),
            Book::TITLE.icontains(r"A\B*C"),
        ] {
            let shown = format!("{filter:?}");
            assert_eq!(books(&orm, filter).await, [odd], "{}: {shown}", b.name);
        }
        assert!(books(&orm, Book::TITLE.contains(r"a\\b")).await.is_empty());
        assert!(books(&orm, Book::TITLE.starts_with("a_b")).await.is_empty());
    }
}

#[tokio::test]
async fn between_and_column_comparisons() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        assert_eq!(
            books(&orm, Book::PAGES.between(250, 300)).await,
            ["Go Programming", "Rust in Action"],
            "{}: both ends included",
            b.name
        );
        assert_eq!(
            books(&orm, Book::PAGES.not_between(250, 300)).await,
            ["Dune 50%_off", "rust for kids"],
            "{}",
            b.name
        );
        // Price below a tenth of the pages; a NULL price compares as unknown.
        assert_eq!(
            books(&orm, Book::PRICE.lt_column(Book::PAGES.nullable())).await,
            ["Go Programming", "Rust in Action", "rust for kids"],
            "{}",
            b.name
        );
        assert_eq!(
            books(&orm, Book::PAGES.eq_column(Book::PAGES)).await.len(),
            4,
            "{}",
            b.name
        );
        assert_eq!(
            authors(&orm, Author::BORN.between(1950, 1960)).await,
            ["Ann", "Dee"],
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn raw_fragments_bind_question_marks_on_every_backend() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let lower = Filter::raw("lower(title) = ?", ["rust in action"]);
        assert_eq!(books(&orm, lower).await, ["Rust in Action"], "{}", b.name);
        // Mixed with typed filters: parameters are bound in order around it.
        let mixed = Book::PAGES.gt(150)
            & Filter::raw(
                "pages < ? AND title <> ?",
                [Value::from(400), Value::from("x?")],
            )
            & Book::TITLE.ne("Go Programming");
        assert_eq!(books(&orm, mixed).await, ["Rust in Action"], "{}", b.name);
        // A `?` inside quotes is text; with a relation path the root is aliased `q0`.
        let quoted = Filter::raw("q0.title <> '?' AND q0.pages > ?", [400])
            & Book::AUTHOR.is(Author::NAME.eq("Ann"));
        assert_eq!(books(&orm, quoted).await, ["Dune 50%_off"], "{}", b.name);
    }
}

#[tokio::test]
async fn raw_fragments_with_the_wrong_parameter_count_are_refused_before_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let err = em
            .find(Filter::<Book>::raw("pages > ? AND pages < ?", [1]))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery(m) if m.contains("2 `?` placeholders but 1")),
            "{}: {err}",
            b.name
        );
        let err = em
            .count(Filter::<Book>::raw("pages > 1", [1]))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{}", b.name);
        assert!(log.take_all().is_empty(), "{}: no SQL", b.name);
    }
}
