//! [`Backend`]: what differs between PostgreSQL and MySQL/MariaDB under one batch protocol.
//!
//! Policy: the batch protocol (transactions, savepoints, affected-row checks, the control
//! log, aborted transactions, commits cut short) is written once, in [`crate::connection`]; a
//! backend only runs one statement, runs parameterless SQL, classifies its errors, and says
//! (where its server can) what became of a transaction whose connection was lost.

use coherent_core::ConnectOptions;
use coherent_core::query_log;
use coherent_core::stream::Yielder;
use coherent_core::{Capabilities, Dialect, Error, Outcome, Result, Rows, Statement};
use sqlx::pool::{Pool, PoolConnection};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// Where a streamed query's rows go ([`Backend::fetch_chunks`]): handed to the stream's
/// reader chunk by chunk, and counted. It logs the statement ([`coherent_core::query_log`])
/// when the query ends, or, if the stream is dropped first, when it is dropped (with the rows
/// handed over until then).
pub struct RowChunks {
    yielder: Yielder<Result<Rows>>,
    /// Rows per chunk.
    pub chunk_rows: usize,
    /// Rows handed over so far.
    pub rows: u64,
    /// The statement's SQL, parameter count and start, until it is logged.
    log: Option<(Arc<str>, usize, Instant)>,
}

impl std::fmt::Debug for RowChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowChunks")
            .field("chunk_rows", &self.chunk_rows)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl RowChunks {
    pub(crate) fn new(
        yielder: Yielder<Result<Rows>>,
        statement: &Statement,
        chunk_rows: usize,
    ) -> RowChunks {
        RowChunks {
            yielder,
            chunk_rows: chunk_rows.max(1),
            rows: 0,
            log: Some((
                Arc::clone(&statement.sql),
                statement.params.len(),
                Instant::now(),
            )),
        }
    }

    /// Hands a chunk to the stream's reader; returns when the reader asks for the next one.
    pub async fn give(&mut self, rows: Rows) {
        self.rows += rows.len() as u64;
        self.yielder.give(Ok(rows)).await;
    }

    /// Logs the query's end and hands its error, if any, to the reader as the last item.
    pub(crate) async fn end(mut self, result: Result<()>) {
        if let Some((sql, params, start)) = self.log.take() {
            match &result {
                Ok(()) => query_log::ran(&sql, params, self.rows, start.elapsed()),
                Err(e) => query_log::failed(&sql, params, e),
            }
        }
        if let Err(e) = result {
            self.yielder.give(Err(e)).await;
        }
    }
}

impl Drop for RowChunks {
    fn drop(&mut self) {
        // The stream was dropped before the query ended: it ran, for the rows read.
        if let Some((sql, params, start)) = self.log.take() {
            query_log::ran(&sql, params, self.rows, start.elapsed());
        }
    }
}

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

    /// Runs a query with its bound parameters and hands its rows, decoded as
    /// [`Backend::execute`] decodes them, to `chunks` in chunks of `chunks.chunk_rows` as
    /// they arrive (sqlx's row stream: what the socket buffers hold is the read-ahead). Ends
    /// with the query: `Ok` after the last row, or the error, classified as
    /// [`Backend::execute`] classifies it (the rows before it were handed over).
    fn fetch_chunks<'a>(
        conn: &'a mut PoolConnection<Self::Db>,
        statement: &'a Statement,
        chunks: &'a mut RowChunks,
    ) -> impl Future<Output = Result<()>> + Send + 'a;

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
