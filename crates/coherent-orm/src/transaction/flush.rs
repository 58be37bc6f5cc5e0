//! The life of a flush.
//!
//! 1. Take this EntityManager's flush lock (a concurrent flush waits, as in MikroORM).
//! 2. If nothing can have changed (no pending insert or removal, no entity written to), stop:
//!    an empty flush issues no SQL and takes no connection.
//! 3. Take a connection and open a streamed atomic batch on it.
//! 4. Plan under the Unit of Work lock ([`crate::unit_of_work::plan::UnitOfWork::plan`]): inserts,
//!    updates of changed columns only, deletes. Each piece of statements goes to the driver
//!    as soon as it is planned; the driver opens the transaction with the first piece and
//!    runs it while the rest is planned. Nothing in memory changes.
//! 5. Finish the batch: the driver commits only if every statement succeeded and every
//!    UPDATE hit exactly one row; otherwise it rolls all of it back. A planning error
//!    (a changed primary key) abandons the batch, which is rolled back too.
//! 6. On success apply the results under the lock: generated keys, snapshots, evictions.
//!    On failure return the typed error; the Unit of Work is exactly as before step 4, so
//!    fixing the cause and flushing again writes everything once. The one exception is
//!    [`Error::CommitOutcomeUnknown`] (the connection was lost during COMMIT and the driver
//!    could not find out whether it committed): memory is as before too, but the instances
//!    the flush inserted are marked in doubt, and a flush refuses to insert them again
//!    ([`Error::InDoubt`]) until the application resolves them.
//!
//! **Cancellation.** Dropping the flush future before step 5 abandons the batch (rolled
//! back, nothing applied). From step 5 on, the batch and the plan are owned by a
//! [`Completion`]; if the future is dropped there, the completion moves to a background
//! task that finishes it, commit and apply or rollback and nothing, still holding the flush
//! lock, so the next flush of this EntityManager sees the outcome. Memory and database never
//! disagree because a caller stopped waiting.

use crate::context::entity_manager::EntityManager;
use crate::context::open_transaction::{Transaction, lock_written};
use crate::query_log::Pending;
use crate::unit_of_work::change_set::Phase;
use crate::unit_of_work::plan::{ALL_PHASES, FlushPlan};
use crate::unit_of_work::written_rows::{WrittenRows, keeps_locks_of_rolled_back_savepoints};
use coherent_core::{BatchFailure, BatchResult, BoxFuture, Error, Result, TxMode};
use std::any::TypeId;
use std::sync::Mutex;
use tokio::sync::OwnedMutexGuard;
use tracing::Instrument;

impl EntityManager {
    /// Writes every pending change (inserts, updates of changed columns, deletes) as one
    /// atomic batch: all of it commits, or none of it and the Unit of Work stays exactly as
    /// it was. An empty flush issues no SQL. A flush whose future is dropped still ends
    /// cleanly (committed and applied, or rolled back). `docs/ARCHITECTURE.md` tells the
    /// life of a flush.
    pub async fn flush(&self) -> Result<()> {
        let em = self.context()?;
        flush(&em).await
    }
}

pub(crate) async fn flush(em: &EntityManager) -> Result<()> {
    let inner = em.inner();
    let serial = std::sync::Arc::clone(&inner.flush_lock).lock_owned().await;
    let shared = em.shared();
    let order = shared.model.commit_order.types();
    if !em.uow().has_work(order) {
        return Ok(());
    }
    let cascaded = crate::unit_of_work::cascade::cascade(&shared.model, &mut em.uow())?;
    let span = tracing::debug_span!("coherent.flush", em = inner.id);
    if cascaded.needs_stages() || needs_stages(em, order) {
        drop(serial);
        if em.transactions_disabled() {
            return staged_plain(em, &cascaded).instrument(span).await;
        }
        return staged(em, &cascaded).instrument(span).await;
    }
    if em.may_have_transaction() {
        let mut tx = em.lock_tx().await?;
        if let Some(open) = tx.as_mut() {
            return in_transaction(em, open, order, ALL_PHASES)
                .instrument(span)
                .await;
        }
    }
    async move {
        // With transactions disabled the statements run as they come (no BEGIN/COMMIT).
        let atomic = !em.transactions_disabled();
        let mode = if atomic { TxMode::Atomic } else { TxMode::Plain };
        let mut log = Pending::empty(shared.capabilities.logs_statements);
        let (writer, plan) = if crate::transaction::suspended::waited_for_by(em).is_some() {
            // Beside a transaction this task suspended: planned whole and checked against the
            // rows it holds before any SQL.
            let mut statements = Vec::new();
            let plan = {
                let mut ctx = shared.plan_context();
                let mut sink = |piece: Vec<coherent_core::Statement>| statements.extend(piece);
                em.uow().plan(order, &mut ctx, &mut sink)?
            };
            crate::transaction::suspended::check_plan(em, &plan)?;
            let mut writer = em.acquire_connection(None).await?.stream_batch(mode);
            if !statements.is_empty() {
                log.remember(&statements);
                writer.push(statements);
            }
            (writer, plan)
        } else {
            let mut writer = em.acquire_connection(None).await?.stream_batch(mode);
            let plan = {
                let mut ctx = shared.plan_context();
                let mut sink = |piece: Vec<coherent_core::Statement>| {
                    log.remember(&piece);
                    writer.push(piece);
                };
                em.uow().plan(order, &mut ctx, &mut sink)
            };
            // A planning error drops the writer unfinished: the driver rolls the batch back.
            (writer, plan?)
        };
        let (inserts, updates, deletes) = plan.counts;
        tracing::debug!(target: "coherent::flush", inserts, updates, deletes, statements = plan.statements, "flush planned");
        let mut completion = Completion {
            work: Some((writer.finish(), plan, log, em.clone(), serial, atomic)),
        };
        completion.run().await
    }
    .instrument(span)
    .await
}

