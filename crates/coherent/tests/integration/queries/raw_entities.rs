//! Entities from raw SQL (`find_by_sql`): `?` placeholders on every backend, columns read by
//! name (in any order, mapped where the names differ), `find`'s merge rules, and typed
//! refusals: a missing column names the field, an unknown field or a wrong parameter count
//! is refused before any SQL.

use super::*;
use coherent::{Error, RawQuery};

#[tokio::test]
async fn raw_sql_hydrates_managed_entities_by_column_name() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let found = em
            .find_by_sql::<Book>(
                "SELECT * FROM q_books WHERE lower(title) LIKE ? AND pages > ? ORDER BY pages",
                [coherent::Value::from("%o%"), coherent::Value::from(100)],
            )
            .await
            .unwrap();
        assert_eq!(
            titles(&found),
            ["Go Programming", "Rust in Action", "Dune 50%_off"],
            "{}",
            b.name
        );
        // Managed: the identity map answers with the same instances.
        let again = em.find_one_or_fail::<Book>(found[0].key()).await.unwrap();
        assert!(Managed::ptr_eq(&again, &found[0]), "{}", b.name);

        // No row: an empty answer (MariaDB names no column without a row).
        let none = em
            .find_by_sql::<Book>("SELECT * FROM q_books WHERE id = ?", [-1])
            .await
            .unwrap();
        assert!(none.is_empty(), "{}", b.name);

        // Any column order, extra columns, and a mapped name.
        let mapped = em
            .find_by_sql_with::<Book>(
                RawQuery::new(
                    "SELECT pages, 1 AS extra, title AS heading, id, price, author_id \
                     FROM q_books WHERE title = ?",
                )
                .bind("rust for kids")
                .column("title", "heading"),
            )
            .await
            .unwrap();
        let kids = mapped[0].read().clone();
        assert_eq!(
            (kids.title.as_str(), kids.pages, kids.price),
            ("rust for kids", 100, Some(10)),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn raw_rows_merge_as_find_merges_them() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let books = em.find(Book::PAGES.gt(0)).await.unwrap();
        let dirty = books
            .iter()
            .find(|b| b.read().pages == 300)
            .unwrap()
            .clone();
        let clean = books
            .iter()
            .find(|b| b.read().pages == 100)
            .unwrap()
            .clone();
        dirty.write().title = "Mine".into();
        // Another request changes every price.
        orm.em()
            .fork()
            .execute("UPDATE q_books SET price = 99", vec![])
            .await
            .unwrap();
        let all = em
            .find_by_sql::<Book>("SELECT * FROM q_books", Vec::<coherent::Value>::new())
            .await
            .unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.iter().any(|m| Managed::ptr_eq(m, &dirty)));
        // The clean entity took the row; the dirty one kept the application's change and
        // took the rest.
        assert_eq!(clean.read().price, Some(99), "{}", b.name);
        assert_eq!(dirty.read().title, "Mine", "{}", b.name);
        assert_eq!(dirty.read().price, Some(99), "{}", b.name);
        assert_eq!(dirty.changed_columns(), ["title"], "{}", b.name);
    }
}

#[tokio::test]
async fn raw_hydration_refuses_what_it_cannot_map() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let err = em
            .find_by_sql_with::<Book>(
                RawQuery::new("SELECT * FROM q_books").column("subtitle", "title"),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::UnknownField { entity: "Book", field, .. } if field == "subtitle"),
            "{}: {err}",
            b.name
        );
        let err = em
            .find_by_sql::<Book>("SELECT * FROM q_books WHERE pages > ?", [1, 2])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{}: {err}", b.name);
        assert!(log.take_all().is_empty(), "{}: no SQL", b.name);

        // A result without a column the entity needs: the error names it, nothing merged.
        let before = em.len().unwrap();
        let err = em
            .find_by_sql::<Book>(
                "SELECT id, title, author_id FROM q_books",
                Vec::<i32>::new(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::MissingColumn { entity: "Book", field: "pages", column } if column == "pages"),
            "{}: {err}",
            b.name
        );
        assert!(err.to_string().contains("Book.pages"), "{err}");
        assert_eq!(em.len().unwrap(), before, "{}: nothing merged", b.name);
        assert_eq!(em.count(Filter::<Book>::all()).await.unwrap(), 4);
    }
}
