//! # coherent-orm
//!
//! The EntityManager, identity map and Unit of Work of Coherent.
//!
//! - [`Orm`] / [`OrmBuilder`]: configuration, the driver, the entity registry.
//! - [`EntityManager`]: one unit of work: `persist`, `remove`, `find`, `find_one`, `flush`,
//!   `refresh`, raw SQL.
//! - [`Managed<T>`]: the shared handle to the one instance of a row in an identity map.
//! - [`Ref<T>`] and [`Collection<T>`]: many-to-one and one-to-many relation fields;
//!   `populate`, `cascade`: loading them by path and turning their changes into writes.
//! - [`RequestContext`]: one EntityManager per request through a tokio task-local.
//! - `identity_map`, `type_store`, `unit_of_work`, `change_set`, [`commit_order`],
//!   `statement_cache`, `flush`: the machinery of a flush (see `docs/ARCHITECTURE.md`).
//! - [`query_log`]: the `tracing` events every statement emits.
#![forbid(unsafe_code)]

mod cascade;
mod change_set;
mod checkpoint;
mod collection;
pub mod commit_order;
mod config;
mod cycles;
#[doc(hidden)]
pub mod doc_support;
mod entity_manager;
mod entity_ops;
mod find_options;
mod flush;
mod flush_mode;
mod fork;
mod identity_map;
mod inverse;
mod joined;
mod links;
pub mod locking;
mod lookup;
mod managed;
mod orm;
mod pending;
mod populate;
mod propagation;
pub mod query_log;
mod reads;
mod reference;
mod registry;
mod request_context;
mod schema;
mod setters;
mod statement_cache;
mod statements;
mod stored_form;
mod suspended;
mod transaction;
mod transaction_context;
mod transaction_events;
mod transactional;
mod type_store;
mod unit_of_work;
mod written_rows;

/// The SQLite driver's rusqlite (feature `sqlite`), for tests that open a raw connection
/// beside the ORM. Not public API.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
pub use coherent_sqlite::rusqlite;

pub use collection::{Collection, RelationField};
pub use config::{DEFAULT_LOCK_TIMEOUT_WHILE_SUSPENDED, OrmConfig};
pub use entity_manager::EntityManager;
pub use find_options::{FindOptions, LoadStrategy};
pub use flush_mode::FlushMode;
pub use fork::ForkOptions;
#[doc(hidden)]
pub use inventory;
pub use inverse::Inverse;
pub use lookup::{IntegerKey, IntoKey, IntoLookup, Lookup};
pub use managed::{EntityMut, EntityRef, Managed};
pub use orm::{Orm, OrmBuilder};
pub use propagation::Propagation;
pub use reference::Ref;
pub use registry::Registration;
pub use request_context::RequestContext;
pub use schema::SchemaManager;
pub use transaction_events::{TransactionEvent, TransactionEventKind, TransactionListener};
pub use transactional::TxOptions;
