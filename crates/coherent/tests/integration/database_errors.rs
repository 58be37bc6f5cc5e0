//! What a database's refusal tells the application: each failure kind provoked for real on
//! every backend, checked for its typed variant, its [`DatabaseError`] (the backend's own
//! code; the constraint, table, column, detail and hint where that backend gives them), a
//! `source()` chain that reaches the driver's own error (`rusqlite::Error`, `sqlx::Error`),
//! and the database and memory afterwards (nothing written, the managed instances as before
//! the failed flush).

use crate::common::*;
use crate::each_backend;
use coherent::prelude::*;
use coherent::{DatabaseError, Error};

#[derive(Entity, Clone, Debug)]
#[entity(table = "writers")]
struct Writer {
    #[primary_key]
    id: i64,
    name: String,
}

#[derive(Entity, Clone, Debug)]
#[entity(table = "notes")]
struct Note {
    #[primary_key]
    id: i64,
    text: String,
    #[many_to_one]
    writer: Ref<Writer>,
}

/// Mapped to a table written by hand: `nick` NOT NULL, `age` CHECKed positive.
#[derive(Entity, Clone, Debug)]
#[entity(table = "profiles")]
struct Profile {
    #[primary_key]
    id: i64,
    nick: Option<String>,
    age: i32,
}

impl Profile {
    fn new(nick: Option<&str>, age: i32) -> Profile {
        Profile {
            id: 0,
            nick: nick.map(str::to_owned),
            age,
        }
    }
}

/// Mapped to a table written by hand whose `value` holds no text with a NUL byte: an
/// integer column on SQLite (a STRICT table) and MariaDB, text on PostgreSQL.
#[derive(Entity, Clone, Debug)]
#[entity(table = "readings")]
struct Reading {
    #[primary_key]
    id: i64,
    value: String,
}

/// The suite's Orm with this file's entities, and the hand-written tables in place of the
/// generated `profiles` and `readings`.
async fn orm_for(b: &Backend) -> Orm {
    let orm = b
        .orm_with(|builder| {
            builder
                .entity::<Writer>()
                .entity::<Note>()
                .entity::<Profile>()
                .entity::<Reading>()
        })
        .await;
    let key = b.auto_key();
    let (value, strict) = match b.dialect() {
        coherent::Dialect::Sqlite => ("INTEGER", " STRICT"),
        coherent::Dialect::Postgres => ("TEXT", ""),
        coherent::Dialect::MySql => ("INT", ""),
    };
    for sql in [
        "DROP TABLE profiles".to_string(),
        "DROP TABLE readings".to_string(),
        format!(
            "CREATE TABLE profiles (id {key}, nick {} NOT NULL, age INTEGER NOT NULL, CONSTRAINT positive_age CHECK (age > 0))",
            b.key_text()
        ),
        format!("CREATE TABLE readings (id {key}, value {value} NOT NULL){strict}"),
    ] {
        orm.em().execute(&sql, vec![]).await.expect(&sql);
    }
    orm
}

/// The backend's value of three: SQLite's, PostgreSQL's, MariaDB's.
fn per<T>(b: &Backend, sqlite: T, postgres: T, mysql: T) -> T {
    match b.dialect() {
        coherent::Dialect::Sqlite => sqlite,
        coherent::Dialect::Postgres => postgres,
        coherent::Dialect::MySql => mysql,
    }
}

