//! The integration suite: every test runs against every available backend (see
//! [`common::backends`]): embedded SQLite in memory and in a file, and PostgreSQL and MariaDB
//! when their URLs are set. [`proxy`] is a fault-injecting TCP proxy for the servers.

mod bad_input;
mod collections;
mod common;
mod concurrency;
mod connect_options;
mod connection_faults;
mod connection_reuse;
mod database_errors;
mod entity_manager;
mod flush;
mod flush_failure;
mod flush_mode;
mod global_context;
mod identity_map;
#[cfg(all(
    feature = "migrate",
    feature = "chrono",
    feature = "uuid",
    feature = "rust_decimal"
))]
mod introspection;
mod joined_loading;
mod keys;
mod locking;
mod many_to_many;
#[cfg(feature = "migrate")]
mod migrator;
mod model;
mod one_to_one;
mod proxy;
mod queries;
mod raw_sql;
mod re_read;
mod refresh;
mod relation_cycles;
mod relations;
mod request_context;
mod schema;
#[cfg(feature = "migrate")]
mod schema_evolution;
#[cfg(feature = "migrate")]
mod schema_shapes;
mod server_errors;
mod shutdown;
mod stored_values;
mod stream;
mod string_keys;
mod suspended;
mod transactional;
mod transactions;
mod transactions_disabled;
mod types;
