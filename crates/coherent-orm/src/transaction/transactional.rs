//! [`EntityManager::transactional`]: run a closure in a transaction scope.
//!
//! Policy (MikroORM's, reference 1.4, where Coherent does not do better):
//! - A new transaction runs on a **fork** of the EntityManager (`clear: false`: the fork shares
//!   the parent's instances and pending work, so pending work is flushed inside the
//!   transaction). The fork is bound as the **transaction context**: inside the closure the
//!   global EntityManager and request forks resolve to it. The final flush happens inside the
//!   transaction, before COMMIT; the closure's value is returned.
//! - On success the fork's Unit of Work is merged into the parent's (inserted entities become
//!   managed there, deleted ones are gone), unless the parent is the global EntityManager with
//!   global context disallowed.
//! - On failure (the closure's error, or the flush's, or COMMIT's) the transaction rolls back
//!   and **memory is restored** to the scope's start (better than MikroORM: instances shared
//!   with the parent come back as they were); the error is returned.
//! - `Nested` inside a transaction is a savepoint on the same transaction, with the same
//!   restore on failure. `Required` / `Supports` / `Mandatory` inside one join it: the closure
//!   runs on the transaction's EntityManager, without flush; **a joined scope that fails marks
//!   the transaction rollback-only**, so the outer commit rolls back and returns
//!   [`Error::RollbackOnly`] even if the caller swallowed the error (MikroORM commits half the
//!   work).
//! - `RequiresNew` inside a transaction needs a second writer: where the backend has one
//!   (PostgreSQL, MySQL) the fork begins its own transaction on another connection; on SQLite
//!   (one writer) it fails at once with [`Error::RequiresNewUnavailable`] instead of waiting for
//!   a lock its own caller holds (MikroORM hangs forever). `NotSupported` suspends the open
//!   transaction: the closure runs on a fork outside it, whose work commits on its own (on
//!   SQLite a write there waits for the outer transaction's write lock, up to the busy
//!   timeout).
//! - While a `RequiresNew` or `NotSupported` scope runs, the transaction it suspended waits
//!   for it, holding its connection and its row locks: work of the scope that could only
//!   wait for that transaction fails at once instead ([`crate::transaction::suspended`]). Taking a
//!   connection when the task's suspended transactions hold the whole pool is
//!   [`Error::ConnectionsPinned`]; a flush that would write a row a suspended transaction
//!   wrote or locked is [`Error::WouldDeadlock`], before any SQL (MikroORM waits forever);
//!   any other lock wait there ends after [`crate::OrmConfig::lock_timeout_while_suspended`]
//!   ([`TxOptions::lock_timeout`] for the `RequiresNew` transaction) with
//!   [`Error::LockTimeout`].
//! - Dropping the future of a new transaction (a timeout, a disconnect) rolls it back: the
//!   pinned connection is returned and rolled back by the driver, and memory is restored.
//!   Dropping the future of a savepoint scope restores memory at once and rolls back to the
//!   savepoint before the transaction's next statement.

use crate::context::entity_manager::EntityManager;
use crate::context::fork::ForkOptions;
use crate::identity::identity_map::ForkOrigin;
use crate::transaction::propagation::Propagation;
use crate::transaction::suspended::Suspended;
use coherent_core::{Error, IsolationLevel};
use std::future::Future;

/// Options of [`EntityManager::transactional_with`].
///
/// ```
/// use coherent_orm::{Propagation, TxOptions};
/// let join = TxOptions { propagation: Propagation::Required, ..Default::default() };
/// assert_eq!(TxOptions::default().propagation, Propagation::Nested);
/// # let _ = join;
/// ```
#[derive(Debug, Clone, Default)]
pub struct TxOptions {
    /// What to do about an open transaction (default [`Propagation::Nested`]).
    pub propagation: Propagation,
    /// The isolation level of a new transaction (default: the backend's). A scope that joins
    /// or nests in an open transaction keeps that transaction's level.
    pub isolation: Option<IsolationLevel>,
    /// Open a new transaction read-only: a flush inside it is [`Error::ReadOnlyTransaction`]
    /// (on PostgreSQL and MySQL the server enforces it for raw SQL too; SQLite has no
    /// read-only transactions, only this check).
    pub read_only: bool,
    /// How many more times [`EntityManager::transactional_retry`] runs the whole closure after
    /// a retryable failure ([`Error::is_retryable`]: lock timeouts; serialization failures and
    /// deadlocks on the server backends). Default 0.
    pub retry: u32,
    /// The flush mode inside a new transaction (default: the EntityManager's).
    pub flush_mode: Option<crate::FlushMode>,
    /// Start a new transaction with an empty identity map instead of sharing the parent's
    /// instances and pending work (default false, as MikroORM). Its results are still merged
    /// back into the parent.
    pub clear: bool,
    /// Nested `transactional`/`begin` inside this new transaction do nothing (MikroORM's
    /// `ignoreNestedTransactions`): a nested failure then rolls back the whole transaction.
    pub ignore_nested: bool,
    /// How long each statement of a new transaction waits for a lock before
    /// [`Error::LockTimeout`] (PostgreSQL `lock_timeout`, MySQL `innodb_lock_wait_timeout` in
    /// whole seconds; SQLite: its busy timeout). Default: the server's setting, except for a
    /// transaction begun beside a suspended one (`RequiresNew` inside a transaction), which
    /// waits at most [`crate::OrmConfig::lock_timeout_while_suspended`] (10 s). The setting
    /// holds for the transaction's connection until it goes back to the pool.
    ///
    /// ```
    /// use coherent_orm::{Propagation, TxOptions};
    /// use std::time::Duration;
    /// let audit = TxOptions {
    ///     propagation: Propagation::RequiresNew,
    ///     lock_timeout: Some(Duration::from_secs(2)),
    ///     ..Default::default()
    /// };
    /// # let _ = audit;
    /// ```
    pub lock_timeout: Option<std::time::Duration>,
}

