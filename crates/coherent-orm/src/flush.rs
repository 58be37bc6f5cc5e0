//! The life of a flush.
//!
//! 1. Take this EntityManager's flush lock (a concurrent flush waits, as in MikroORM).
//! 2. If nothing can have changed (no pending insert or removal, no entity written to), stop:
//!    an empty flush issues no SQL and takes no connection.
//! 3. Take a connection and open a streamed atomic batch on it.
//! 4. Plan under the Unit of Work lock ([`crate::unit_of_work::UnitOfWork::plan`]): inserts,
//!    updates of changed columns only, deletes. Each piece of statements goes to the driver
//!    as soon as it is planned; the driver opens the transaction with the first piece and
//!    runs it while the rest is planned. Nothing in memory changes.
//! 5. Finish the batch: the driver commits only if every statement succeeded and every
//!    UPDATE hit exactly one row; otherwise it rolls all of it back. A planning error
//!    (a changed primary key) abandons the batch, which is rolled back too.
//! 6. On success apply the results under the lock: generated keys, snapshots, evictions.
//!    On failure return the typed error; the Unit of Work is exactly as before step 4, so
//!    fixing the cause and flushing again writes everything once.

use crate::entity_manager::EntityManager;
use crate::unit_of_work::PlanContext;
use coherent_core::{Result, TxMode};
use tracing::Instrument;

pub(crate) async fn flush(em: &EntityManager) -> Result<()> {
    let inner = em.inner();
    let _serial = inner.flush_lock.lock().await;
    let shared = em.shared();
    let order = shared.commit_order.types();
    if !em.uow().has_work(order) {
        return Ok(());
    }
    let span = tracing::debug_span!("coherent.flush", em = inner.id);
    async move {
        let mut conn = shared.driver.acquire().await?;
        let mut writer = conn.stream_batch(TxMode::Atomic);
        let mut log = crate::query_log::Pending::empty();
        let plan = {
            let mut ctx = PlanContext {
                cache: &shared.statements,
                capabilities: shared.capabilities,
                batch_size: shared.config.batch_size,
            };
            let mut sink = |piece: Vec<coherent_core::Statement>| {
                log.remember(&piece);
                writer.push(piece);
            };
            em.uow().plan(order, &mut ctx, &mut sink)
        };
        // A planning error drops the writer unfinished: the driver rolls the batch back.
        let plan = plan?;
        let (inserts, updates, deletes) = plan.counts;
        tracing::debug!(target: "coherent::flush", inserts, updates, deletes, statements = plan.statements, "flush planned");
        let result = writer.finish().await;
        match result {
            Ok(result) => {
                log.emit(&result, None);
                em.uow().apply(plan, &result)
            }
            Err(failure) => {
                log.emit(&failure.executed, Some((failure.index, &failure.error)));
                Err(plan.describe(failure.index, failure.error))
            }
        }
    }
    .instrument(span)
    .await
}
