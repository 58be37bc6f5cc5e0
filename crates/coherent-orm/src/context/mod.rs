//! The Orm, its EntityManagers, and which EntityManager a call resolves to.
//!
//! Policy: [`orm::Orm`] owns the driver, the configuration and the entity model;
//! [`entity_manager::EntityManager`] is one unit of work, and every public method goes through
//! its `context()` seam, which resolves the global EntityManager to the current transaction
//! fork or request fork ([`transaction_context`], [`request_context`]). The state of an open
//! transaction lives here ([`open_transaction`]); beginning, committing and flushing are
//! `transaction/`'s, reading is `query/`'s: those folders add their methods to
//! `EntityManager` in their own `impl` blocks, and nothing here calls them.

pub(crate) mod config;
pub(crate) mod cursor_key;
pub(crate) mod entity_manager;
pub(crate) mod flush_mode;
pub(crate) mod fork;
pub(crate) mod open_transaction;
pub(crate) mod orm;
pub(crate) mod registry;
pub(crate) mod request_context;
pub(crate) mod transaction_context;
pub(crate) mod transaction_events;
