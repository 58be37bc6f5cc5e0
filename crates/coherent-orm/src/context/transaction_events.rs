//! Transaction events and after-commit work.
//!
//! Policy:
//! - A [`TransactionListener`] registered on the Orm hears `BeforeStart`, `AfterStart`,
//!   `BeforeCommit`, `AfterCommit`, `BeforeRollback`, `AfterRollback` for every explicit
//!   transaction and savepoint (`transactional`, `begin`), in MikroORM's verified order
//!   (reference 1.13); a savepoint's events name it (`trx1`). Listeners are synchronous: for
//!   asynchronous work after a commit use `on_commit`. (The implicit transaction of a plain
//!   flush is not announced.)
//! - [`crate::EntityManager::on_commit`] registers work that runs only after the outermost
//!   COMMIT succeeds (seed 003: side effects after commit): it survives a released savepoint,
//!   is dropped with a rolled-back one or a rolled-back transaction, and runs in registration
//!   order, awaited by the `commit` (or `transactional`) that committed.

use crate::context::entity_manager::EntityManager;
use coherent_core::BoxFuture;

/// Which moment of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionEventKind {
    /// Before `BEGIN` / `SAVEPOINT`.
    BeforeStart,
    /// After `BEGIN` / `SAVEPOINT`.
    AfterStart,
    /// Before `COMMIT` / `RELEASE SAVEPOINT` (after the final flush).
    BeforeCommit,
    /// After `COMMIT` / `RELEASE SAVEPOINT` succeeded.
    AfterCommit,
    /// Before `ROLLBACK` / `ROLLBACK TO SAVEPOINT`.
    BeforeRollback,
    /// After the rollback (and the restore of memory).
    AfterRollback,
}

/// A transaction event.
#[derive(Debug)]
pub struct TransactionEvent<'a> {
    /// Which moment.
    pub kind: TransactionEventKind,
    /// The transaction's EntityManager.
    pub em: &'a EntityManager,
    /// The savepoint's name for a nested scope (`trx1`), `None` for the transaction.
    pub savepoint: Option<&'a str>,
}

/// Hears transaction events; register with `OrmBuilder::transaction_listener`.
///
/// ```
/// use coherent_orm::{TransactionEvent, TransactionListener};
/// struct Log;
/// impl TransactionListener for Log {
///     fn on_event(&self, event: &TransactionEvent<'_>) {
///         println!("{:?} {:?}", event.kind, event.savepoint);
///     }
/// }
/// ```
pub trait TransactionListener: Send + Sync + 'static {
    /// Called at each event, on the task that runs the transaction.
    fn on_event(&self, event: &TransactionEvent<'_>);
}

/// Work to run after the outermost COMMIT.
pub(crate) type CommitHook = Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>;

/// Tells every listener of `em`'s Orm.
pub(crate) fn announce(em: &EntityManager, kind: TransactionEventKind, savepoint: Option<&str>) {
    let listeners = &em.shared().listeners;
    if listeners.is_empty() {
        return;
    }
    let event = TransactionEvent {
        kind,
        em,
        savepoint,
    };
    for l in listeners {
        l.on_event(&event);
    }
}
