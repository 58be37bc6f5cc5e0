//! [`ServerConnection`]: one pooled sqlx connection running Coherent's batch protocol.
//!
//! Policy (the same protocol as the SQLite driver, over the network):
//! - An atomic batch is `BEGIN` .. `COMMIT`, or `SAVEPOINT coherent_batch` .. `RELEASE` inside
//!   an open transaction; the first failing statement (or [`Statement::expect_rows`] check)
//!   undoes the whole batch and is reported with its index.
//! - Statements go one round trip each (sqlx has no pipelining); prepared statements are
//!   cached per connection by sqlx, keyed by SQL text, which the ORM shares per shape.
//! - Transaction state is tracked from the control statements ([`crate::tx_state`]).
//! - Every statement, control statements and probes included, is logged
//!   ([`coherent_core::query_log`]) the moment it finishes, on the caller's task: the log is
//!   in the order statements ran, across connections too.
//! - A connection released clean is kept for the next checkout instead of going back to the
//!   pool, which would ping it first (`warm.rs`).
//! - A connection dropped inside a transaction is rolled back before it returns to the pool
//!   (on a spawned task; without a runtime it is closed instead), so a cancelled future
//!   never leaves a transaction open for the next user; one whose session lock wait was
//!   changed gets its configured value back the same way ([`crate::session`]).
//! - **A stale connection is replaced.** If the first round trip on a connection just taken
//!   from the pool fails with a connection error (the server closed it while it was idle),
//!   and that round trip cannot have had an effect of its own (an atomic batch's `BEGIN`, a
//!   transaction's `BEGIN` or `SET TRANSACTION`, the session's lock wait, or a statement marked
//!   [`Statement::idempotent`]: the ORM's reads), the connection is dropped and the round trip
//!   runs again on another, up to `max_connections + 1` times (the pool may hold that many
//!   closed connections). If the last try fails too, the error says nothing was sent. Any other connection error is
//!   reported as sent: the statement may have run.
//! - **Streamed queries** ([`Connection::query_stream`]) read sqlx's row stream and hand
//!   the rows over in chunks as they arrive: the read-ahead is what the socket buffers hold,
//!   and the server waits while they are full. Errors are classified and logged as a batch
//!   statement's are; a stream dropped early leaves the rest of the answer to be read and
//!   discarded before the connection's next statement.
//! - **A COMMIT cut short is resolved, not guessed.** A connection error during an atomic
//!   batch's COMMIT, or a transaction's, leaves the outcome open: the backend is asked on a
//!   new connection ([`Backend::commit_status`]). Committed: the batch succeeded. Rolled
//!   back: the connection error. Otherwise [`Error::CommitOutcomeUnknown`].

use crate::backend::{Backend, CommitStatus, RowChunks, ServerFacts, TxToken};
use crate::tx_state::{TxControl, TxState};
use crate::warm::Warm;
use coherent_core::ConnectOptions;
use coherent_core::query_log;
use coherent_core::{
    Batch, BatchFailure, BatchResult, BoxFuture, BoxStream, Connection, Control, DatabaseError,
    Error, Outcome, Result, Rows, Statement, TxMode,
};
use sqlx::pool::{Pool, PoolConnection};
use std::sync::Arc;
use std::time::Instant;

/// Opens an atomic batch inside an open transaction.
const SAVEPOINT: &str = "SAVEPOINT coherent_batch";
/// Ends it.
const RELEASE: &str = "RELEASE SAVEPOINT coherent_batch";
/// Undoes it.
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT coherent_batch";
/// Opens an atomic batch outside a transaction.
const BEGIN: &str = "BEGIN";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";

