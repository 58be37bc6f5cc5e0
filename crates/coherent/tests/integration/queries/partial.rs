//! Partial loading (issue 13 item 7): `FindOptions::fields` selects some columns, the
//! instances are partial, `Managed::field` refuses an unloaded field, a flush never writes
//! one the application did not assign, and a later full read completes the same instance.
//! An unknown field is refused before any SQL (item 8).

use super::*;
use coherent::{Error, PageRequest};

#[derive(Entity, Clone, Debug)]
#[entity(table = "q_drafts")]
pub struct Draft {
    #[primary_key]
    pub id: i64,
    pub title: String,
    pub body: String,
    #[version]
    pub version: i32,
}

/// The one SELECT of `log`.
fn select_of(log: &[String]) -> &str {
    let selects: Vec<&String> = log.iter().filter(|s| s.starts_with("SELECT")).collect();
    assert_eq!(selects.len(), 1, "{log:?}");
    selects[0]
}

/// The one UPDATE of `log`.
fn update_of(log: &[String]) -> String {
    let updates: Vec<&String> = log.iter().filter(|s| s.starts_with("UPDATE")).collect();
    assert_eq!(updates.len(), 1, "{log:?}");
    updates[0].clone()
}

#[tokio::test]
async fn fields_select_only_the_asked_columns() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let found = em
            .find_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["name"]),
            )
            .await
            .unwrap();
        let sql = log.take();
        let select = select_of(&sql);
        assert!(select.contains(&b.quote("name")), "{}: {select}", b.name);
        assert!(select.contains(&b.quote("id")), "{}: {select}", b.name);
        assert!(!select.contains("born"), "{}: {select}", b.name);
        assert!(!select.contains("country_id"), "{}: {select}", b.name);
        assert_eq!(found.len(), 1);
        let ann = &found[0];
        assert!(ann.is_partial(), "{}", b.name);
        assert_eq!(ann.loaded_fields(), ["id", "name"], "{}", b.name);
        assert!(ann.is_loaded(Author::NAME) && !ann.is_loaded(Author::BORN));

        // Typed handles and column names work too; the order's column is loaded.
        let books = em
            .find_with(
                Book::PAGES.gt(0),
                FindOptions::default()
                    .fields([Book::TITLE])
                    .order_by([Book::PAGES.asc()]),
            )
            .await
            .unwrap();
        let sql = log.take();
        let select = select_of(&sql);
        assert!(!select.contains("price"), "{}: {select}", b.name);
        assert!(!select.contains("author_id"), "{}: {select}", b.name);
        assert_eq!(books.len(), 4);
        assert_eq!(books[0].loaded_fields(), ["id", "title", "pages"]);
        let by_column = orm
            .em()
            .fork()
            .find_with(
                Book::PAGES.gt(0),
                FindOptions::default().fields(["author_id"]),
            )
            .await
            .unwrap();
        assert_eq!(by_column[0].loaded_fields(), ["id", "author"], "{}", b.name);
    }
}

#[tokio::test]
async fn reading_an_unloaded_field_is_a_typed_error() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let ann = em
            .find_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["name"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(ann.field(Author::NAME).unwrap(), "Ann", "{}", b.name);
        let err = ann.field(Author::BORN).unwrap_err();
        assert!(
            matches!(
                err,
                Error::FieldNotLoaded {
                    entity: "Author",
                    field: "born"
                }
            ),
            "{}: {err:?}",
            b.name
        );
        assert!(matches!(
            ann.field(Author::COUNTRY),
            Err(Error::FieldNotLoaded {
                field: "country",
                ..
            })
        ));
        // `read()` shows the placeholder.
        assert_eq!(ann.read().born, None);
    }
}

