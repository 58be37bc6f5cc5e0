//! Classifying `rusqlite` errors into Coherent's [`Error`].
//!
//! Policy:
//! - **Constraint violations are typed** by SQLite's extended result code, never by matching
//!   message prefixes: `SQLITE_CONSTRAINT_UNIQUE` and `_PRIMARYKEY` are
//!   [`ConstraintKind::Unique`], `_NOTNULL` is [`ConstraintKind::NotNull`], `_FOREIGNKEY` is
//!   [`ConstraintKind::ForeignKey`], `_CHECK` is [`ConstraintKind::Check`]. The message is
//!   only *parsed for details*: `UNIQUE constraint failed: users.email` gives table `users`
//!   and constraint `users.email` (several columns stay comma-separated in `constraint`);
//!   `CHECK constraint failed: positive` gives constraint `positive`. SQLite names nothing for
//!   foreign keys, so their table and constraint are `None`. SQLite's message is kept whole.
//! - **`SQLITE_BUSY` and `SQLITE_LOCKED` are [`Error::LockTimeout`]**: the busy handler has
//!   already waited the configured timeout, and the caller may retry.
//! - **`SQLITE_CANTOPEN` is [`Error::Connection`]**; **`SQLITE_INTERRUPT` is
//!   [`Error::StatementTimeout`]** (only the statement timeout interrupts).
//! - **A value SQLite will not take is [`Error::InvalidData`]**: `SQLITE_TOOBIG`, and a LIKE
//!   pattern longer than SQLite's limit ("LIKE or GLOB pattern too complex").
//! - **Everything else is [`Error::Database`]** with the code's name (and the extended code
//!   number where it differs from the primary code) and SQLite's message.

use coherent_core::{ConstraintKind, Error};
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
/// match err {
///     Error::Constraint { kind, table, constraint, .. } => {
///         assert_eq!(kind, ConstraintKind::Unique);
///         assert_eq!(table.as_deref(), Some("users"));
///         assert_eq!(constraint.as_deref(), Some("users.email"));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn classify(err: rusqlite::Error) -> Error {
    match err {
        rusqlite::Error::SqliteFailure(code, message) => {
            let message = message.unwrap_or_else(|| code.to_string());
            classify_code(code, message)
        }
        rusqlite::Error::SqlInputError { error, msg, .. } => classify_code(error, msg),
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
        rusqlite::Error::InvalidPath(path) => {
            Error::connection_unavailable(format!("invalid database path {}", path.display()))
        }
        other => Error::Database {
            code: None,
            message: other.to_string(),
        },
    }
}

fn classify_code(code: ffi::Error, message: String) -> Error {
    let constraint = |kind: ConstraintKind, message: String| {
        let (table, constraint) = match kind {
            ConstraintKind::Unique | ConstraintKind::NotNull => columns_detail(&message),
            ConstraintKind::Check => (None, detail(&message).map(str::to_owned)),
            ConstraintKind::ForeignKey => (None, None),
        };
        Error::Constraint {
            kind,
            table,
            constraint,
            message,
        }
    };
    match code.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            return constraint(ConstraintKind::Unique, message);
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => return constraint(ConstraintKind::NotNull, message),
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            return constraint(ConstraintKind::ForeignKey, message);
        }
        ffi::SQLITE_CONSTRAINT_CHECK => return constraint(ConstraintKind::Check, message),
        _ => {}
    }
    match code.code {
        ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked => {
            Error::LockTimeout { message }
        }
        ffi::ErrorCode::CannotOpen => Error::connection_unavailable(message),
        // Only the statement timeout's progress handler interrupts a statement.
        ffi::ErrorCode::OperationInterrupted => Error::StatementTimeout {
            message: format!("{message} (it ran past the statement timeout)"),
        },
        // A bound value SQLite will not take: too big for its limits, or a LIKE pattern past
        // SQLITE_LIMIT_LIKE_PATTERN_LENGTH.
        ffi::ErrorCode::TooBig => Error::InvalidData {
            code: Some(code_name(code.extended_code)),
            message,
        },
        ffi::ErrorCode::Unknown if message.contains("pattern too complex") => Error::InvalidData {
            code: Some(code_name(code.extended_code)),
            message,
        },
        _ => Error::Database {
            code: Some(code_name(code.extended_code)),
            message,
        },
    }
}

