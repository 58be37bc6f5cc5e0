//! The [`Migrator`]: applies and reverts [`Migrations`] exactly once, however many instances
//! of an application start at the same time, and records them in the history table
//! ([`HISTORY_TABLE`](crate::HISTORY_TABLE), created if missing).
//!
//! Policy:
//! - **In order, one transaction each.** `up` applies the pending migrations by name, each
//!   in its own transaction together with its history row, where the backend has
//!   transactional DDL (PostgreSQL, SQLite): a migration that fails is rolled back whole,
//!   nothing is recorded for it, and the ones before it stay applied. `down(n)` reverts the
//!   `n` latest applied migrations (by name), newest first, the same way.
//! - **MariaDB commits DDL implicitly**, statement by statement, so a migration that fails
//!   halfway cannot be rolled back: its earlier DDL statements stay. The Migrator records
//!   the migration as `started` *before* it runs and marks it applied only after it
//!   succeeded; a failure (or a process that died during it) leaves the mark, and from then
//!   on `up` and `down` refuse with [`Error::HalfApplied`] until
//!   someone has put the schema right by hand and called [`Migrator::resolve`]. Its data
//!   changes (DML) still run in a transaction, rolled back on failure as far as the last DDL
//!   statement. Write MariaDB migrations small: one DDL statement each where possible.
//! - **Exactly once across instances.** Every step re-reads the history under a lock:
//!   PostgreSQL's `pg_advisory_xact_lock` (per schema) inside the step's transaction, SQLite's
//!   write lock (`BEGIN IMMEDIATE`), MariaDB's `GET_LOCK` (per database) for the whole call.
//!   A second instance waits, then finds the migrations applied and does nothing. The locks
//!   are released at the end, also on error; PostgreSQL's and SQLite's also when the future
//!   is dropped. MariaDB's named lock belongs to the connection: dropping a running `up`'s
//!   future closes that connection (it is not given back to the pool), which frees the lock.
//! - **Refusals** ([`Error`]), checked under the lock before anything runs: a
//!   half-applied migration, applied migrations no file describes (the database is ahead of
//!   the files), an applied migration whose `up.sql` changed, `down` past what is applied,
//!   a `down` of a migration without `down.sql`. A failing statement is
//!   [`Error::Failed`] naming the migration, the file, the statement
//!   (and its SQL), with the database's error as its source.
//! - **Logged**: each migration applied or reverted is an INFO event of target
//!   [`LOG_TARGET`] with its name and time; the statements go to the query log
//!   ([`coherent_core::query_log`]) like the ORM's.
//! - Pending migrations older than an applied one (merged from a branch) are applied too
//!   (with a warning).
//! - **What a migration cannot do**: control the transaction itself (`BEGIN`, `COMMIT`: such a
//!   file is [`Error::Malformed`]); on PostgreSQL, run a statement
//!   that refuses a transaction block (`CREATE INDEX CONCURRENTLY`); on SQLite, switch
//!   `PRAGMA foreign_keys` (it does nothing inside a transaction).
//! - **SQLite runs migrations with foreign keys off** (switched off on the Migrator's
//!   connection before its first transaction, back on at its end), so a table rebuild
//!   (create new, copy, drop, rename: see [`crate::diff::sqlite_rebuild`]) neither cascades
//!   to nor is refused by the rows that reference the table; before each migration commits,
//!   `PRAGMA foreign_key_check` must find nothing, else the migration is rolled back with
//!   [`Error::ForeignKeysViolated`]. A Migrator dropped before its end closes its connection
//!   rather than giving it back with foreign keys off (as it does with MariaDB's named
//!   lock held).

mod apply;
mod check;
pub mod history;
mod resolve;
mod session;
mod status;

pub use history::{Record, RecordState};
pub use resolve::Resolution;
pub use status::{MigrationState, MigrationStatus};

use crate::error::{Error, Result};
use crate::migration::Migrations;
use coherent_core::Driver;
use coherent_orm::Orm;
use session::Session;
use std::sync::Arc;
use std::time::Duration;

/// The `tracing` target of the Migrator's events.
pub const LOG_TARGET: &str = "coherent::migrate";