#[tokio::test]
async fn a_flush_writes_only_the_changed_loaded_columns() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let book = em
            .find_with(
                Book::TITLE.eq("Rust in Action"),
                FindOptions::default().fields(["title"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert!(!book.is_dirty());
        book.write().title = "Rust in Action, 2nd ed.".into();
        assert_eq!(book.changed_columns(), ["title"], "{}", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let update = update_of(&log.take());
        assert!(update.contains("title"), "{}: {update}", b.name);
        for unloaded in ["pages", "price", "author_id"] {
            assert!(!update.contains(unloaded), "{}: {update}", b.name);
        }
        assert!(!book.is_dirty() && book.is_partial(), "{}", b.name);

        // The unloaded columns keep their values, raw and through a fresh fork.
        let rows = em
            .query(
                &b.sql("SELECT pages, price FROM q_books WHERE title = ?"),
                vec!["Rust in Action, 2nd ed.".into()],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{}", b.name);
        assert_eq!(rows[0].get::<i32>("pages").unwrap(), 300, "{}", b.name);
        assert_eq!(rows[0].get::<Option<i32>>("price").unwrap(), Some(40));
        let fresh = orm.em().fork();
        let full = fresh
            .find_one_or_fail(Book::TITLE.eq("Rust in Action, 2nd ed."))
            .await
            .unwrap();
        assert_eq!(full.read().pages, 300, "{}", b.name);
        let ann = fresh
            .find_one_or_fail(Author::NAME.eq("Ann"))
            .await
            .unwrap();
        assert_eq!(full.read().author.key(), ann.key(), "{}", b.name);
    }
}

#[tokio::test]
async fn assigning_an_unloaded_field_writes_and_loads_it() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let book = em
            .find_with(
                Book::TITLE.eq("Go Programming"),
                FindOptions::default().fields(["title"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        book.write().pages = 999;
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let update = update_of(&log.take());
        assert!(update.contains("pages"), "{}: {update}", b.name);
        assert!(
            !update.contains("title") && !update.contains("price"),
            "{}: {update}",
            b.name
        );
        assert!(book.is_loaded(Book::PAGES), "{}", b.name);
        assert_eq!(book.field(Book::PAGES).unwrap(), 999);
        assert!(book.field(Book::PRICE).is_err(), "{}", b.name);
        let fresh = orm.em().fork();
        let full = fresh
            .find_one_or_fail(Book::TITLE.eq("Go Programming"))
            .await
            .unwrap();
        assert_eq!((full.read().pages, full.read().price), (999, Some(30)));
    }
}

#[tokio::test]
async fn a_full_read_completes_the_same_instance_and_keeps_pending_changes() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let ann = em
            .find_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["name"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        ann.write().name = "Ann B.".into();
        // A full `find` completes the instance and keeps the pending change.
        let found = em.find(Author::BORN.eq(1950)).await.unwrap();
        assert_eq!(found.len(), 1);
        assert!(Managed::ptr_eq(&found[0], &ann), "{}", b.name);
        assert!(!ann.is_partial(), "{}", b.name);
        assert_eq!(ann.read().born, Some(1950), "{}", b.name);
        assert_eq!(ann.read().name, "Ann B.", "{}", b.name);
        assert!(ann.read().country.is_some(), "{}", b.name);
        assert_eq!(ann.changed_columns(), ["name"], "{}", b.name);
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        let update = update_of(&log.take());
        assert!(
            !update.contains("born") && !update.contains("country_id"),
            "{}: {update}",
            b.name
        );

        // `find_one` by key reads a partial instance again, in full.
        let bob = em
            .find_with(
                Author::NAME.eq("Bob"),
                FindOptions::default().fields(["born"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        let log = StatementLog::capture();
        let again = em.find_one::<Author>(bob.key()).await.unwrap().unwrap();
        assert_eq!(log.take().len(), 1, "{}", b.name);
        assert!(Managed::ptr_eq(&again, &bob) && !bob.is_partial());
        assert_eq!(bob.read().name, "Bob", "{}", b.name);
        // Loaded in full now: no query.
        em.find_one::<Author>(bob.key()).await.unwrap().unwrap();
        assert!(log.take().is_empty(), "{}", b.name);

        // A partial read of a full instance does not downgrade it.
        em.find_with(
            Author::NAME.eq("Bob"),
            FindOptions::default().fields(["name"]),
        )
        .await
        .unwrap();
        assert!(!bob.is_partial(), "{}", b.name);
        assert!(bob.read().country.is_some(), "{}", b.name);

        // Two partial reads union their fields; `refresh` completes.
        let cid = em
            .find_with(
                Author::NAME.eq("Cid"),
                FindOptions::default().fields(["name"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        em.find_with(
            Author::NAME.eq("Cid"),
            FindOptions::default().fields(["born"]),
        )
        .await
        .unwrap();
        assert_eq!(cid.loaded_fields(), ["id", "name", "born"], "{}", b.name);
        assert_eq!(cid.field(Author::BORN).unwrap(), Some(1970));
        assert!(cid.is_partial());
        assert!(em.refresh(&cid).await.unwrap());
        assert!(!cid.is_partial(), "{}", b.name);
    }
}

#[tokio::test]
async fn an_unknown_field_is_refused_before_any_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let ann = em.find_one_or_fail(Author::NAME.eq("Ann")).await.unwrap();
        ann.write().born = Some(1951);
        em.persist(Country {
            id: 0,
            name: "DE".into(),
        })
        .unwrap();
        let log = StatementLog::capture();
        let err = em
            .find_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["name", "nope"]),
            )
            .await
            .unwrap_err();
        match &err {
            Error::UnknownField {
                entity,
                field,
                known,
            } => {
                assert_eq!((*entity, field.as_str()), ("Author", "nope"), "{}", b.name);
                assert!(known.contains("born"), "{known}");
            }
            other => panic!("{}: {other:?}", b.name),
        }
        let err = em
            .find_one_with::<Author>(ann.key(), FindOptions::default().fields(["nope"]))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnknownField { .. }), "{err:?}");
        assert!(log.take().is_empty(), "{}", b.name);
        // Nothing changed: the pending work is still pending.
        assert!(ann.is_dirty() && !ann.is_partial(), "{}", b.name);
        assert_eq!(ann.read().born, Some(1951));
        let other = orm.em().fork();
        assert_eq!(other.count(Country::NAME.eq("DE")).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn fields_with_populate_or_stream_are_refused_before_any_sql() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let log = StatementLog::capture();
        let err = em
            .find_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["name"]).populate(["books"]),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        let err = em
            .stream(
                Filter::<Author>::all(),
                FindOptions::default().fields(["name"]),
            )
            .err()
            .unwrap();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.contains("fields")),
            "{err:?}"
        );
        assert!(log.take().is_empty(), "{}", b.name);
    }
}

#[tokio::test]
async fn cursor_pages_and_find_one_with_take_fields() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let page = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(2),
                FindOptions::default()
                    .fields(["title"])
                    .order_by([Book::PAGES.asc()]),
            )
            .await
            .unwrap();
        assert_eq!(titles(&page.items), ["rust for kids", "Go Programming"]);
        assert!(page.items.iter().all(|i| i.is_partial()));
        let next = em
            .find_page(
                Filter::<Book>::all(),
                PageRequest::first(2).after(page.end_cursor().unwrap()),
                FindOptions::default()
                    .fields(["title"])
                    .order_by([Book::PAGES.asc()]),
            )
            .await
            .unwrap();
        assert_eq!(
            titles(&next.items),
            ["Rust in Action", "Dune 50%_off"],
            "{}",
            b.name
        );

        let ann = em
            .find_one_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["born"]),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ann.loaded_fields(), ["id", "born"], "{}", b.name);
    }
}

