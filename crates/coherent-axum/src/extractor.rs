//! [`RequestEm`]: the axum extractor of the request's EntityManager.
//!
//! Policy:
//! - It hands the handler exactly what the global EntityManager resolves to in this request
//!   ([`RequestContext::current`]): the fork [`RequestContextLayer`](crate::RequestContextLayer)
//!   created for it. A handler using it and a service holding `orm.em()` share one identity
//!   map.
//! - It never falls back to the global EntityManager or to a fork of its own: without the
//!   layer it rejects the request with a **500** whose body says that `RequestContextLayer` is
//!   not installed (a wiring mistake must be loud, not a silent long-lived identity map).
//! - With several [`RequestContextLayer`](crate::RequestContextLayer)s (several Orms), it
//!   extracts the EntityManager of the innermost one; reach the others through
//!   `RequestContext::current(other_orm.em())`, or simply through their global
//!   EntityManagers, which resolve.

use crate::layer::ContextMarker;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use coherent::{EntityManager, RequestContext};
use http::StatusCode;
use http::request::Parts;
use std::fmt;
use std::ops::Deref;

/// The request's EntityManager, extracted from the request context that
/// [`RequestContextLayer`](crate::RequestContextLayer) created.
///
/// Dereferences to [`EntityManager`]. Rejects with [`RequestEmRejection`] (a 500) when the
/// layer is missing. `Option<RequestEm>` extracts `None` instead.
///
/// ```
/// use axum::{Router, extract::Path, routing::get};
/// use coherent::prelude::*;
/// use coherent_axum::{HttpResult, RequestContextLayer, RequestEm};
///
/// #[derive(Entity, Clone, Debug)]
/// #[entity(table = "users")]
/// pub struct User {
///     #[primary_key]
///     pub id: i64,
///     pub name: String,
/// }
///
/// async fn user_name(RequestEm(em): RequestEm, Path(id): Path<i64>) -> HttpResult<String> {
///     let user = em.find_one_or_fail::<User>(id).await?;
///     let name = user.read().name.clone();
///     Ok(name)
/// }
///
/// fn app(orm: &Orm) -> Router {
///     Router::new()
///         .route("/users/{id}/name", get(user_name))
///         .layer(RequestContextLayer::new(orm))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RequestEm(pub EntityManager);

impl RequestEm {
    /// The EntityManager.
    pub fn into_inner(self) -> EntityManager {
        self.0
    }
}

impl Deref for RequestEm {
    type Target = EntityManager;

    fn deref(&self) -> &EntityManager {
        &self.0
    }
}

impl From<RequestEm> for EntityManager {
    fn from(em: RequestEm) -> EntityManager {
        em.0
    }
}

fn marker(parts: &Parts) -> Option<&ContextMarker> {
    parts.extensions.get::<ContextMarker>()
}

fn current(marker: &ContextMarker) -> Result<RequestEm, RequestEmRejection> {
    RequestContext::current(&marker.0)
        .map(RequestEm)
        .ok_or(RequestEmRejection::ContextLost)
}

impl<S: Send + Sync> FromRequestParts<S> for RequestEm {
    type Rejection = RequestEmRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        current(marker(parts).ok_or(RequestEmRejection::LayerMissing)?)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for RequestEm {
    type Rejection = RequestEmRejection;

    /// `None` without the layer; still a rejection if the layer ran but its context is not
    /// active where the extractor runs.
    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        marker(parts).map(current).transpose()
    }
}

/// Why [`RequestEm`] could not be extracted. Responds with a 500 whose body explains it.
///
/// ```
/// use axum::response::IntoResponse;
/// use coherent_axum::RequestEmRejection;
///
/// let response = RequestEmRejection::LayerMissing.into_response();
/// assert_eq!(response.status(), 500);
/// assert!(
///     RequestEmRejection::LayerMissing
///         .to_string()
///         .starts_with("RequestContextLayer is not installed")
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestEmRejection {
    /// The request did not pass through a [`RequestContextLayer`](crate::RequestContextLayer).
    LayerMissing,
    /// The layer ran, but its request context is not active where the extractor runs (the
    /// handler's future was moved to another task, e.g. by a plain `tokio::spawn`).
    ContextLost,
}

impl RequestEmRejection {
    /// A short machine-readable code (`request_context_layer_missing`,
    /// `request_context_lost`), the `error` field of the response body.
    pub fn code(&self) -> &'static str {
        match self {
            RequestEmRejection::LayerMissing => "request_context_layer_missing",
            RequestEmRejection::ContextLost => "request_context_lost",
        }
    }
}

impl fmt::Display for RequestEmRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestEmRejection::LayerMissing => {
                "RequestContextLayer is not installed: the RequestEm extractor hands out the \
                 request's EntityManager, which only exists when the request passes through \
                 coherent_axum::RequestContextLayer; add \
                 `.layer(RequestContextLayer::new(&orm))` to the Router"
            }
            RequestEmRejection::ContextLost => {
                "the request context of RequestContextLayer is not active here: the handler \
                 runs outside the layer's future (was it moved to another task by a plain \
                 tokio::spawn? use RequestContext::spawn_current to carry the context)"
            }
        })
    }
}

impl std::error::Error for RequestEmRejection {}

impl IntoResponse for RequestEmRejection {
    fn into_response(self) -> Response {
        tracing::error!(target: "coherent_axum", code = self.code(), "{self}");
        crate::error::json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            self.code(),
            &self.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestContextLayer;
    use coherent::Orm;
    use std::convert::Infallible;
    use tower::{Layer, ServiceExt, service_fn};

    async fn extract(parts: &mut Parts) -> Result<RequestEm, RequestEmRejection> {
        <RequestEm as FromRequestParts<()>>::from_request_parts(parts, &()).await
    }

    async fn extract_optional(parts: &mut Parts) -> Result<Option<RequestEm>, RequestEmRejection> {
        <RequestEm as OptionalFromRequestParts<()>>::from_request_parts(parts, &()).await
    }

    #[tokio::test]
    async fn without_the_layer_it_rejects_and_the_option_is_none() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        assert_eq!(
            extract(&mut parts).await.unwrap_err(),
            RequestEmRejection::LayerMissing
        );
        assert!(extract_optional(&mut parts).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_marked_request_outside_its_context_is_a_lost_context() {
        let orm = Orm::builder().url("sqlite::memory:").build().await.unwrap();
        let service =
            RequestContextLayer::new(&orm).layer(service_fn(|req: http::Request<()>| async move {
                let (mut parts, ()) = req.into_parts();
                let inside = extract(&mut parts).await.map(RequestEm::into_inner);
                Ok::<_, Infallible>((parts, inside))
            }));
        let (mut parts, inside) = service.oneshot(http::Request::new(())).await.unwrap();
        let inside = inside.expect("inside the layer");
        assert!(!inside.is_global());
        // The same request parts, extracted after the layer's future ended.
        assert_eq!(
            extract(&mut parts).await.unwrap_err(),
            RequestEmRejection::ContextLost
        );
        assert_eq!(
            extract_optional(&mut parts).await.unwrap_err(),
            RequestEmRejection::ContextLost
        );
    }
}
