//! Classifying PostgreSQL errors by SQLSTATE.
//!
//! Policy: 23505 unique, 23503 foreign key, 23502 not null and 23514 check violations are
//! [`Error::Constraint`] with the server's table and constraint names (a not-null violation
//! has no constraint name: it names the column as `table.column`, as SQLite does); 55P03 is
//! [`Error::LockNotAvailable`] for `NOWAIT` and [`Error::LockTimeout`] when `lock_timeout`
//! expired; 57014 is [`Error::StatementTimeout`] when `statement_timeout` expired (a
//! cancel request stays [`Error::Database`]); 40P01 is [`Error::Deadlock`], 40001 [`Error::SerializationFailure`], 25P02
//! [`Error::TransactionAborted`]; data exceptions (class 22: a NUL byte in text, a value out
//! of range) are [`Error::InvalidData`]; I/O, protocol and pool failures, connection exceptions (class 08) and the server ending
//! the session (57P01–57P03) are
//! [`Error::Connection`]; everything else is [`Error::Database`] with the SQLSTATE.

use coherent_core::{ConstraintKind, Error};
use sqlx::postgres::PgDatabaseError;

/// Classifies an sqlx error from a PostgreSQL connection.
pub fn classify(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message().to_owned();
            // Connection exceptions (class 08) and the server ending the session
            // (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
            if code.starts_with("08") || code.starts_with("57P") {
                return crate::error::lost(message, sqlx::Error::Database(db));
            }
            let pg = db.try_downcast_ref::<PgDatabaseError>();
            let table = db.table().map(str::to_owned);
            let constraint = |kind| Error::Constraint {
                kind,
                table: table.clone(),
                constraint: match (db.constraint(), pg.and_then(PgDatabaseError::column)) {
                    (Some(name), _) => Some(name.to_owned()),
                    (None, Some(column)) => Some(match &table {
                        Some(table) => format!("{table}.{column}"),
                        None => column.to_owned(),
                    }),
                    (None, None) => None,
                },
                message: message.clone(),
            };
            match code.as_str() {
                "23505" => constraint(ConstraintKind::Unique),
                "23503" => constraint(ConstraintKind::ForeignKey),
                "23502" => constraint(ConstraintKind::NotNull),
                "23514" => constraint(ConstraintKind::Check),
                "55P03" if message.contains("lock timeout") => Error::LockTimeout { message },
                "55P03" => Error::LockNotAvailable { message },
                "57014" if message.contains("statement timeout") => {
                    Error::StatementTimeout { message }
                }
                "40P01" => Error::Deadlock { message },
                "40001" => Error::SerializationFailure { message },
                "25P02" => Error::TransactionAborted { message },
                c if c.starts_with("22") => Error::InvalidData {
                    code: Some(code),
                    message,
                },
                _ => Error::Database {
                    code: Some(code),
                    message,
                },
            }
        }
        other => crate::error::classify_other(other),
    }
}
