// The README is the crate documentation, so its tour is compiled as a doctest.
#![doc = include_str!("../../../README.md")]
#![forbid(unsafe_code)]

pub use coherent_core as core;
pub use coherent_core::{
    Column, ColumnMeta, ColumnSet, ColumnType, ConstraintKind, Entity, EntityMeta, Error,
    FieldType, Filter, Order, PrimaryKey, Result, Row, Value,
};
pub use coherent_macros::Entity;
pub use coherent_orm::{
    EntityManager, EntityMut, EntityRef, FindOptions, ForkOptions, IntoLookup, Lookup, Managed,
    Orm, OrmBuilder, OrmConfig, RequestContext, SchemaManager,
};
pub use coherent_orm::{commit_order, query_log};

/// Everything an application needs, in one import.
pub mod prelude {
    pub use crate::{
        Column, ConstraintKind, Entity, EntityManager, Error, Filter, FindOptions, ForkOptions,
        Managed, Order, Orm, OrmConfig, RequestContext, Result, Row, Value,
    };
}

/// Paths the macros expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use coherent_core::column_set::ColumnSet;
    pub use coherent_core::entity::{Entity, PrimaryKey};
    pub use coherent_core::error::{Error, Result};
    pub use coherent_core::field_type::FieldType;
    pub use coherent_core::filter::Column;
    pub use coherent_core::meta::{ColumnMeta, EntityMeta};
    pub use coherent_core::row::RowReader;
    pub use coherent_core::value::{ColumnType, Value};
}
