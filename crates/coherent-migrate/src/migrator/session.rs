//! [`Session`]: the Migrator's one connection, its lock and its transactions, per backend.
//!
//! Policy (the module docs of [`migrator`](crate::migrator) give the why):
//! - **PostgreSQL**: every step is a transaction that first takes
//!   `pg_advisory_xact_lock(<Coherent's key>, hashtext(current_schema()))`: one lock per
//!   schema, held until the step commits or rolls back, so it is released on every path,
//!   also when the future is dropped (the driver rolls the connection back).
//! - **SQLite**: every step is a `BEGIN IMMEDIATE` transaction: the database's write lock,
//!   released the same way.
//! - **MariaDB**: DDL commits implicitly, so no transaction can hold a lock across a
//!   migration: `GET_LOCK('coherent_migrations:<crc32 of the database name>', ..)` is taken
//!   once for the whole call and released with `RELEASE_LOCK` at its end, also on error.
//! - **Waiting**: without a lock timeout a session waits as long as the other instance
//!   migrates (SQLite in steps of the connection's busy timeout, PostgreSQL in steps of the
//!   session's `lock_timeout` if one is set); with one, a lock not had in time is
//!   [`coherent_core::Error::LockTimeout`].

use crate::error::{Error, Result};
use crate::migration::MigrationContext;
use crate::migration::context::run_statement;
use coherent_core::{Connection, DatabaseError, Dialect, Driver, Outcome, Row, Statement, Value};
use std::time::{Duration, Instant};

/// The first key of PostgreSQL's two-key advisory lock: `Cohe` in ASCII.
const PG_LOCK_KEY: i32 = 0x436F_6865;

/// The name of MariaDB's named lock, per database.
const MYSQL_LOCK_NAME: &str = "CONCAT('coherent_migrations:', CRC32(IFNULL(DATABASE(), '')))";

/// What MariaDB waits for its lock without a lock timeout: a year.
const MYSQL_FOREVER_SECONDS: i64 = 365 * 24 * 3_600;

/// The Migrator's connection while it works.
pub(crate) struct Session {
    /// Always `Some` until dropped.
    conn: Option<Box<dyn Connection>>,
    /// The connection's session state was changed (MariaDB's named lock, SQLite's foreign
    /// keys off) and not yet put back: if the session is dropped so, the connection is
    /// closed rather than pooled.
    tainted: bool,
    dialect: Dialect,
    logs_statements: bool,
    /// How long one wait for the lock may last.
    lock_timeout: Option<Duration>,
    /// MariaDB's named lock is held.
    named_lock: bool,
}

impl Session {
    /// Takes a connection of `driver`; on MariaDB, takes the named lock too.
    pub(crate) async fn open(
        driver: &dyn Driver,
        lock_timeout: Option<Duration>,
    ) -> Result<Session> {
        let mut session = Session {
            conn: Some(driver.acquire().await?),
            tainted: false,
            dialect: driver.dialect(),
            logs_statements: driver.capabilities().logs_statements,
            lock_timeout,
            named_lock: false,
        };
        if session.dialect == Dialect::MySql {
            session.take_named_lock(lock_timeout).await?;
        }
        if session.dialect == Dialect::Sqlite {
            // A table rebuild drops and re-creates a table others may reference: with
            // enforcement on, dropping it would cascade to their rows. Checked before every
            // commit instead (`check_foreign_keys`). Outside any transaction, where the
            // pragma takes effect.
            session.tainted = true;
            session.execute("PRAGMA foreign_keys = OFF").await?;
        }
        Ok(session)
    }

    /// Takes a connection without any lock (to read the history).
    pub(crate) async fn unlocked(driver: &dyn Driver) -> Result<Session> {
        Ok(Session {
            conn: Some(driver.acquire().await?),
            tainted: false,
            dialect: driver.dialect(),
            logs_statements: driver.capabilities().logs_statements,
            lock_timeout: None,
            named_lock: false,
        })
    }

    /// Releases MariaDB's named lock (turns SQLite's foreign keys back on) and gives the
    /// connection back.
    pub(crate) async fn close(mut self) -> Result<()> {
        if self.named_lock {
            self.named_lock = false;
            self.execute(&format!("SELECT RELEASE_LOCK({MYSQL_LOCK_NAME})"))
                .await?;
        }
        if self.tainted && self.dialect == Dialect::Sqlite {
            self.execute("PRAGMA foreign_keys = ON").await?;
        }
        self.tainted = false;
        Ok(())
    }

    /// The dialect.
    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether DDL is transactional here (PostgreSQL, SQLite), so a migration and its
    /// history row commit or roll back together.
    pub(crate) fn transactional_ddl(&self) -> bool {
        self.dialect != Dialect::MySql
    }

    /// Opens a step: a transaction holding the lock (PostgreSQL, SQLite); on MariaDB,
    /// nothing (the named lock is held already, and DDL would end a transaction).
    pub(crate) async fn begin_step(&mut self) -> Result<()> {
        match self.dialect {
            Dialect::MySql => Ok(()),
            Dialect::Sqlite => self.retrying(&["BEGIN IMMEDIATE"]).await,
            Dialect::Postgres => self.retrying(&["BEGIN"]).await,
        }
    }

    /// Opens the transaction a migration runs in on MariaDB (after its start is recorded);
    /// elsewhere the step's transaction is that transaction already.
    pub(crate) async fn begin_migration(&mut self) -> Result<()> {
        if self.dialect == Dialect::MySql {
            self.execute("START TRANSACTION").await?;
        }
        Ok(())
    }

