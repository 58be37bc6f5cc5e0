//! Sort keys ([`Order`]) and paths through to-one references ([`Path`]).
//!
//! Policy:
//! - An order names a column from the entity's metadata, never a string from the caller:
//!   typed handles (`User::NAME.asc()`) or [`Order::by_name`], which refuses a name that is
//!   not a column.
//! - An order may sort by a related entity's column through to-one references
//!   (`Book::AUTHOR.then(Author::NAME).asc()`): the query joins the referenced table (a LEFT
//!   JOIN, so rows without the reference are kept; they sort as NULL).
//! - NULLs sort where the database puts them unless [`Order::nulls_first`] or
//!   [`Order::nulls_last`] says otherwise; then they sort there on every backend (native
//!   `NULLS FIRST`/`LAST` on PostgreSQL and SQLite, emulated with `IS NULL` keys on MySQL).
//! - An order may sort by an aggregate (`count_all::<Book>().desc()`,
//!   [`crate::query::aggregate`]): only a grouped select takes it; an entity query refuses it
//!   before any SQL ([`Order::check`]).

use crate::error::{Error, Result};
use crate::meta::EntityMeta;
use crate::query::condition::{AggregateFn, SelectExpr};

/// The most to-one references a [`Path`] follows.
pub const MAX_PATH: usize = 4;

/// The reference columns followed from a query's entity to the entity that holds a column:
/// empty for the entity's own columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    steps: [&'static str; MAX_PATH],
    len: u8,
}

impl Path {
    /// No step: the entity's own columns.
    pub const EMPTY: Path = Path {
        steps: [""; MAX_PATH],
        len: 0,
    };

    /// This path followed by reference column `column` (panics past [`MAX_PATH`] steps,
    /// which typed handles reach only by chaining that many `then`s).
    pub const fn push(self, column: &'static str) -> Path {
        assert!(
            (self.len as usize) < MAX_PATH,
            "a path follows at most MAX_PATH references"
        );
        let mut steps = self.steps;
        steps[self.len as usize] = column;
        Path {
            steps,
            len: self.len + 1,
        }
    }

    /// `prefix` followed by this path.
    pub const fn after(self, prefix: Path) -> Path {
        let mut out = prefix;
        let mut i = 0;
        while i < self.len as usize {
            out = out.push(self.steps[i]);
            i += 1;
        }
        out
    }

    /// The reference columns, in order.
    pub fn steps(&self) -> &[&'static str] {
        &self.steps[..self.len as usize]
    }

    /// Whether the path has no step.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entity the path leads to from `meta`: [`Error::InvalidQuery`] if a step is not a
    /// reference column.
    pub fn resolve(&self, meta: &'static EntityMeta) -> Result<&'static EntityMeta> {
        let mut at = meta;
        for step in self.steps() {
            let target = at
                .column_index(step)
                .and_then(|i| at.columns[i].references)
                .ok_or_else(|| {
                    Error::InvalidQuery(format!(
                        "{step:?} is not a reference column of {}",
                        at.name
                    ))
                })?;
            at = (target.meta)();
        }
        Ok(at)
    }
}

/// Where NULLs sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nulls {
    /// Before every value.
    First,
    /// After every value.
    Last,
}

/// A sort key: a column of one entity (or of an entity it references), ascending or
/// descending, with NULLs where the database puts them or where asked.
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
/// let newest_first = Order::by_name::<User>("created_at")?.desc().nulls_last();
/// assert!(newest_first.is_descending());
/// assert!(matches!(Order::by_name::<User>("nonexistent"), Err(Error::InvalidArgument(_))));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    entity: &'static str,
    function: Option<AggregateFn>,
    path: Path,
    column: &'static str,
    descending: bool,
    nulls: Option<Nulls>,
}

impl Order {
    /// Ascending order by column `index` of `meta` (panics if there is no such column).
    pub const fn of(meta: &EntityMeta, index: usize) -> Order {
        Order {
            entity: meta.name,
            function: None,
            path: Path::EMPTY,
            column: meta.columns[index].name,
            descending: false,
            nulls: None,
        }
    }

    /// Ascending order by column `column` of the entity `path` leads to from `root` (an
    /// entity named `entity`). Typed handles build these
    /// (`Book::AUTHOR.then(Author::NAME).asc()`).
    pub const fn through(entity: &'static str, path: Path, column: &'static str) -> Order {
        Order {
            entity,
            function: None,
            path,
            column,
            descending: false,
            nulls: None,
        }
    }