/// The part of a constraint message after `constraint failed: `.
fn detail(message: &str) -> Option<&str> {
    message
        .split_once("constraint failed: ")
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty())
}

/// `(table, constraint)` of a UNIQUE / NOT NULL message: `t.a, t.b` gives `t` and `t.a, t.b`;
/// `index 'name'` (a unique index on expressions) gives no table and `name`.
fn columns_detail(message: &str) -> (Option<String>, Option<String>) {
    let Some(detail) = detail(message) else {
        return (None, None);
    };
    if let Some(index) = detail.strip_prefix("index '") {
        return (None, Some(index.trim_end_matches('\'').to_owned()));
    }
    let first = detail.split(',').next().unwrap_or(detail).trim();
    let table = first.rsplit_once('.').map(|(table, _)| table.to_owned());
    (table, Some(detail.to_owned()))
}

/// The name of an SQLite result code: `SQLITE_ERROR`, or `SQLITE_IOERR (extended 266)` for an
/// extended code without a name of its own here.
pub fn code_name(extended_code: i32) -> String {
    let primary = match extended_code & 0xff {
        ffi::SQLITE_ERROR => "SQLITE_ERROR",
        ffi::SQLITE_INTERNAL => "SQLITE_INTERNAL",
        ffi::SQLITE_PERM => "SQLITE_PERM",
        ffi::SQLITE_ABORT => "SQLITE_ABORT",
        ffi::SQLITE_BUSY => "SQLITE_BUSY",
        ffi::SQLITE_LOCKED => "SQLITE_LOCKED",
        ffi::SQLITE_NOMEM => "SQLITE_NOMEM",
        ffi::SQLITE_READONLY => "SQLITE_READONLY",
        ffi::SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
        ffi::SQLITE_IOERR => "SQLITE_IOERR",
        ffi::SQLITE_CORRUPT => "SQLITE_CORRUPT",
        ffi::SQLITE_NOTFOUND => "SQLITE_NOTFOUND",
        ffi::SQLITE_FULL => "SQLITE_FULL",
        ffi::SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
        ffi::SQLITE_PROTOCOL => "SQLITE_PROTOCOL",
        ffi::SQLITE_SCHEMA => "SQLITE_SCHEMA",
        ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
        ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
        ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
        ffi::SQLITE_MISUSE => "SQLITE_MISUSE",
        ffi::SQLITE_NOLFS => "SQLITE_NOLFS",
        ffi::SQLITE_AUTH => "SQLITE_AUTH",
        ffi::SQLITE_RANGE => "SQLITE_RANGE",
        ffi::SQLITE_NOTADB => "SQLITE_NOTADB",
        _ => return format!("SQLITE ({extended_code})"),
    };
    if extended_code & 0xff == extended_code {
        primary.to_owned()
    } else {
        format!("{primary} (extended {extended_code})")
    }
}

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

    fn constraint(err: Error) -> (ConstraintKind, Option<String>, Option<String>, String) {
        match err {
            Error::Constraint {
                kind,
                table,
                constraint,
                message,
            } => (kind, table, constraint, message),
            other => panic!("expected a constraint error, got {other:?}"),
        }
    }

    #[test]
    fn unique() {
        let conn = db();
        let (kind, table, name, message) = constraint(fail(
            &conn,
            "INSERT INTO users (email, age) VALUES ('a@x', 30)",
        ));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(table.as_deref(), Some("users"));
        assert_eq!(name.as_deref(), Some("users.email"));
        assert_eq!(message, "UNIQUE constraint failed: users.email");
    }

    #[test]
    fn unique_over_several_columns_keeps_them_all() {
        let conn = db();
        let (kind, table, name, _) = constraint(fail(&conn, "INSERT INTO pairs VALUES ('x', 'y')"));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(table.as_deref(), Some("pairs"));
        assert_eq!(name.as_deref(), Some("pairs.a, pairs.b"));
    }

    #[test]
    fn primary_keys_are_unique() {
        let conn = db();
        // A rowid key (SQLITE_CONSTRAINT_PRIMARYKEY) and a non-rowid key.
        let (kind, table, name, _) = constraint(fail(
            &conn,
            "INSERT INTO users (id, email, age) VALUES (1, 'b@x', 30)",
        ));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(table.as_deref(), Some("users"));
        assert_eq!(name.as_deref(), Some("users.id"));
        let (kind, table, name, _) = constraint(fail(&conn, "INSERT INTO codes VALUES ('c')"));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(table.as_deref(), Some("codes"));
        assert_eq!(name.as_deref(), Some("codes.code"));
    }

    #[test]
    fn unique_expression_index() {
        let conn = db();
        let (kind, table, name, _) = constraint(fail(&conn, "INSERT INTO tags VALUES ('rust')"));
        assert_eq!(kind, ConstraintKind::Unique);
        assert_eq!(table, None);
        assert_eq!(name.as_deref(), Some("tags_lower_name"));
    }

    #[test]
    fn not_null() {
        let conn = db();
        let (kind, table, name, _) = constraint(fail(
            &conn,
            "INSERT INTO users (email, age) VALUES (NULL, 30)",
        ));
        assert_eq!(kind, ConstraintKind::NotNull);
        assert_eq!(table.as_deref(), Some("users"));
        assert_eq!(name.as_deref(), Some("users.email"));
    }

    #[test]
    fn foreign_key() {
        let conn = db();
        let (kind, table, name, message) =
            constraint(fail(&conn, "INSERT INTO posts (user_id) VALUES (99)"));
        assert_eq!(kind, ConstraintKind::ForeignKey);
        assert_eq!((table, name), (None, None));
        assert!(message.contains("FOREIGN KEY"), "{message}");
    }

    #[test]
    fn check() {
        let conn = db();
        let (kind, table, name, _) = constraint(fail(
            &conn,
            "INSERT INTO users (email, age) VALUES ('k@x', 3)",
        ));
        assert_eq!(kind, ConstraintKind::Check);
        assert_eq!(table, None);
        assert_eq!(name.as_deref(), Some("adult"));
    }

    #[test]
    fn syntax_error_is_a_database_error_with_a_code() {
        let conn = db();
        let err = classify(conn.prepare("SELEC 1").unwrap_err());
        match err {
            Error::Database { code, message } => {
                assert_eq!(code.as_deref(), Some("SQLITE_ERROR"));
                assert!(message.contains("syntax error"), "{message}");
            }
            other => panic!("expected a database error, got {other:?}"),
        }
        let err = classify(conn.prepare("SELECT * FROM nope").unwrap_err());
        assert!(
            matches!(err, Error::Database { message, .. } if message.contains("no such table"))
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
        assert!(err.is_retryable());
    }

    #[test]
    fn cannot_open_is_a_connection_error() {
        let path = std::env::temp_dir().join("coherent-no-such-dir-4711/sub/x.db");
        let err = classify(Connection::open(path).unwrap_err());
        assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    }

    #[test]
    fn code_names() {
        assert_eq!(code_name(ffi::SQLITE_ERROR), "SQLITE_ERROR");
        assert_eq!(
            code_name(ffi::SQLITE_IOERR_READ),
            "SQLITE_IOERR (extended 266)"
        );
        assert_eq!(code_name(127), "SQLITE (127)");
    }

    #[test]
    fn misuse_maps_to_invalid_argument() {
        let err = classify(rusqlite::Error::InvalidParameterCount(1, 2));
        assert!(matches!(err, Error::InvalidArgument(m) if m.contains("2 parameter")));
    }
}
