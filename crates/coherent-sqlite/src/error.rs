//! Classifying `rusqlite` errors into Coherent's [`Error`].
//!
//! Policy:
//! - **Every refusal of SQLite carries a [`DatabaseError`]** whose code is the name of the
//!   extended result code (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_BUSY`, `SQLITE_ERROR`; see
//!   [`code_name`]), whose message is SQLite's, whole, and whose source is the
//!   `rusqlite::Error`.
//! - **Constraint violations are typed** by SQLite's extended result code, never by matching
//!   message prefixes: `SQLITE_CONSTRAINT_UNIQUE` and `_PRIMARYKEY` are
//!   [`ConstraintKind::Unique`], `_NOTNULL` is [`ConstraintKind::NotNull`], `_FOREIGNKEY` is
//!   [`ConstraintKind::ForeignKey`] (and so is `_TRIGGER` with the message `FOREIGN KEY
//!   constraint failed`, how SQLite refuses an `ON DELETE RESTRICT`), `_CHECK` is
//!   [`ConstraintKind::Check`]. The message is
//!   only *parsed for details*, which SQLite states the same way in every version this crate
//!   bundles: `UNIQUE constraint failed: users.email` (and `NOT NULL ..`) gives table `users`
//!   and column `email` (over several columns, `t.a, t.b`, the table only); `UNIQUE
//!   constraint failed: index 'name'` (a unique index on expressions) gives constraint
//!   `name`; `CHECK constraint failed: positive` gives constraint `positive` (an unnamed
//!   CHECK: its expression). SQLite names nothing for foreign keys.
//! - **`SQLITE_BUSY` and `SQLITE_LOCKED` are [`Error::LockTimeout`]**: the busy handler has
//!   already waited the configured timeout, and the caller may retry.
//! - **`SQLITE_CANTOPEN` is [`Error::Connection`]**, with the rusqlite error as its source;
//!   **`SQLITE_INTERRUPT` is [`Error::StatementTimeout`]** (only the statement timeout
//!   interrupts).
//! - **A value SQLite will not take is [`Error::InvalidData`]**: a value of the wrong type
//!   for a column of a STRICT table (`SQLITE_CONSTRAINT_DATATYPE`: `cannot store TEXT value
//!   in INTEGER column t.c` gives table and column), `SQLITE_TOOBIG`, and a LIKE pattern
//!   longer than SQLite's limit ("LIKE or GLOB pattern too complex").
//! - **Everything else is [`Error::Database`]**, with SQLite's code and message.

use coherent_core::{ConstraintKind, DatabaseError, Error};
use rusqlite::ffi;

/// Classifies a `rusqlite` error.
///
/// ```
/// use coherent_core::{ConstraintKind, Error};
/// use coherent_sqlite::error::classify;
///
/// let conn = rusqlite::Connection::open_in_memory().unwrap();
/// conn.execute_batch("CREATE TABLE users (email TEXT UNIQUE); INSERT INTO users VALUES ('a');").unwrap();
/// let err = classify(conn.execute("INSERT INTO users VALUES ('a')", []).unwrap_err());
/// assert_eq!(err.constraint_kind(), Some(ConstraintKind::Unique));
/// let db = err.database_error().unwrap();
/// assert_eq!(db.code(), Some("SQLITE_CONSTRAINT_UNIQUE"));
/// assert_eq!((db.table(), db.column()), (Some("users"), Some("email")));
/// assert_eq!(db.message(), "UNIQUE constraint failed: users.email");
/// // The rusqlite error is the source.
/// assert!(db.native().unwrap().downcast_ref::<rusqlite::Error>().is_some());
/// ```
pub fn classify(err: rusqlite::Error) -> Error {
    match &err {
        rusqlite::Error::SqliteFailure(code, message) => {
            let message = message.clone().unwrap_or_else(|| code.to_string());
            classify_code(*code, message, err)
        }
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            classify_code(*error, msg.clone(), err)
        }
        rusqlite::Error::InvalidParameterCount(given, expected) => Error::InvalidArgument(format!(
            "statement has {expected} parameter(s) but {given} value(s) were bound"
        )),
        rusqlite::Error::InvalidParameterName(name) => {
            Error::InvalidArgument(format!("no parameter named {name:?} in the statement"))
        }
        rusqlite::Error::NulError(e) => {
            Error::InvalidArgument(format!("text contains a NUL byte: {e}"))
        }
        rusqlite::Error::MultipleStatement => {
            Error::InvalidArgument("SQL text holds more than one statement".into())
        }
        rusqlite::Error::InvalidPath(path) => Error::connection_unavailable_from(
            format!("invalid database path {}", path.display()),
            err,
        ),
        _ => Error::Database {
            source: DatabaseError::new(err.to_string()).with_source(err),
        },
    }
}

