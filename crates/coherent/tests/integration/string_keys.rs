//! Text compares as Rust's `==` does, on every backend: a `String` key, a unique text column
//! and a text filter tell `"k"`, `"K"` and `"k "` apart (MariaDB's default collations
//! ignore case, accents and trailing spaces; Coherent's schema gives its text columns a
//! binary no-pad collation there). And `find_one` by key never answers with a row whose key
//! is another one, even where a hand-made schema compares keys loosely, so the identity map
//! never files an instance under a key its row does not have.

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

/// The `tags` rows as (code, label), ordered by label, read with raw SQL.
async fn tag_rows(orm: &Orm) -> Vec<(String, String)> {
    orm.em()
        .query("SELECT code, label FROM tags ORDER BY label", vec![])
        .await
        .expect("raw select")
        .iter()
        .map(|r| (r.get("code").unwrap(), r.get("label").unwrap()))
        .collect()
}

/// The three spellings the suite tells apart: `k`, its upper case and a trailing space.
const SPELLINGS: [(&str, &str); 3] = [("k", "1 lower"), ("K", "2 upper"), ("k ", "3 space")];

#[tokio::test]
async fn string_keys_compare_exactly() {
    each_backend!(|b, orm| {
        let n = b.name;
        let em = orm.em().fork();
        em.persist(Tag::new("k", "1 lower")).unwrap();
        em.flush().await.unwrap();

        // Another spelling of the key finds nothing, and files nothing.
        let fresh = orm.em().fork();
        for other in ["K", "k "] {
            assert!(
                fresh.find_one::<Tag>(other).await.unwrap().is_none(),
                "{n}: find_one({other:?}) next to \"k\""
            );
        }
        assert_eq!(fresh.len().unwrap(), 0, "{n}: nothing entered the map");

        // Every spelling is a key of its own.
        let em = orm.em().fork();
        em.persist(Tag::new("K", "2 upper")).unwrap();
        em.persist(Tag::new("k ", "3 space")).unwrap();
        em.flush().await.unwrap_or_else(|e| panic!("{n}: {e:?}"));
        let expected: Vec<(String, String)> = SPELLINGS
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string()))
            .collect();
        assert_eq!(tag_rows(&orm).await, expected, "{n}: three rows");

        let fresh = orm.em().fork();
        let mut found = Vec::new();
        for (code, label) in SPELLINGS {
            let tag = fresh.find_one::<Tag>(code).await.unwrap().unwrap();
            assert_eq!(tag.read().code, code, "{n}");
            assert_eq!(tag.read().label, label, "{n}: the row of {code:?}");
            let by_filter = fresh.find(Tag::CODE.eq(code)).await.unwrap();
            assert_eq!(by_filter.len(), 1, "{n}: CODE = {code:?}");
            assert!(Managed::ptr_eq(&by_filter[0], &tag), "{n}: one instance");
            found.push(tag);
        }
        assert_eq!(fresh.len().unwrap(), 3, "{n}: three instances");
        assert_eq!(
            fresh.count(Tag::CODE.is_in(["K", "x"])).await.unwrap(),
            1,
            "{n}: IN compares exactly"
        );

        // A second "k" is still a duplicate: the key constraint is there, only exact.
        let em = orm.em().fork();
        em.persist(Tag::new("k", "4 again")).unwrap();
        let err = em.flush().await.unwrap_err();
        assert_eq!(
            err.constraint_kind(),
            Some(ConstraintKind::Unique),
            "{n}: {err:?}"
        );
        assert_eq!(tag_rows(&orm).await, expected, "{n}: nothing written");
    });
}

#[tokio::test]
async fn unique_text_columns_compare_exactly() {
    each_backend!(|b, orm| {
        let n = b.name;
        let em = orm.em().fork();
        for email in ["jon@x.io", "JON@x.io", "jon@x.io ", "jön@x.io"] {
            em.persist(User::new("Jon", email)).unwrap();
        }
        em.flush().await.unwrap_or_else(|e| panic!("{n}: {e:?}"));
        let emails: Vec<String> = user_rows(&orm).await.into_iter().map(|r| r.2).collect();
        assert_eq!(
            emails,
            ["jon@x.io", "JON@x.io", "jon@x.io ", "jön@x.io"],
            "{n}: four rows"
        );

        let em = orm.em().fork();
        em.persist(User::new("Again", "jon@x.io")).unwrap();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Constraint { kind: ConstraintKind::Unique, source }
                    if source.constraint().or(source.column()).is_some_and(|c| c.contains("email"))
            ),
            "{n}: {err:?}"
        );
        assert_eq!(user_rows(&orm).await.len(), 4, "{n}: nothing written");

        let fresh = orm.em().fork();
        let found = fresh.find(User::EMAIL.eq("JON@x.io")).await.unwrap();
        assert_eq!(found.len(), 1, "{n}");
        assert_eq!(found[0].read().email, "JON@x.io", "{n}");
    });
}

