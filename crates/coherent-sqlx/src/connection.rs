//! [`ServerConnection`]: one pooled sqlx connection running Coherent's batch protocol.
//!
//! Policy (the same protocol as the SQLite driver, over the network):
//! - An atomic batch is `BEGIN` .. `COMMIT`, or `SAVEPOINT coherent_batch` .. `RELEASE` inside
//!   an open transaction; the first failing statement (or [`Statement::expect_rows`] check)
//!   undoes the whole batch and is reported with its index.
//! - Statements go one round trip each (sqlx has no pipelining); prepared statements are
//!   cached per connection by sqlx, keyed by SQL text, which the ORM shares per shape.
//! - Transaction state is tracked from the control statements ([`crate::tx_state`]).
//! - A connection dropped inside a transaction is rolled back before it returns to the pool
//!   (on a spawned task; without a runtime it is closed instead), so a cancelled future
//!   never leaves a transaction open for the next user.

use crate::backend::{Backend, ServerFacts};
use crate::tx_state::{TxControl, TxState};
use coherent_core::{
    Batch, BatchFailure, BatchResult, BoxFuture, Connection, Control, Error, Outcome, Result,
    Statement, TxMode,
};
use sqlx::pool::PoolConnection;
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
    conn: Option<PoolConnection<B::Db>>,
    tx: TxState,
    facts: ServerFacts,
    /// A statement was sent and its answer not yet read (its future may have been dropped).
    in_flight: bool,
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
    pub(crate) fn new(conn: PoolConnection<B::Db>, facts: ServerFacts) -> Self {
        ServerConnection {
            conn: Some(conn),
            tx: TxState::default(),
            facts,
            in_flight: false,
        }
    }

    /// Whether the driver believes a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.tx.open
    }

    fn raw(&mut self) -> &mut PoolConnection<B::Db> {
        self.conn
            .as_mut()
            .expect("the connection is present until drop")
    }

    /// Runs a control statement of an atomic batch and logs it.
    async fn control(&mut self, sql: &'static str, log: &mut Vec<Control>) -> Result<()> {
        let start = Instant::now();
        self.in_flight = true;
        let result = B::simple(self.raw(), sql).await;
        self.in_flight = false;
        log.push(Control {
            sql,
            elapsed: start.elapsed(),
        });
        result
    }

    /// Runs one statement of a batch, keeping the transaction state.
    async fn statement(&mut self, statement: &Statement) -> Result<Outcome> {
        let control = TxControl::of(&statement.sql);
        if let Some(message) = self.tx.aborted.clone() {
            match control {
                TxControl::Rollback | TxControl::RollbackTo => {}
                TxControl::Commit => {
                    // COMMIT of an aborted transaction: roll it back and say so.
                    let _ = B::simple(self.raw(), ROLLBACK).await;
                    self.tx.after(TxControl::Rollback);
                    return Err(Error::TransactionAborted { message });
                }
                _ => return Err(Error::TransactionAborted { message }),
            }
        }
        let start = Instant::now();
        self.in_flight = true;
        let result = if control == TxControl::Other {
            let facts = self.facts;
            B::execute(self.raw(), statement, facts).await
        } else {
            B::simple(self.raw(), &statement.sql)
                .await
                .map(|()| Outcome::default())
        };
        self.in_flight = false;
        match result {
            Ok(mut outcome) => {
                self.tx.after(control);
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
                    error: Error::TransactionAborted { message },
                    executed,
                });
            }
            let open = if nested { SAVEPOINT } else { BEGIN };
            if let Err(error) = self.control(open, &mut executed.control).await {
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
            match self.statement(statement).await {
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

impl<B: Backend> Connection for ServerConnection<B> {
    fn run(
        &mut self,
        batch: Batch,
    ) -> BoxFuture<'_, std::result::Result<BatchResult, BatchFailure>> {
        Box::pin(self.run_batch(batch))
    }
}

impl<B: Backend> Drop for ServerConnection<B> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !self.tx.open && !self.in_flight {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if B::simple(&mut conn, ROLLBACK).await.is_err() {
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
