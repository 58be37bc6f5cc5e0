//! Explicit transactions on an EntityManager: [`EntityManager::begin`],
//! [`EntityManager::commit`], [`EntityManager::rollback`].
//!
//! Policy:
//! - **A transaction pins one connection.** From `begin` to the outermost `commit` or
//!   `rollback`, every statement of the EntityManager (queries, flushes, raw SQL) runs on it;
//!   a flush inside the transaction is a savepoint of it, so a failed flush is undone without
//!   ending the transaction.
//! - **Nesting is savepoints**: `begin` inside a transaction opens `SAVEPOINT trxN`; `commit`
//!   releases it, `rollback` rolls back to it.
//! - **`commit` flushes first**, inside the transaction, then commits.
//! - **Rollback restores memory** ([`crate::unit_of_work::checkpoint::Checkpoint`]): every scope saves the
//!   Unit of Work when it begins and a rollback puts it back, so memory and database agree.
//! - A COMMIT whose outcome the driver could not resolve ([`Error::CommitOutcomeUnknown`])
//!   restores memory too, and marks what the transaction inserted in doubt: no later flush
//!   inserts it blindly again.
//! - `commit` or `rollback` with no open transaction is [`Error::TransactionRequired`]
//!   (MikroORM's message).
//! - An EntityManager dropped with its transaction open returns the connection, which the
//!   driver rolls back before anyone else gets it.
//! - With transactions disabled (Orm or fork option), `begin` and `rollback` do nothing and
//!   `commit` only flushes (MikroORM's `disableTransactions`).
//! - Unlike MikroORM, `begin` on the global EntityManager outside a request context is the
//!   global-context error (with `allow_global_context` off): a transaction pinned to the
//!   global EntityManager would be shared by every task.

use crate::context::entity_manager::EntityManager;
use crate::context::open_transaction::{Scope, Transaction};
use crate::context::transaction_events::{TransactionEventKind as Kind, announce};
use crate::unit_of_work::checkpoint::Checkpoint;
use crate::unit_of_work::written_rows::WrittenRows;
use coherent_core::{Batch, Connection, Error, Result, Statement, TxMode};
use coherent_sql::transaction as sql;
use std::sync::{Arc, Mutex};

impl Transaction {
    /// Rolls back the savepoints of abandoned scopes, innermost first, before anything else
    /// runs on the connection.
    pub async fn settle(&mut self, em: &EntityManager) -> Result<()> {
        while let Some(depth) = self.abandoned.pop() {
            control(
                em,
                self.conn.as_mut(),
                vec![sql::rollback_to(depth), sql::release(depth)],
            )
            .await?;
        }
        Ok(())
    }
}

impl EntityManager {
    /// Whether this EntityManager (or the one it resolves to) has an open transaction.
    pub async fn in_transaction(&self) -> bool {
        let em = self.resolve();
        // A stream reads on the transaction's connection only while a transaction is open.
        em.streaming().is_some() || em.inner().tx.lock().await.is_some()
    }

    /// Opens a transaction, or a savepoint inside the open one.
    ///
    /// ```
    /// # use coherent_orm::doc_support::User;
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// em.begin().await?;
    /// em.persist(User::new("Jon", "jon@x.io"))?;
    /// em.commit().await?; // flushes, then commits
    /// # Ok(()) }
    /// ```
    pub async fn begin(&self) -> Result<()> {
        self.begin_with(&crate::TxOptions::default()).await
    }

    /// Opens a transaction with `options`' isolation level and read-only flag (a savepoint
    /// inside an open transaction, which keeps the outer level: savepoints cannot change it).
    /// A level the backend lacks is [`Error::IsolationUnsupported`], before any SQL.
    pub async fn begin_with(&self, options: &crate::TxOptions) -> Result<()> {
        let em = self.context()?;
        if em.transactions_disabled() {
            return Ok(());
        }
        em.begin_scope(options).await
    }