crate::setters::setters!(TxOptions {
    /// Sets what to do about an open transaction.
    ///
    /// ```
    /// use coherent_orm::{Propagation, TxOptions};
    /// use coherent_core::IsolationLevel;
    /// use std::time::Duration;
    /// let audit = TxOptions::default()
    ///     .propagation(Propagation::RequiresNew)
    ///     .isolation(IsolationLevel::Serializable)
    ///     .retry(3)
    ///     .lock_timeout(Duration::from_secs(2));
    /// assert_eq!(audit.retry, 3);
    /// assert_eq!(audit.isolation, Some(IsolationLevel::Serializable));
    /// ```
    propagation: Propagation => propagation,
    /// Sets the isolation level of a new transaction.
    isolation: IsolationLevel => Some(isolation),
    /// Sets whether a new transaction is read-only.
    read_only: bool => read_only,
    /// Sets how many more times `transactional_retry` runs the closure.
    retry: u32 => retry,
    /// Sets the flush mode inside a new transaction.
    flush_mode: crate::FlushMode => Some(flush_mode),
    /// Sets whether a new transaction starts with an empty identity map.
    clear: bool => clear,
    /// Sets whether nested scopes inside a new transaction do nothing.
    ignore_nested: bool => ignore_nested,
    /// Sets how long each statement of a new transaction waits for a lock.
    lock_timeout: std::time::Duration => Some(lock_timeout),
});

impl EntityManager {
    /// Runs `f` in a transaction (a savepoint if one is open) and returns its value; see the
    /// module documentation. `f` receives the scope's EntityManager.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// let id = em
    ///     .transactional(|tx| async move {
    ///         let user = tx.persist(User::new("Jon", "jon@x.io"))?;
    ///         tx.flush().await?;
    ///         let id = user.read().id;
    ///         Ok::<_, coherent_core::Error>(id)
    ///     })
    ///     .await?;
    /// # let _ = id; Ok(()) }
    /// ```
    pub async fn transactional<F, Fut, R, E>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(EntityManager) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        E: From<Error>,
    {
        self.transactional_with(TxOptions::default(), f).await
    }

