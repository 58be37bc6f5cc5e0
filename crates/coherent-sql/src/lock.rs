//! Row-lock clauses per dialect, rendered by us (sea-query's MySQL and SQLite lock output is
//! wrong for these modes: landscape reference, "dialect traps").
//!
//! Policy:
//! - PostgreSQL: `FOR SHARE` / `FOR UPDATE`, then `OF "t", ..` for the lock table aliases,
//!   then `SKIP LOCKED` or `NOWAIT`.
//! - MySQL/MariaDB: `LOCK IN SHARE MODE` / `FOR UPDATE`, then `SKIP LOCKED` or `NOWAIT`. They
//!   have no `OF`: asking for aliases there is [`Error::LockUnsupported`], never dropped.
//! - SQLite has no row locks: no clause. The ORM holds SQLite's database write lock for the
//!   whole transaction instead (read-write transactions start with `BEGIN IMMEDIATE`).

use coherent_core::{Dialect, Error, LockMode, LockWait, Result};

/// The clause to append to a SELECT for `mode`, or None (no lock, an optimistic lock, or
/// SQLite).
///
/// ```
/// use coherent_core::{Dialect, LockMode};
/// use coherent_sql::lock::lock_clause;
/// assert_eq!(lock_clause(Dialect::Postgres, LockMode::PessimisticPartialWrite, &["u0"]).unwrap().unwrap(), r#" FOR UPDATE OF "u0" SKIP LOCKED"#);
/// assert_eq!(lock_clause(Dialect::Postgres, LockMode::PessimisticReadOrFail, &[]).unwrap().unwrap(), " FOR SHARE NOWAIT");
/// assert_eq!(lock_clause(Dialect::MySql, LockMode::PessimisticRead, &[]).unwrap().unwrap(), " LOCK IN SHARE MODE");
/// assert_eq!(lock_clause(Dialect::MySql, LockMode::PessimisticWriteOrFail, &[]).unwrap().unwrap(), " FOR UPDATE NOWAIT");
/// assert!(lock_clause(Dialect::MySql, LockMode::PessimisticWrite, &["u0"]).is_err());
/// assert_eq!(lock_clause(Dialect::Sqlite, LockMode::PessimisticWrite, &[]).unwrap(), None);
/// assert_eq!(lock_clause(Dialect::Postgres, LockMode::Optimistic, &[]).unwrap(), None);
/// ```
pub fn lock_clause(dialect: Dialect, mode: LockMode, aliases: &[&str]) -> Result<Option<String>> {
    if !mode.is_pessimistic() {
        return Ok(None);
    }
    let wait = match mode.wait() {
        LockWait::Wait => "",
        LockWait::SkipLocked => " SKIP LOCKED",
        LockWait::NoWait => " NOWAIT",
    };
    Ok(match dialect {
        Dialect::Sqlite => None,
        Dialect::Postgres => {
            let mut sql = String::from(if mode.is_exclusive() {
                " FOR UPDATE"
            } else {
                " FOR SHARE"
            });
            if !aliases.is_empty() {
                sql.push_str(" OF ");
                let quoted: Vec<String> = aliases
                    .iter()
                    .map(|a| crate::ident::quote(dialect, a))
                    .collect();
                sql.push_str(&quoted.join(", "));
            }
            sql.push_str(wait);
            Some(sql)
        }
        Dialect::MySql => {
            if !aliases.is_empty() {
                return Err(Error::LockUnsupported {
                    mode: mode.name(),
                    reason: "MySQL and MariaDB cannot lock the rows of chosen tables only (no FOR UPDATE OF); drop the lock table aliases".into(),
                });
            }
            let base = if mode.is_exclusive() {
                " FOR UPDATE"
            } else {
                " LOCK IN SHARE MODE"
            };
            Some(format!("{base}{wait}"))
        }
    })
}
