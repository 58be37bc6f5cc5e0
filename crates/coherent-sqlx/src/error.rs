//! What both server backends classify alike: every sqlx error that is not the server's own
//! error response.
//!
//! Policy: I/O, TLS and protocol failures, a pool that timed out or closed, and a crashed
//! worker are [`Error::Connection`] (the connection, not the statement, failed), with the sqlx
//! error as their source; they count as sent (the statement may have reached the server)
//! unless the caller knows better ([`lost`], [`unavailable`]); a bad connect option is
//! [`Error::Config`]; anything else (a row that would not decode, a type mismatch) is
//! [`Error::Database`] without a code, whose [`DatabaseError`] has the sqlx error as source.

use coherent_core::{DatabaseError, Error};

/// Classifies an sqlx error other than `sqlx::Error::Database`.
///
/// ```
/// use coherent_core::Error;
/// let e = coherent_sqlx::error::classify_other(sqlx::Error::PoolTimedOut);
/// assert!(matches!(e, Error::Connection { sent: true, .. }));
/// ```
pub fn classify_other(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => lost(error.to_string(), error),
        sqlx::Error::Configuration(e) => Error::Config(e.to_string()),
        other => Error::Database {
            source: DatabaseError::new(other.to_string()).with_source(other),
        },
    }
}

/// A connection error after which the statement may have reached the server.
pub fn lost(message: String, source: sqlx::Error) -> Error {
    Error::connection_lost_from(message, source)
}

/// A connection error before anything was sent (opening or taking a connection failed).
pub fn unavailable(message: String, source: sqlx::Error) -> Error {
    Error::connection_unavailable_from(message, source)
}