    /// [`EntityManager::transactional`] with options.
    pub async fn transactional_with<F, Fut, R, E>(&self, options: TxOptions, f: F) -> Result<R, E>
    where
        F: FnOnce(EntityManager) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        E: From<Error>,
    {
        let em = self.resolve();
        if em.transactions_disabled() {
            // No fork, no transaction, no flush (MikroORM's `disableTransactions`).
            return f(em).await;
        }
        // What a suspending scope would suspend: the open transaction, if any.
        let open = em
            .inner()
            .tx
            .lock()
            .await
            .as_ref()
            .map(|tx| Suspended::of(&em, tx));
        match (options.propagation, open) {
            (Propagation::Nested, Some(_)) => savepoint(em, f).await,
            (Propagation::Required | Propagation::Supports | Propagation::Mandatory, Some(_)) => {
                join(em, f).await
            }
            (Propagation::Never, Some(_)) => Err(Error::TransactionNotAllowed {
                propagation: Propagation::Never.name(),
            }
            .into()),
            (Propagation::Mandatory, None) => Err(Error::RequiredTransactionNotFound {
                propagation: Propagation::Mandatory.name(),
            }
            .into()),
            (Propagation::RequiresNew, Some(_)) if !em.shared().capabilities.concurrent_writers => {
                Err(Error::RequiresNewUnavailable {
                    backend: dialect_name(em.shared().dialect),
                }
                .into())
            }
            // Suspending an open transaction: the fork starts empty, so the outer transaction's
            // pending work is not written outside it. The open transaction waits for the scope:
            // work in it that could only wait for the suspended transaction is refused
            // (`crate::transaction::suspended`).
            (Propagation::RequiresNew, Some(suspended)) => {
                crate::transaction::suspended::scope(
                    suspended,
                    new_transaction(em, ForkOrigin::Suspended, &options, f),
                )
                .await
            }
            (Propagation::NotSupported, Some(suspended)) => {
                crate::transaction::suspended::scope(
                    suspended,
                    without_transaction(em, ForkOrigin::Suspended, f),
                )
                .await
            }
            (Propagation::Nested | Propagation::Required | Propagation::RequiresNew, None) => {
                let origin = if options.clear {
                    ForkOrigin::Empty
                } else {
                    ForkOrigin::Shared
                };
                new_transaction(em, origin, &options, f).await
            }
            (Propagation::Supports | Propagation::Never | Propagation::NotSupported, None) => {
                without_transaction(em, ForkOrigin::Shared, f).await
            }
        }
    }
}

fn dialect_name(dialect: coherent_core::Dialect) -> &'static str {
    match dialect {
        coherent_core::Dialect::Sqlite => "SQLite",
        coherent_core::Dialect::Postgres => "PostgreSQL",
        coherent_core::Dialect::MySql => "MySQL",
    }
}

impl EntityManager {
    /// Runs `f` in a transaction like [`EntityManager::transactional_with`] and, if it fails
    /// with a retryable error, runs the **whole closure again** on a fresh fork (memory was
    /// restored by the rollback), up to `options.retry` more times, waiting 5 ms, 10 ms, 20 ms
    /// ... (at most 500 ms) in between. A failure to begin (SQLite's `BEGIN IMMEDIATE` waiting
    /// for the write lock) is retried the same way. Inside an open transaction a retry cannot
    /// help (the outer transaction holds the locks): the closure runs once.
    ///
    /// ```
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// use coherent_orm::TxOptions;
    /// let options = TxOptions { retry: 5, ..Default::default() };
    /// em.transactional_retry(options, |tx| async move {
    ///     // read, change, flush: all of it again on a conflict
    ///     Ok::<_, coherent_core::Error>(())
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn transactional_retry<F, Fut, R>(
        &self,
        options: TxOptions,
        mut f: F,
    ) -> Result<R, Error>
    where
        F: FnMut(EntityManager) -> Fut,
        Fut: Future<Output = Result<R, Error>>,
    {
        let retries = if self.in_transaction().await {
            0
        } else {
            options.retry
        };
        let mut attempt = 0;
        loop {
            match self.transactional_with(options.clone(), &mut f).await {
                Err(e) if e.is_retryable() && attempt < retries => {
                    attempt += 1;
                    let wait = (5u64 << (attempt - 1).min(7)).min(500);
                    tracing::debug!(target: "coherent::tx", attempt, wait_ms = wait, error = %e, "retrying transaction");
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                }
                other => return other,
            }
        }
    }
}

