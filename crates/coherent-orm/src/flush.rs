//! The life of a flush.
//!
//! 1. Take this EntityManager's flush lock (a concurrent flush waits, as in MikroORM).
//! 2. Plan under the Unit of Work lock ([`crate::unit_of_work::UnitOfWork::plan`]): inserts,
//!    updates of changed columns only, deletes. Nothing in memory changes.
//! 3. If there is nothing to write, stop: an empty flush issues no SQL at all.
//! 4. Run the whole plan as one atomic batch (one job for the driver): a transaction, or a
//!    savepoint inside an open one. Any failing statement, or an UPDATE that does not hit
//!    exactly one row, undoes the whole batch.
//! 5. On success apply the results under the lock: generated keys, snapshots, evictions.
//!    On failure return the typed error; the Unit of Work is exactly as before step 2, so
//!    fixing the cause and flushing again writes everything once.

use crate::entity_manager::EntityManager;
use crate::unit_of_work::PlanContext;
use coherent_core::Result;
use tracing::Instrument;

pub(crate) async fn flush(em: &EntityManager) -> Result<()> {
    let inner = em.inner();
    let _serial = inner.flush_lock.lock().await;
    let mut plan = {
        let shared = em.shared();
        let mut ctx = PlanContext {
            cache: &shared.statements,
            capabilities: shared.capabilities,
            batch_size: shared.config.batch_size,
        };
        em.uow().plan(shared.commit_order.types(), &mut ctx)?
    };
    if plan.is_empty() {
        return Ok(());
    }
    let (inserts, updates, deletes) = plan.counts;
    let span = tracing::debug_span!("coherent.flush", em = inner.id, inserts, updates, deletes);
    let batch = std::mem::replace(
        &mut plan.batch,
        coherent_core::Batch {
            statements: Vec::new(),
            mode: coherent_core::TxMode::Atomic,
        },
    );
    match em.run_batch_detailed(batch).instrument(span).await {
        Ok(result) => em.uow().apply(plan, &result),
        Err(failure) => Err(plan.describe(failure.index, failure.error)),
    }
}