/// A connection checked out of a [`crate::ServerDriver`].
pub struct ServerConnection<B: Backend> {
    /// None once the connection was found broken and dropped.
    conn: Option<PoolConnection<B::Db>>,
    /// Where a replacement comes from, and where a lost COMMIT is asked about.
    pool: Pool<B::Db>,
    /// Where a clean connection goes when it is released (`warm.rs`).
    warm: Arc<Warm<B>>,
    options: Arc<ConnectOptions>,
    tx: TxState,
    facts: ServerFacts,
    /// A statement was sent and its answer not yet read (its future may have been dropped).
    in_flight: bool,
    /// Nothing was sent since the connection left the pool.
    fresh: bool,
    /// The session's lock wait was changed ([`crate::session`]): it is restored before the
    /// connection goes back to the pool.
    lock_wait_changed: bool,
    /// Since when the connection has been passed from release to checkout through the
    /// driver's kept slot (`warm.rs`); `None` if it came from the pool.
    warm_since: Option<Instant>,
}

impl<B: Backend> std::fmt::Debug for ServerConnection<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConnection")
            .field("dialect", &B::DIALECT)
            .field("in_transaction", &self.tx.open)
            .finish()
    }
}

impl<B: Backend> ServerConnection<B> {
    pub(crate) fn new(
        conn: PoolConnection<B::Db>,
        warm_since: Option<Instant>,
        pool: Pool<B::Db>,
        facts: ServerFacts,
        options: Arc<ConnectOptions>,
        warm: Arc<Warm<B>>,
    ) -> Self {
        ServerConnection {
            conn: Some(conn),
            pool,
            warm,
            options,
            tx: TxState::default(),
            facts,
            in_flight: false,
            fresh: true,
            lock_wait_changed: false,
            warm_since,
        }
    }