fn classify_code(code: ffi::Error, message: String, native: rusqlite::Error) -> Error {
    let names = match code.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE
        | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        | ffi::SQLITE_CONSTRAINT_NOTNULL => columns_detail(&message),
        ffi::SQLITE_CONSTRAINT_CHECK => Names {
            constraint: detail(&message).map(str::to_owned),
            ..Names::default()
        },
        ffi::SQLITE_CONSTRAINT_DATATYPE => Names {
            // "cannot store TEXT value in INTEGER column t.c"
            ..message
                .rsplit_once(" column ")
                .map(|(_, c)| table_column(c))
                .unwrap_or_default()
        },
        _ => Names::default(),
    };
    let kind = match code.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            Some(ConstraintKind::Unique)
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => Some(ConstraintKind::NotNull),
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ConstraintKind::ForeignKey),
        // An `ON DELETE RESTRICT` action refuses with the trigger code (SQLite runs foreign-key
        // actions as triggers) and this exact message; a user trigger's RAISE says its own.
        ffi::SQLITE_CONSTRAINT_TRIGGER if message == "FOREIGN KEY constraint failed" => {
            Some(ConstraintKind::ForeignKey)
        }
        ffi::SQLITE_CONSTRAINT_CHECK => Some(ConstraintKind::Check),
        _ => None,
    };
    let invalid_data = code.extended_code == ffi::SQLITE_CONSTRAINT_DATATYPE
        || code.code == ffi::ErrorCode::TooBig
        || (code.code == ffi::ErrorCode::Unknown && message.contains("pattern too complex"));
    if code.code == ffi::ErrorCode::CannotOpen {
        return Error::connection_unavailable_from(message, native);
    }
    let source = DatabaseError::new(message)
        .with_code(code_name(code.extended_code))
        .with_table(names.table)
        .with_column(names.column)
        .with_constraint(names.constraint)
        .with_source(native);
    match (kind, code.code) {
        (Some(kind), _) => Error::Constraint { kind, source },
        (None, ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked) => {
            Error::LockTimeout { source }
        }
        // Only the statement timeout's progress handler interrupts a statement.
        (None, ffi::ErrorCode::OperationInterrupted) => Error::StatementTimeout { source },
        // A bound value SQLite will not take: of the wrong type for a STRICT table's column,
        // too big for its limits, or a LIKE pattern past SQLITE_LIMIT_LIKE_PATTERN_LENGTH.
        _ if invalid_data => Error::InvalidData { source },
        _ => Error::Database { source },
    }
}

/// What a constraint message names.
#[derive(Debug, Default, PartialEq)]
struct Names {
    table: Option<String>,
    column: Option<String>,
    constraint: Option<String>,
}

/// The part of a constraint message after `constraint failed: `.
fn detail(message: &str) -> Option<&str> {
    message
        .split_once("constraint failed: ")
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty())
}

/// What a UNIQUE / NOT NULL message names: `t.c` gives table `t` and column `c`; `t.a, t.b`
/// the table `t` only; `index 'name'` (a unique index on expressions) the constraint `name`.
fn columns_detail(message: &str) -> Names {
    let Some(detail) = detail(message) else {
        return Names::default();
    };
    if let Some(index) = detail.strip_prefix("index '") {
        return Names {
            constraint: Some(index.trim_end_matches('\'').to_owned()),
            ..Names::default()
        };
    }
    match detail.split_once(',') {
        Some((first, _)) => Names {
            column: None,
            ..table_column(first)
        },
        None => table_column(detail),
    }
}

/// `t.c` as table `t` and column `c`.
fn table_column(qualified: &str) -> Names {
    match qualified.trim().rsplit_once('.') {
        Some((table, column)) if !table.is_empty() && !column.is_empty() => Names {
            table: Some(table.to_owned()),
            column: Some(column.to_owned()),
            constraint: None,
        },
        _ => Names::default(),
    }
}