/// A new top-level transaction on a fork of `parent` (for `RequiresNew` inside a transaction:
/// the fork takes its own connection; the open transaction waits, suspended, and is not seen
/// through the context while the closure runs).
async fn new_transaction<F, Fut, R, E>(
    parent: EntityManager,
    origin: ForkOrigin,
    options: &TxOptions,
    f: F,
) -> Result<R, E>
where
    F: FnOnce(EntityManager) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    E: From<Error>,
{
    // The fork is what contexts resolve to; it never resolves elsewhere itself.
    let fork = parent.fork_with(ForkOptions {
        clear: origin != ForkOrigin::Shared,
        use_context: false,
        flush_mode: options.flush_mode,
        disable_transactions: Some(false),
    });
    fork.uow().map.track_deleted();
    fork.begin_scope(options).await?;
    if options.ignore_nested {
        fork.set_transactions_disabled(true);
    }
    let guard = RollbackOnDrop(Some(fork.clone()));
    let outcome = crate::context::transaction_context::scope(fork.clone(), f(fork.clone())).await;
    let result = match outcome {
        Ok(value) => match fork.commit_scope().await {
            Ok(()) => {
                merge_back(&parent, &fork, origin);
                Ok(value)
            }
            Err(e) => {
                // A failed flush leaves the transaction open: roll it back (COMMIT failures
                // were rolled back by `commit`).
                if fork.in_transaction().await {
                    let _ = fork.rollback_scope().await;
                }
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = fork.rollback_scope().await;
            Err(e)
        }
    };
    guard.disarm();
    result
}

/// A savepoint on the open transaction of `em`.
async fn savepoint<F, Fut, R, E>(em: EntityManager, f: F) -> Result<R, E>
where
    F: FnOnce(EntityManager) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    E: From<Error>,
{
    em.begin().await?;
    let depth = match em.lock_tx().await?.as_ref() {
        Some(open) => open.scopes.len() - 1,
        None => return Err(Error::TransactionRequired.into()),
    };
    let guard = AbandonOnDrop(Some((em.clone(), depth)));
    let result = match crate::context::transaction_context::scope(em.clone(), f(em.clone())).await {
        Ok(value) => match em.commit().await {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = em.rollback().await;
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = em.rollback().await;
            Err(e)
        }
    };
    guard.disarm();
    result
}

/// If a savepoint scope's future is dropped before it ended: restores memory from the scope's
/// checkpoint at once and leaves the SQL `ROLLBACK TO` to run before the transaction's next
/// statement (it cannot run here: dropping is synchronous).
struct AbandonOnDrop(Option<(EntityManager, usize)>);

impl AbandonOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        let Some((em, depth)) = self.0.take() else {
            return;
        };
        let Ok(mut tx) = em.inner().tx.try_lock() else {
            return;
        };
        let Some(open) = tx.as_mut() else { return };
        if open.scopes.len() != depth + 1 {
            return; // already ended (committed or rolled back)
        }
        let scope = open.scopes.pop().expect("checked above");
        open.abandoned.push(depth);
        open.written().rollback_scope(em.shared().dialect);
        scope.checkpoint.restore(&mut em.uow());
    }
}

/// Joins the open transaction of `em`; a failure marks it rollback-only.
async fn join<F, Fut, R, E>(em: EntityManager, f: F) -> Result<R, E>
where
    F: FnOnce(EntityManager) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    E: From<Error>,
{
    let outcome = crate::context::transaction_context::scope(em.clone(), f(em.clone())).await;
    // Not `lock_tx`: the mark must not be lost. A stream the closure opened on the
    // transaction's connection ended with the closure's future, unless the closure moved it
    // out; then this waits for it.
    if outcome.is_err()
        && let Some(open) = em.inner().tx.lock().await.as_mut()
    {
        open.rollback_only = true;
    }
    outcome
}

/// No transaction: a fork bound as the context (an open transaction is suspended: the context
/// resolves to the fork, whose statements use connections of their own), flushed (its own
/// implicit transaction) and merged back on success.
async fn without_transaction<F, Fut, R, E>(
    parent: EntityManager,
    origin: ForkOrigin,
    f: F,
) -> Result<R, E>
where
    F: FnOnce(EntityManager) -> Fut,
    Fut: Future<Output = Result<R, E>>,
    E: From<Error>,
{
    let fork = parent.fork_with(ForkOptions {
        clear: origin != ForkOrigin::Shared,
        use_context: false,
        flush_mode: None,
        disable_transactions: None,
    });
    fork.uow().map.track_deleted();
    let value = crate::context::transaction_context::scope(fork.clone(), f(fork.clone())).await?;
    fork.flush().await?;
    merge_back(&parent, &fork, origin);
    Ok(value)
}

/// Merges the fork's Unit of Work into the parent's ([`crate::identity::identity_map::IdentityMap::merge_from`];
/// not into the global EntityManager with global context disallowed).
fn merge_back(parent: &EntityManager, fork: &EntityManager, origin: ForkOrigin) {
    if parent.is_global() && !parent.shared().config.allow_global_context {
        return;
    }
    let merged = fork.uow().clone_shared();
    let mut uow = parent.uow();
    let restored = uow.map.merge_from(&merged.map, origin);
    crate::unit_of_work::cascade::relink(&parent.shared().model, &uow.map, &restored);
}

/// Rolls a new transaction back if its future is dropped before it ended: restores memory
/// from the transaction's first checkpoint and drops the pinned connection, which the driver
/// rolls back.
struct RollbackOnDrop(Option<EntityManager>);

impl RollbackOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RollbackOnDrop {
    fn drop(&mut self) {
        let Some(fork) = self.0.take() else { return };
        let Ok(mut tx) = fork.inner().tx.try_lock() else {
            return;
        };
        fork.mark_transaction(false);
        if let Some(open) = tx.take()
            && let Some(start) = open.scopes.into_iter().next()
        {
            start.checkpoint.restore(&mut fork.uow());
        }
    }
}
