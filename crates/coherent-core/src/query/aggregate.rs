//! [`Aggregate`]: a typed aggregate of a column (`Book::PAGES.sum()`) or of rows
//! ([`count_all`]), to select, to compare in a `having` and to order by.
//!
//! Policy: an aggregate's Rust type is the same on every backend, and the SQL renderer casts
//! where a backend would answer with another type:
//! - `count`, `count_distinct` and [`count_all`] are `i64` (never NULL: 0 for no row);
//! - `sum` of an `i16`/`i32`/`i64` column is `Option<i64>`, of an `f32`/`f64` column
//!   `Option<f64>`, of a `Decimal` column `Option<Decimal>` ([`Numeric`]);
//! - `avg` of any of them is `Option<f64>`;
//! - `min` and `max` keep the column's base type, nullable: `Option<i32>`, `Option<String>`,
//!   `Option<DateTime<Utc>>` ([`MinMax`]: numbers, text, decimals and date-times; not
//!   booleans, UUIDs, bytes or JSON, which PostgreSQL cannot compare in an aggregate);
//! - `sum`, `avg`, `min` and `max` are NULL (`None`) over no row, or over NULLs only.
//!
//! On SQLite decimals are exact text; their `sum`, `avg`, `min` and `max` are taken by value
//! (as the filters compare them, exactly to 15 significant digits) and read back as decimals
//! in that precision, the scale being the shortest that prints the value.
//!
//! Comparisons (`gt`, `eq`, ..) make a [`Filter`] for a `having`: an aggregate in a `filter`
//! (a WHERE) is refused before any SQL ([`crate::Condition::check`]).

use crate::field_type::{FieldType, NotNull, Nullable};
use crate::query::column::Column;
use crate::query::condition::{AggregateFn, CmpOp, Condition, SelectExpr};
use crate::query::filter::Filter;
use crate::query::order::{Order, Path};
use crate::query::relation_path::PathColumn;
use std::marker::PhantomData;

/// An aggregate over rows of `E`, whose value decodes as `T`.
///
/// ```
/// use coherent_core::{Column, Condition, Filter};
/// use coherent_core::query::aggregate::count_all;
/// struct Book;
/// const PAGES: Column<Book, i32> = Column::new("pages", 2);
/// let total = PAGES.sum(); // an Aggregate<Book, Option<i64>>
/// let big: Filter<Book> = total.gt(1_000) & count_all::<Book>().gte(2);
/// assert!(matches!(big.condition(), Condition::And(parts) if parts.len() == 2));
/// assert_eq!(total.expr().to_string(), "sum(pages)");
/// ```
pub struct Aggregate<E, T> {
    expr: SelectExpr,
    _types: PhantomData<fn() -> (E, T)>,
}

impl<E, T> Clone for Aggregate<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, T> Copy for Aggregate<E, T> {}

impl<E, T> std::fmt::Debug for Aggregate<E, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aggregate({})", self.expr)
    }
}

/// `COUNT(*)`: the rows of `E` (of each group, with a `group_by`).
///
/// ```
/// use coherent_core::query::aggregate::count_all;
/// struct Book;
/// assert_eq!(count_all::<Book>().expr().to_string(), "count(*)");
/// ```
pub const fn count_all<E>() -> Aggregate<E, i64> {
    Aggregate::new(SelectExpr::COUNT_ROWS)
}

impl<E, T> Aggregate<E, T> {
    const fn new(expr: SelectExpr) -> Self {
        Aggregate {
            expr,
            _types: PhantomData,
        }
    }

    const fn of(function: AggregateFn, path: Path, column: &'static str) -> Self {
        Aggregate::new(SelectExpr {
            function: Some(function),
            path,
            column,
        })
    }

    /// The untyped expression.
    pub const fn expr(&self) -> SelectExpr {
        self.expr
    }

    fn compare(self, op: CmpOp, value: crate::Value) -> Filter<E> {
        Filter::from_condition(Condition::Aggregate {
            expr: self.expr,
            op,
            value,
        })
    }
}

impl<E: crate::Entity, T> Aggregate<E, T> {
    /// Ascending order by this aggregate (in a select with `group_by`).
    pub const fn asc(self) -> Order {
        Order::by_expr(E::META.name, self.expr)
    }

    /// Descending order by this aggregate.
    pub const fn desc(self) -> Order {
        self.asc().desc()
    }
}

macro_rules! comparisons {
    ($($name:ident => $op:ident, $doc:literal);* $(;)?) => {
        impl<E, T: Nullable> Aggregate<E, T> {
            $(
                #[doc = concat!("`aggregate ", $doc, " value`, for a `having`.")]
                pub fn $name(self, value: impl Into<T::Base>) -> Filter<E> {
                    self.compare(CmpOp::$op, value.into().into_value())
                }
            )*
        }
    };
}
comparisons!(
    eq => Eq, "=";
    ne => Ne, "<>";
    lt => Lt, "<";
    lte => Lte, "<=";
    gt => Gt, ">";
    gte => Gte, ">=";
);

