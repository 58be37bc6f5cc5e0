//! Transaction control statements per dialect.
//!
//! Policy: sea-query has no transaction statements, so they are fixed strings rendered here.
//! SQLite starts read-write transactions with `BEGIN IMMEDIATE` (the write lock is taken up
//! front, so a transaction that reads then writes cannot dead-end on a lock upgrade; a lock
//! wait past the busy timeout is a typed error) and read-only ones with a deferred `BEGIN`.
//! Savepoints are named by depth, `trx1`, `trx2`, ... as MikroORM does.

use coherent_core::Dialect;

/// The statements that open a top-level transaction.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_sql::transaction::begin;
/// assert_eq!(begin(Dialect::Sqlite, false), vec!["BEGIN IMMEDIATE".to_string()]);
/// assert_eq!(begin(Dialect::Sqlite, true), vec!["BEGIN".to_string()]);
/// assert_eq!(begin(Dialect::Postgres, false), vec!["BEGIN".to_string()]);
/// ```
pub fn begin(dialect: Dialect, read_only: bool) -> Vec<String> {
    match (dialect, read_only) {
        (Dialect::Sqlite, false) => vec!["BEGIN IMMEDIATE".into()],
        (Dialect::Sqlite, true) => vec!["BEGIN".into()],
        (Dialect::Postgres, false) => vec!["BEGIN".into()],
        (Dialect::Postgres, true) => vec!["BEGIN READ ONLY".into()],
        (Dialect::MySql, false) => vec!["START TRANSACTION".into()],
        (Dialect::MySql, true) => vec!["START TRANSACTION READ ONLY".into()],
    }
}

/// `COMMIT`.
pub const COMMIT: &str = "COMMIT";
/// `ROLLBACK`.
pub const ROLLBACK: &str = "ROLLBACK";

/// The savepoint name at nesting `depth` (1 for the first savepoint in a transaction).
pub fn savepoint_name(depth: usize) -> String {
    format!("trx{depth}")
}

/// `SAVEPOINT trxN`.
///
/// ```
/// assert_eq!(coherent_sql::transaction::savepoint(2), "SAVEPOINT trx2");
/// assert_eq!(coherent_sql::transaction::release(2), "RELEASE SAVEPOINT trx2");
/// assert_eq!(coherent_sql::transaction::rollback_to(2), "ROLLBACK TO SAVEPOINT trx2");
/// ```
pub fn savepoint(depth: usize) -> String {
    format!("SAVEPOINT {}", savepoint_name(depth))
}

/// `RELEASE SAVEPOINT trxN`.
pub fn release(depth: usize) -> String {
    format!("RELEASE SAVEPOINT {}", savepoint_name(depth))
}

/// `ROLLBACK TO SAVEPOINT trxN`.
pub fn rollback_to(depth: usize) -> String {
    format!("ROLLBACK TO SAVEPOINT {}", savepoint_name(depth))
}
