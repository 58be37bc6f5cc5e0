//! # coherent-axum
//!
//! The [axum](https://docs.rs/axum) integration of Coherent: **one EntityManager per HTTP
//! request**, the fix of the stale-data story (a long-lived identity map shared by all the
//! requests of an API instance keeps serving a row another instance has changed).
//!
//! Policy:
//! - [`RequestContextLayer`] runs every request inside
//!   [`RequestContext::create`](coherent::RequestContext::create): a fresh fork of the Orm is
//!   bound to the request. Services keep holding the **global** EntityManager (`orm.em()`, or
//!   a clone of it), as a NestJS or Spring application injects it; inside a request it
//!   resolves to the request's fork, so nothing outlives the request and every request reads
//!   the database afresh. Without the layer, the global EntityManager refuses
//!   context-specific work with [`coherent::Error::GlobalContext`] (unless the Orm allows a
//!   global context): a missing layer fails loudly instead of sharing one identity map.
//! - [`RequestEm`] is the extractor for handlers that want the request's EntityManager
//!   directly; it is the same fork the services resolve to. Without the layer it rejects with
//!   a 500 that says so.
//! - [`HttpError`] turns a [`coherent::Error`] into a response: `NotFound` → 404, a unique
//!   violation → 409, a failed optimistic lock (`OptimisticLock`, `VersionMismatch`) → 409,
//!   lock contention (`LockTimeout`, `LockNotAvailable`, `Deadlock`, `SerializationFailure`)
//!   → 503 with `Retry-After: 1`, anything else → 500 (details of a 5xx logged, not sent).
//! - The dependency points one way: this crate depends on the `coherent` facade, never the
//!   reverse, so applications without axum do not build it.
//! - Work outside the request's future is outside its context: tasks started with a plain
//!   `tokio::spawn` (use [`RequestContext::spawn`](coherent::RequestContext::spawn) or
//!   [`spawn_current`](coherent::RequestContext::spawn_current)), and response bodies streamed
//!   after the handler returned.
//!
//! ```
//! use axum::{Router, extract::{Path, State}, routing::get};
//! use coherent::prelude::*;
//! use coherent::Result;
//! use coherent_axum::{HttpResult, RequestContextLayer};
//!
//! #[derive(Entity, Clone, Debug)]
//! #[entity(table = "users")]
//! pub struct User {
//!     #[primary_key]
//!     pub id: i64,
//!     pub name: String,
//!     #[column(unique)]
//!     pub email: String,
//! }
//!
//! /// A service holds the global EntityManager; the layer makes it per-request.
//! #[derive(Clone)]
//! struct Users {
//!     em: EntityManager,
//! }
//!
//! impl Users {
//!     async fn rename(&self, id: i64, name: String) -> Result<User> {
//!         let user = self.em.find_one_or_fail::<User>(id).await?;
//!         user.write().name = name;
//!         self.em.flush().await?;
//!         Ok(user.get())
//!     }
//! }
//!
//! async fn rename(
//!     State(users): State<Users>,
//!     Path((id, name)): Path<(i64, String)>,
//! ) -> HttpResult<String> {
//!     Ok(users.rename(id, name).await?.name) // 404 for a missing user
//! }
//!
//! fn app(orm: &Orm) -> Router {
//!     Router::new()
//!         .route("/users/{id}/rename/{name}", get(rename))
//!         .with_state(Users { em: orm.em().clone() })
//!         .layer(RequestContextLayer::new(orm))
//! }
//! ```
//!
//! `cargo run --example users_api` serves the blog's `GET`/`PATCH /users/{id}` this way.
//! `cargo run -p coherent-axum --example books_api` serves MikroORM's optimistic-locking book
//! example: `GET /books/{id}` returns the book with its `#[version]`, and a `PUT` that sends
//! back a stale version gets a 409 instead of overwriting someone else's edit.
#![forbid(unsafe_code)]

mod error;
mod extractor;
mod layer;

pub use error::{HttpError, HttpResult};
pub use extractor::{RequestEm, RequestEmRejection};
pub use layer::{RequestContextLayer, RequestContextService, ResponseFuture};