/// Applies and reverts migrations on an [`Orm`]'s database (see the module docs).
///
/// ```
/// use coherent_migrate::migration::{Migration, Migrations};
/// use coherent_migrate::migrator::{MigrationState, Migrator};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let orm = coherent_orm::Orm::connect("sqlite::memory:").await?;
/// let users = Migration::sql("20260101000000_users", "up.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);")?
///     .with_down("down.sql", "DROP TABLE users;")?;
/// let migrator = Migrator::new(&orm, Migrations::new().with(users)?);
/// assert_eq!(migrator.pending().await?, ["20260101000000_users"]);
/// assert_eq!(migrator.up().await?, ["20260101000000_users"]);
/// assert!(migrator.up().await?.is_empty()); // nothing left to do
/// assert_eq!(migrator.status().await?[0].state, MigrationState::Applied);
/// assert_eq!(migrator.down(1).await?, ["20260101000000_users"]);
/// # Ok::<(), coherent_migrate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Migrator {
    driver: Arc<dyn Driver>,
    migrations: Migrations,
    lock_timeout: Option<Duration>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("dialect", &self.driver.dialect())
            .field("migrations", &self.migrations.len())
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

impl Migrator {
    /// A Migrator of `migrations` on `orm`'s database (it takes connections of `orm`'s
    /// driver, one at a time).
    pub fn new(orm: &Orm, migrations: Migrations) -> Migrator {
        Migrator {
            driver: orm.driver().clone(),
            migrations,
            lock_timeout: None,
        }
    }