/// The error's [`DatabaseError`], after checking that `source()` is that very value and that
/// its own source is the driver's error: a `rusqlite::Error::SqliteFailure` (or
/// `SqlInputError`) on SQLite, a `sqlx::Error::Database` on the servers.
fn database_error<'e>(b: &Backend, err: &'e Error) -> &'e DatabaseError {
    let db = err
        .database_error()
        .unwrap_or_else(|| panic!("{}: no database error in {err:?}", b.name));
    let source = std::error::Error::source(err).expect("a source");
    assert!(
        std::ptr::eq(source.downcast_ref::<DatabaseError>().unwrap(), db),
        "{}: the source is the DatabaseError",
        b.name
    );
    let native = source.source().expect("the native error");
    assert!(
        std::ptr::addr_eq(native, db.native().unwrap()),
        "{}",
        b.name
    );
    if b.is_sqlite() {
        #[cfg(feature = "sqlite")]
        {
            use coherent::__private::rusqlite;
            assert!(
                matches!(
                    native.downcast_ref::<rusqlite::Error>(),
                    Some(
                        rusqlite::Error::SqliteFailure(..) | rusqlite::Error::SqlInputError { .. }
                    )
                ),
                "{}: {native:?}",
                b.name
            );
        }
    } else {
        #[cfg(any(feature = "postgres", feature = "mysql"))]
        {
            use coherent::__private::sqlx;
            assert!(
                matches!(
                    native.downcast_ref::<sqlx::Error>(),
                    Some(sqlx::Error::Database(_))
                ),
                "{}: {native:?}",
                b.name
            );
        }
    }
    // The text says what failed, and ends with the database's message.
    assert!(err.to_string().ends_with(db.message()), "{}: {err}", b.name);
    db
}

/// `(code, table, column, constraint)` of a database error.
type Fields<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

/// The error's [`DatabaseError`] (checked as [`database_error`] does), after checking the
/// constraint kind (`None`: no constraint violation) and `(code, table, column, constraint)`:
/// `expected` holds SQLite's, PostgreSQL's and MariaDB's.
fn refusal<'e>(
    b: &Backend,
    err: &'e Error,
    kind: Option<ConstraintKind>,
    expected: [Fields<'_>; 3],
) -> &'e DatabaseError {
    assert_eq!(err.constraint_kind(), kind, "{}: {err:?}", b.name);
    let db = database_error(b, err);
    let [sqlite, postgres, mysql] = expected;
    assert_eq!(
        (db.code(), db.table(), db.column(), db.constraint()),
        per(b, sqlite, postgres, mysql),
        "{}: {db:?}",
        b.name
    );
    db
}

/// The number of rows of `table`.
async fn count(orm: &Orm, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    orm.em().query(&sql, vec![]).await.unwrap()[0]
        .get("n")
        .unwrap()
}

#[tokio::test]
async fn a_unique_violation_names_its_code_constraint_and_detail() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let taken = em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        let before = user_rows(&orm).await;

        taken.write().name = "renamed".into();
        let twin = em.persist(User::new("b", "a@x.io")).unwrap();
        let err = em.flush().await.unwrap_err();
        let db = refusal(
            &b,
            &err,
            Some(ConstraintKind::Unique),
            [
                (
                    Some("SQLITE_CONSTRAINT_UNIQUE"),
                    Some("users"),
                    Some("email"),
                    None,
                ),
                (Some("23505"), Some("users"), None, Some("uq_users_email")),
                (Some("1062"), None, None, Some("uq_users_email")),
            ],
        );
        let Error::Constraint { source, .. } = &err else {
            unreachable!()
        };
        assert!(std::ptr::eq(db, source), "{}", b.name);
        assert_eq!(
            (db.detail(), db.hint()),
            (
                per(&b, None, Some("Key (email)=(a@x.io) already exists."), None),
                None
            ),
            "{}",
            b.name
        );
        assert_eq!(
            db.message(),
            per(
                &b,
                "UNIQUE constraint failed: users.email",
                "duplicate key value violates unique constraint \"uq_users_email\"",
                "Duplicate entry 'a@x.io' for key 'uq_users_email'",
            ),
            "{}",
            b.name
        );
        assert!(!err.is_retryable() && !err.dooms_transaction());

        // Nothing written; memory as before the flush: the update still pending, the insert
        // without a key.
        assert_eq!(user_rows(&orm).await, before, "{}", b.name);
        assert_eq!(twin.read().id, 0, "{}", b.name);
        assert!(taken.is_dirty(), "{}", b.name);
        assert_eq!(taken.original().unwrap().name, "a", "{}", b.name);
        twin.write().email = "b@x.io".into();
        em.flush().await.unwrap();
        let names: Vec<String> = user_rows(&orm).await.into_iter().map(|r| r.1).collect();
        assert_eq!(names, ["renamed", "b"], "{}", b.name);
    }
}

