//! Queries as data: typed [`Column`] handles, [`Filter`]s and their untyped [`Condition`]
//! tree, sort keys ([`Order`]), relation paths, LIKE patterns and raw SQL fragments.
//!
//! Policy: everything here is typed by the entity it is about and checked against its
//! metadata before any SQL ([`Condition::check`], [`Order::check`]); the SQL is rendered by
//! `coherent-sql`, never here.

pub mod column;
pub mod condition;
pub mod filter;
pub mod keyset;
pub mod order;
pub mod pattern;
pub mod raw;
pub mod relation_path;

pub use column::Column;
pub use condition::{AggregateFn, Clause, CmpOp, Condition, Quantifier, SelectExpr};
pub use filter::Filter;
pub use order::{Nulls, Order, Path};
pub use relation_path::{PathColumn, Related, ToOne};
