//! [`Condition`]: the untyped condition tree the SQL renderer reads, and its checks.
//!
//! Policy:
//! - **Columns by name, entities by position in the tree.** A condition's columns belong to
//!   the entity the tree is about; [`Condition::Related`] and [`Condition::Collection`] switch
//!   to the related entity for their inner condition, so a tree is typed by the
//!   [`Filter`](crate::Filter) it came from and needs no entity names inside.
//! - **Values are bound**, never spliced: every [`Value`] becomes a parameter, and a raw
//!   fragment ([`Condition::Raw`]) brings its own parameters.
//! - **Checked before SQL** ([`Condition::check`]): a raw fragment whose `?` count does not
//!   match its parameters, or an aggregate in a WHERE, is [`Error::InvalidQuery`] before any
//!   statement is rendered.

use crate::error::{Error, Result};
use crate::meta::EntityMeta;
use crate::value::Value;
use std::sync::Arc;

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
}

/// How a condition on a to-many relation's items is quantified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// At least one item matches: `EXISTS (..)`.
    Any,
    /// No item matches: `NOT EXISTS (..)`.
    None,
    /// Every item matches (vacuously true without items): `NOT EXISTS (.. AND (c) IS NOT
    /// TRUE)`, so an item for which the condition is unknown (NULL) does not match.
    All,
}

/// An aggregate function over a column (or over rows, for `COUNT(*)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFn {
    /// `COUNT(*)`: rows.
    CountRows,
    /// `COUNT(column)`: non-NULL values.
    Count,
    /// `COUNT(DISTINCT column)`.
    CountDistinct,
    /// `SUM(column)`.
    Sum,
    /// `AVG(column)`.
    Avg,
    /// `MIN(column)`.
    Min,
    /// `MAX(column)`.
    Max,
}

/// A value a projection selects, or a `HAVING` compares: a column of the queried entity
/// (through to-one references when `path` is not empty), or an aggregate of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SelectExpr {
    /// The aggregate applied, if any.
    pub function: Option<AggregateFn>,
    /// The reference columns followed from the queried entity, in order.
    pub path: crate::query::order::Path,
    /// The column (ignored by `COUNT(*)`).
    pub column: &'static str,
}

impl SelectExpr {
    /// A column of the queried entity, through `path`.
    pub const fn plain(path: crate::query::order::Path, column: &'static str) -> SelectExpr {
        SelectExpr {
            function: None,
            path,
            column,
        }
    }

    /// `COUNT(*)`.
    pub const COUNT_ROWS: SelectExpr = SelectExpr {
        function: Some(AggregateFn::CountRows),
        path: crate::query::order::Path::EMPTY,
        column: "",
    };

    /// Whether this is an aggregate.
    pub const fn is_aggregate(&self) -> bool {
        self.function.is_some()
    }

    /// The entity holding the column, from the queried entity `meta`, after checking that
    /// the path follows reference columns and the column exists: [`Error::InvalidQuery`]
    /// otherwise.
    pub fn check(&self, meta: &'static EntityMeta) -> Result<&'static EntityMeta> {
        let owner = self.path.resolve(meta)?;
        if self.function == Some(AggregateFn::CountRows)
            || owner.column_index(self.column).is_some()
        {
            Ok(owner)
        } else {
            Err(Error::InvalidQuery(format!(
                "{:?} is not a column of {}",
                self.column, owner.name
            )))
        }
    }
}

impl AggregateFn {
    /// The function's SQL name, lower case.
    pub const fn name(self) -> &'static str {
        match self {
            AggregateFn::CountRows | AggregateFn::Count | AggregateFn::CountDistinct => "count",
            AggregateFn::Sum => "sum",
            AggregateFn::Avg => "avg",
            AggregateFn::Min => "min",
            AggregateFn::Max => "max",
        }
    }
}

