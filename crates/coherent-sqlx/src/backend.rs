//! [`Backend`]: what differs between PostgreSQL and MySQL/MariaDB under one batch protocol.
//!
//! Policy: the batch protocol (transactions, savepoints, affected-row checks, the control
//! log, aborted transactions, commits cut short) is written once, in [`crate::connection`]; a
//! backend only runs one statement, runs parameterless SQL, classifies its errors, and says
//! (where its server can) what became of a transaction whose connection was lost.

use coherent_core::ConnectOptions;
use coherent_core::{Capabilities, Dialect, Error, Outcome, Result, Statement};
use sqlx::pool::{Pool, PoolConnection};
use std::future::Future;

/// What names a transaction after its connection is gone, learnt in the round trip that
/// opened it (PostgreSQL: its 64-bit transaction id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxToken {
    /// `txid_current()`.
    pub xid: i64,
}

/// What became of a transaction whose COMMIT was cut short by a lost connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitStatus {
    /// It committed: the batch succeeded.
    Committed,
    /// It was rolled back: nothing of it is in the database.
    RolledBack,
    /// Nobody can tell (why).
    Unknown(String),
}

/// Facts a driver learns about its server once, when it opens.
#[derive(Debug, Clone, Copy)]
pub struct ServerFacts {
    /// MySQL's `auto_increment_increment`: the step between the keys of one multi-row
    /// INSERT (1 unless the server is configured otherwise).
    pub key_step: i64,
}

impl Default for ServerFacts {
    fn default() -> Self {
        ServerFacts { key_step: 1 }
    }
}

/// One server backend on sqlx.
pub trait Backend: Send + Sync + 'static {
    /// The sqlx database.
    type Db: sqlx::Database;
    /// The dialect rendered for it.
    const DIALECT: Dialect;
    /// What it can do.
    const CAPABILITIES: Capabilities;
    /// Whether any failed statement inside a transaction aborts the whole transaction (a
    /// PostgreSQL transaction refuses every statement after its first error until it is
    /// rolled back, or rolled back to a savepoint).
    const ERROR_ABORTS_TRANSACTION: bool;
    /// The session variable that bounds a statement's lock wait (see [`crate::session`]).
    const LOCK_WAIT_VARIABLE: &'static str;

    /// The value [`Backend::LOCK_WAIT_VARIABLE`] goes back to when a connection that changed
    /// it is released: `None` for `DEFAULT`, when that is the configured value.
    fn configured_lock_wait(options: &ConnectOptions) -> Option<String>;

    /// Runs one statement with its bound parameters; checks nothing about affected rows.
    fn execute<'a>(
        conn: &'a mut PoolConnection<Self::Db>,
        statement: &'a Statement,
        facts: ServerFacts,
    ) -> impl Future<Output = Result<Outcome>> + Send + 'a;

    /// Runs SQL without parameters and without rows (transaction control, DDL).
    fn simple<'a>(
        conn: &'a mut PoolConnection<Self::Db>,
        sql: &'a str,
    ) -> impl Future<Output = Result<()>> + Send + 'a;

    /// Whether `error`, raised inside a transaction, ended that transaction on the server
    /// (a MySQL deadlock victim is rolled back whole).
    fn ends_transaction(error: &Error) -> bool;

    /// Runs `sql` (a `BEGIN` or `SAVEPOINT`) and, where the server can later say what became
    /// of the transaction, learns its [`TxToken`] in the same round trip.
    fn open_tracked<'a>(
        conn: &'a mut PoolConnection<Self::Db>,
        sql: &'a str,
    ) -> impl Future<Output = Result<Option<TxToken>>> + Send + 'a;

    /// Asks the server, on a connection of `pool`, what became of the transaction `token`
    /// names (None: no token was learnt), after its COMMIT was cut short.
    fn commit_status<'a>(
        pool: &'a Pool<Self::Db>,
        token: Option<TxToken>,
    ) -> impl Future<Output = CommitStatus> + Send + 'a;
}