/// Whether a pending insert references a new instance whose generated key is not assigned
/// yet: the flush must then insert in stages.
fn needs_stages(em: &EntityManager, order: &[TypeId]) -> bool {
    let uow = em.uow();
    order
        .iter()
        .filter_map(|id| uow.map.erased(id))
        .any(|s| s.references_unassigned())
}

/// A flush whose new rows reference new rows with generated keys (a book and its new author),
/// that writes many-to-many link rows (last, when every key is known), or that deletes the
/// orphans of one-to-one relations (first, before their replacements are inserted):
/// inside one transaction (a savepoint inside an open one), the pending inserts of each type
/// go in commit order as a batch of their own, applied before the next type is planned, so
/// a reference reads its parent's key; then the updates and deletes of every type. If any
/// stage fails the scope rolls back and memory is restored from its checkpoint: as for every
/// flush, no key, snapshot or pending list is left changed.
async fn staged(
    em: &EntityManager,
    cascaded: &crate::unit_of_work::cascade::Cascaded<'_>,
) -> Result<()> {
    em.begin_with(&crate::TxOptions::default()).await?;
    let result = async {
        if !cascaded.delete_first.is_empty() {
            em.flush_part(&cascaded.delete_first, &[Phase::Delete])
                .await?;
        }
        for ty in em.shared().model.commit_order.types().to_vec() {
            em.flush_part(&[ty], &[Phase::Insert]).await?;
        }
        em.flush_part(em.shared().model.commit_order.types(), ALL_PHASES)
            .await?;
        em.write_links(&cascaded.links).await
    }
    .await;
    match result {
        Ok(()) => em.end_scope_committed().await,
        Err(error) => {
            let _ = em.rollback_scope().await;
            Err(error)
        }
    }
}

impl EntityManager {
    /// Flushes `phases` of the types in `order` inside the open transaction.
    async fn flush_part(&self, order: &[TypeId], phases: &[Phase]) -> Result<()> {
        let inner = self.inner();
        let _serial = inner.flush_lock.lock().await;
        let mut tx = self.lock_tx().await?;
        let open = tx
            .as_mut()
            .ok_or(coherent_core::Error::TransactionRequired)?;
        in_transaction(self, open, order, phases).await
    }
}

/// A flush inside an open transaction: planned whole, then run on the transaction's pinned
/// connection as one atomic batch, which the driver makes a savepoint: a failed flush is
/// undone without ending the transaction. (A flush future dropped while this batch runs is
/// settled by the transaction's own rollback or commit.)
async fn in_transaction(
    em: &EntityManager,
    open: &mut Transaction,
    order: &[TypeId],
    phases: &[Phase],
) -> Result<()> {
    if open.read_only {
        return Err(coherent_core::Error::ReadOnlyTransaction);
    }
    open.settle(em).await?;
    let result = run_part(
        em,
        open.conn.as_mut(),
        order,
        phases,
        TxMode::Atomic,
        Some(&open.written),
    )
    .await;
    result.inspect_err(|e| open.note_failure(e))
}