/// A column type that can be summed and averaged: integers (summed as `i64`), floats
/// (summed as `f64`) and decimals (summed as `Decimal`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be summed or averaged",
    label = "not a number",
    note = "sum and avg take i16, i32, i64, f32, f64 and rust_decimal::Decimal columns (or Option of them)"
)]
pub trait Numeric: NotNull {
    /// The type of the sum.
    type Sum: NotNull;
}

macro_rules! numeric {
    ($($t:ty => $sum:ty),* $(,)?) => {$(
        impl Numeric for $t {
            type Sum = $sum;
        }
    )*};
}
numeric!(i16 => i64, i32 => i64, i64 => i64, f32 => f64, f64 => f64);
#[cfg(feature = "rust_decimal")]
numeric!(rust_decimal::Decimal => rust_decimal::Decimal);

/// A column type with a `min` and a `max` on every backend: numbers, text, decimals and
/// date-times.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no min or max on every backend",
    label = "not comparable in an aggregate",
    note = "min and max take numbers, String, Decimal and chrono date-times (PostgreSQL has no MIN or MAX of booleans, UUIDs, bytes or JSON)"
)]
pub trait MinMax: NotNull {}

macro_rules! min_max {
    ($($t:ty),* $(,)?) => {$(
        impl MinMax for $t {}
    )*};
}
min_max!(i16, i32, i64, f32, f64, String);
#[cfg(feature = "rust_decimal")]
min_max!(rust_decimal::Decimal);
#[cfg(feature = "chrono")]
min_max!(
    chrono::DateTime<chrono::Utc>,
    chrono::NaiveDateTime,
    chrono::NaiveDate
);

/// The aggregates of one column, for [`Column`] and [`PathColumn`].
macro_rules! aggregates {
    ($self:ident => $path:expr, $column:expr) => {
        /// `COUNT(column)`: the rows where the column is not NULL.
        pub const fn count($self) -> Aggregate<E, i64> {
            Aggregate::of(AggregateFn::Count, $path, $column)
        }

        /// `COUNT(DISTINCT column)`: the distinct non-NULL values.
        pub const fn count_distinct($self) -> Aggregate<E, i64> {
            Aggregate::of(AggregateFn::CountDistinct, $path, $column)
        }

        /// `SUM(column)`: `i64` for integers, `f64` for floats, `Decimal` for decimals;
        /// `None` over no row or NULLs only.
        pub const fn sum($self) -> Aggregate<E, Option<<V::Base as Numeric>::Sum>>
        where
            V: Nullable,
            V::Base: Numeric,
        {
            Aggregate::of(AggregateFn::Sum, $path, $column)
        }

        /// `AVG(column)`, as a double on every backend; `None` over no row or NULLs only.
        pub const fn avg($self) -> Aggregate<E, Option<f64>>
        where
            V: Nullable,
            V::Base: Numeric,
        {
            Aggregate::of(AggregateFn::Avg, $path, $column)
        }

        /// `MIN(column)`, of the column's type; `None` over no row or NULLs only.
        pub const fn min($self) -> Aggregate<E, Option<V::Base>>
        where
            V: Nullable,
            V::Base: MinMax,
        {
            Aggregate::of(AggregateFn::Min, $path, $column)
        }

        /// `MAX(column)`, of the column's type; `None` over no row or NULLs only.
        pub const fn max($self) -> Aggregate<E, Option<V::Base>>
        where
            V: Nullable,
            V::Base: MinMax,
        {
            Aggregate::of(AggregateFn::Max, $path, $column)
        }
    };
}

impl<E, V> Column<E, V> {
    aggregates!(self => Path::EMPTY, self.name);
}

impl<E, V, R> PathColumn<E, V, R> {
    aggregates!(self => self.path(), self.column());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    struct B;
    const PAGES: Column<B, Option<i32>> = Column::new("pages", 1);

    #[test]
    fn aggregates_are_typed_and_compare_their_base_type() {
        let sum: Aggregate<B, Option<i64>> = PAGES.sum();
        let max: Aggregate<B, Option<i32>> = PAGES.max();
        let avg: Aggregate<B, Option<f64>> = PAGES.avg();
        assert_eq!(
            max.gt(3).into_condition(),
            Condition::Aggregate {
                expr: max.expr(),
                op: CmpOp::Gt,
                value: Value::I32(3)
            }
        );
        assert!(matches!(
            sum.lte(7i64).into_condition(),
            Condition::Aggregate {
                value: Value::I64(7),
                ..
            }
        ));
        assert_eq!(avg.expr().to_string(), "avg(pages)");
        assert_eq!(
            PAGES.count_distinct().expr().to_string(),
            "count(distinct pages)"
        );
    }
}
