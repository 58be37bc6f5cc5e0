//! [`Filter`]: a typed condition on rows of one entity.
//!
//! Policy: a filter is typed by its entity. `#[derive(Entity)]` generates one
//! [`Column`](crate::Column) constant per field (`User::NAME`), and comparing one gives a
//! `Filter<User>`, so `find::<Post>(User::NAME.eq("Jon"))` does not compile. Filters combine
//! with [`Filter::and`], [`Filter::or`] and [`Filter::not`] (or `&`, `|`, `!`). Every value is
//! bound as a parameter by the renderer; none is ever spliced into SQL text, and a raw
//! fragment ([`Filter::raw`]) brings its parameters with it.

use crate::query::condition::Condition;
use crate::value::Value;
use std::marker::PhantomData;

/// A condition on rows of entity `E`.
///
/// ```
/// use coherent_core::{Column, Filter, Condition};
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

    /// A raw SQL fragment with `?` placeholders, one per parameter on every backend (`??` is
    /// a literal `?`), bound in order. The fragment is inserted as written, in parentheses;
    /// its columns are the queried table's (a query with relation paths qualifies its own
    /// columns with table aliases, so name columns unambiguously there). A fragment whose
    /// placeholders do not match its parameters is refused before any SQL
    /// ([`Error::InvalidQuery`](crate::Error::InvalidQuery)).
    ///
    /// ```
    /// use coherent_core::{Condition, Filter, Value};
    /// struct User;
    /// let f: Filter<User> = Filter::raw("lower(email) = ?", ["ann@example.com"]);
    /// assert!(matches!(f.condition(), Condition::Raw { params, .. } if params == &[Value::from("ann@example.com")]));
    /// ```
    pub fn raw<V: Into<Value>>(
        sql: impl Into<std::sync::Arc<str>>,
        params: impl IntoIterator<Item = V>,
    ) -> Self {
        Filter::from_condition(Condition::Raw {
            sql: sql.into(),
            params: params.into_iter().map(Into::into).collect(),
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
/// # use coherent_core::{Column, Filter};
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
/// # use coherent_core::{Column, Filter};
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
/// # use coherent_core::{Column, Filter};
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

#[cfg(test)]
mod tests {
    use crate::Filter;
    use crate::query::column::Column;
    use crate::query::condition::Condition;
    struct U;
    const AGE: Column<U, Option<i32>> = Column::new("age", 3);

    #[test]
    fn and_flattens() {
        let f = AGE.gt(1).and(AGE.lt(5)).and(AGE.ne(3));
        assert!(matches!(f.into_condition(), Condition::And(v) if v.len() == 3));
        let f = Filter::<U>::all().and(AGE.gt(1));
        assert!(matches!(f.into_condition(), Condition::Compare { .. }));
    }
}
