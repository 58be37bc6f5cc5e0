//! The transaction context: while `transactional` runs its callback, the transaction's
//! EntityManager is bound to the task, and EntityManagers that resolve through contexts (the
//! global one, request forks, `use_context` forks) resolve to it before the request context.
//!
//! Policy: one entry per Orm, like the request context, so the transactions of two Orms do not
//! bleed into each other. Task-locals do not cross `tokio::spawn`, and neither of the spawn
//! helpers of [`crate::RequestContext`] carries a transaction: a spawned task never joins the
//! open transaction of its parent.

use crate::context::entity_manager::EntityManager;
use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static TRANSACTION: Arc<Vec<(u64, EntityManager)>>;
}

/// The current transaction context's EntityManager of Orm `orm`, if any.
pub(crate) fn lookup(orm: u64) -> Option<EntityManager> {
    TRANSACTION
        .try_with(|scope| {
            scope
                .iter()
                .find(|(id, _)| *id == orm)
                .map(|(_, em)| em.clone())
        })
        .ok()
        .flatten()
}

/// Runs `fut` with `em` as its Orm's transaction context.
pub(crate) async fn scope<F: Future>(em: EntityManager, fut: F) -> F::Output {
    let mut entries: Vec<(u64, EntityManager)> =
        TRANSACTION.try_with(|s| (**s).clone()).unwrap_or_default();
    entries.retain(|(id, _)| *id != em.orm_id());
    entries.push((em.orm_id(), em));
    TRANSACTION.scope(Arc::new(entries), fut).await
}

/// The EntityManagers of the current transaction context, one per Orm.
pub(crate) fn all() -> Vec<EntityManager> {
    TRANSACTION
        .try_with(|scope| scope.iter().map(|(_, em)| em.clone()).collect())
        .unwrap_or_default()
}