#[tokio::test]
async fn text_filters_compare_exactly() {
    each_backend!(|b, orm| {
        let n = b.name;
        let em = orm.em().fork();
        let names = ["Jon", "jon", "jon ", "Jön", "jon\u{301}"];
        for (i, name) in names.iter().enumerate() {
            em.persist(User::new(name, &format!("{i}@x.io"))).unwrap();
        }
        em.flush().await.unwrap();
        let fresh = orm.em().fork();
        for name in names {
            let found = fresh.find(User::NAME.eq(name)).await.unwrap();
            let got: Vec<String> = found.iter().map(|u| u.read().name.clone()).collect();
            assert_eq!(got, [name], "{n}: NAME = {name:?}");
            assert_eq!(
                fresh.count(User::NAME.ne(name)).await.unwrap(),
                names.len() as u64 - 1,
                "{n}: NAME <> {name:?}"
            );
        }
        // Ordered as Rust orders strings (by code point): "Jon" < "Jön" < "jon" < "jon " < ...
        let sorted = fresh
            .find_with(
                Filter::<User>::all(),
                FindOptions {
                    order_by: vec![User::NAME.asc()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let got: Vec<String> = sorted.iter().map(|u| u.read().name.clone()).collect();
        let mut expected: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        expected.sort();
        if !b.is_postgres() {
            // PostgreSQL orders by the database's collation (the suite's is the server's
            // default); SQLite and MariaDB by code point.
            assert_eq!(got, expected, "{n}: ORDER BY");
        }
    });
}

/// A key column the application created with a case-insensitive collation: SQLite's NOCASE,
/// a nondeterministic ICU collation on PostgreSQL, `utf8mb4_unicode_ci` on MariaDB.
async fn loose_tags_table(b: &Backend, orm: &Orm) {
    let em = orm.em();
    em.execute("DROP TABLE tags", vec![]).await.unwrap();
    let create = match b.dialect() {
        coherent::Dialect::Sqlite => {
            "CREATE TABLE tags (code TEXT COLLATE NOCASE PRIMARY KEY, label TEXT NOT NULL)"
        }
        coherent::Dialect::Postgres => {
            em.execute(
                "CREATE COLLATION loose (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
                vec![],
            )
            .await
            .unwrap();
            "CREATE TABLE tags (code TEXT COLLATE loose PRIMARY KEY, label TEXT NOT NULL)"
        }
        coherent::Dialect::MySql => {
            "CREATE TABLE tags (code VARCHAR(255) COLLATE utf8mb4_unicode_ci PRIMARY KEY, label LONGTEXT NOT NULL)"
        }
    };
    em.execute(create, vec![]).await.unwrap();
    em.execute(
        "INSERT INTO tags (code, label) VALUES ('k', 'lower')",
        vec![],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn find_one_by_key_never_answers_with_another_keys_row() {
    each_backend!(|b, orm| {
        let n = b.name;
        loose_tags_table(&b, &orm).await;
        // The database matches "K" to the row "k"; find_one("K") does not.
        let em = orm.em().fork();
        assert!(
            em.find_one::<Tag>("K").await.unwrap().is_none(),
            "{n}: find_one(\"K\")"
        );
        assert_eq!(em.len().unwrap(), 0, "{n}: nothing filed");
        let err = em.find_one_or_fail::<Tag>("K").await.unwrap_err();
        assert!(
            matches!(&err, Error::NotFound { entity: "Tag", key } if key.contains('K')),
            "{n}: {err:?}"
        );

        // With "k" loaded, "K" still finds nothing: the map answers by Rust's `==` only.
        let k = em.find_one::<Tag>("k").await.unwrap().unwrap();
        assert_eq!(k.read().label, "lower", "{n}");
        assert!(
            em.find_one::<Tag>("K").await.unwrap().is_none(),
            "{n}: find_one(\"K\") next to a loaded \"k\""
        );
        assert_eq!(em.len().unwrap(), 1, "{n}: only \"k\"");

        // A filter is the database's question: its rows enter the map under their own keys.
        let found = em.find(Tag::CODE.eq("K")).await.unwrap();
        assert_eq!(found.len(), 1, "{n}: the loose column matches");
        assert!(Managed::ptr_eq(&found[0], &k), "{n}: filed under \"k\"");
        assert_eq!(em.len().unwrap(), 1, "{n}");

        // The row is untouched.
        let rows = tag_rows(&orm).await;
        assert_eq!(rows, [("k".to_string(), "lower".to_string())], "{n}");
    });
}
