//! [`RequestContextLayer`]: every request runs in a request context of its own.
//!
//! Policy:
//! - The layer's service wraps each request's future in
//!   [`RequestContext::create`]: a **fresh fork** of the Orm is bound to the request for as long
//!   as its future is polled. The global EntityManager (`orm.em()`) and every clone of it a
//!   service holds resolve to that fork; the next request gets another one. This is the fix
//!   of the stale-data story: no identity map outlives its request.
//! - The context is **poll-scoped**, not task-scoped: requests served concurrently on one
//!   connection task (HTTP/1.1 pipelining, HTTP/2 streams) still each see their own fork.
//! - The layer also marks the request (an extension naming its Orm) so that the
//!   [`RequestEm`](crate::RequestEm) extractor can find the request's EntityManager, and tell
//!   a missing layer apart from a lost context.
//! - What the context does not cover: work done synchronously in an inner service's `call`
//!   (axum does none: routing and extraction run inside the future), a response body streamed
//!   after the handler returned, and tasks started with a plain `tokio::spawn` (use
//!   [`RequestContext::spawn`] or [`RequestContext::spawn_current`]).

use coherent::{EntityManager, Orm, RequestContext};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// The request extension set by [`RequestContextService`]: the EntityManager whose Orm the
/// request's context was created for.
#[derive(Clone)]
pub(crate) struct ContextMarker(pub(crate) EntityManager);

/// A [`tower_layer::Layer`] that runs every request with its own EntityManager: a fresh fork
/// bound through [`RequestContext::create`].
///
/// Install it on the whole `Router` (or on the routes that touch the database). Constructed
/// from an [`Orm`] or from any [`EntityManager`] of it (usually the global one, `orm.em()`):
/// only the Orm matters, the request's fork is always fresh.
///
/// ```
/// use axum::{Router, routing::get};
/// use coherent::prelude::*;
/// use coherent_axum::RequestContextLayer;
///
/// fn app(orm: &Orm) -> Router {
///     Router::new()
///         .route("/health", get(|| async { "ok" }))
///         .layer(RequestContextLayer::new(orm))
/// }
/// ```
#[derive(Clone)]
pub struct RequestContextLayer {
    em: EntityManager,
}

impl RequestContextLayer {
    /// A layer giving each request a fresh fork of `orm`.
    pub fn new(orm: &Orm) -> Self {
        Self::for_entity_manager(orm.em())
    }

    /// A layer giving each request a fresh fork of `em`'s Orm (any EntityManager of the Orm
    /// will do; the fork never shares `em`'s identity map).
    ///
    /// ```
    /// use coherent::prelude::*;
    /// use coherent_axum::RequestContextLayer;
    ///
    /// /// A service as an application writes it: it holds the global EntityManager.
    /// struct Users {
    ///     em: EntityManager,
    /// }
    ///
    /// fn layer_for(users: &Users) -> RequestContextLayer {
    ///     RequestContextLayer::for_entity_manager(&users.em)
    /// }
    /// ```
    pub fn for_entity_manager(em: &EntityManager) -> Self {
        RequestContextLayer { em: em.clone() }
    }
}

impl fmt::Debug for RequestContextLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContextLayer")
            .field("em", &self.em)
            .finish()
    }
}

impl From<&Orm> for RequestContextLayer {
    fn from(orm: &Orm) -> Self {
        RequestContextLayer::new(orm)
    }
}

impl From<Orm> for RequestContextLayer {
    fn from(orm: Orm) -> Self {
        RequestContextLayer::new(&orm)
    }
}

impl From<&EntityManager> for RequestContextLayer {
    fn from(em: &EntityManager) -> Self {
        RequestContextLayer::for_entity_manager(em)
    }
}

impl From<EntityManager> for RequestContextLayer {
    fn from(em: EntityManager) -> Self {
        RequestContextLayer { em }
    }
}

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            em: self.em.clone(),
        }
    }
}