    /// Whether the driver believes a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.tx.open
    }

    /// Drops a broken connection without returning it to the pool (which may then open
    /// another); the transaction it had open is gone with it.
    fn discard(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
        self.in_flight = false;
        self.tx = TxState::default();
        self.lock_wait_changed = false;
        self.warm_since = None;
    }

    /// Replaces a connection whose first round trip failed with another from the pool.
    async fn replace(&mut self) -> Result<()> {
        self.discard();
        self.conn = Some(crate::driver::checkout::<B>(&self.pool, &self.options).await?);
        Ok(())
    }

    /// How many times a replayable first round trip is tried: the pool may hold that many
    /// connections the server closed (each failure drops one), and then a new one.
    fn attempts(&self) -> u32 {
        self.options.pool_max() + 1
    }

    /// Runs a control statement of an atomic batch and logs it.
    async fn control(&mut self, sql: &'static str, log: &mut Vec<Control>) -> Result<()> {
        let start = Instant::now();
        self.fresh = false;
        let conn = raw(&mut self.conn)?;
        self.in_flight = true;
        let result = B::simple(conn, sql).await;
        self.in_flight = false;
        let elapsed = start.elapsed();
        log_control(sql, &result, elapsed);
        log.push(Control { sql, elapsed });
        result
    }

    /// Opens an atomic batch: `BEGIN`, or `SAVEPOINT` inside an open transaction; learns the
    /// transaction's token in the same round trip if it has none yet. On a fresh connection a
    /// `BEGIN` that meets a broken connection runs again on a new one.
    async fn open(&mut self, nested: bool, log: &mut Vec<Control>) -> Result<()> {
        let mut left = if !nested && self.fresh {
            self.attempts()
        } else {
            1
        };
        loop {
            left -= 1;
            match self.open_once(nested, log).await {
                Err(error) if left > 0 && error.is_connection() => self.replace().await?,
                Err(error) if nested => return Err(error),
                other => return other.map_err(unsent),
            }
        }
    }

    async fn open_once(&mut self, nested: bool, log: &mut Vec<Control>) -> Result<()> {
        let sql = if nested { SAVEPOINT } else { BEGIN };
        let start = Instant::now();
        self.fresh = false;
        let track = self.tx.token.is_none();
        let conn = raw(&mut self.conn)?;
        self.in_flight = true;
        let result = if track {
            B::open_tracked(conn, sql).await
        } else {
            B::simple(conn, sql).await.map(|()| None)
        };
        self.in_flight = false;
        let elapsed = start.elapsed();
        log_control(sql, &result, elapsed);
        log.push(Control { sql, elapsed });
        if let Some(token) = result? {
            self.tx.token = Some(token);
        }
        Ok(())
    }

    /// Runs the first statement of a plain batch; on a fresh connection, one that cannot have
    /// had an effect of its own (a `BEGIN`, an idempotent read) and met a broken connection
    /// runs again on a new one.
    async fn first_statement(&mut self, statement: &Statement) -> Result<Outcome> {
        let replayable = self.fresh
            && !self.tx.open
            && (statement.idempotent
                || opens(&statement.sql)
                || crate::session::lock_wait_change(&statement.sql, B::LOCK_WAIT_VARIABLE)
                    .is_some());
        if !replayable {
            return self.statement(statement).await;
        }
        let mut left = self.attempts();
        loop {
            left -= 1;
            match self.statement(statement).await {
                Err(error) if left > 0 && error.is_connection() => self.replace().await?,
                other => return other.map_err(unsent),
            }
        }
    }

    /// Runs a streamed query ([`Connection::query_stream`]), handing its rows to `chunks`.
    /// Refused in an aborted transaction, as any statement; on a fresh connection an
    /// idempotent read that meets a broken connection before its first row runs again on a
    /// new one, as [`ServerConnection::first_statement`] does. The connection is in flight
    /// until the last row is read: a stream dropped before that leaves the rest of the answer
    /// to sqlx, which reads and discards it before the connection's next statement (or the
    /// rollback of its release).
    async fn stream_rows(&mut self, statement: &Statement, chunks: &mut RowChunks) -> Result<()> {
        if let Some(message) = self.tx.aborted.clone() {
            return Err(Error::TransactionAborted {
                source: DatabaseError::new(message),
            });
        }
        let replayable = self.fresh && !self.tx.open && statement.idempotent;
        let mut left = if replayable { self.attempts() } else { 1 };
        loop {
            left -= 1;
            self.fresh = false;
            let conn = raw(&mut self.conn)?;
            self.in_flight = true;
            let result = B::fetch_chunks(conn, statement, chunks).await;
            self.in_flight = false;
            match result {
                Ok(()) => return Ok(()),
                Err(error) if chunks.rows == 0 && left > 0 && error.is_connection() => {
                    self.replace().await?
                }
                Err(error) => {
                    self.note_failure(TxControl::Other, &error);
                    return Err(if replayable && chunks.rows == 0 {
                        unsent(error)
                    } else {
                        error
                    });
                }
            }
        }
    }

    /// After a connection error during COMMIT: drops the connection and asks the server
    /// what became of the transaction. Ok if it committed; `error` if it was rolled back;
    /// [`Error::CommitOutcomeUnknown`] if nobody can tell.
    async fn resolve_commit(&mut self, error: Error) -> Result<()> {
        let token: Option<TxToken> = self.tx.token;
        self.discard();
        match B::commit_status(&self.pool, token).await {
            CommitStatus::Committed => Ok(()),
            CommitStatus::RolledBack => Err(error),
            CommitStatus::Unknown(why) => Err(Error::CommitOutcomeUnknown {
                message: why,
                source: Some(Box::new(error)),
            }),
        }
    }

    /// Runs one statement of a batch, keeping the transaction state, and logs it as it
    /// finishes ([`coherent_core::query_log`]).
    async fn statement(&mut self, statement: &Statement) -> Result<Outcome> {
        let result = self.statement_unlogged(statement).await;
        match &result {
            Ok(o) => query_log::ran(
                &statement.sql,
                statement.params.len(),
                o.affected,
                o.elapsed,
            ),
            Err(e) => query_log::failed(&statement.sql, statement.params.len(), e),
        }
        result
    }

    async fn statement_unlogged(&mut self, statement: &Statement) -> Result<Outcome> {
        self.fresh = false;
        let control = TxControl::of(&statement.sql);
        if let Some(message) = self.tx.aborted.clone() {
            match control {
                TxControl::Rollback | TxControl::RollbackTo => {}
                TxControl::Commit => {
                    // COMMIT of an aborted transaction: roll it back and say so.
                    let _ = B::simple(raw(&mut self.conn)?, ROLLBACK).await;
                    self.tx.after(TxControl::Rollback);
                    return Err(Error::TransactionAborted {
                        source: DatabaseError::new(message),
                    });
                }
                _ => {
                    return Err(Error::TransactionAborted {
                        source: DatabaseError::new(message),
                    });
                }
            }
        }
        let lock_wait = crate::session::lock_wait_change(&statement.sql, B::LOCK_WAIT_VARIABLE);
        let start = Instant::now();
        let facts = self.facts;
        let conn = raw(&mut self.conn)?;
        self.in_flight = true;
        let result = if control == TxControl::Other && lock_wait.is_none() {
            B::execute(conn, statement, facts).await
        } else {
            B::simple(conn, &statement.sql)
                .await
                .map(|()| Outcome::default())
        };
        self.in_flight = false;
        match result {
            Ok(mut outcome) => {
                self.tx.after(control);
                if let Some(changed) = lock_wait {
                    // `= DEFAULT` is not the configured value where that must be set again.
                    self.lock_wait_changed =
                        changed || B::configured_lock_wait(&self.options).is_some();
                }
                outcome.elapsed = start.elapsed();
                if let Some(expected) = statement.expect_rows
                    && expected != outcome.affected
                {
                    return Err(Error::RowCountMismatch {
                        entity: statement.entity,
                        key: String::new(),
                        expected,
                        actual: outcome.affected,
                    });
                }
                Ok(outcome)
            }
            Err(error) if control == TxControl::Commit && self.tx.open && error.is_connection() => {
                // The transaction's COMMIT may or may not have reached the server.
                self.resolve_commit(error).await.map(|()| Outcome {
                    elapsed: start.elapsed(),
                    ..Outcome::default()
                })
            }
            Err(error) => {
                self.note_failure(control, &error);
                Err(error)
            }
        }
    }

    fn note_failure(&mut self, control: TxControl, error: &Error) {
        if control == TxControl::Commit || B::ends_transaction(error) {
            // A failed COMMIT or a deadlock victim: the server ended the transaction.
            if self.tx.open {
                self.tx.aborted = Some(error.to_string());
            }
        } else if self.tx.open && B::ERROR_ABORTS_TRANSACTION {
            self.tx.aborted = Some(error.to_string());
        }
    }

    async fn run_batch(&mut self, batch: Batch) -> std::result::Result<BatchResult, BatchFailure> {
        let mut executed = BatchResult {
            outcomes: Vec::with_capacity(batch.statements.len()),
            control: Vec::new(),
            probe: None,
        };
        let atomic = batch.mode == TxMode::Atomic && !batch.statements.is_empty();
        let nested = self.tx.open;
        if atomic {
            if let Some(message) = self.tx.aborted.clone() {
                return Err(BatchFailure {
                    index: None,
                    error: Error::TransactionAborted {
                        source: DatabaseError::new(message),
                    },
                    executed,
                });
            }
            if let Err(error) = self.open(nested, &mut executed.control).await {
                return Err(BatchFailure {
                    index: None,
                    error,
                    executed,
                });
            }
            // From here a dropped future leaves a transaction to roll back.
            self.tx.open = true;
        }
        let mut failure = None;
        for (index, statement) in batch.statements.iter().enumerate() {
            let outcome = if index == 0 && !atomic {
                self.first_statement(statement).await
            } else {
                self.statement(statement).await
            };
            match outcome {
                Ok(outcome) => executed.outcomes.push(outcome),
                Err(error) => {
                    if let (Error::RowCountMismatch { .. }, Some(probe)) =
                        (&error, statement.probe.as_deref())
                    {
                        // Which rows were missed, read before the batch is undone.
                        if let Ok(outcome) = self.statement(probe).await {
                            executed.probe = outcome.rows;
                        }
                    }
                    failure = Some((Some(index), error));
                    break;
                }
            }
        }
        if atomic {
            if failure.is_none() {
                let close = if nested { RELEASE } else { COMMIT };
                match self.control(close, &mut executed.control).await {
                    Ok(()) => {
                        if !nested {
                            self.tx.after(TxControl::Commit);
                        }
                        return Ok(executed);
                    }
                    Err(error) if !nested && error.is_connection() => {
                        // The COMMIT may or may not have reached the server.
                        return match self.resolve_commit(error).await {
                            Ok(()) => Ok(executed),
                            Err(error) => Err(BatchFailure {
                                index: None,
                                error,
                                executed,
                            }),
                        };
                    }
                    Err(error) => failure = Some((None, error)),
                }
            }
            self.undo(nested, &mut executed.control).await;
        }
        match failure {
            None => Ok(executed),
            Some((index, error)) => Err(BatchFailure {
                index,
                error,
                executed,
            }),
        }
    }

    /// Undoes a failed atomic batch; errors are ignored (the batch's own error is reported).
    async fn undo(&mut self, nested: bool, log: &mut Vec<Control>) {
        if nested {
            if self.tx.open && self.control(ROLLBACK_TO, log).await.is_ok() {
                self.tx.after(TxControl::RollbackTo);
                let _ = self.control(RELEASE, log).await;
            }
        } else {
            let _ = self.control(ROLLBACK, log).await;
            self.tx.after(TxControl::Rollback);
        }
    }
}

