//! Typed column handles and filters.
//!
//! `#[derive(Entity)]` generates one [`Column`] constant per field (`User::NAME`,
//! `User::AGE`); comparing a column with a value of the field's type gives a [`Filter`] of
//! that entity, so `find::<Post>(User::NAME.eq("Jon"))` does not compile. Filters combine with
//! [`Filter::and`], [`Filter::or`] and [`Filter::not`]. Every value in a filter is bound as a
//! parameter by the renderer; none is ever spliced into SQL text.

use crate::field_type::FieldType;
use crate::value::Value;
use std::marker::PhantomData;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `LIKE`
    Like,
}

/// An untyped condition tree, as the SQL renderer sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every row.
    All,
    /// `column <op> value`. Comparing with NULL is rewritten to `IS NULL`/`IS NOT NULL`.
    Compare {
        /// Column name.
        column: &'static str,
        /// Operator.
        op: CmpOp,
        /// Bound value.
        value: Value,
    },
    /// `column [NOT] IN (values)`; an empty list matches nothing (or everything, negated).
    In {
        /// Column name.
        column: &'static str,
        /// Bound values.
        values: Vec<Value>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `column IS [NOT] NULL`.
    IsNull {
        /// Column name.
        column: &'static str,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// All of these.
    And(Vec<Condition>),
    /// Any of these.
    Or(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
}

/// A condition on rows of entity `E`.
///
/// ```
/// use coherent_core::{Column, Filter, Condition, CmpOp, Value};
/// struct User;
/// const NAME: Column<User, String> = Column::new("name", 1);
/// const AGE: Column<User, Option<i32>> = Column::new("age", 3);
/// let f: Filter<User> = NAME.eq("Jon").and(AGE.gte(18));
/// assert!(matches!(f.condition(), Condition::And(parts) if parts.len() == 2));
/// ```
pub struct Filter<E> {
    condition: Condition,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Filter::from_condition(self.condition.clone())
    }
}

impl<E> std::fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.condition.fmt(f)
    }
}

impl<E> Filter<E> {
    /// Every row.
    pub fn all() -> Self {
        Filter::from_condition(Condition::All)
    }

    /// Wraps an untyped condition.
    pub fn from_condition(condition: Condition) -> Self {
        Filter {
            condition,
            _entity: PhantomData,
        }
    }

    /// The condition tree.
    pub fn condition(&self) -> &Condition {
        &self.condition
    }

    /// Unwraps the condition tree.
    pub fn into_condition(self) -> Condition {
        self.condition
    }

    /// Both this and `other`.
    pub fn and(self, other: Filter<E>) -> Self {
        Filter::from_condition(match (self.condition, other.condition) {
            (Condition::All, c) | (c, Condition::All) => c,
            (Condition::And(mut a), Condition::And(b)) => {
                a.extend(b);
                Condition::And(a)
            }
            (Condition::And(mut a), c) => {
                a.push(c);
                Condition::And(a)
            }
            (a, b) => Condition::And(vec![a, b]),
        })
    }

    /// This or `other`.
    pub fn or(self, other: Filter<E>) -> Self {
        Filter::from_condition(match (self.condition, other.condition) {
            (Condition::Or(mut a), Condition::Or(b)) => {
                a.extend(b);
                Condition::Or(a)
            }
            (Condition::Or(mut a), c) => {
                a.push(c);
                Condition::Or(a)
            }
            (a, b) => Condition::Or(vec![a, b]),
        })
    }

    /// Not this (the same as `!filter`).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Filter::from_condition(Condition::Not(Box::new(self.condition)))
    }
}

/// `!filter`: [`Filter::not`].
///
/// ```
/// # use coherent_core::filter::{Column, Filter};
/// # struct User;
/// # const AGE: Column<User, i32> = Column::new("age", 2);
/// let adults: Filter<User> = !AGE.lt(18);
/// assert_eq!(adults.condition(), AGE.lt(18).not().condition());
/// ```
impl<E> std::ops::Not for Filter<E> {
    type Output = Filter<E>;
    fn not(self) -> Filter<E> {
        Filter::not(self)
    }
}

