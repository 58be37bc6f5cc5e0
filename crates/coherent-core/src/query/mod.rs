//! Queries as data: typed [`Column`] handles, [`Filter`]s and their untyped [`Condition`]
//! tree, sort keys ([`Order`]), relation paths, LIKE patterns and raw SQL fragments; and
//! selects of typed values: [`Aggregate`]s, [`Projection`]s and their [`SelectQuery`].
//!
//! Policy: everything here is typed by the entity it is about and checked against its
//! metadata before any SQL ([`Condition::check`], [`Order::check`]); the SQL is rendered by
//! `coherent-sql`, never here.

pub mod aggregate;
pub mod column;
pub mod condition;
pub mod filter;
#[cfg(test)]
mod fixtures;
pub mod keyset;
pub mod order;
pub mod pattern;
pub mod projection;
pub mod raw;
pub mod relation_path;
pub mod select;

pub use aggregate::{Aggregate, MinMax, Numeric, count_all};
pub use column::Column;
pub use condition::{AggregateFn, Clause, CmpOp, Condition, Quantifier, SelectExpr};
pub use filter::Filter;
pub use order::{Nulls, Order, Path};
pub use projection::{GroupBy, Projection, SelectItem};
pub use relation_path::{Optional, PathColumn, Reach, Related, Required, ToOne};
pub use select::SelectQuery;