    /// Commits the step's (on MariaDB the migration's) transaction. (On MariaDB a COMMIT
    /// with no transaction open, after DDL ended it, does nothing.)
    pub(crate) async fn commit(&mut self) -> Result<()> {
        self.execute("COMMIT").await
    }

    /// Rolls back whatever transaction is open; a failure is ignored (the caller reports the
    /// error that made it roll back, and the driver rolls back a connection given back in a
    /// transaction).
    pub(crate) async fn rollback(&mut self) {
        let _ = self.execute("ROLLBACK").await;
    }

    /// Runs a statement of the Migrator's own (not a migration's).
    pub(crate) async fn run(&mut self, statement: Statement) -> Result<Outcome> {
        let logs = self.logs_statements;
        Ok(run_statement(self.connection(), logs, statement).await?)
    }

    /// Runs a query of the Migrator's own.
    pub(crate) async fn query(&mut self, statement: Statement) -> Result<Vec<Row>> {
        Ok(self
            .run(statement)
            .await?
            .rows
            .unwrap_or_default()
            .into_rows())
    }

    async fn execute(&mut self, sql: &str) -> Result<()> {
        self.run(Statement::execute(sql, Vec::new()))
            .await
            .map(drop)
    }

    fn connection(&mut self) -> &mut dyn Connection {
        self.conn
            .as_deref_mut()
            .expect("a session has its connection until dropped")
    }

    /// On SQLite, where the Migrator works with foreign keys off: fails unless every foreign
    /// key of the database holds (`PRAGMA foreign_key_check`), before `migration` commits.
    pub(crate) async fn check_foreign_keys(&mut self, migration: &str) -> Result<()> {
        if self.dialect != Dialect::Sqlite {
            return Ok(());
        }
        let rows = self
            .query(Statement::query("PRAGMA foreign_key_check", Vec::new()))
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let violations = rows
            .iter()
            .map(|r| {
                let table: String = r.get("table").unwrap_or_default();
                let rowid: Option<i64> = r.get("rowid").unwrap_or_default();
                let parent: String = r.get("parent").unwrap_or_default();
                match rowid {
                    Some(id) => format!("{table} row {id} references a missing {parent} row"),
                    None => format!("a {table} row references a missing {parent} row"),
                }
            })
            .collect();
        Err(Error::ForeignKeysViolated {
            migration: migration.to_owned(),
            violations,
        })
    }

    /// A context for a migration's statements, on the step's transaction.
    pub(crate) fn context(&mut self) -> MigrationContext<'_> {
        let (dialect, logs) = (self.dialect, self.logs_statements);
        MigrationContext::new(self.connection(), dialect, logs)
    }

    /// Opens the step's transaction with `open` and takes the lock, again and again while
    /// the lock is busy and the lock timeout (if any) has not passed.
    async fn retrying(&mut self, open: &[&str]) -> Result<()> {
        let deadline = self.lock_timeout.map(|t| Instant::now() + t);
        loop {
            let result = self.try_open(open, deadline).await;
            match result {
                Err(Error::Database(coherent_core::Error::LockTimeout { .. }))
                    if deadline.is_none_or(|d| Instant::now() < d) =>
                {
                    self.rollback().await;
                }
                Err(e) => {
                    self.rollback().await;
                    return Err(e);
                }
                Ok(()) => return Ok(()),
            }
        }
    }

    async fn try_open(&mut self, open: &[&str], deadline: Option<Instant>) -> Result<()> {
        for sql in open {
            self.execute(sql).await?;
        }
        if self.dialect != Dialect::Postgres {
            return Ok(());
        }
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = left.as_millis().clamp(1, i32::MAX as u128);
            self.execute(&format!("SET LOCAL lock_timeout = '{ms}ms'"))
                .await?;
        }
        self.execute(&format!(
            "SELECT pg_advisory_xact_lock({PG_LOCK_KEY}, hashtext(COALESCE(current_schema(), '')))"
        ))
        .await?;
        if deadline.is_some() {
            self.execute("SET LOCAL lock_timeout = DEFAULT").await?;
        }
        Ok(())
    }

    /// Takes MariaDB's named lock, waiting at most `timeout` (a year without one).
    async fn take_named_lock(&mut self, timeout: Option<Duration>) -> Result<()> {
        let seconds = timeout.map_or(MYSQL_FOREVER_SECONDS, |t| {
            i64::try_from(t.as_secs() + u64::from(t.subsec_nanos() > 0)).unwrap_or(i64::MAX)
        });
        let sql = format!("SELECT GET_LOCK({MYSQL_LOCK_NAME}, ?) AS got");
        // The lock belongs to the connection from the moment GET_LOCK may have taken it (a
        // future dropped while it waits included): a session dropped from here on closes
        // the connection rather than pooling it with the lock held.
        self.tainted = true;
        let rows = self
            .query(Statement::query(sql, vec![Value::I64(seconds)]))
            .await?;
        let got: Option<i64> = match rows.first() {
            Some(row) => row.get("got")?,
            None => None,
        };
        if got != Some(1) {
            // GET_LOCK answered: the lock was not taken, the connection is as it was.
            self.tainted = false;
            return Err(Error::Database(coherent_core::Error::LockTimeout {
                source: DatabaseError::new(format!(
                    "another Migrator held the migration lock for longer than {seconds} s"
                )),
            }));
        }
        self.named_lock = true;
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.tainted
            && let Some(conn) = self.conn.take()
        {
            conn.discard();
        }
    }
}