/// `author_id.name`, `max(pages)`, `count(distinct author_id)`, `count(*)`: the reference
/// columns followed, then the column, inside its aggregate.
///
/// ```
/// use coherent_core::{AggregateFn, Path, SelectExpr};
/// let e = SelectExpr { function: Some(AggregateFn::Max), path: Path::EMPTY.push("author_id"), column: "born" };
/// assert_eq!(e.to_string(), "max(author_id.born)");
/// assert_eq!(SelectExpr::COUNT_ROWS.to_string(), "count(*)");
/// ```
impl std::fmt::Display for SelectExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let column = |f: &mut std::fmt::Formatter<'_>| {
            for step in self.path.steps() {
                write!(f, "{step}.")?;
            }
            f.write_str(self.column)
        };
        match self.function {
            None => column(f),
            Some(AggregateFn::CountRows) => f.write_str("count(*)"),
            Some(function) => {
                write!(f, "{}(", function.name())?;
                if function == AggregateFn::CountDistinct {
                    f.write_str("distinct ")?;
                }
                column(f)?;
                f.write_str(")")
            }
        }
    }
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
    /// `left <op> right`: two columns of the same row.
    Columns {
        /// The left column.
        left: &'static str,
        /// Operator.
        op: CmpOp,
        /// The right column.
        right: &'static str,
    },
    /// `column [NOT] BETWEEN low AND high` (both ends included).
    Between {
        /// Column name.
        column: &'static str,
        /// The low end.
        low: Value,
        /// The high end.
        high: Value,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `column LIKE pattern`, case-sensitive, or ignoring case. The pattern's wildcards are
    /// `%` and `_`; `\` escapes the next character (`\%`, `\_`, `\\`), see
    /// [`crate::query::pattern`].
    Like {
        /// Column name.
        column: &'static str,
        /// The pattern, `\`-escaped.
        pattern: String,
        /// Ignore case (`ILIKE` on PostgreSQL, `LOWER(..) LIKE LOWER(..)` elsewhere).
        ignore_case: bool,
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
    /// A raw SQL fragment with `?` placeholders (one per parameter, on every backend; `??` is
    /// a literal `?`), inserted as written.
    Raw {
        /// The fragment.
        sql: Arc<str>,
        /// Its parameters, in placeholder order.
        params: Vec<Value>,
    },
    /// The entity the reference column `column` points at matches `condition` (to-one: a
    /// join). A row whose reference is NULL does not match.
    Related {
        /// The reference (foreign-key) column of this entity.
        column: &'static str,
        /// A condition on the referenced entity.
        condition: Box<Condition>,
    },
    /// The items of the to-many relation field `relation` match `condition`, as
    /// `quantifier` says (an `EXISTS` subquery).
    Collection {
        /// The relation (collection) field of this entity.
        relation: &'static str,
        /// Any, none or all items.
        quantifier: Quantifier,
        /// A condition on the items.
        condition: Box<Condition>,
    },
    /// `aggregate <op> value`: only in a `HAVING`.
    Aggregate {
        /// The aggregate compared.
        expr: SelectExpr,
        /// Operator.
        op: CmpOp,
        /// Bound value.
        value: Value,
    },
    /// All of these.
    And(Vec<Condition>),
    /// Any of these.
    Or(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
}

/// Where a condition is used: a WHERE (on rows) or a HAVING (on groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    /// `WHERE`: no aggregate.
    Where,
    /// `HAVING`.
    Having,
}

impl Condition {
    /// Whether the tree needs more than the queried table: a relation path (a raw fragment
    /// alone does not: its columns are the table's, unqualified).
    pub fn needs_aliases(&self) -> bool {
        match self {
            Condition::Related { .. } | Condition::Collection { .. } => true,
            Condition::Aggregate { expr, .. } => !expr.path.is_empty(),
            Condition::And(parts) | Condition::Or(parts) => parts.iter().any(Self::needs_aliases),
            Condition::Not(inner) => inner.needs_aliases(),
            _ => false,
        }
    }

    /// Checks the tree against `meta` (the entity it is about) before any SQL: every column
    /// and relation exists, every raw fragment has one parameter per `?`, and an aggregate
    /// appears only in a HAVING. [`Error::InvalidQuery`] otherwise.
    ///
    /// ```
    /// # use coherent_core::{Condition, ColumnMeta, ColumnType, EntityMeta, Error};
    /// # use coherent_core::query::condition::Clause;
    /// # static COLS: [ColumnMeta; 1] = [ColumnMeta::new("id", ColumnType::BigInt)];
    /// # static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
    /// let raw = Condition::Raw { sql: "id > ? AND id < ?".into(), params: vec![1i64.into()] };
    /// assert!(matches!(raw.check(&META, Clause::Where), Err(Error::InvalidQuery(_))));
    /// ```
    pub fn check(&self, meta: &'static EntityMeta, clause: Clause) -> Result<()> {
        let column = |name: &str| -> Result<()> {
            if meta.column_index(name).is_some() {
                Ok(())
            } else {
                Err(Error::InvalidQuery(format!(
                    "{name:?} is not a column of {}",
                    meta.name
                )))
            }
        };
        match self {
            Condition::All => Ok(()),
            Condition::Compare { column: c, .. }
            | Condition::Between { column: c, .. }
            | Condition::Like { column: c, .. }
            | Condition::In { column: c, .. }
            | Condition::IsNull { column: c, .. } => column(c),
            Condition::Columns { left, right, .. } => column(left).and_then(|_| column(right)),
            Condition::Raw { sql, params } => {
                let found = crate::query::raw::count_placeholders(sql);
                if found == params.len() {
                    Ok(())
                } else {
                    Err(Error::InvalidQuery(format!(
                        "the raw SQL {sql:?} has {found} `?` placeholders but {} parameters",
                        params.len()
                    )))
                }
            }
            Condition::Related {
                column: c,
                condition,
            } => {
                let target = meta
                    .column_index(c)
                    .and_then(|i| meta.columns[i].references)
                    .ok_or_else(|| {
                        Error::InvalidQuery(format!(
                            "{c:?} is not a reference column of {}",
                            meta.name
                        ))
                    })?;
                condition.check((target.meta)(), clause)
            }
            Condition::Collection {
                relation,
                condition,
                ..
            } => {
                let r = meta.relation_index(relation).ok_or_else(|| {
                    Error::InvalidQuery(format!(
                        "{relation:?} is not a relation field of {}",
                        meta.name
                    ))
                })?;
                condition.check(meta.relations[r].target_meta(), Clause::Where)
            }
            Condition::Aggregate { expr, .. } => {
                if clause == Clause::Where {
                    return Err(Error::InvalidQuery(format!(
                        "an aggregate ({expr} of {}) cannot filter rows: compare it in `having`",
                        meta.name
                    )));
                }
                expr.check(meta).map(drop)
            }
            Condition::And(parts) | Condition::Or(parts) => {
                parts.iter().try_for_each(|p| p.check(meta, clause))
            }
            Condition::Not(inner) => inner.check(meta, clause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnMeta, ColumnType};

    static COLS: [ColumnMeta; 2] = [
        ColumnMeta::new("id", ColumnType::BigInt),
        ColumnMeta::new("name", ColumnType::Text),
    ];
    static META: EntityMeta = EntityMeta {
        name: "User",
        table: "users",
        columns: &COLS,
        primary_key: 0,
        relations: &[],
        indexes: &[],
        renamed_from: None,
    };

    #[test]
    fn check_refuses_unknown_columns_and_aggregates_in_where() {
        let unknown = Condition::IsNull {
            column: "nope",
            negated: false,
        };
        assert!(matches!(
            unknown.check(&META, Clause::Where),
            Err(Error::InvalidQuery(m)) if m.contains("nope")
        ));
        let count = Condition::Aggregate {
            expr: SelectExpr {
                function: Some(AggregateFn::CountRows),
                path: crate::query::order::Path::EMPTY,
                column: "id",
            },
            op: CmpOp::Gt,
            value: Value::I64(1),
        };
        assert!(count.check(&META, Clause::Having).is_ok());
        assert!(matches!(
            Condition::Not(Box::new(count)).check(&META, Clause::Where),
            Err(Error::InvalidQuery(m)) if m.contains("having")
        ));
        let related = Condition::Related {
            column: "name",
            condition: Box::new(Condition::All),
        };
        assert!(related.check(&META, Clause::Where).is_err());
    }
}