    /// Waits at most `timeout` for another instance's lock (by default as long as it
    /// migrates); past it, [`coherent_core::Error::LockTimeout`].
    pub fn lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.lock_timeout = Some(timeout);
        self
    }

    /// The migrations it knows.
    pub fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    /// Applies every pending migration, in order, each in its own transaction; returns
    /// their names (none if another instance applied them).
    pub async fn up(&self) -> Result<Vec<String>> {
        self.locked(async |s| {
            let mut applied = Vec::new();
            while let Some(name) = self.up_step(s).await? {
                applied.push(name);
            }
            Ok(applied)
        })
        .await
    }

    /// Reverts the `n` latest applied migrations (by name), newest first, each in its own
    /// transaction; returns their names. Fewer than `n` applied is
    /// [`Error::NotEnoughApplied`], one of them without `down.sql`
    /// [`Error::Irreversible`], both before anything is reverted.
    pub async fn down(&self, n: usize) -> Result<Vec<String>> {
        let mut left = n;
        let mut first = true;
        self.revert_while(|history| {
            if std::mem::take(&mut first) {
                if history.len() < n {
                    return Err(Error::NotEnoughApplied {
                        requested: n,
                        applied: history.len(),
                    });
                }
                self.check_reversible(&history[history.len() - n..])?;
            }
            let more = left > 0;
            left = left.saturating_sub(1);
            Ok(more)
        })
        .await
    }

    /// Reverts every applied migration after `name`, newest first, leaving `name` applied;
    /// returns their names. `name` not applied is [`Error::NotApplied`].
    pub async fn down_to(&self, name: &str) -> Result<Vec<String>> {
        let mut first = true;
        self.revert_while(|history| {
            if std::mem::take(&mut first) {
                let Some(at) = history.iter().position(|r| r.name == name) else {
                    return Err(Error::NotApplied {
                        migration: name.to_owned(),
                    });
                };
                self.check_reversible(&history[at + 1..])?;
            }
            Ok(history.last().is_some_and(|r| r.name.as_str() > name))
        })
        .await
    }

    /// Every migration of the files and of the history table, by name, with where it
    /// stands. Reads without taking the lock, and without creating the table (so on
    /// MariaDB a migration another instance is applying at this moment shows as
    /// [`MigrationState::HalfApplied`]).
    pub async fn status(&self) -> Result<Vec<MigrationStatus>> {
        let mut s = Session::unlocked(&*self.driver).await?;
        let history = Self::history(&mut s, false).await?;
        Ok(status::report(&self.migrations, &history))
    }

    /// The names of the migrations not applied yet, in order.
    pub async fn pending(&self) -> Result<Vec<String>> {
        Ok(self
            .status()
            .await?
            .into_iter()
            .filter(|m| m.state == MigrationState::Pending)
            .map(|m| m.name)
            .collect())
    }

    /// Marks the half-applied migration `name` (see [`Error::HalfApplied`]) as the person who
    /// fixed the schema by hand says: [`Resolution::Applied`] or
    /// [`Resolution::RolledBack`]. A migration not half-applied is
    /// [`Error::NotHalfApplied`].
    pub async fn resolve(&self, name: &str, resolution: Resolution) -> Result<()> {
        self.locked(async |s| {
            self.step(s, async |s| {
                let history = Self::history(s, true).await?;
                resolve::resolve(s, &self.migrations, &history, name, resolution).await?;
                s.commit().await
            })
            .await
        })
        .await
    }

    /// One step of `up`: re-reads the history under the lock and applies the first pending
    /// migration; `None` when nothing is pending.
    async fn up_step(&self, s: &mut Session) -> Result<Option<String>> {
        self.step(s, async |s| {
            let history = Self::history(s, true).await?;
            check::usable(&self.migrations, &history)?;
            let Some(next) = check::pending(&self.migrations, &history).first().copied() else {
                s.commit().await?;
                return Ok(None);
            };
            if history
                .last()
                .is_some_and(|r| r.name.as_str() > next.name())
            {
                tracing::warn!(
                    target: LOG_TARGET,
                    migration = %next.name(),
                    "applying a migration older than the latest applied one"
                );
            }
            apply::up(s, next).await?;
            Ok(Some(next.name().to_owned()))
        })
        .await
    }

    /// Reverts the latest applied migration, step after step, while `more` (given the
    /// history, all applied) says so.
    async fn revert_while(
        &self,
        mut more: impl FnMut(&[Record]) -> Result<bool>,
    ) -> Result<Vec<String>> {
        self.locked(async |s| {
            let mut reverted = Vec::new();
            loop {
                let step = self.step(s, async |s| {
                    let history = Self::history(s, true).await?;
                    check::usable(&self.migrations, &history)?;
                    if !more(&history)? {
                        s.commit().await?;
                        return Ok(None);
                    }
                    let Some(latest) = history.last() else {
                        s.commit().await?;
                        return Ok(None);
                    };
                    let migration = self
                        .migrations
                        .get(&latest.name)
                        .expect("usable: every applied migration has files");
                    apply::down(s, migration).await?;
                    Ok(Some(latest.name.clone()))
                });
                match step.await? {
                    Some(name) => reverted.push(name),
                    None => return Ok(reverted),
                }
            }
        })
        .await
    }

    /// Checks that every one of `records` can be reverted.
    fn check_reversible(&self, records: &[Record]) -> Result<()> {
        match records
            .iter()
            .filter_map(|r| self.migrations.get(&r.name))
            .find(|m| !m.is_reversible())
        {
            Some(m) => Err(Error::Irreversible {
                migration: m.name().to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// Runs `work` on a session holding the lock; releases it whatever happens.
    async fn locked<T>(&self, work: impl AsyncFnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut s = Session::open(&*self.driver, self.lock_timeout).await?;
        let result = work(&mut s).await;
        if let Err(e) = s.close().await {
            // The connection is broken, and its lock gone with its session.
            tracing::warn!(target: LOG_TARGET, error = %e, "could not release the migration lock");
        }
        result
    }

    /// Runs `work` as one step: in the step's transaction holding the lock, rolled back if
    /// `work` fails (`work` commits).
    async fn step<T>(
        &self,
        s: &mut Session,
        work: impl AsyncFnOnce(&mut Session) -> Result<T>,
    ) -> Result<T> {
        s.begin_step().await?;
        let result = work(s).await;
        if result.is_err() {
            s.rollback().await;
        }
        result
    }

    /// The history, by name; with `create`, the table is created first if missing, else a
    /// missing table is an empty history.
    async fn history(s: &mut Session, create: bool) -> Result<Vec<Record>> {
        if create {
            s.run(history::create()).await?;
        } else if s.query(history::exists(s.dialect())).await?.is_empty() {
            return Ok(Vec::new());
        }
        let mut records = history::decode(s.query(history::select()).await?)?;
        // By name as Rust orders it (the files' order), whatever the database's collation.
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }
}