/// Logs a control statement as it finishes.
fn log_control<T>(sql: &str, result: &Result<T>, elapsed: std::time::Duration) {
    match result {
        Ok(_) => query_log::ran(sql, 0, 0, elapsed),
        Err(e) => query_log::failed(sql, 0, e),
    }
}

/// Whether `sql` only prepares a transaction (`BEGIN ..`, `START TRANSACTION`, MySQL's `SET
/// TRANSACTION ..` before it): nothing of it outlives the connection.
fn opens(sql: &str) -> bool {
    TxControl::of(sql) == TxControl::Begin
        || sql
            .get(..15)
            .is_some_and(|s| s.eq_ignore_ascii_case("SET TRANSACTION"))
}

/// The connection, unless an earlier statement found it broken and dropped it.
fn raw<D: sqlx::Database>(conn: &mut Option<PoolConnection<D>>) -> Result<&mut PoolConnection<D>> {
    conn.as_mut().ok_or_else(|| {
        Error::connection_unavailable("the connection was lost by an earlier statement")
    })
}

/// The same connection error, saying nothing of the work reached the server.
fn unsent(error: Error) -> Error {
    match error {
        Error::Connection {
            message, source, ..
        } => Error::Connection {
            message,
            sent: false,
            source,
        },
        other => other,
    }
}