#[tokio::test]
async fn a_foreign_key_violation_names_its_code_constraint_and_table() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let writer = em
            .persist(Writer {
                id: 0,
                name: "w".into(),
            })
            .unwrap();
        em.flush().await.unwrap();
        let writer_id = writer.read().id;

        let note = em
            .persist(Note {
                id: 0,
                text: "orphan".into(),
                writer: Ref::to_key(4242),
            })
            .unwrap();
        let err = em.flush().await.unwrap_err();
        // Both sides name the constraint's table: notes.
        let fk = |mysql_code| {
            [
                (Some("SQLITE_CONSTRAINT_FOREIGNKEY"), None, None, None),
                (
                    Some("23503"),
                    Some("notes"),
                    None,
                    Some("fk_notes_writer_id"),
                ),
                (
                    Some(mysql_code),
                    Some("notes"),
                    None,
                    Some("fk_notes_writer_id"),
                ),
            ]
        };
        let db = refusal(&b, &err, Some(ConstraintKind::ForeignKey), fk("1452"));
        assert_eq!(
            db.detail(),
            per(
                &b,
                None,
                Some("Key (writer_id)=(4242) is not present in table \"writers\"."),
                None
            ),
            "{}",
            b.name
        );
        assert_eq!(count(&orm, "notes").await, 0, "{}: nothing written", b.name);
        assert_eq!(note.read().id, 0, "{}: no key kept", b.name);
        assert!(em.contains(&note).unwrap(), "{}: still pending", b.name);
        note.write().writer = Ref::to(&writer);
        em.flush().await.unwrap();
        assert_eq!(count(&orm, "notes").await, 1, "{}", b.name);

        // The other side: deleting the referenced row (raw SQL; the ORM would refuse first).
        let err = orm
            .em()
            .execute(
                &b.sql("DELETE FROM writers WHERE id = ?"),
                vec![writer_id.into()],
            )
            .await
            .unwrap_err();
        let db = refusal(&b, &err, Some(ConstraintKind::ForeignKey), fk("1451"));
        if b.is_postgres() {
            let detail =
                format!("Key (id)=({writer_id}) is still referenced from table \"notes\".");
            assert_eq!(db.detail(), Some(detail.as_str()));
        }
        assert_eq!(count(&orm, "writers").await, 1, "{}", b.name);
    }
}

#[tokio::test]
async fn a_not_null_violation_names_the_column() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let profile = em.persist(Profile::new(None, 30)).unwrap();
        let err = em.flush().await.unwrap_err();
        let db = refusal(
            &b,
            &err,
            Some(ConstraintKind::NotNull),
            [
                (
                    Some("SQLITE_CONSTRAINT_NOTNULL"),
                    Some("profiles"),
                    Some("nick"),
                    None,
                ),
                (Some("23502"), Some("profiles"), Some("nick"), None),
                (Some("1048"), None, Some("nick"), None),
            ],
        );
        if b.is_postgres() {
            let detail = db.detail().unwrap_or_default();
            assert!(detail.starts_with("Failing row contains ("), "{detail}");
        } else {
            assert_eq!(db.detail(), None, "{}", b.name);
        }
        assert_eq!(
            count(&orm, "profiles").await,
            0,
            "{}: nothing written",
            b.name
        );
        assert_eq!(profile.read().id, 0, "{}", b.name);
        profile.write().nick = Some("n".into());
        em.flush().await.unwrap();
        assert_eq!(count(&orm, "profiles").await, 1, "{}", b.name);
    }
}

#[tokio::test]
async fn a_check_violation_names_the_constraint() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let profile = em.persist(Profile::new(Some("n"), 1)).unwrap();
        em.flush().await.unwrap();
        profile.write().age = -1;
        let err = em.flush().await.unwrap_err();
        refusal(
            &b,
            &err,
            Some(ConstraintKind::Check),
            [
                (
                    Some("SQLITE_CONSTRAINT_CHECK"),
                    None,
                    None,
                    Some("positive_age"),
                ),
                (Some("23514"), Some("profiles"), None, Some("positive_age")),
                (Some("4025"), Some("profiles"), None, Some("positive_age")),
            ],
        );
        let ages: Vec<i32> = orm
            .em()
            .query("SELECT age FROM profiles", vec![])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("age").unwrap())
            .collect();
        assert_eq!(ages, [1], "{}: nothing written", b.name);
        assert!(profile.is_dirty(), "{}", b.name);
        assert_eq!(profile.original().unwrap().age, 1, "{}", b.name);
    }
}

