//! # coherent-core
//!
//! The bottom layer of Coherent. It knows nothing about SQL text, drivers or
//! the Unit of Work; it defines the vocabulary every other layer speaks:
//!
//! - [`meta`]: static metadata of an entity ([`EntityMeta`], [`ColumnMeta`]), produced by
//!   `#[derive(Entity)]`.
//! - [`index_meta`]: composite indexes and unique constraints ([`IndexMeta`]) and foreign-key
//!   rules ([`OnDelete`]).
//! - [`relation`]: metadata of collection fields ([`RelationMeta`]).
//! - [`value`]: the dialect-neutral [`Value`] every parameter and cell travels as, and
//!   [`ColumnType`].
//! - [`field_type`]: [`FieldType`], the mapping between a Rust field type and a [`Value`].
//! - [`stored_form`]: what each backend's columns keep of a value (date-times to the
//!   microsecond, the sign of a float zero), so memory can hold exactly that.
//! - [`entity`]: the [`Entity`] trait the derive implements, and [`PrimaryKey`].
//! - [`column_set`]: [`ColumnSet`], the bit set change detection produces.
//! - [`query`]: typed column handles ([`Column`]), the [`Filter`] / [`Condition`] tree, sort
//!   keys ([`Order`]), relation paths ([`Related`], [`ToOne`]), LIKE patterns and raw SQL;
//!   aggregates ([`Aggregate`]), projections ([`Projection`]) and their [`SelectQuery`].
//! - [`row`]: [`Rows`] (a flat result set), [`RowReader`] (positional decoding) and
//!   [`FromRow`] (what a row of a select decodes into).
//! - [`driver`]: the dialect-neutral driver interface: [`Driver`], [`Connection`],
//!   [`Statement`], [`Batch`].
//! - [`error`]: the one typed [`Error`] enum of the whole ORM, and [`database_error`]:
//!   [`DatabaseError`], what the database said when it refused a statement.
//! - [`connect_options`]: [`ConnectOptions`], how to connect and pool, for every backend.
//! - [`stream`]: the [`Stream`] trait of `futures-core`, [`BoxStream`], and [`stream::generate`]
//!   (a stream from an async producer), for [`Connection::query_stream`] and the ORM's streams.
//!
//! Arrows point one way: every other Coherent crate depends on this one, and this one on
//! none of them.
#![forbid(unsafe_code)]

pub mod column_set;
pub mod connect_options;
pub mod database_error;
pub mod driver;
pub mod entity;
pub mod error;
pub mod field_type;
pub mod index_meta;
pub mod isolation;
pub mod lock_mode;
pub mod meta;
pub mod query;
pub mod query_log;
pub mod relation;
pub mod row;
mod setters;
pub mod stored_form;
pub mod stream;
pub mod value;
pub mod version;

pub use column_set::ColumnSet;
pub use connect_options::{ConnectOptions, JournalMode, Synchronous};
pub use database_error::DatabaseError;
pub use driver::{
    Batch, BatchFailure, BatchResult, BatchWriter, BoxFuture, Capabilities, Connection, Control,
    Dialect, Driver, Outcome, RowSink, Statement, TxMode,
};
pub use entity::{Entity, PrimaryKey};
pub use error::{ConstraintKind, Error, Result};
pub use field_type::FieldType;
pub use index_meta::{IndexMeta, OnDelete};
pub use isolation::IsolationLevel;
pub use lock_mode::{LockMode, LockWait};
pub use meta::{ColumnMeta, EntityMeta, Reference};
pub use query::{
    Aggregate, AggregateFn, Clause, CmpOp, Column, Condition, Filter, GroupBy, Nulls, Order, Path,
    PathColumn, Projection, Quantifier, Related, SelectExpr, SelectItem, SelectQuery, ToOne,
    count_all,
};
pub use relation::{JoinTable, LinkSide, RelationHolder, RelationKind, RelationMeta, RelationSlot};
pub use row::{FromRow, Row, RowReader, Rows};
pub use stream::{BoxStream, Stream};
pub use value::{ColumnType, Value};
