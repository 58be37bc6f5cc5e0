//! # coherent-orm
//!
//! The EntityManager, identity map and Unit of Work of Coherent.
//!
//! - [`Orm`] / [`OrmBuilder`]: configuration, the driver, the entity registry.
//! - [`EntityManager`]: one unit of work: `persist`, `remove`, `find`, `find_one`, `flush`,
//!   `refresh`, raw SQL; `stream` ([`EntityStream`]): detached values in bounded memory;
//!   [`Select`]: typed values (projections, aggregates) instead of entities.
//! - [`Managed<T>`]: the shared handle to the one instance of a row in an identity map.
//! - [`Ref<T>`] and [`Collection<T>`]: many-to-one and one-to-many relation fields;
//!   `populate`, `cascade`: loading them by path and turning their changes into writes.
//! - [`RequestContext`]: one EntityManager per request through a tokio task-local.
//! - The machinery, one folder per concept, lowest layer first: `entity/`, `identity/`,
//!   `relations/`, `unit_of_work/`, `context/`, `transaction/`, `query/` (see
//!   `docs/ARCHITECTURE.md`, "Inside coherent-orm"); [`commit_order`] and [`locking`] are
//!   public.
//! - [`query_log`]: the `tracing` events every statement emits.
#![forbid(unsafe_code)]

// Folders, lowest layer first: a folder imports only from those above it in this list
// (docs/ARCHITECTURE.md, "Inside coherent-orm"; checked by tests/layers.rs).
mod context;
mod entity;
mod identity;
mod query;
mod relations;
mod transaction;
mod unit_of_work;

// Crate-wide helpers, importable from every folder.
#[doc(hidden)]
pub mod doc_support;
pub mod query_log;
mod setters;

mod schema;

pub use query::locking;
pub use unit_of_work::commit_order;

/// The SQLite driver's rusqlite (feature `sqlite`), for tests that open a raw connection
/// beside the ORM. Not public API.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub use coherent_sqlite::rusqlite;

pub use context::config::{DEFAULT_LOCK_TIMEOUT_WHILE_SUSPENDED, OrmConfig};
pub use context::cursor_key::CursorKey;
pub use context::entity_manager::EntityManager;
pub use context::flush_mode::FlushMode;
pub use context::fork::ForkOptions;
pub use context::orm::{Orm, OrmBuilder};
pub use context::registry::Registration;
pub use context::request_context::RequestContext;
pub use context::transaction_events::{
    TransactionEvent, TransactionEventKind, TransactionListener,
};
pub use entity::lookup::{IntegerKey, IntoKey, IntoLookup, Lookup};
pub use entity::managed::{EntityMut, EntityRef, Managed};
#[doc(hidden)]
pub use inventory;
pub use query::find_options::{FieldName, FindOptions, LoadStrategy};
pub use query::pages::{Page, PageRequest};
pub use query::raw_entities::RawQuery;
pub use query::select::Select;
pub use query::stream::EntityStream;
pub use relations::collection::{Collection, RelationField};
pub use relations::inverse::Inverse;
pub use relations::reference::Ref;
pub use schema::SchemaManager;
pub use transaction::propagation::Propagation;
pub use transaction::transactional::TxOptions;