    /// Opens a transaction or savepoint, whether transactions are disabled or not.
    pub(crate) async fn begin_scope(&self, options: &crate::TxOptions) -> Result<()> {
        let em = self.context()?;
        let inner = em.inner();
        let _serial = inner.flush_lock.lock().await;
        let mut tx = em.lock_tx().await?;
        let scope = Scope::new(Checkpoint::take(&em.uow()));
        match tx.as_mut() {
            Some(open) => {
                open.settle(&em).await?;
                let depth = open.scopes.len();
                let name = sql::savepoint_name(depth);
                announce(&em, Kind::BeforeStart, Some(&name));
                control(&em, open.conn.as_mut(), vec![sql::savepoint(depth)]).await?;
                open.scopes.push(scope);
                open.written().begin_scope();
                announce(&em, Kind::AfterStart, Some(&name));
            }
            None => {
                let statements =
                    sql::begin(inner.orm.dialect, options.isolation, options.read_only)?;
                announce(&em, Kind::BeforeStart, None);
                let mut conn = em.acquire_connection(options.lock_timeout).await?;
                control(&em, conn.as_mut(), statements).await?;
                em.mark_transaction(true);
                *tx = Some(Transaction {
                    conn,
                    scopes: vec![scope],
                    rollback_only: false,
                    doomed: false,
                    read_only: options.read_only,
                    abandoned: Vec::new(),
                    written: Arc::new(Mutex::new(WrittenRows::new())),
                });
                announce(&em, Kind::AfterStart, None);
            }
        }
        Ok(())
    }

    /// Flushes, then commits the innermost scope: releases its savepoint, or commits the
    /// transaction and then runs the work registered with [`EntityManager::on_commit`]. If
    /// COMMIT fails, or a joined scope marked the transaction rollback-only
    /// ([`Error::RollbackOnly`]), the transaction is rolled back and memory restored.
    pub async fn commit(&self) -> Result<()> {
        let em = self.context()?;
        if em.transactions_disabled() {
            return em.flush().await;
        }
        em.commit_scope().await
    }

    /// Commits the innermost scope, whether transactions are disabled or not.
    pub(crate) async fn commit_scope(&self) -> Result<()> {
        let em = self.context()?;
        let doomed = match em.lock_tx().await?.as_ref() {
            None => return Err(Error::TransactionRequired),
            Some(open) => open.rollback_only && open.scopes.len() == 1,
        };
        if !doomed {
            em.flush().await?;
        }
        em.end_scope_committed().await
    }

    /// Commits the innermost scope without flushing first (the caller has flushed).
    pub(crate) async fn end_scope_committed(&self) -> Result<()> {
        let em = self.context()?;
        let inner = em.inner();
        let serial = inner.flush_lock.lock().await;
        let mut tx = em.lock_tx().await?;
        let Some(open) = tx.as_mut() else {
            return Err(Error::TransactionRequired);
        };
        open.settle(&em).await?;
        let depth = open.scopes.len() - 1;
        if depth > 0 {
            let name = sql::savepoint_name(depth);
            announce(&em, Kind::BeforeCommit, Some(&name));
            control(&em, open.conn.as_mut(), vec![sql::release(depth)]).await?;
            let released = open.scopes.pop().expect("a scope per depth");
            // Its after-commit work now waits for the enclosing scope, and so do its rows.
            open.scopes[depth - 1].hooks.extend(released.hooks);
            open.written().release_scope();
            announce(&em, Kind::AfterCommit, Some(&name));
            return Ok(());
        }
        let committed = if open.rollback_only {
            Err(Error::RollbackOnly {
                retryable: open.doomed,
            })
        } else {
            announce(&em, Kind::BeforeCommit, None);
            control(&em, open.conn.as_mut(), vec![sql::COMMIT.into()]).await
        };
        let open = tx.take().expect("checked above");
        em.mark_transaction(false);
        drop(tx);
        if let Err(e) = committed {
            let in_doubt = matches!(e, Error::CommitOutcomeUnknown { .. });
            let _ = roll_back_whole(&em, open, in_doubt).await;
            return Err(e);
        }
        let start = open
            .scopes
            .into_iter()
            .next()
            .expect("the transaction's scope");
        drop(open.conn); // back to the pool before the after-commit work runs
        drop(serial);
        announce(&em, Kind::AfterCommit, None);
        for hook in start.hooks {
            hook().await;
        }
        Ok(())
    }