/// The name of an SQLite result code, extended where SQLite names the extended code:
/// `SQLITE_ERROR`, `SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_IOERR_READ`; a code this table does not
/// know is named by its primary code and number (`SQLITE_IOERR (extended 9994)`), an unknown
/// primary code by its number (`SQLITE (127)`).
///
/// ```
/// use coherent_sqlite::error::code_name;
/// assert_eq!(code_name(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE), "SQLITE_CONSTRAINT_UNIQUE");
/// assert_eq!(code_name(rusqlite::ffi::SQLITE_BUSY), "SQLITE_BUSY");
/// ```
pub fn code_name(extended_code: i32) -> String {
    let primary = extended_code & 0xff;
    let Some((name, extended)) = CODES
        .iter()
        .find(|(code, _)| *code == primary)
        .map(|(_, (name, extended))| (*name, *extended))
    else {
        return format!("SQLITE ({extended_code})");
    };
    match extended_code >> 8 {
        0 => name.to_owned(),
        n => match usize::try_from(n - 1).ok().and_then(|i| extended.get(i)) {
            Some(suffix) if !suffix.is_empty() => format!("{name}_{suffix}"),
            _ => format!("{name} (extended {extended_code})"),
        },
    }
}

/// Each primary result code's name and the suffixes of its extended codes (`SQLITE_IOERR |
/// (n << 8)` is `SQLITE_IOERR_` + the n-th), as `sqlite3.h` defines them.
const CODES: &[(i32, (&str, &[&str]))] = &[
    (
        ffi::SQLITE_ERROR,
        (
            "SQLITE_ERROR",
            &[
                "MISSING_COLLSEQ",
                "RETRY",
                "SNAPSHOT",
                "RESERVESIZE",
                "KEY",
                "UNABLE",
            ],
        ),
    ),
    (ffi::SQLITE_INTERNAL, ("SQLITE_INTERNAL", &[])),
    (ffi::SQLITE_PERM, ("SQLITE_PERM", &[])),
    (ffi::SQLITE_ABORT, ("SQLITE_ABORT", &["", "ROLLBACK"])),
    (
        ffi::SQLITE_BUSY,
        ("SQLITE_BUSY", &["RECOVERY", "SNAPSHOT", "TIMEOUT"]),
    ),
    (
        ffi::SQLITE_LOCKED,
        ("SQLITE_LOCKED", &["SHAREDCACHE", "VTAB"]),
    ),
    (ffi::SQLITE_NOMEM, ("SQLITE_NOMEM", &[])),
    (
        ffi::SQLITE_READONLY,
        (
            "SQLITE_READONLY",
            &[
                "RECOVERY",
                "CANTLOCK",
                "ROLLBACK",
                "DBMOVED",
                "CANTINIT",
                "DIRECTORY",
            ],
        ),
    ),
    (ffi::SQLITE_INTERRUPT, ("SQLITE_INTERRUPT", &[])),
    (
        ffi::SQLITE_IOERR,
        (
            "SQLITE_IOERR",
            &[
                "READ",
                "SHORT_READ",
                "WRITE",
                "FSYNC",
                "DIR_FSYNC",
                "TRUNCATE",
                "FSTAT",
                "UNLOCK",
                "RDLOCK",
                "DELETE",
                "BLOCKED",
                "NOMEM",
                "ACCESS",
                "CHECKRESERVEDLOCK",
                "LOCK",
                "CLOSE",
                "DIR_CLOSE",
                "SHMOPEN",
                "SHMSIZE",
                "SHMLOCK",
                "SHMMAP",
                "SEEK",
                "DELETE_NOENT",
                "MMAP",
                "GETTEMPPATH",
                "CONVPATH",
                "VNODE",
                "AUTH",
                "BEGIN_ATOMIC",
                "COMMIT_ATOMIC",
                "ROLLBACK_ATOMIC",
                "DATA",
                "CORRUPTFS",
                "IN_PAGE",
                "BADKEY",
                "CODEC",
            ],
        ),
    ),
    (
        ffi::SQLITE_CORRUPT,
        ("SQLITE_CORRUPT", &["VTAB", "SEQUENCE", "INDEX"]),
    ),
    (ffi::SQLITE_NOTFOUND, ("SQLITE_NOTFOUND", &[])),
    (ffi::SQLITE_FULL, ("SQLITE_FULL", &[])),
    (
        ffi::SQLITE_CANTOPEN,
        (
            "SQLITE_CANTOPEN",
            &[
                "NOTEMPDIR",
                "ISDIR",
                "FULLPATH",
                "CONVPATH",
                "DIRTYWAL",
                "SYMLINK",
            ],
        ),
    ),
    (ffi::SQLITE_PROTOCOL, ("SQLITE_PROTOCOL", &[])),
    (ffi::SQLITE_SCHEMA, ("SQLITE_SCHEMA", &[])),
    (ffi::SQLITE_TOOBIG, ("SQLITE_TOOBIG", &[])),
    (
        ffi::SQLITE_CONSTRAINT,
        (
            "SQLITE_CONSTRAINT",
            &[
                "CHECK",
                "COMMITHOOK",
                "FOREIGNKEY",
                "FUNCTION",
                "NOTNULL",
                "PRIMARYKEY",
                "TRIGGER",
                "UNIQUE",
                "VTAB",
                "ROWID",
                "PINNED",
                "DATATYPE",
            ],
        ),
    ),
    (ffi::SQLITE_MISMATCH, ("SQLITE_MISMATCH", &[])),
    (ffi::SQLITE_MISUSE, ("SQLITE_MISUSE", &[])),
    (ffi::SQLITE_NOLFS, ("SQLITE_NOLFS", &[])),
    (ffi::SQLITE_AUTH, ("SQLITE_AUTH", &["USER"])),
    (ffi::SQLITE_RANGE, ("SQLITE_RANGE", &[])),
    (ffi::SQLITE_NOTADB, ("SQLITE_NOTADB", &[])),
];

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
                 age INTEGER CONSTRAINT adult CHECK (age >= 18));
             CREATE TABLE pairs (a TEXT, b TEXT, UNIQUE (a, b));
             CREATE TABLE codes (code TEXT PRIMARY KEY);
             CREATE TABLE tags (name TEXT);
             CREATE UNIQUE INDEX tags_lower_name ON tags (lower(name));
             INSERT INTO tags VALUES ('Rust');
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
             CREATE TABLE strict (n INTEGER) STRICT;
             INSERT INTO users (id, email, age) VALUES (1, 'a@x', 20);
             INSERT INTO pairs VALUES ('x', 'y');
             INSERT INTO codes VALUES ('c');",
        )
        .unwrap();
        conn
    }

    fn fail(conn: &Connection, sql: &str) -> Error {
        classify(conn.execute_batch(sql).unwrap_err())
    }

    /// (kind, code, table, column, constraint, message) of a constraint violation, after
    /// checking that its source is the rusqlite error.
    type Violation = (
        ConstraintKind,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );

    fn constraint(err: Error) -> Violation {
        match err {
            Error::Constraint { kind, source } => {
                assert!(
                    std::error::Error::source(&source)
                        .and_then(|s| s.downcast_ref::<rusqlite::Error>())
                        .is_some(),
                    "{source:?}"
                );
                let own = |s: Option<&str>| s.map(str::to_owned);
                (
                    kind,
                    source.code().unwrap().to_owned(),
                    own(source.table()),
                    own(source.column()),
                    own(source.constraint()),
                    source.message().to_owned(),
                )
            }
            other => panic!("expected a constraint error, got {other:?}"),
        }
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn unique() {
        let conn = db();
        let (kind, code, table, column, name, message) = constraint(fail(
            &conn,
            "INSERT INTO users (email, age) VALUES ('a@x', 30)",
        ));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(code, "SQLITE_CONSTRAINT_UNIQUE");
        assert_eq!((table, column, name), (some("users"), some("email"), None));
        assert_eq!(message, "UNIQUE constraint failed: users.email");
    }

    #[test]
    fn unique_over_several_columns_names_the_table_only() {
        let conn = db();
        let (kind, _, table, column, name, message) =
            constraint(fail(&conn, "INSERT INTO pairs VALUES ('x', 'y')"));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!((table, column, name), (some("pairs"), None, None));
        assert_eq!(message, "UNIQUE constraint failed: pairs.a, pairs.b");
    }

    #[test]
    fn primary_keys_are_unique() {
        let conn = db();
        // A rowid key (SQLITE_CONSTRAINT_PRIMARYKEY) and a non-rowid key (_UNIQUE).
        let (kind, code, table, column, _, _) = constraint(fail(
            &conn,
            "INSERT INTO users (id, email, age) VALUES (1, 'b@x', 30)",
        ));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(code, "SQLITE_CONSTRAINT_PRIMARYKEY");
        assert_eq!((table, column), (some("users"), some("id")));
        let (kind, code, table, column, _, _) =
            constraint(fail(&conn, "INSERT INTO codes VALUES ('c')"));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(code, "SQLITE_CONSTRAINT_PRIMARYKEY");
        assert_eq!((table, column), (some("codes"), some("code")));
    }

    #[test]
    fn unique_expression_index() {
        let conn = db();
        let (kind, _, table, column, name, _) =
            constraint(fail(&conn, "INSERT INTO tags VALUES ('rust')"));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!((table, column, name), (None, None, some("tags_lower_name")));
    }

    #[test]
    fn not_null() {
        let conn = db();
        let (kind, code, table, column, name, _) = constraint(fail(
            &conn,
            "INSERT INTO users (email, age) VALUES (NULL, 30)",
        ));
        assert_eq!(kind, ConstraintKind::NotNull);
        assert_eq!(code, "SQLITE_CONSTRAINT_NOTNULL");
        assert_eq!((table, column, name), (some("users"), some("email"), None));
    }

    #[test]
    fn foreign_key() {
        let conn = db();
        let (kind, code, table, column, name, message) =
            constraint(fail(&conn, "INSERT INTO posts (user_id) VALUES (99)"));
        assert_eq!(kind, ConstraintKind::ForeignKey);
        assert_eq!(code, "SQLITE_CONSTRAINT_FOREIGNKEY");
        assert_eq!((table, column, name), (None, None, None));
        assert!(message.contains("FOREIGN KEY"), "{message}");
    }

    #[test]
    fn on_delete_restrict_is_a_foreign_key_violation() {
        let conn = db();
        conn.execute_batch(
            "CREATE TABLE loans (id INTEGER PRIMARY KEY,
                 user_id INTEGER REFERENCES users (id) ON DELETE RESTRICT);
             INSERT INTO loans (user_id) VALUES (1);",
        )
        .unwrap();
        let (kind, code, ..) = constraint(fail(&conn, "DELETE FROM users WHERE id = 1"));
        assert_eq!(kind, ConstraintKind::ForeignKey);
        assert_eq!(code, "SQLITE_CONSTRAINT_TRIGGER");
        // A user trigger's RAISE is not one.
        conn.execute_batch(
            "CREATE TRIGGER no_tags BEFORE INSERT ON tags BEGIN SELECT RAISE(ABORT, 'no'); END;",
        )
        .unwrap();
        let err = fail(&conn, "INSERT INTO tags VALUES ('Go')");
        assert_eq!(err.constraint_kind(), None, "{err}");
    }

    #[test]
    fn check() {
        let conn = db();
        let (kind, code, table, column, name, _) = constraint(fail(
            &conn,
            "INSERT INTO users (email, age) VALUES ('k@x', 3)",
        ));
        assert_eq!(kind, ConstraintKind::Check);
        assert_eq!(code, "SQLITE_CONSTRAINT_CHECK");
        assert_eq!((table, column, name), (None, None, some("adult")));
    }

    #[test]
    fn a_wrong_type_in_a_strict_table_is_invalid_data() {
        let conn = db();
        let err = fail(&conn, "INSERT INTO strict VALUES ('abc')");
        let Error::InvalidData { source } = &err else {
            panic!("expected invalid data, got {err:?}");
        };
        assert_eq!(source.code(), Some("SQLITE_CONSTRAINT_DATATYPE"));
        assert_eq!(
            (source.table(), source.column()),
            (Some("strict"), Some("n"))
        );
        assert_eq!(
            source.message(),
            "cannot store TEXT value in INTEGER column strict.n"
        );
    }

    #[test]
    fn syntax_error_is_a_database_error_with_a_code() {
        let conn = db();
        let err = classify(conn.prepare("SELEC 1").unwrap_err());
        match &err {
            Error::Database { source } => {
                assert_eq!(source.code(), Some("SQLITE_ERROR"));
                assert!(source.message().contains("syntax error"), "{source}");
                assert!(
                    matches!(
                        source
                            .native()
                            .and_then(|n| n.downcast_ref::<rusqlite::Error>()),
                        Some(rusqlite::Error::SqlInputError { .. })
                    ),
                    "{source:?}"
                );
            }
            other => panic!("expected a database error, got {other:?}"),
        }
        let err = classify(conn.prepare("SELECT * FROM nope").unwrap_err());
        assert!(
            matches!(&err, Error::Database { source } if source.message().contains("no such table"))
        );
    }

    #[test]
    fn busy_is_a_lock_timeout() {
        let name = format!("file:/coherent-error-test-{}?vfs=memdb", std::process::id());
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let a = Connection::open_with_flags(&name, flags).unwrap();
        let b = Connection::open_with_flags(&name, flags).unwrap();
        a.execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .unwrap();
        b.busy_timeout(std::time::Duration::ZERO).unwrap();
        let err = classify(b.execute_batch("BEGIN IMMEDIATE").unwrap_err());
        assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
        assert_eq!(err.database_error().unwrap().code(), Some("SQLITE_BUSY"));
        assert!(err.is_retryable());
    }

    #[test]
    fn cannot_open_is_a_connection_error_with_the_rusqlite_error_as_source() {
        let path = std::env::temp_dir().join("coherent-no-such-dir-4711/sub/x.db");
        let err = classify(Connection::open(path).unwrap_err());
        assert!(
            matches!(err, Error::Connection { sent: false, .. }),
            "{err:?}"
        );
        let source = std::error::Error::source(&err).unwrap();
        assert!(
            source.downcast_ref::<rusqlite::Error>().is_some(),
            "{source:?}"
        );
    }

    #[test]
    fn code_names() {
        assert_eq!(code_name(ffi::SQLITE_ERROR), "SQLITE_ERROR");
        assert_eq!(code_name(ffi::SQLITE_IOERR_READ), "SQLITE_IOERR_READ");
        assert_eq!(
            code_name(ffi::SQLITE_IOERR | (36 << 8)),
            "SQLITE_IOERR_CODEC"
        );
        assert_eq!(code_name(ffi::SQLITE_BUSY_SNAPSHOT), "SQLITE_BUSY_SNAPSHOT");
        assert_eq!(
            code_name(ffi::SQLITE_CONSTRAINT_DATATYPE),
            "SQLITE_CONSTRAINT_DATATYPE"
        );
        assert_eq!(
            code_name(ffi::SQLITE_ABORT_ROLLBACK),
            "SQLITE_ABORT_ROLLBACK"
        );
        // SQLITE_ABORT has no extended code 1: named by number.
        assert_eq!(
            code_name(ffi::SQLITE_ABORT | (1 << 8)),
            "SQLITE_ABORT (extended 260)"
        );
        assert_eq!(
            code_name(ffi::SQLITE_IOERR | (99 << 8)),
            "SQLITE_IOERR (extended 25354)"
        );
        assert_eq!(code_name(127), "SQLITE (127)");
    }

    #[test]
    fn message_details() {
        let names = |t: &str, c: &str| Names {
            table: Some(t.into()),
            column: Some(c.into()),
            constraint: None,
        };
        assert_eq!(
            columns_detail("UNIQUE constraint failed: users.email"),
            names("users", "email")
        );
        assert_eq!(
            columns_detail("NOT NULL constraint failed: main.users.email"),
            names("main.users", "email")
        );
        assert_eq!(columns_detail("UNIQUE constraint failed"), Names::default());
        assert_eq!(
            columns_detail("UNIQUE constraint failed: t.a, t.b")
                .table
                .as_deref(),
            Some("t")
        );
        assert_eq!(table_column("nodot"), Names::default());
    }

    #[test]
    fn misuse_maps_to_invalid_argument() {
        let err = classify(rusqlite::Error::InvalidParameterCount(1, 2));
        assert!(matches!(err, Error::InvalidArgument(m) if m.contains("2 parameter")));
    }
}
