//! [`Transaction`]: the state of an EntityManager's open transaction.
//!
//! Policy: the open transaction pins one connection, keeps a checkpoint of the Unit of Work
//! per open scope (the transaction, then each savepoint), and the rows it wrote or locked.
//! A statement that dooms it (a deadlock, a serialization failure) marks it rollback-only.
//! Beginning, committing and rolling back are `transaction/`'s (`control.rs`).

use crate::context::transaction_events::CommitHook;
use crate::unit_of_work::checkpoint::Checkpoint;
use crate::unit_of_work::written_rows::WrittenRows;
use coherent_core::{Connection, Error};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Locks a transaction's written rows (consistent whatever panicked while holding them: at
/// worst a row is missing, and the lock-wait bound still holds).
pub(crate) fn lock_written(rows: &Mutex<WrittenRows>) -> MutexGuard<'_, WrittenRows> {
    rows.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One open scope: the transaction itself, or a savepoint in it.
pub(crate) struct Scope {
    /// The Unit of Work when the scope began.
    pub checkpoint: Checkpoint,
    /// Work registered with `on_commit` inside the scope.
    pub hooks: Vec<CommitHook>,
}

impl Scope {
    pub fn new(checkpoint: Checkpoint) -> Scope {
        Scope {
            checkpoint,
            hooks: Vec::new(),
        }
    }
}

/// The open transaction of an EntityManager.
pub(crate) struct Transaction {
    /// The pinned connection.
    pub conn: Box<dyn Connection>,
    /// The open scopes: the transaction, then each savepoint.
    pub scopes: Vec<Scope>,
    /// A joined scope failed, or a statement failed in a way that dooms the transaction: it
    /// can only roll back.
    pub rollback_only: bool,
    /// The rollback-only mark came from a failure that dooms the transaction (a deadlock, a
    /// serialization failure): the whole unit of work may be retried.
    pub doomed: bool,
    /// Opened read-only: a flush inside it is refused before any SQL.
    pub read_only: bool,
    /// Savepoints whose scope was dropped mid-way: memory was restored at once, the SQL
    /// `ROLLBACK TO` runs before the transaction's next statement ([`Transaction::settle`]).
    pub abandoned: Vec<usize>,
    /// The rows it wrote or locked, per scope: shared with the scopes it waits for while
    /// suspended ([`crate::transaction::suspended`]), which must not wait for them.
    pub written: Arc<Mutex<WrittenRows>>,
}

impl Transaction {
    /// The rows it wrote or locked.
    pub fn written(&self) -> MutexGuard<'_, WrittenRows> {
        lock_written(&self.written)
    }

    /// Takes note of a failure of a statement inside the transaction: one that dooms it
    /// ([`Error::dooms_transaction`]) marks it rollback-only, so what it did before cannot be
    /// committed as if nothing had happened.
    pub fn note_failure(&mut self, error: &Error) {
        if error.dooms_transaction() {
            self.rollback_only = true;
            self.doomed = true;
        }
    }
}