impl<B: Backend> Connection for ServerConnection<B> {
    fn discard(mut self: Box<Self>) {
        // Closed instead of pooled (its transaction, if any, ends with the session).
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }

    fn run(
        &mut self,
        batch: Batch,
    ) -> BoxFuture<'_, std::result::Result<BatchResult, BatchFailure>> {
        Box::pin(self.run_batch(batch))
    }

    fn query_stream<'a>(
        &'a mut self,
        statement: Statement,
        chunk_rows: usize,
    ) -> BoxStream<'a, Result<Rows>> {
        Box::pin(coherent_core::stream::generate(move |yielder| async move {
            let mut chunks = RowChunks::new(yielder, &statement, chunk_rows);
            let result = self.stream_rows(&statement, &mut chunks).await;
            chunks.end(result).await;
        }))
    }
}

impl<B: Backend> Drop for ServerConnection<B> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let roll_back = self.tx.open || self.in_flight;
        let restore = self.lock_wait_changed.then(|| {
            crate::session::restore(
                B::LOCK_WAIT_VARIABLE,
                B::configured_lock_wait(&self.options),
            )
        });
        if !roll_back && restore.is_none() {
            self.warm
                .keep(conn, self.warm_since, &self.pool, &self.options);
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    let rolled_back = !roll_back || B::simple(&mut conn, ROLLBACK).await.is_ok();
                    let restored = rolled_back
                        && match &restore {
                            Some(sql) => B::simple(&mut conn, sql).await.is_ok(),
                            None => true,
                        };
                    if !restored {
                        // Unknown state: never hand it to someone else.
                        let _ = conn.detach();
                    }
                });
            }
            Err(_) => {
                let _ = conn.detach();
            }
        }
    }
}