/// `a & b`: [`Filter::and`].
///
/// ```
/// # use coherent_core::filter::{Column, Filter};
/// # struct User;
/// # const AGE: Column<User, i32> = Column::new("age", 2);
/// # const NAME: Column<User, String> = Column::new("name", 1);
/// let f: Filter<User> = AGE.gt(17) & NAME.eq("ada");
/// assert_eq!(f.condition(), AGE.gt(17).and(NAME.eq("ada")).condition());
/// ```
impl<E> std::ops::BitAnd for Filter<E> {
    type Output = Filter<E>;
    fn bitand(self, other: Filter<E>) -> Filter<E> {
        self.and(other)
    }
}

/// `a | b`: [`Filter::or`].
///
/// ```
/// # use coherent_core::filter::{Column, Filter};
/// # struct User;
/// # const AGE: Column<User, i32> = Column::new("age", 2);
/// let f: Filter<User> = AGE.lt(18) | AGE.gt(64);
/// assert_eq!(f.condition(), AGE.lt(18).or(AGE.gt(64)).condition());
/// ```
impl<E> std::ops::BitOr for Filter<E> {
    type Output = Filter<E>;
    fn bitor(self, other: Filter<E>) -> Filter<E> {
        self.or(other)
    }
}

/// A sort key: a column of one entity, ascending or descending.
///
/// Made from a typed column handle (`User::NAME.asc()`, `.desc()`) or, for sorting chosen at
/// run time (a `?sort=` parameter), by name with [`Order::by_name`], which refuses a name
/// that is not a column of the entity. Either way the SQL names a column from the entity's
/// metadata, never a string from the caller; a query of another entity refuses the order
/// before any SQL (`InvalidArgument`).
///
/// ```
/// # use coherent_core::{Entity, EntityMeta, Error, Order};
/// # fn demo<User: Entity>() -> coherent_core::Result<()> {
/// let newest_first = Order::by_name::<User>("created_at")?.desc();
/// assert!(newest_first.is_descending());
/// assert!(matches!(Order::by_name::<User>("nonexistent"), Err(Error::InvalidArgument(_))));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    entity: &'static str,
    column: &'static str,
    descending: bool,
}

impl Order {
    /// Ascending order by column `index` of `meta` (panics if there is no such column).
    pub const fn of(meta: &crate::EntityMeta, index: usize) -> Order {
        Order {
            entity: meta.name,
            column: meta.columns[index].name,
            descending: false,
        }
    }

    /// Ascending order by the column of `E` named `name` (its Rust field name or its column
    /// name); a name that is neither is [`Error::InvalidArgument`](crate::Error).
    pub fn by_name<E: crate::Entity>(name: &str) -> crate::Result<Order> {
        let meta = E::META;
        meta.columns
            .iter()
            .position(|c| c.field == name || c.name == name)
            .map(|i| Order::of(meta, i))
            .ok_or_else(|| {
                let known: Vec<&str> = meta.columns.iter().map(|c| c.field).collect();
                crate::Error::InvalidArgument(format!(
                    "{name:?} is not a column of {} to order by (its columns: {})",
                    meta.name,
                    known.join(", ")
                ))
            })
    }

    /// The same column, ascending.
    pub const fn asc(self) -> Order {
        Order {
            descending: false,
            ..self
        }
    }

    /// The same column, descending.
    pub const fn desc(self) -> Order {
        Order {
            descending: true,
            ..self
        }
    }

    /// The entity whose column this is (its name).
    pub const fn entity(&self) -> &'static str {
        self.entity
    }

    /// The column name.
    pub const fn column(&self) -> &'static str {
        self.column
    }

    /// Whether the order is descending.
    pub const fn is_descending(&self) -> bool {
        self.descending
    }

    /// Checks that this order sorts rows of `E`: [`Error::InvalidArgument`](crate::Error)
    /// otherwise.
    pub fn check<E: crate::Entity>(&self) -> crate::Result<()> {
        if self.entity == E::META.name && E::META.columns.iter().any(|c| c.name == self.column) {
            Ok(())
        } else {
            Err(crate::Error::InvalidArgument(format!(
                "a query of {} cannot be ordered by {}.{}",
                E::META.name,
                self.entity,
                self.column
            )))
        }
    }
}