    /// Ascending order by `expr` (a column or an aggregate) of a select of the entity named
    /// `entity`. Typed handles build these (`Book::PAGES.sum().desc()`).
    pub const fn by_expr(entity: &'static str, expr: SelectExpr) -> Order {
        Order {
            entity,
            function: expr.function,
            path: expr.path,
            column: expr.column,
            descending: false,
            nulls: None,
        }
    }

    /// Ascending order by the column of `E` named `name` (its Rust field name or its column
    /// name); a name that is neither is [`Error::InvalidArgument`].
    pub fn by_name<E: crate::Entity>(name: &str) -> Result<Order> {
        let meta = E::META;
        meta.columns
            .iter()
            .position(|c| c.field == name || c.name == name)
            .map(|i| Order::of(meta, i))
            .ok_or_else(|| {
                let known: Vec<&str> = meta.columns.iter().map(|c| c.field).collect();
                Error::InvalidArgument(format!(
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

    /// NULLs before every value, on every backend.
    pub const fn nulls_first(self) -> Order {
        Order {
            nulls: Some(Nulls::First),
            ..self
        }
    }

    /// NULLs after every value, on every backend.
    pub const fn nulls_last(self) -> Order {
        Order {
            nulls: Some(Nulls::Last),
            ..self
        }
    }

    /// The entity whose rows this order sorts (its name).
    pub const fn entity(&self) -> &'static str {
        self.entity
    }

    /// The reference columns followed to the column's entity (empty for an own column).
    pub const fn path(&self) -> Path {
        self.path
    }

    /// The column name (empty for `COUNT(*)`).
    pub const fn column(&self) -> &'static str {
        self.column
    }

    /// The aggregate sorted by, if the order is by an aggregate.
    pub const fn function(&self) -> Option<AggregateFn> {
        self.function
    }

    /// What the order sorts by, as a select expression.
    pub const fn select_expr(&self) -> SelectExpr {
        SelectExpr {
            function: self.function,
            path: self.path,
            column: self.column,
        }
    }

    /// Whether the order is descending.
    pub const fn is_descending(&self) -> bool {
        self.descending
    }

    /// Where NULLs were asked to sort (None: where the database puts them).
    pub const fn nulls(&self) -> Option<Nulls> {
        self.nulls
    }

    /// Checks that this order sorts rows of `E` by a column that exists:
    /// [`Error::InvalidArgument`] otherwise (an aggregate too: rows of an entity are not
    /// groups).
    pub fn check<E: crate::Entity>(&self) -> Result<()> {
        self.check_meta(E::META)
    }

    /// [`Order::check`] for the entity `meta` describes.
    pub fn check_meta(&self, meta: &'static EntityMeta) -> Result<()> {
        if self.function.is_some() {
            return Err(Error::InvalidArgument(format!(
                "a query of {} cannot be ordered by the aggregate {}: only a select with \
                 `group_by` (or of aggregates only) sorts by aggregates",
                meta.name,
                self.select_expr()
            )));
        }
        self.check_select(meta)
    }

    /// Checks that this order sorts a select of `meta` by a column or aggregate that
    /// exists: [`Error::InvalidArgument`] otherwise.
    pub fn check_select(&self, meta: &'static EntityMeta) -> Result<()> {
        let refused = || {
            Error::InvalidArgument(format!(
                "a query of {} cannot be ordered by {}.{}",
                meta.name,
                self.entity,
                self.select_expr()
            ))
        };
        if self.entity != meta.name {
            return Err(refused());
        }
        if self.function == Some(AggregateFn::CountRows) {
            return self.path.resolve(meta).map(drop).map_err(|_| refused());
        }
        let owner = self.path.resolve(meta).map_err(|_| refused())?;
        if owner.column_index(self.column).is_some() {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::query::fixtures::{AUTHOR, BOOK};

    #[test]
    fn paths_resolve_through_references_only() {
        let by_author = Order::through("Book", Path::EMPTY.push("author_id"), "name");
        assert!(by_author.check_meta(&BOOK).is_ok());
        assert!(
            Order::through("Book", Path::EMPTY.push("author_id"), "title")
                .check_meta(&BOOK)
                .is_err()
        );
        assert!(
            Order::through("Book", Path::EMPTY.push("id"), "name")
                .check_meta(&BOOK)
                .is_err()
        );
        assert!(by_author.check_meta(&AUTHOR).is_err());
        let p = Path::EMPTY.push("a").after(Path::EMPTY.push("x"));
        assert_eq!(p.steps(), ["x", "a"]);
    }
}