    /// Rolls back the innermost scope (to its savepoint, or the whole transaction) and puts
    /// every managed instance and the identity map back as they were when it began; work
    /// registered with [`EntityManager::on_commit`] inside it is dropped.
    pub async fn rollback(&self) -> Result<()> {
        let em = self.context()?;
        if em.transactions_disabled() {
            return Ok(());
        }
        em.rollback_scope().await
    }

    /// Rolls back the innermost scope, whether transactions are disabled or not.
    pub(crate) async fn rollback_scope(&self) -> Result<()> {
        let em = self.context()?;
        let inner = em.inner();
        let _serial = inner.flush_lock.lock().await;
        let mut tx = em.lock_tx().await?;
        let Some(open) = tx.as_mut() else {
            return Err(Error::TransactionRequired);
        };
        open.settle(&em).await?;
        let depth = open.scopes.len() - 1;
        if depth > 0 {
            let name = sql::savepoint_name(depth);
            announce(&em, Kind::BeforeRollback, Some(&name));
            let undone = control(
                &em,
                open.conn.as_mut(),
                vec![sql::rollback_to(depth), sql::release(depth)],
            )
            .await;
            let scope = open.scopes.pop().expect("a scope per depth");
            scope.checkpoint.restore(&mut em.uow());
            open.written().rollback_scope(inner.orm.dialect);
            announce(&em, Kind::AfterRollback, Some(&name));
            undone
        } else {
            let open = tx.take().expect("checked above");
            em.mark_transaction(false);
            roll_back_whole(&em, open, false).await
        }
    }

    /// Registers `work` to run after the outermost COMMIT of the open transaction succeeds
    /// (dropped if its scope or the transaction rolls back). Outside a transaction it is
    /// [`Error::TransactionRequired`]: there is no commit to wait for.
    ///
    /// ```
    /// # async fn demo(em: coherent_orm::EntityManager) -> coherent_core::Result<()> {
    /// em.transactional(|tx| async move {
    ///     // ... change entities ...
    ///     tx.on_commit(|| async { /* send the e-mail */ }).await?;
    ///     Ok::<_, coherent_core::Error>(())
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn on_commit<F, Fut>(&self, work: F) -> Result<()>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let em = self.context()?;
        let mut tx = em.lock_tx().await?;
        let open = tx.as_mut().ok_or(Error::TransactionRequired)?;
        let scope = open
            .scopes
            .last_mut()
            .expect("an open transaction has a scope");
        scope.hooks.push(Box::new(move || Box::pin(work())));
        Ok(())
    }
}

/// Ends the whole transaction with ROLLBACK (its connection then goes back to the pool) and
/// puts the unit of work back as it was when the transaction began; `in_doubt` (its COMMIT
/// had an unknown outcome) also marks what it inserted in doubt.
async fn roll_back_whole(em: &EntityManager, mut open: Transaction, in_doubt: bool) -> Result<()> {
    announce(em, Kind::BeforeRollback, None);
    let undone = control(em, open.conn.as_mut(), vec![sql::ROLLBACK.into()]).await;
    if let Some(start) = open.scopes.into_iter().next() {
        if in_doubt {
            start.checkpoint.restore_in_doubt(&mut em.uow());
        } else {
            start.checkpoint.restore(&mut em.uow());
        }
    }
    announce(em, Kind::AfterRollback, None);
    undone
}

/// Runs transaction-control statements on `conn`, logged like every statement.
async fn control(em: &EntityManager, conn: &mut dyn Connection, sql: Vec<String>) -> Result<()> {
    let batch = Batch {
        statements: sql
            .into_iter()
            .map(|s| Statement::execute(s, Vec::new()))
            .collect(),
        mode: TxMode::Plain,
    };
    em.run_on(conn, batch)
        .await
        .map(|_| ())
        .map_err(|f| f.error)
}
