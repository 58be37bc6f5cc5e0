//! Transaction control statements per dialect.
//!
//! Policy: sea-query has no transaction statements, so they are rendered here.
//! SQLite starts read-write transactions with `BEGIN IMMEDIATE` (the write lock is taken up
//! front, so a transaction that reads then writes cannot dead-end on a lock upgrade; a lock
//! wait past the busy timeout is a typed error) and read-only ones with a deferred `BEGIN`.
//! Savepoints are named by depth, `trx1`, `trx2`, ... as MikroORM does.

use coherent_core::connect_options::{mysql_seconds, postgres_millis};
use coherent_core::{Dialect, Error, IsolationLevel};
use std::time::Duration;

/// The statements that open a top-level transaction, in the order the dialect needs:
/// PostgreSQL takes the level in `BEGIN`, MySQL before `START TRANSACTION` (SeaORM's and
/// MikroORM's order); SQLite is always serializable. A level the dialect lacks is an error
/// naming it.
///
/// ```
/// use coherent_core::{Dialect, Error, IsolationLevel};
/// use coherent_sql::transaction::begin;
/// assert_eq!(begin(Dialect::Sqlite, None, false).unwrap(), vec!["BEGIN IMMEDIATE".to_string()]);
/// assert_eq!(begin(Dialect::Sqlite, Some(IsolationLevel::Serializable), true).unwrap(), vec!["BEGIN".to_string()]);
/// assert!(matches!(begin(Dialect::Sqlite, Some(IsolationLevel::ReadCommitted), false), Err(Error::IsolationUnsupported { .. })));
/// assert_eq!(
///     begin(Dialect::Postgres, Some(IsolationLevel::Serializable), true).unwrap(),
///     vec!["BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY".to_string()]
/// );
/// assert_eq!(
///     begin(Dialect::MySql, Some(IsolationLevel::ReadCommitted), true).unwrap(),
///     vec!["SET TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY".to_string(), "START TRANSACTION".to_string()]
/// );
/// ```
pub fn begin(
    dialect: Dialect,
    isolation: Option<IsolationLevel>,
    read_only: bool,
) -> Result<Vec<String>, Error> {
    let unsupported = |level: IsolationLevel, backend| Error::IsolationUnsupported {
        level: level.sql(),
        backend,
    };
    Ok(match dialect {
        Dialect::Sqlite => match isolation {
            Some(level) if level != IsolationLevel::Serializable => {
                return Err(unsupported(level, "SQLite"));
            }
            // Read-write transactions take the write lock up front.
            _ if read_only => vec!["BEGIN".into()],
            _ => vec!["BEGIN IMMEDIATE".into()],
        },
        Dialect::Postgres => {
            let mut sql = String::from("BEGIN");
            if let Some(level) = isolation {
                if level == IsolationLevel::Snapshot {
                    return Err(unsupported(level, "PostgreSQL"));
                }
                sql.push_str(" ISOLATION LEVEL ");
                sql.push_str(level.sql());
            }
            if read_only {
                sql.push_str(" READ ONLY");
            }
            vec![sql]
        }
        Dialect::MySql => {
            let mut out = Vec::new();
            match (isolation, read_only) {
                (Some(IsolationLevel::Snapshot), _) => {
                    return Err(unsupported(IsolationLevel::Snapshot, "MySQL"));
                }
                (Some(level), true) => out.push(format!(
                    "SET TRANSACTION ISOLATION LEVEL {}, READ ONLY",
                    level.sql()
                )),
                (Some(level), false) => {
                    out.push(format!("SET TRANSACTION ISOLATION LEVEL {}", level.sql()))
                }
                (None, true) => out.push("SET TRANSACTION READ ONLY".into()),
                (None, false) => {}
            }
            out.push("START TRANSACTION".into());
            out
        }
    })
}

/// The statement that makes every later statement of the session wait at most `timeout` for
/// a lock (then the lock-timeout error): PostgreSQL's `lock_timeout` (milliseconds), MySQL's
/// `innodb_lock_wait_timeout` (whole seconds, rounded up); at least the smallest unit, since
/// zero means "no limit" on PostgreSQL ([`coherent_core::connect_options::postgres_millis`],
/// [`coherent_core::connect_options::mysql_seconds`], as the drivers state the configured
/// lock wait). SQLite has no session setting for it (its busy timeout is the connection's):
/// `None`. The driver restores the connection's configured lock wait before the connection
/// is reused.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_sql::transaction::lock_wait;
/// use std::time::Duration;
/// assert_eq!(lock_wait(Dialect::Postgres, Duration::from_millis(1500)).unwrap(), "SET SESSION lock_timeout = '1500ms'");
/// assert_eq!(lock_wait(Dialect::MySql, Duration::from_millis(1500)).unwrap(), "SET SESSION innodb_lock_wait_timeout = 2");
/// assert_eq!(lock_wait(Dialect::MySql, Duration::ZERO).unwrap(), "SET SESSION innodb_lock_wait_timeout = 1");
/// assert_eq!(lock_wait(Dialect::Sqlite, Duration::from_secs(1)), None);
/// ```
pub fn lock_wait(dialect: Dialect, timeout: Duration) -> Option<String> {
    match dialect {
        Dialect::Sqlite => None,
        Dialect::Postgres => Some(format!(
            "SET SESSION lock_timeout = '{}ms'",
            postgres_millis(timeout)
        )),
        Dialect::MySql => Some(format!(
            "SET SESSION innodb_lock_wait_timeout = {}",
            mysql_seconds(timeout)
        )),
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
