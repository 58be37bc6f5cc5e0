//! [`RequestContext`]: one EntityManager per request, found through a tokio task-local.
//!
//! Policy (the fix of the stale-data story, seed 000, and MikroORM's `RequestContext`):
//! - [`RequestContext::create`] runs a future with a **fresh fork** of an Orm bound to the
//!   task. Inside it, the global EntityManager (`orm.em()`), any clone of it held by a service,
//!   and forks made with `use_context`, all resolve to that fork; a plain fork does not.
//!   Resolution order: the transaction context (next), the request context, the EntityManager
//!   itself.
//! - Each Orm has its own entry: a context can hold the EntityManagers of several Orms (two
//!   databases), and creating a context for one Orm inside another's keeps the other's.
//! - **Task-locals do not cross `tokio::spawn`.** Two explicit helpers say what a spawned task
//!   gets: [`RequestContext::spawn`] gives it a fresh fork of its own (a background job, whose
//!   lifetime is not the request's, must never share the request's identity map, nor later its
//!   open transaction); [`RequestContext::spawn_current`] carries the current context's
//!   EntityManagers (fan-out work that belongs to the request and ends with it; the spawned
//!   task then shares the request's identity map).

use crate::context::entity_manager::EntityManager;
use std::future::Future;
use std::sync::Arc;

/// The EntityManagers of the current request, one per Orm.
#[derive(Clone, Default)]
struct Scope {
    managers: Vec<(u64, EntityManager)>,
}

impl Scope {
    fn with(&self, em: EntityManager) -> Scope {
        let mut managers: Vec<_> = self
            .managers
            .iter()
            .filter(|(orm, _)| *orm != em.orm_id())
            .cloned()
            .collect();
        managers.push((em.orm_id(), em));
        Scope { managers }
    }
}

tokio::task_local! {
    static REQUEST: Arc<Scope>;
}

/// The current request context's EntityManager of Orm `orm`, if any.
pub(crate) fn lookup(orm: u64) -> Option<EntityManager> {
    REQUEST
        .try_with(|scope| {
            scope
                .managers
                .iter()
                .find(|(id, _)| *id == orm)
                .map(|(_, em)| em.clone())
        })
        .ok()
        .flatten()
}

fn current_scope() -> Scope {
    REQUEST.try_with(|s| (**s).clone()).unwrap_or_default()
}

/// Runs work with one EntityManager per request bound to the task.
///
/// ```
/// # use coherent_orm::doc_support::User;
/// # async fn handler(orm: coherent_orm::Orm) -> coherent_core::Result<()> {
/// use coherent_orm::RequestContext;
/// let em = orm.em().clone(); // what a service holds: the global EntityManager
/// RequestContext::create(orm.em(), async move {
///     // resolves to this request's fork
///     let user = em.persist(User::new("Jon", "jon@x.io"))?;
///     em.flush().await?;
///     # let _ = user;
///     Ok::<_, coherent_core::Error>(())
/// })
/// .await
/// # }
/// ```
pub struct RequestContext;

impl RequestContext {
    /// Runs `fut` with a fresh fork of `em`'s Orm as the request's EntityManager.
    pub async fn create<F: Future>(em: &EntityManager, fut: F) -> F::Output {
        RequestContext::create_many(&[em], fut).await
    }

    /// Runs `fut` with a fresh fork of each EntityManager's Orm (several databases).
    pub async fn create_many<F: Future>(ems: &[&EntityManager], fut: F) -> F::Output {
        let mut scope = current_scope();
        for em in ems {
            scope = scope.with(em.fresh(true));
        }
        REQUEST.scope(Arc::new(scope), fut).await
    }

    /// Runs `fut` in the current request context if `em`'s Orm has one, otherwise in a new one
    /// (what `#[ensure_request_context]` does for entry points such as jobs and event
    /// handlers).
    pub async fn ensure<F: Future>(em: &EntityManager, fut: F) -> F::Output {
        if lookup(em.orm_id()).is_some() {
            fut.await
        } else {
            RequestContext::create(em, fut).await
        }
    }

    /// The current request context's EntityManager of `em`'s Orm, if any.
    pub fn current(em: &EntityManager) -> Option<EntityManager> {
        lookup(em.orm_id())
    }

    /// The EntityManager of "the current context": the current transaction context's, else the
    /// current request context's, if it holds exactly one Orm's. What `#[transactional]` runs
    /// against when it is given no `em` and has no `self`.
    pub fn current_any() -> coherent_core::Result<EntityManager> {
        let single = |ems: Vec<EntityManager>| match ems.len() {
            0 => Ok(None),
            1 => Ok(ems.into_iter().next()),
            _ => Err(coherent_core::Error::NoContext {
                reason: "the task's context holds the EntityManagers of several Orms",
            }),
        };
        if let Some(em) = single(crate::context::transaction_context::all())? {
            return Ok(em);
        }
        let request = current_scope()
            .managers
            .into_iter()
            .map(|(_, em)| em)
            .collect();
        single(request)?.ok_or(coherent_core::Error::NoContext {
            reason: "no request or transaction context is active on this task",
        })
    }

    /// Spawns `fut` on a new task inside a request context of its own: a fresh fork of
    /// `em`'s Orm, sharing nothing with the current request. Use it for background work.
    pub fn spawn<F>(em: &EntityManager, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let scope = current_scope().with(em.fresh(true));
        tokio::spawn(REQUEST.scope(Arc::new(scope), fut))
    }

    /// Spawns `fut` on a new task carrying the current request context, if any: the spawned
    /// task uses the same EntityManagers (and identity maps) as the request. Use it only for
    /// work that belongs to the request and ends with it.
    pub fn spawn_current<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match REQUEST.try_with(Arc::clone) {
            Ok(scope) => tokio::spawn(REQUEST.scope(scope, fut)),
            Err(_) => tokio::spawn(fut),
        }
    }
}