/// Plans `phases` of the types in `order` and runs them on `conn` as one batch: atomic (a
/// savepoint in the open transaction), or plain (transactions disabled: what ran before a
/// failure is applied, so memory matches the database). A plan that writes a row a
/// transaction this task suspended holds is refused before any SQL; inside a transaction, the
/// rows written are recorded in `written` (also those a failed batch wrote before its failure,
/// where the backend keeps their locks: [`crate::unit_of_work::written_rows`]).
async fn run_part(
    em: &EntityManager,
    conn: &mut dyn coherent_core::Connection,
    order: &[TypeId],
    phases: &[Phase],
    mode: TxMode,
    written: Option<&Mutex<WrittenRows>>,
) -> Result<()> {
    let shared = em.shared();
    let mut statements = Vec::new();
    let plan = {
        let mut ctx = shared.plan_context();
        let mut sink = |piece: Vec<coherent_core::Statement>| statements.extend(piece);
        em.uow().plan_phases(order, phases, &mut ctx, &mut sink)?
    };
    if statements.is_empty() {
        return Ok(());
    }
    crate::transaction::suspended::check_plan(em, &plan)?;
    let batch = coherent_core::Batch { statements, mode };
    match em.run_on(conn, batch).await {
        Ok(result) => {
            if let Some(rows) = written {
                plan.record_written(&result, &mut lock_written(rows));
            }
            em.uow().apply(plan, &result)
        }
        Err(failure) => {
            if let Some(rows) = written
                && keeps_locks_of_rolled_back_savepoints(shared.dialect)
            {
                plan.record_written(&failure.executed, &mut lock_written(rows));
            }
            let error = plan.describe(
                failure.index,
                failure.error,
                failure.executed.probe.as_ref(),
            );
            if mode == TxMode::Plain {
                em.uow().apply(plan, &failure.executed)?;
            }
            Err(error)
        }
    }
}

/// The stages of [`staged`] with transactions disabled: each a plain batch on a pooled
/// connection, applied as it ran (no transaction to roll back, as for every flush then).
async fn staged_plain(
    em: &EntityManager,
    cascaded: &crate::unit_of_work::cascade::Cascaded<'_>,
) -> Result<()> {
    let order = em.shared().model.commit_order.types().to_vec();
    let mut conn = em.acquire_connection(None).await?;
    let serial = em.inner().flush_lock.lock().await;
    if !cascaded.delete_first.is_empty() {
        run_part(
            em,
            conn.as_mut(),
            &cascaded.delete_first,
            &[Phase::Delete],
            TxMode::Plain,
            None,
        )
        .await?;
    }
    for ty in &order {
        run_part(
            em,
            conn.as_mut(),
            &[*ty],
            &[Phase::Insert],
            TxMode::Plain,
            None,
        )
        .await?;
    }
    run_part(em, conn.as_mut(), &order, ALL_PHASES, TxMode::Plain, None).await?;
    drop((conn, serial));
    em.write_links(&cascaded.links).await
}

type Work = (
    BoxFuture<'static, std::result::Result<BatchResult, BatchFailure>>,
    FlushPlan,
    Pending,
    EntityManager,
    OwnedMutexGuard<()>,
    bool,
);

/// A handed-over batch and the plan to apply when it commits. Finished by [`Completion::run`],
/// or, if dropped before, by a background task.
struct Completion {
    work: Option<Work>,
}

impl Completion {
    async fn run(&mut self) -> Result<()> {
        let (batch, ..) = self.work.as_mut().expect("run once");
        let outcome = batch.await;
        let (_, plan, log, em, _serial, atomic) = self.work.take().expect("run once");
        settle(outcome, plan, log, &em, atomic)
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        let Some((batch, plan, log, em, serial, atomic)) = self.work.take() else {
            return;
        };
        let finish = async move {
            let outcome = batch.await;
            let _ = settle(outcome, plan, log, &em, atomic);
            drop(serial);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(finish);
            }
            // No runtime (the runtime itself is shutting down): the batch's future is dropped
            // too, and the driver sees nobody waiting and rolls it back.
            Err(_) => drop(finish),
        }
    }
}

/// Applies a committed batch, or turns a failed one into its error. A non-atomic batch
/// (transactions disabled) that failed still applies what ran before the failure, so memory
/// matches the database.
fn settle(
    outcome: std::result::Result<BatchResult, BatchFailure>,
    plan: FlushPlan,
    log: Pending,
    em: &EntityManager,
    atomic: bool,
) -> Result<()> {
    match outcome {
        Ok(result) => {
            log.emit(&result, None);
            em.uow().apply(plan, &result)
        }
        Err(failure) => {
            log.emit(&failure.executed, Some((failure.index, &failure.error)));
            if matches!(failure.error, Error::CommitOutcomeUnknown { .. }) {
                // The rows may be in the database: never insert them blindly again.
                plan.mark_in_doubt();
            }
            let error = plan.describe(
                failure.index,
                failure.error,
                failure.executed.probe.as_ref(),
            );
            if !atomic {
                em.uow().apply(plan, &failure.executed)?;
            }
            Err(error)
        }
    }
}
