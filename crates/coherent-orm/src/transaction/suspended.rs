//! Suspended transactions: while a `RequiresNew` or `NotSupported` scope runs inside an open
//! transaction, that transaction waits for the scope to end, still holding its pinned
//! connection and its row locks. Work of the same task that waits for either waits for
//! itself: an application-level deadlock the ORM can see, and refuses at once.
//!
//! Policy:
//! - The suspended transactions of a task are a task-local list, one entry per suspension
//!   (of any Orm), bound while the scope runs, its `BEGIN` and `COMMIT` included. Like the
//!   transaction context it does not cross `tokio::spawn`: another task may wait for a
//!   suspended transaction; it is not waited for by it.
//! - **Connections.** Taking a connection from the pool (`EntityManager::acquire_connection`)
//!   while the task's suspended transactions of that Orm hold as many connections as the pool
//!   has is [`Error::ConnectionsPinned`], before waiting: nobody could give one back. (A
//!   connection another task holds is waited for, at most the pool's acquire timeout.)
//! - **Lock waits.** Every connection the ORM takes while the task has a suspended
//!   transaction of that Orm waits at most [`crate::OrmConfig::lock_timeout_while_suspended`]
//!   (10 s) for a lock, or the `lock_timeout` of the `RequiresNew` scope's [`crate::TxOptions`]
//!   for that scope's transaction: a wait the checks above cannot see (a row written by raw
//!   SQL, a row lock held by a table lock) ends in [`Error::LockTimeout`] instead of never,
//!   whatever the propagations nest. PostgreSQL `SET SESSION lock_timeout`, MySQL `SET SESSION
//!   innodb_lock_wait_timeout` (whole seconds), before the connection's first statement; the
//!   driver restores the connection's configured lock wait
//!   ([`coherent_core::ConnectOptions::lock_timeout`], else the server's default) when the
//!   connection is released. SQLite has no row
//!   locks (a write waits for the database lock at most its busy timeout).
//! - **Rows.** A flush that would update, delete or insert (under a key it knows) a row that
//!   a suspended transaction of this task wrote or locked ([`crate::unit_of_work::written_rows`]) is
//!   [`Error::WouldDeadlock`], naming the entity and key, before any SQL: its statement would
//!   wait for that transaction's row lock. This covers the `RequiresNew` transaction's flushes
//!   and those of a `NotSupported` scope, and of everything nested in them. A flush of a
//!   suspended transaction's own EntityManager is not checked against its own rows.
//! - **Cost.** Outside such scopes, taking a connection and flushing each pay one relaxed load
//!   of a process-wide count of live suspensions, and nothing else.

use crate::context::entity_manager::EntityManager;
use crate::context::open_transaction::{Transaction, lock_written};
use crate::unit_of_work::plan::FlushPlan;
use crate::unit_of_work::written_rows::WrittenRows;
use coherent_core::{Error, Result};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A transaction suspended by a scope of this task.
#[derive(Clone)]
pub(crate) struct Suspended {
    /// Its EntityManager.
    em: EntityManager,
    /// What it wrote or locked (and goes on recording, should it write meanwhile).
    written: Arc<Mutex<WrittenRows>>,
}

impl Suspended {
    /// The open transaction `tx` of `em`, as a scope would suspend it.
    pub fn of(em: &EntityManager, tx: &Transaction) -> Suspended {
        Suspended {
            em: em.clone(),
            written: Arc::clone(&tx.written),
        }
    }
}

tokio::task_local! {
    static SUSPENDED: Arc<Vec<Suspended>>;
}

/// How many suspension scopes are running, in the whole process: while none is, nobody looks
/// at the task-local.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts one live suspension scope for as long as it exists (its future may be dropped).
struct Live;

impl Live {
    fn enter() -> Live {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `fut` (a `RequiresNew` or `NotSupported` scope) with `suspended`, the transaction
/// that waits for it, added to the task's suspended transactions.
pub(crate) async fn scope<F: Future>(suspended: Suspended, fut: F) -> F::Output {
    let mut entries: Vec<Suspended> = SUSPENDED.try_with(|s| (**s).clone()).unwrap_or_default();
    if !entries
        .iter()
        .any(|e| EntityManager::same(&e.em, &suspended.em))
    {
        entries.push(suspended);
    }
    let _live = Live::enter();
    SUSPENDED.scope(Arc::new(entries), fut).await
}

/// The transactions this task suspended that `em` could wait for: those of its Orm that are
/// still open, other than `em`'s own. `None` (cheaply) when there are none.
pub(crate) fn waited_for_by(em: &EntityManager) -> Option<Vec<Suspended>> {
    if LIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let found: Vec<Suspended> = SUSPENDED
        .try_with(|entries| {
            entries
                .iter()
                .filter(|s| {
                    s.em.orm_id() == em.orm_id()
                        && !EntityManager::same(&s.em, em)
                        && s.em.may_have_transaction()
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    (!found.is_empty()).then_some(found)
}

/// Refuses `plan`, a flush of `em` about to run, if it writes a row a transaction this task
/// suspended wrote or locked ([`Error::WouldDeadlock`]); call it before any of its SQL.
pub(crate) fn check_plan(em: &EntityManager, plan: &FlushPlan) -> Result<()> {
    let Some(suspended) = waited_for_by(em) else {
        return Ok(());
    };
    for s in &suspended {
        if let Some((entity, key)) = plan.first_written(&lock_written(&s.written)) {
            return Err(Error::WouldDeadlock { entity, key });
        }
    }
    Ok(())
}

/// The transactions this task suspended that `em` could wait for, unless they hold every
/// connection of the pool: then taking another is [`Error::ConnectionsPinned`], at once.
pub(crate) fn check_pool(em: &EntityManager) -> Result<Option<Vec<Suspended>>> {
    let suspended = waited_for_by(em);
    if let Some(held) = &suspended
        && let Some(max) = em.shared().driver.max_connections()
        && held.len() >= max
    {
        return Err(Error::ConnectionsPinned {
            max_connections: max,
        });
    }
    Ok(suspended)
}
