//! Running statements for an EntityManager: the raw escape hatch (`execute`, `query`) and the
//! routing every statement goes through.
//!
//! Policy: values are always bound, never spliced. A statement runs on the EntityManager's
//! pinned connection while it has an open transaction (after the savepoints of abandoned
//! scopes are rolled back), else on a connection from the pool for just that batch. Every
//! connection the ORM takes from the pool is taken here (`acquire_connection`: the checks
//! and the lock-wait bound of a scope beside a suspended transaction). Every statement is
//! logged by the query log on the caller's task.

use crate::context::entity_manager::EntityManager;
use crate::query_log::Pending;
use coherent_core::{
    Batch, BatchFailure, BatchResult, Result, Row, Rows, Statement, TxMode, Value,
};

impl EntityManager {
    /// Runs a raw statement on this EntityManager's connection; returns the affected rows.
    /// Parameters are bound, never spliced.
    pub async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let batch = Batch {
            statements: vec![Statement::execute(sql, params)],
            mode: TxMode::Plain,
        };
        let r = self.resolve().run_batch(batch).await?;
        Ok(r.outcomes.first().map_or(0, |o| o.affected))
    }

    /// Runs a raw query on this EntityManager's connection.
    pub async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>> {
        Ok(self
            .resolve()
            .query_rows(Statement::query(sql, params))
            .await?
            .into_rows())
    }

    pub(crate) async fn query_rows(&self, statement: Statement) -> Result<Rows> {
        let batch = Batch {
            statements: vec![statement],
            mode: TxMode::Plain,
        };
        let mut r = self.run_batch(batch).await?;
        Ok(r.outcomes.pop().and_then(|o| o.rows).unwrap_or_default())
    }

    /// Runs a batch on a connection of this EntityManager and logs it.
    pub(crate) async fn run_batch(&self, batch: Batch) -> Result<BatchResult> {
        self.run_batch_detailed(batch).await.map_err(|f| f.error)
    }

    pub(crate) async fn run_batch_detailed(
        &self,
        batch: Batch,
    ) -> std::result::Result<BatchResult, BatchFailure> {
        if self.may_have_transaction() {
            let mut tx = self.lock_tx().await?;
            if let Some(open) = tx.as_mut() {
                open.settle(self).await?;
                let result = self.run_on(open.conn.as_mut(), batch).await;
                return result.inspect_err(|f| open.note_failure(&f.error));
            }
        }
        let mut conn = self.acquire_connection(None).await?;
        self.run_on(conn.as_mut(), batch).await
    }

    /// Takes a connection from the pool for work outside a transaction of this
    /// EntityManager's own (a batch, a flush, a query, a `BEGIN`): refused at once when the
    /// transactions this task suspended hold the whole pool, and with its lock wait bounded by
    /// `lock_timeout`, else while the task has a suspended transaction by the Orm's
    /// [`crate::OrmConfig::lock_timeout_while_suspended`] ([`crate::transaction::suspended`]).
    pub(crate) async fn acquire_connection(
        &self,
        lock_timeout: Option<std::time::Duration>,
    ) -> Result<Box<dyn coherent_core::Connection>> {
        let shared = self.shared();
        if shared.closing.load(std::sync::atomic::Ordering::Acquire) {
            return Err(coherent_core::Error::Closed);
        }
        let suspended = crate::transaction::suspended::check_pool(self)?;
        let mut conn = shared.driver.acquire().await?;
        let bound =
            lock_timeout.or_else(|| suspended.and(shared.config.lock_timeout_while_suspended));
        if let Some(sql) =
            bound.and_then(|t| coherent_sql::transaction::lock_wait(shared.dialect, t))
        {
            let batch = Batch {
                statements: vec![Statement::execute(sql, Vec::new())],
                mode: TxMode::Plain,
            };
            self.run_on(conn.as_mut(), batch)
                .await
                .map_err(|f| f.error)?;
        }
        Ok(conn)
    }

    /// Runs a batch on `conn` and logs it.
    pub(crate) async fn run_on(
        &self,
        conn: &mut dyn coherent_core::Connection,
        batch: Batch,
    ) -> std::result::Result<BatchResult, BatchFailure> {
        let log = Pending::of(&batch, self.shared().capabilities.logs_statements);
        match conn.run(batch).await {
            Ok(result) => {
                log.emit(&result, None);
                Ok(result)
            }
            Err(failure) => {
                log.emit(&failure.executed, Some((failure.index, &failure.error)));
                Err(failure)
            }
        }
    }
}