#[tokio::test]
async fn a_value_the_column_cannot_hold_is_invalid_data() {
    for b in backends() {
        let orm = orm_for(&b).await;
        let em = orm.em().fork();
        let reading = em
            .persist(Reading {
                id: 0,
                value: "x\0".into(),
            })
            .unwrap();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidData { .. }),
            "{}: {err:?}",
            b.name
        );
        let db = refusal(
            &b,
            &err,
            None,
            [
                (
                    Some("SQLITE_CONSTRAINT_DATATYPE"),
                    Some("readings"),
                    Some("value"),
                    None,
                ),
                // A NUL byte in text: PostgreSQL names no column.
                (Some("22021"), None, None, None),
                (Some("1366"), Some("readings"), Some("value"), None),
            ],
        );
        assert!(
            err.to_string().starts_with(&format!(
                "invalid value for the database ({}): ",
                db.code().unwrap()
            )),
            "{}: {err}",
            b.name
        );
        assert_eq!(
            count(&orm, "readings").await,
            0,
            "{}: nothing written",
            b.name
        );
        assert_eq!(reading.read().id, 0, "{}", b.name);
        reading.write().value = "42".into();
        em.flush().await.unwrap();
        assert_eq!(count(&orm, "readings").await, 1, "{}", b.name);
    }
}

#[tokio::test]
async fn raw_sql_on_a_missing_table_is_a_database_error_with_its_code() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        let err = em.query("SELECT * FROM nope", vec![]).await.unwrap_err();
        assert!(matches!(err, Error::Database { .. }), "{}: {err:?}", b.name);
        let db = database_error(&b, &err);
        assert_eq!(
            db.code(),
            Some(per(&b, "SQLITE_ERROR", "42P01", "1146")),
            "{}",
            b.name
        );
        let expected = per(
            &b,
            "no such table: nope".to_string(),
            "relation \"nope\" does not exist".to_string(),
            String::new(),
        );
        if b.is_mysql() {
            assert!(
                db.message().ends_with(".nope' doesn't exist"),
                "{}",
                db.message()
            );
        } else {
            assert_eq!(db.message(), expected, "{}", b.name);
        }
        assert_eq!(
            err.to_string(),
            format!("database error {}: {}", db.code().unwrap(), db.message())
        );

        // PostgreSQL's hint for a misspelt column.
        let err = em
            .query("SELECT emial FROM users", vec![])
            .await
            .unwrap_err();
        let db = database_error(&b, &err);
        assert_eq!(
            db.code(),
            Some(per(&b, "SQLITE_ERROR", "42703", "1054")),
            "{}",
            b.name
        );
        assert_eq!(
            db.hint(),
            per(
                &b,
                None,
                Some("Perhaps you meant to reference the column \"users.email\"."),
                None
            ),
            "{}",
            b.name
        );

        // Inside a transaction: PostgreSQL aborts it, and the driver refuses what follows
        // with TransactionAborted, whose source says what aborted it (and has no native
        // error: it was returned with the statement that failed); the others go on.
        em.begin().await.unwrap();
        em.persist(User::new("a", "a@x.io")).unwrap();
        em.flush().await.unwrap();
        em.query("SELECT * FROM nope", vec![]).await.unwrap_err();
        let next = em.query("SELECT 1 AS one", vec![]).await;
        if b.is_postgres() {
            let err = next.unwrap_err();
            let Error::TransactionAborted { source } = &err else {
                panic!("{}: {err:?}", b.name);
            };
            assert_eq!(source.code(), None);
            assert!(source.native().is_none());
            assert!(source.message().contains("nope"), "{source}");
        } else {
            assert_eq!(next.unwrap().len(), 1, "{}", b.name);
        }
        em.rollback().await.unwrap();
        assert!(user_rows(&orm).await.is_empty(), "{}", b.name);
    });
}