#[tokio::test]
async fn a_versioned_partial_update_keeps_the_optimistic_check() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Draft>()).await;
        let em = orm.em().fork();
        let draft = em
            .persist(Draft {
                id: 0,
                title: "t".into(),
                body: "b".into(),
                version: 0,
            })
            .unwrap();
        em.flush().await.unwrap();
        let id = draft.key();

        let em = orm.em().fork();
        let partial = em
            .find_with(Draft::ID.eq(id), FindOptions::default().fields(["title"]))
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(
            partial.loaded_fields(),
            ["id", "title", "version"],
            "{}",
            b.name
        );
        let read_version = partial.read().version;
        partial.write().title = "t2".into();
        em.flush().await.unwrap();
        assert_eq!(partial.read().version, read_version + 1, "{}", b.name);
        let check = orm.em().fork();
        let row = check.find_one_or_fail::<Draft>(id).await.unwrap();
        assert_eq!(
            (row.read().title.as_str(), row.read().body.as_str()),
            ("t2", "b")
        );

        // A concurrent write: the partial instance's flush is a conflict.
        row.write().body = "b2".into();
        check.flush().await.unwrap();
        partial.write().title = "t3".into();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::OptimisticLock {
                    entity: "Draft",
                    ..
                }
            ),
            "{}: {err:?}",
            b.name
        );
        let after = orm.em().fork().find_one_or_fail::<Draft>(id).await.unwrap();
        assert_eq!(
            (after.read().title.as_str(), after.read().body.as_str()),
            ("t2", "b2"),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn a_rollback_restores_a_partial_instance() {
    for b in backends() {
        let orm = orm_for(&b).await;
        seed(&orm).await;
        let em = orm.em().fork();
        let ann = em
            .find_with(
                Author::NAME.eq("Ann"),
                FindOptions::default().fields(["name"]),
            )
            .await
            .unwrap()
            .pop()
            .unwrap();
        em.begin().await.unwrap();
        em.find(Author::NAME.eq("Ann")).await.unwrap();
        assert!(!ann.is_partial(), "{}", b.name);
        ann.write().born = Some(1900);
        em.flush().await.unwrap();
        em.rollback().await.unwrap();
        // As before the scope: partial again, nothing to write.
        assert!(ann.is_partial(), "{}", b.name);
        assert!(!ann.is_dirty(), "{}", b.name);
        assert!(ann.field(Author::BORN).is_err());
        em.flush().await.unwrap();
        let born = orm
            .em()
            .fork()
            .find_one_or_fail(Author::NAME.eq("Ann"))
            .await
            .unwrap()
            .read()
            .born;
        assert_eq!(born, Some(1950), "{}", b.name);
    }
}
