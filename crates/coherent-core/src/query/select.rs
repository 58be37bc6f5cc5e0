//! [`SelectQuery`]: a select of typed values (a projection) from rows of one entity, with its
//! filter, grouping, `having`, order and page, untyped, as the SQL renderer reads it; and its
//! checks.
//!
//! Policy: everything that would make the database refuse the statement, or (worse) answer
//! something else on one backend than on another, is refused before any SQL with
//! [`Error::InvalidQuery`]:
//! - an aggregate in the `filter` (a WHERE filters rows, not groups: compare it in `having`);
//! - a `having` without a `group_by` (a `having` filters groups; without groups there is
//!   nothing to filter but the one row of the whole table, which is what `filter` is for);
//! - a relation condition (`is`, `any`, ..) in a `having`, or a plain column condition there
//!   on a column that is not grouped;
//! - with a `group_by` or an aggregate, a plain column selected or sorted by that is not
//!   grouped (PostgreSQL refuses it; MariaDB and SQLite would answer with the value of any
//!   row of the group). A column of an entity whose key is grouped counts as grouped (it
//!   has one value per group; PostgreSQL accepts it as functionally dependent).

use crate::error::{Error, Result};
use crate::meta::EntityMeta;
use crate::query::condition::{Clause, Condition, SelectExpr};
use crate::query::order::{Order, Path};

/// A select of values from rows of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectQuery {
    /// What each row returns, in order.
    pub items: Vec<SelectExpr>,
    /// The rows taken (a WHERE; no aggregate).
    pub filter: Condition,
    /// The grouping keys (plain columns).
    pub group_by: Vec<SelectExpr>,
    /// The groups kept (a HAVING).
    pub having: Option<Condition>,
    /// Sort keys: columns or aggregates.
    pub order_by: Vec<Order>,
    /// At most this many rows.
    pub limit: Option<u64>,
    /// Skip this many rows.
    pub offset: Option<u64>,
}

impl SelectQuery {
    /// A select of `items` from every row.
    pub fn new(items: Vec<SelectExpr>) -> SelectQuery {
        SelectQuery {
            items,
            filter: Condition::All,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
        }
    }

    /// Whether the rows are grouped: a `group_by`, or an aggregate anywhere (the whole
    /// table is then one group).
    pub fn is_aggregating(&self) -> bool {
        !self.group_by.is_empty()
            || self.having.is_some()
            || self.items.iter().any(SelectExpr::is_aggregate)
            || self.order_by.iter().any(|o| o.function().is_some())
    }

    /// Every to-one path the items, the grouping keys and the `having`'s aggregates follow
    /// (the filter's and the orders' are planned from them).
    pub fn paths(&self) -> Vec<Path> {
        let mut out: Vec<Path> = self
            .items
            .iter()
            .chain(&self.group_by)
            .map(|e| e.path)
            .filter(|p| !p.is_empty())
            .collect();
        if let Some(having) = &self.having {
            having_paths(having, &mut out);
        }
        out
    }

