//! Classifying PostgreSQL errors by SQLSTATE.
//!
//! Policy: every error the server sent becomes a variant carrying a [`DatabaseError`] with
//! the SQLSTATE as code, the server's message, and its constraint, table, column, detail and
//! hint fields as the server filled them (nothing parsed from text); the `sqlx::Error` is its
//! source. 23505 unique, 23503 foreign key, 23502 not null and 23514 check violations are
//! [`Error::Constraint`]; 55P03 is [`Error::LockNotAvailable`] for `NOWAIT` and
//! [`Error::LockTimeout`] when `lock_timeout` expired; 57014 is [`Error::StatementTimeout`]
//! when `statement_timeout` expired (a cancel request stays [`Error::Database`]; both 55P03
//! and 57014 are told apart by the English message, so under another `lc_messages` a lock
//! timeout is [`Error::LockNotAvailable`] and a statement timeout [`Error::Database`]); 40P01 is
//! [`Error::Deadlock`], 40001 [`Error::SerializationFailure`], 25P02
//! [`Error::TransactionAborted`]; data exceptions (class 22: a NUL byte in text, a value out
//! of range) are [`Error::InvalidData`]; I/O, protocol and pool failures, connection
//! exceptions (class 08) and the server ending the session (57P01–57P03) are
//! [`Error::Connection`]; everything else is [`Error::Database`].

use coherent_core::{ConstraintKind, DatabaseError, Error};
use sqlx::postgres::PgDatabaseError;

/// Classifies an sqlx error from a PostgreSQL connection.
pub fn classify(error: sqlx::Error) -> Error {
    let sqlx::Error::Database(db) = error else {
        return crate::error::classify_other(error);
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    // Connection exceptions (class 08) and the server ending the session
    // (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
    if code.starts_with("08") || code.starts_with("57P") {
        return crate::error::lost(db.message().to_owned(), sqlx::Error::Database(db));
    }
    let pg = db.try_downcast_ref::<PgDatabaseError>();
    let source = DatabaseError::new(db.message())
        .with_code(code.as_str())
        .with_constraint(db.constraint())
        .with_table(db.table())
        .with_column(pg.and_then(PgDatabaseError::column))
        .with_detail(pg.and_then(PgDatabaseError::detail))
        .with_hint(pg.and_then(PgDatabaseError::hint))
        .with_source(sqlx::Error::Database(db));
    let kind = match code.as_str() {
        "23505" => Some(ConstraintKind::Unique),
        "23503" => Some(ConstraintKind::ForeignKey),
        "23502" => Some(ConstraintKind::NotNull),
        "23514" => Some(ConstraintKind::Check),
        _ => None,
    };
    if let Some(kind) = kind {
        return Error::Constraint { kind, source };
    }
    match code.as_str() {
        "55P03" if source.message().contains("lock timeout") => Error::LockTimeout { source },
        "55P03" => Error::LockNotAvailable { source },
        "57014" if source.message().contains("statement timeout") => {
            Error::StatementTimeout { source }
        }
        "40P01" => Error::Deadlock { source },
        "40001" => Error::SerializationFailure { source },
        "25P02" => Error::TransactionAborted { source },
        c if c.starts_with("22") => Error::InvalidData { source },
        _ => Error::Database { source },
    }
}
