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
//! - **Rollback restores memory** ([`crate::checkpoint::Checkpoint`]): every scope saves the
//!   Unit of Work when it begins and a rollback puts it back, so memory and database agree.
//! - `commit` or `rollback` with no open transaction is [`Error::TransactionRequired`]
//!   (MikroORM's message).
//! - An EntityManager dropped with its transaction open returns the connection, which the
//!   driver rolls back before anyone else gets it.
//! - Unlike MikroORM, `begin` on the global EntityManager outside a request context is the
//!   global-context error (with `allow_global_context` off): a transaction pinned to the
//!   global EntityManager would be shared by every task.

use crate::checkpoint::Checkpoint;
use crate::entity_manager::EntityManager;
use coherent_core::{Batch, Connection, Error, Result, Statement, TxMode};
use coherent_sql::transaction as sql;

/// The open transaction of an EntityManager.
pub(crate) struct Transaction {
    /// The pinned connection.
    pub conn: Box<dyn Connection>,
    /// One checkpoint per open scope: the transaction, then each savepoint.
    pub scopes: Vec<Checkpoint>,
    /// A joined scope failed: the transaction can only roll back.
    pub rollback_only: bool,
    /// Opened read-only: a flush inside it is refused before any SQL.
    pub read_only: bool,
}

impl EntityManager {
    /// Whether this EntityManager (or the one it resolves to) has an open transaction.
    pub async fn in_transaction(&self) -> bool {
        self.resolve().inner().tx.lock().await.is_some()
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
        let inner = em.inner();
        let _serial = inner.flush_lock.lock().await;
        let mut tx = inner.tx.lock().await;
        let checkpoint = Checkpoint::take(&em.uow());
        match tx.as_mut() {
            Some(open) => {
                let depth = open.scopes.len();
                control(&em, open.conn.as_mut(), vec![sql::savepoint(depth)]).await?;
                open.scopes.push(checkpoint);
            }
            None => {
                let statements =
                    sql::begin(inner.orm.dialect, options.isolation, options.read_only)?;
                let mut conn = inner.orm.driver.acquire().await?;
                control(&em, conn.as_mut(), statements).await?;
                *tx = Some(Transaction {
                    conn,
                    scopes: vec![checkpoint],
                    rollback_only: false,
                    read_only: options.read_only,
                });
            }
        }
        Ok(())
    }

    /// Flushes, then commits the innermost scope: releases its savepoint, or commits the
    /// transaction. If COMMIT fails, or a joined scope marked the transaction rollback-only
    /// ([`Error::RollbackOnly`]), the transaction is rolled back and memory restored.
    pub async fn commit(&self) -> Result<()> {
        let em = self.context()?;
        let doomed = match em.inner().tx.lock().await.as_ref() {
            None => return Err(Error::TransactionRequired),
            Some(open) => open.rollback_only && open.scopes.len() == 1,
        };
        if !doomed {
            em.flush().await?;
        }
        let inner = em.inner();
        let _serial = inner.flush_lock.lock().await;
        let mut tx = inner.tx.lock().await;
        let Some(open) = tx.as_mut() else {
            return Err(Error::TransactionRequired);
        };
        let depth = open.scopes.len() - 1;
        if depth > 0 {
            control(&em, open.conn.as_mut(), vec![sql::release(depth)]).await?;
            open.scopes.pop();
            return Ok(());
        }
        let committed = if open.rollback_only {
            Err(Error::RollbackOnly)
        } else {
            control(&em, open.conn.as_mut(), vec![sql::COMMIT.into()]).await
        };
        let open = tx.take().expect("checked above");
        if let Err(e) = committed {
            let mut conn = open.conn;
            let _ = control(&em, conn.as_mut(), vec![sql::ROLLBACK.into()]).await;
            if let Some(start) = open.scopes.into_iter().next() {
                start.restore(&mut em.uow());
            }
            return Err(e);
        }
        Ok(())
    }

    /// Rolls back the innermost scope (to its savepoint, or the whole transaction) and puts
    /// every managed instance and the identity map back as they were when it began.
    pub async fn rollback(&self) -> Result<()> {
        let em = self.context()?;
        let inner = em.inner();
        let _serial = inner.flush_lock.lock().await;
        let mut tx = inner.tx.lock().await;
        let Some(open) = tx.as_mut() else {
            return Err(Error::TransactionRequired);
        };
        let depth = open.scopes.len() - 1;

        if depth > 0 {
            let undone = control(
                &em,
                open.conn.as_mut(),
                vec![sql::rollback_to(depth), sql::release(depth)],
            )
            .await;
            let start = open.scopes.pop().expect("a scope per depth");
            start.restore(&mut em.uow());
            undone
        } else {
            let mut open = tx.take().expect("checked above");
            let undone = control(&em, open.conn.as_mut(), vec![sql::ROLLBACK.into()]).await;
            if let Some(start) = open.scopes.into_iter().next() {
                start.restore(&mut em.uow());
            }
            undone
        }
    }
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