    /// Checks the select against `meta` (the entity its rows are of) before any SQL: see the
    /// module's policy. [`Error::InvalidQuery`] (or [`Error::InvalidArgument`] for an order
    /// that names another entity's or a missing column, as for entity queries).
    ///
    /// ```
    /// # use coherent_core::{ColumnMeta, ColumnType, EntityMeta, Error, Path, SelectExpr};
    /// # use coherent_core::query::select::SelectQuery;
    /// # static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("title", ColumnType::Text)];
    /// # static META: EntityMeta = EntityMeta { name: "Book", table: "books", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
    /// let title = SelectExpr::plain(Path::EMPTY, "title");
    /// let q = SelectQuery::new(vec![title, SelectExpr::COUNT_ROWS]);
    /// assert!(matches!(q.check(&META), Err(Error::InvalidQuery(m)) if m.contains("not grouped")));
    /// let q = SelectQuery { group_by: vec![title], ..q };
    /// assert!(q.check(&META).is_ok());
    /// ```
    pub fn check(&self, meta: &'static EntityMeta) -> Result<()> {
        if self.items.is_empty() {
            return Err(Error::InvalidQuery(format!(
                "a select of {} needs at least one item",
                meta.name
            )));
        }
        self.filter.check(meta, Clause::Where)?;
        for item in &self.items {
            item.check(meta)?;
        }
        for key in &self.group_by {
            if key.is_aggregate() {
                return Err(Error::InvalidQuery(format!(
                    "a select of {} cannot be grouped by the aggregate {key}",
                    meta.name
                )));
            }
            key.check(meta)?;
        }
        for order in &self.order_by {
            order.check_select(meta)?;
        }
        if let Some(having) = &self.having {
            if self.group_by.is_empty() {
                return Err(Error::InvalidQuery(format!(
                    "`having` needs a `group_by`: a select of {} without groups filters its \
                     rows with `filter`",
                    meta.name
                )));
            }
            having.check(meta, Clause::Having)?;
            self.check_having(meta, having)?;
        }
        if self.is_aggregating() {
            let plain = self
                .items
                .iter()
                .map(|e| (*e, "selected"))
                .chain(self.order_by.iter().map(|o| (o.select_expr(), "sorted by")));
            for (expr, how) in plain.filter(|(e, _)| !e.is_aggregate()) {
                if !self.is_grouped(meta, expr.path, expr.column)? {
                    return Err(Error::InvalidQuery(format!(
                        "{expr} of {} is {how} beside aggregates but not grouped: add it to \
                         `group_by` (PostgreSQL would refuse it; MariaDB and SQLite would \
                         answer with any row's value)",
                        meta.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether column `column` at the end of `path` has one value per group: it is a
    /// grouping key, or the key of its entity is.
    fn is_grouped(&self, meta: &'static EntityMeta, path: Path, column: &str) -> Result<bool> {
        let owner = path.resolve(meta)?;
        let key = owner.pk().name;
        Ok(self
            .group_by
            .iter()
            .any(|g| g.path == path && (g.column == column || g.column == key)))
    }

    /// A `having`'s plain conditions name grouped columns of the root only; relation
    /// conditions belong in the filter.
    fn check_having(&self, meta: &'static EntityMeta, condition: &Condition) -> Result<()> {
        let grouped = |column: &'static str| -> Result<()> {
            if self.is_grouped(meta, Path::EMPTY, column)? {
                Ok(())
            } else {
                Err(Error::InvalidQuery(format!(
                    "`having` compares {}.{column}, which is not grouped: filter rows with \
                     `filter`, or group by it",
                    meta.name
                )))
            }
        };
        match condition {
            Condition::All | Condition::Raw { .. } | Condition::Aggregate { .. } => Ok(()),
            Condition::Compare { column, .. }
            | Condition::Between { column, .. }
            | Condition::Like { column, .. }
            | Condition::In { column, .. }
            | Condition::IsNull { column, .. } => grouped(column),
            Condition::Columns { left, right, .. } => grouped(left).and_then(|_| grouped(right)),
            Condition::Related { .. } | Condition::Collection { .. } => {
                Err(Error::InvalidQuery(format!(
                    "a relation condition in the `having` of a select of {}: filter rows \
                     through relations with `filter`",
                    meta.name
                )))
            }
            Condition::And(parts) | Condition::Or(parts) => {
                parts.iter().try_for_each(|p| self.check_having(meta, p))
            }
            Condition::Not(inner) => self.check_having(meta, inner),
        }
    }
}

fn having_paths(condition: &Condition, out: &mut Vec<Path>) {
    match condition {
        Condition::Aggregate { expr, .. } if !expr.path.is_empty() => out.push(expr.path),
        Condition::And(parts) | Condition::Or(parts) => {
            parts.iter().for_each(|p| having_paths(p, out));
        }
        Condition::Not(inner) => having_paths(inner, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use crate::query::condition::{AggregateFn, CmpOp};

    use crate::query::fixtures::BOOK;

    fn col(path: Path, c: &'static str) -> SelectExpr {
        SelectExpr::plain(path, c)
    }

    fn invalid(q: &SelectQuery, needle: &str) -> bool {
        matches!(q.check(&BOOK), Err(Error::InvalidQuery(m)) if m.contains(needle))
    }

    #[test]
    fn grouping_rules() {
        let author = Path::EMPTY.push("author_id");
        let sum = SelectExpr {
            function: Some(AggregateFn::Sum),
            path: Path::EMPTY,
            column: "pages",
        };
        // Aggregates only: one group, fine.
        assert!(
            SelectQuery::new(vec![sum, SelectExpr::COUNT_ROWS])
                .check(&BOOK)
                .is_ok()
        );
        // A plain column beside an aggregate, ungrouped.
        let q = SelectQuery::new(vec![col(author, "name"), sum]);
        assert!(invalid(&q, "author_id.name of Book is selected"));
        // Grouped by the author's key: the author's name has one value per group.
        let by_key = SelectQuery {
            group_by: vec![col(author, "id")],
            ..q.clone()
        };
        assert!(by_key.check(&BOOK).is_ok());
        // Grouped by the reference column of the root is another expression.
        let by_fk = SelectQuery {
            group_by: vec![col(Path::EMPTY, "author_id")],
            ..q
        };
        assert!(invalid(&by_fk, "not grouped"));
        // Sorting by an ungrouped column.
        let sorted = SelectQuery {
            items: vec![col(Path::EMPTY, "author_id"), sum],
            group_by: vec![col(Path::EMPTY, "author_id")],
            order_by: vec![Order::through("Book", Path::EMPTY, "pages")],
            ..SelectQuery::new(vec![])
        };
        assert!(invalid(&sorted, "sorted by"));
        // No item, an aggregate as a key.
        assert!(invalid(&SelectQuery::new(vec![]), "at least one"));
        let by_sum = SelectQuery {
            group_by: vec![sum],
            ..SelectQuery::new(vec![sum])
        };
        assert!(invalid(&by_sum, "grouped by the aggregate"));
    }

    #[test]
    fn having_rules() {
        let count_gt = Condition::Aggregate {
            expr: SelectExpr::COUNT_ROWS,
            op: CmpOp::Gt,
            value: Value::I64(1),
        };
        let q = SelectQuery {
            having: Some(count_gt.clone()),
            ..SelectQuery::new(vec![SelectExpr::COUNT_ROWS])
        };
        assert!(invalid(&q, "`having` needs a `group_by`"));
        let grouped = SelectQuery {
            group_by: vec![col(Path::EMPTY, "author_id")],
            ..q
        };
        assert!(grouped.check(&BOOK).is_ok());
        let on_pages = SelectQuery {
            having: Some(Condition::And(vec![
                count_gt,
                Condition::Compare {
                    column: "pages",
                    op: CmpOp::Gt,
                    value: Value::I32(1),
                },
            ])),
            ..grouped.clone()
        };
        assert!(invalid(&on_pages, "Book.pages, which is not grouped"));
        let related = SelectQuery {
            having: Some(Condition::Related {
                column: "author_id",
                condition: Box::new(Condition::All),
            }),
            ..grouped
        };
        assert!(invalid(&related, "relation condition"));
        // An aggregate in the filter.
        let in_where = SelectQuery {
            filter: Condition::Aggregate {
                expr: SelectExpr::COUNT_ROWS,
                op: CmpOp::Gt,
                value: Value::I64(1),
            },
            ..SelectQuery::new(vec![SelectExpr::COUNT_ROWS])
        };
        assert!(invalid(&in_where, "compare it in `having`"));
    }

    #[test]
    fn paths_of_items_keys_and_having() {
        let author = Path::EMPTY.push("author_id");
        let q = SelectQuery {
            group_by: vec![col(author, "id")],
            having: Some(Condition::Not(Box::new(Condition::Aggregate {
                expr: SelectExpr {
                    function: Some(AggregateFn::Max),
                    path: author,
                    column: "name",
                },
                op: CmpOp::Eq,
                value: Value::Null,
            }))),
            ..SelectQuery::new(vec![SelectExpr::COUNT_ROWS])
        };
        assert_eq!(q.paths(), vec![author, author]);
    }
}