/// A typed handle to column `name` of entity `E`, whose field type is `V`.
pub struct Column<E, V> {
    /// Column name.
    pub name: &'static str,
    /// Position in the entity's columns.
    pub index: usize,
    _types: PhantomData<fn() -> (E, V)>,
}

impl<E, V> Clone for Column<E, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, V> Copy for Column<E, V> {}

impl<E, V> Column<E, V> {
    /// A handle to column `name` at position `index`.
    pub const fn new(name: &'static str, index: usize) -> Self {
        Column {
            name,
            index,
            _types: PhantomData,
        }
    }

    /// Ascending order by this column.
    pub const fn asc(self) -> Order
    where
        E: crate::Entity,
    {
        Order::of(E::META, self.index)
    }

    /// Descending order by this column.
    pub const fn desc(self) -> Order
    where
        E: crate::Entity,
    {
        Order::of(E::META, self.index).desc()
    }

    /// `IS NULL`.
    pub fn is_null(self) -> Filter<E> {
        Filter::from_condition(Condition::IsNull {
            column: self.name,
            negated: false,
        })
    }

    /// `IS NOT NULL`.
    pub fn is_not_null(self) -> Filter<E> {
        Filter::from_condition(Condition::IsNull {
            column: self.name,
            negated: true,
        })
    }
}

macro_rules! comparisons {
    ($($name:ident => $op:ident, $doc:literal);* $(;)?) => {
        impl<E, V: FieldType> Column<E, V> {
            $(
                #[doc = $doc]
                pub fn $name(self, value: impl Into<V>) -> Filter<E> {
                    self.compare(CmpOp::$op, value.into().into_value())
                }
            )*

            fn compare(self, op: CmpOp, value: Value) -> Filter<E> {
                Filter::from_condition(match (op, value) {
                    (CmpOp::Eq, Value::Null) => Condition::IsNull { column: self.name, negated: false },
                    (CmpOp::Ne, Value::Null) => Condition::IsNull { column: self.name, negated: true },
                    (op, value) => Condition::Compare { column: self.name, op, value },
                })
            }

            /// `IN (values)`.
            pub fn is_in<I: IntoIterator<Item = T>, T: Into<V>>(self, values: I) -> Filter<E> {
                Filter::from_condition(Condition::In {
                    column: self.name,
                    values: values.into_iter().map(|v| v.into().into_value()).collect(),
                    negated: false,
                })
            }

            /// `NOT IN (values)`.
            pub fn not_in<I: IntoIterator<Item = T>, T: Into<V>>(self, values: I) -> Filter<E> {
                Filter::from_condition(Condition::In {
                    column: self.name,
                    values: values.into_iter().map(|v| v.into().into_value()).collect(),
                    negated: true,
                })
            }

            /// `LIKE pattern` (the pattern is bound, `%` and `_` are wildcards).
            pub fn like(self, pattern: &str) -> Filter<E> {
                Filter::from_condition(Condition::Compare {
                    column: self.name,
                    op: CmpOp::Like,
                    value: Value::Text(pattern.to_owned()),
                })
            }
        }
    };
}
comparisons!(
    eq => Eq, "`= value` (`IS NULL` for `None`).";
    ne => Ne, "`<> value` (`IS NOT NULL` for `None`).";
    lt => Lt, "`< value`.";
    lte => Lte, "`<= value`.";
    gt => Gt, "`> value`.";
    gte => Gte, "`>= value`.";
);

#[cfg(test)]
mod tests {
    use super::*;
    struct U;
    const AGE: Column<U, Option<i32>> = Column::new("age", 3);

    #[test]
    fn none_becomes_is_null() {
        assert_eq!(
            AGE.eq(None).into_condition(),
            Condition::IsNull {
                column: "age",
                negated: false
            }
        );
        assert_eq!(
            AGE.gt(3).into_condition(),
            Condition::Compare {
                column: "age",
                op: CmpOp::Gt,
                value: Value::I32(3)
            }
        );
    }

    #[test]
    fn and_flattens() {
        let f = AGE.gt(1).and(AGE.lt(5)).and(AGE.ne(3));
        assert!(matches!(f.into_condition(), Condition::And(v) if v.len() == 3));
        let f = Filter::<U>::all().and(AGE.gt(1));
        assert!(matches!(f.into_condition(), Condition::Compare { .. }));
    }
}