/// The service of a [`RequestContextLayer`]: calls `inner` and runs its future inside
/// [`RequestContext::create`].
///
/// Works for any `http::Request<B>` service whose future is `Send`, not only axum's.
///
/// ```
/// use coherent::prelude::*;
/// use coherent::Result;
/// use coherent_axum::RequestContextLayer;
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<()> {
/// let orm = Orm::builder().url("sqlite::memory:").build().await?;
/// let global = orm.em().clone();
/// let service = ServiceBuilder::new()
///     .layer(RequestContextLayer::new(&orm))
///     .service(service_fn(move |_req: http::Request<()>| {
///         let global = global.clone();
///         async move {
///             // Inside the request: the global EntityManager resolves to the request's fork.
///             let request = RequestContext::current(&global).expect("in a request context");
///             assert!(!request.is_global());
///             assert!(EntityManager::same(&global.resolve(), &request));
///             Ok::<_, std::convert::Infallible>(request.id())
///         }
///     }));
/// let first = service.clone().oneshot(http::Request::new(())).await.unwrap();
/// let second = service.oneshot(http::Request::new(())).await.unwrap();
/// assert_ne!(first, second, "a fresh fork per request");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RequestContextService<S> {
    inner: S,
    em: EntityManager,
}

impl<S> RequestContextService<S> {
    /// Wraps `inner`, giving each request a fresh fork of `orm` (what the layer does).
    pub fn new(inner: S, orm: &Orm) -> Self {
        RequestContextLayer::new(orm).layer(inner)
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for RequestContextService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContextService")
            .field("inner", &self.inner)
            .field("em", &self.em)
            .finish()
    }
}

impl<S, B> Service<http::Request<B>> for RequestContextService<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(ContextMarker(self.em.clone()));
        let response = self.inner.call(req);
        let em = self.em.clone();
        ResponseFuture {
            inner: Box::pin(async move { RequestContext::create(&em, response).await }),
        }
    }
}

/// The response future of [`RequestContextService`]: the inner service's future, run inside
/// the request's context. It is `Send`.
pub struct ResponseFuture<T, E> {
    inner: Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>,
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T, E> fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{ServiceExt, service_fn};

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn each_call_runs_in_a_fresh_context_and_the_future_is_send() {
        let orm = Orm::builder().url("sqlite::memory:").build().await.unwrap();
        let global = orm.em().clone();
        let probe = global.clone();
        let mut service =
            RequestContextLayer::new(&orm).layer(service_fn(move |req: http::Request<()>| {
                let global = probe.clone();
                async move {
                    let marked = req.extensions().get::<ContextMarker>().is_some();
                    let em = RequestContext::current(&global).expect("inside the context");
                    Ok::<_, Infallible>((marked, em))
                }
            }));
        let mut seen = Vec::new();
        for _ in 0..3 {
            let future = service.ready().await.unwrap().call(http::Request::new(()));
            assert_send(&future);
            let (marked, em) = future.await.unwrap();
            assert!(marked, "the request carries the marker");
            assert!(!em.is_global());
            assert!(
                seen.iter()
                    .all(|s: &EntityManager| !EntityManager::same(s, &em))
            );
            seen.push(em);
        }
        assert!(
            RequestContext::current(&global).is_none(),
            "nothing leaks out of the request"
        );
    }

    #[tokio::test]
    async fn any_entity_manager_of_the_orm_keys_the_context() {
        let orm = Orm::builder().url("sqlite::memory:").build().await.unwrap();
        let fork = orm.em().fork();
        let global = orm.em().clone();
        let service =
            RequestContextLayer::from(&fork).layer(service_fn(move |_req: http::Request<()>| {
                let global = global.clone();
                async move { Ok::<_, Infallible>(RequestContext::current(&global)) }
            }));
        let em = service.oneshot(http::Request::new(())).await.unwrap();
        let em = em.expect("the Orm's context");
        assert!(!EntityManager::same(&em, &fork), "a fresh fork, not `fork`");
    }
}
