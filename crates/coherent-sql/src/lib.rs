//! # coherent-sql
//!
//! Renders the statements the ORM needs as SQL text plus bound parameters, per
//! [`Dialect`], on top of sea-query.
//!
//! Policy:
//! - **Everything is bound.** Every value of a filter, an INSERT or an UPDATE reaches the
//!   driver as a parameter. sea-query builds the statement shape; our [`Value`]s never pass
//!   through it (see [`params`]), so no value is ever formatted into SQL text.
//! - **Shapes are cacheable.** The flush statements ([`insert::insert_rows`],
//!   [`update::update_by_key`], [`delete::delete_by_keys`], [`select::select_by_key`]) depend
//!   only on metadata and counts, so the ORM renders each shape once and reuses the text.
//! - **Dialect differences are ours to render** where sea-query is wrong or silent: column
//!   types ([`column_type`]) and, later, lock clauses and transaction control.
//!
//! [`Value`]: coherent_core::Value
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod column_type;
pub mod columnar;
pub mod condition;
pub mod delete;
pub mod expr;
pub mod ident;
pub mod insert;
pub mod joined;
pub mod joins;
pub mod like;
pub mod link;
pub mod lock;
pub mod order;
pub mod params;
pub mod raw;
pub mod render;
pub mod schema;
pub mod select;
pub mod subquery;
pub mod transaction;
pub mod update;

pub use coherent_core::Dialect;
pub use params::Rendered;
