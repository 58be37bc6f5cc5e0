//! [`Column`]: the typed handle of one column, and the conditions and orders made from it.
//!
//! Policy: a handle is typed by its entity `E` and its field type `V`, so a comparison takes
//! a value of the field's type (`User::AGE.gt(18)`), two columns compare only with the same
//! type (`Post::UPDATED_AT.gt_column(Post::CREATED_AT)`), and the text operators
//! (`like`, `ilike`, `starts_with`..) exist on every column but bind text.
//! `starts_with`, `ends_with` and `contains` match their argument literally: its `%`, `_`
//! and `\` are escaped ([`crate::query::pattern`]).

use crate::field_type::{FieldType, NotNull};
use crate::query::condition::{CmpOp, Condition};
use crate::query::filter::Filter;
use crate::query::order::Order;
use crate::query::pattern;
use crate::value::Value;
use std::marker::PhantomData;

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

impl<E, V> std::fmt::Debug for Column<E, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column").field("name", &self.name).finish()
    }
}

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

    /// The same column seen as nullable, to compare it with a nullable column
    /// (`a.eq_column(b.nullable())`).
    pub const fn nullable(self) -> Column<E, Option<V>>
    where
        V: NotNull,
    {
        Column::new(self.name, self.index)
    }

    fn pattern(self, pattern: String, ignore_case: bool) -> Filter<E> {
        Filter::from_condition(Condition::Like {
            column: self.name,
            pattern,
            ignore_case,
        })
    }

    /// `LIKE pattern`, case-sensitive on every backend: `%` and `_` are wildcards, every
    /// other character (`\` included) is literal.
    ///
    /// ```
    /// # use coherent_core::{Column, Condition};
    /// # struct User;
    /// # const NAME: Column<User, String> = Column::new("name", 1);
    /// assert!(matches!(NAME.like(r"a\%").into_condition(), Condition::Like { pattern, ignore_case: false, .. } if pattern == r"a\\%"));
    /// ```
    pub fn like(self, pattern: &str) -> Filter<E> {
        self.pattern(pattern::wildcards(pattern), false)
    }

    /// `LIKE pattern`, ignoring case (`ILIKE` on PostgreSQL, `LOWER(..) LIKE LOWER(..)`
    /// elsewhere; SQLite folds ASCII letters only).
    pub fn ilike(self, pattern: &str) -> Filter<E> {
        self.pattern(pattern::wildcards(pattern), true)
    }

    /// Starts with `prefix`, taken literally (its `%`, `_` and `\` are escaped).
    ///
    /// ```
    /// # use coherent_core::{Column, Condition};
    /// # struct User;
    /// # const NAME: Column<User, String> = Column::new("name", 1);
    /// assert!(matches!(NAME.starts_with("50%").into_condition(), Condition::Like { pattern, .. } if pattern == r"50\%%"));
    /// ```
    pub fn starts_with(self, prefix: &str) -> Filter<E> {
        self.pattern(format!("{}%", pattern::literal(prefix)), false)
    }

    /// Ends with `suffix`, taken literally.
    pub fn ends_with(self, suffix: &str) -> Filter<E> {
        self.pattern(format!("%{}", pattern::literal(suffix)), false)
    }

    /// Contains `text`, taken literally.
    pub fn contains(self, text: &str) -> Filter<E> {
        self.pattern(format!("%{}%", pattern::literal(text)), false)
    }

    /// Contains `text`, taken literally, ignoring case.
    pub fn icontains(self, text: &str) -> Filter<E> {
        self.pattern(format!("%{}%", pattern::literal(text)), true)
    }
}

macro_rules! comparisons {
    ($($name:ident, $column_name:ident => $op:ident, $doc:literal);* $(;)?) => {
        impl<E, V: FieldType> Column<E, V> {
            $(
                #[doc = concat!("`", $doc, " value`")]
                pub fn $name(self, value: impl Into<V>) -> Filter<E> {
                    self.compare(CmpOp::$op, value.into().into_value())
                }

                #[doc = concat!("`column ", $doc, " other`: two columns of the same row.")]
                pub fn $column_name(self, other: Column<E, V>) -> Filter<E> {
                    Filter::from_condition(Condition::Columns {
                        left: self.name,
                        op: CmpOp::$op,
                        right: other.name,
                    })
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

            /// `BETWEEN low AND high`, both ends included.
            ///
            /// ```
            /// # use coherent_core::{Column, Condition, Value};
            /// # struct User;
            /// # const AGE: Column<User, i32> = Column::new("age", 2);
            /// assert!(matches!(AGE.between(18, 65).into_condition(), Condition::Between { low: Value::I32(18), high: Value::I32(65), negated: false, .. }));
            /// ```
            pub fn between(self, low: impl Into<V>, high: impl Into<V>) -> Filter<E> {
                Filter::from_condition(Condition::Between {
                    column: self.name,
                    low: low.into().into_value(),
                    high: high.into().into_value(),
                    negated: false,
                })
            }

            /// `NOT BETWEEN low AND high`.
            pub fn not_between(self, low: impl Into<V>, high: impl Into<V>) -> Filter<E> {
                Filter::from_condition(Condition::Between {
                    column: self.name,
                    low: low.into().into_value(),
                    high: high.into().into_value(),
                    negated: true,
                })
            }
        }
    };
}
comparisons!(
    eq, eq_column => Eq, "=";
    ne, ne_column => Ne, "<>";
    lt, lt_column => Lt, "<";
    lte, lte_column => Lte, "<=";
    gt, gt_column => Gt, ">";
    gte, gte_column => Gte, ">=";
);

#[cfg(test)]
mod tests {
    use super::*;
    struct U;
    const AGE: Column<U, Option<i32>> = Column::new("age", 3);
    const SIZE: Column<U, i32> = Column::new("size", 4);

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
    fn columns_compare_with_columns_of_their_type() {
        assert_eq!(
            AGE.lt_column(SIZE.nullable()).into_condition(),
            Condition::Columns {
                left: "age",
                op: CmpOp::Lt,
                right: "size"
            }
        );
    }

    #[test]
    fn literal_matches_escape_every_wildcard() {
        let c = SIZE.ends_with(r"_\").into_condition();
        assert!(matches!(c, Condition::Like { pattern, .. } if pattern == r"%\_\\"));
        let c = SIZE.icontains("a%").into_condition();
        assert!(
            matches!(c, Condition::Like { pattern, ignore_case: true, .. } if pattern == r"%a\%%")
        );
    }
}
