//! [`Condition`] trees to sea-query expressions, every value through the statement's
//! [`RenderState`].
//!
//! Policy: comparisons compare values the way the Rust type does. On SQLite a decimal is
//! stored as exact text, which would compare as text (`'10' < '9'`); there, comparisons and
//! ordering of decimal columns go through `CAST(.. AS REAL)`: by value, exactly for up to 15
//! significant digits (SQLite has no exact numeric type to compare in). LIKE patterns are
//! rendered by [`crate::like`], raw fragments by [`crate::raw`], to-one paths through the
//! [`JoinTree`] and to-many paths as subqueries ([`crate::subquery`]).

use crate::joins::JoinTree;
use crate::render::RenderState;
use coherent_core::{CmpOp, ColumnType, Condition, Dialect, EntityMeta};
use sea_query::{Expr, ExprTrait};

/// Where a condition is rendered: the entity's columns, its table alias, the dialect, and
/// the joins of the (sub)query it belongs to.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The entity whose columns the condition names.
    pub meta: &'static EntityMeta,
    /// The dialect rendered for.
    pub dialect: Dialect,
    /// The entity's table alias, if the query has several tables: columns are qualified.
    pub alias: Option<&'a str>,
    /// The (sub)query's to-one joins.
    pub joins: Option<&'a JoinTree>,
    /// The join node this scope's table is (None: the (sub)query's root).
    pub node: Option<usize>,
}

impl<'a> Scope<'a> {
    /// The scope of a query's root table.
    pub fn root(meta: &'static EntityMeta, dialect: Dialect, alias: Option<&'a str>) -> Self {
        Scope {
            meta,
            dialect,
            alias,
            joins: None,
            node: None,
        }
    }

    /// The column, qualified by the alias if there is one.
    pub fn col(&self, column: &'static str) -> Expr {
        match self.alias {
            Some(a) => Expr::col((sea_query::Alias::new(a), column)),
            None => Expr::col(column),
        }
    }

    /// Whether `column` holds numbers as text that must be compared by value.
    fn numeric_text(&self, column: &str) -> bool {
        self.dialect == Dialect::Sqlite
            && self
                .meta
                .columns
                .iter()
                .any(|c| c.name == column && c.column_type == ColumnType::Decimal)
    }

    /// The column as compared (and sorted).
    pub fn column(&self, column: &'static str) -> Expr {
        if self.numeric_text(column) {
            self.col(column).cast_as("REAL")
        } else {
            self.col(column)
        }
    }

    /// A bound value compared with `column`.
    pub fn value(&self, column: &str, v: coherent_core::Value, state: &mut RenderState) -> Expr {
        let v = state.slots.slot(v);
        if self.numeric_text(column) {
            Expr::val(v).cast_as("REAL")
        } else {
            Expr::val(v)
        }
    }
}

/// `left <op> right`.
pub(crate) fn compare(left: Expr, op: CmpOp, right: Expr) -> Expr {
    match op {
        CmpOp::Eq => left.eq(right),
        CmpOp::Ne => left.ne(right),
        CmpOp::Lt => left.lt(right),
        CmpOp::Lte => left.lte(right),
        CmpOp::Gt => left.gt(right),
        CmpOp::Gte => left.gte(right),
    }
}

/// Converts `condition` into a sea-query expression; `None` means "every row".
pub fn to_expr(condition: &Condition, scope: Scope<'_>, state: &mut RenderState) -> Option<Expr> {
    Some(match condition {
        Condition::All => return None,
        Condition::Compare { column, op, value } => {
            let v = scope.value(column, value.clone(), state);
            compare(scope.column(column), *op, v)
        }
        Condition::Columns { left, op, right } => {
            compare(scope.column(left), *op, scope.column(right))
        }
        Condition::Between {
            column,
            low,
            high,
            negated,
        } => {
            let low = scope.value(column, low.clone(), state);
            let high = scope.value(column, high.clone(), state);
            if *negated {
                scope.column(column).not_between(low, high)
            } else {
                scope.column(column).between(low, high)
            }
        }
        Condition::Like {
            column,
            pattern,
            ignore_case,
        } => crate::like::like(scope, column, pattern, *ignore_case, state),
        Condition::In {
            column,
            values,
            negated,
        } => {
            if values.is_empty() {
                // `IN ()` is not valid SQL everywhere: an empty list matches nothing.
                return Some(Expr::cust(if *negated { "1 = 1" } else { "1 = 0" }));
            }
            let vals: Vec<Expr> = values
                .iter()
                .map(|v| scope.value(column, v.clone(), state))
                .collect();
            if *negated {
                scope.column(column).is_not_in(vals)
            } else {
                scope.column(column).is_in(vals)
            }
        }
        Condition::IsNull { column, negated } => {
            if *negated {
                scope.col(column).is_not_null()
            } else {
                scope.col(column).is_null()
            }
        }
        Condition::Raw { sql, params } => crate::raw::fragment(scope.dialect, sql, params, state),
        Condition::Related { column, condition } => related(scope, column, condition, state)?,
        Condition::Collection {
            relation,
            quantifier,
            condition,
        } => crate::subquery::collection(scope, relation, *quantifier, condition, state)?,
        Condition::Aggregate { expr, op, value } => {
            let left = crate::expr::select_expr(expr, scope);
            match (op, value.is_null()) {
                // `= NULL` is never true: as for columns, NULL is compared with IS.
                (CmpOp::Eq, true) => return Some(left.is_null()),
                (CmpOp::Ne, true) => return Some(left.is_not_null()),
                _ => {}
            }
            let v = Expr::val(state.slots.slot(value.clone()));
            let right = if crate::expr::compares_as_real(expr, scope) {
                v.cast_as("REAL")
            } else {
                v
            };
            compare(left, *op, right)
        }
        Condition::And(parts) => fold(parts, scope, state, true)?,
        Condition::Or(parts) => fold(parts, scope, state, false)?,
        Condition::Not(inner) => match to_expr(inner, scope, state) {
            Some(e) => e.not(),
            None => Expr::cust("1 = 0"),
        },
    })
}

/// `Ref.is(condition)`: the condition in the scope of the joined table, guarded on a left
/// join (see [`crate::joins`]); None for "every row" (an inner join's `is(all)`).
fn related(
    scope: Scope<'_>,
    column: &'static str,
    condition: &Condition,
    state: &mut RenderState,
) -> Option<Expr> {
    let joins = scope.joins.expect("planned: a query with paths has joins");
    let node = joins
        .child(scope.node, column)
        .expect("planned: every path has its join");
    let n = joins.get(node);
    let inner = to_expr(
        condition,
        Scope {
            meta: n.meta,
            dialect: scope.dialect,
            alias: Some(&n.alias),
            joins: Some(joins),
            node: Some(node),
        },
        state,
    );
    if n.inner {
        return inner;
    }
    let present = Expr::col((sea_query::Alias::new(&n.alias), n.meta.pk().name)).is_not_null();
    Some(match inner {
        Some(e) => present.and(e),
        None => present,
    })
}

fn fold(parts: &[Condition], scope: Scope<'_>, state: &mut RenderState, all: bool) -> Option<Expr> {
    let mut acc: Option<Expr> = None;
    for part in parts {
        let Some(e) = to_expr(part, scope, state) else {
            if all {
                continue; // `x AND true` is `x`
            }
            return None; // `x OR true` is every row
        };
        acc = Some(match acc {
            None => e,
            Some(a) if all => a.and(e),
            Some(a) => a.or(e),
        });
    }
    if acc.is_none() && !all {
        return Some(Expr::cust("1 = 0")); // an empty OR matches nothing
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::{SelectSpec, select};
    use coherent_core::{ColumnMeta, Order, Value};

    static COLS: [ColumnMeta; 3] = [
        ColumnMeta::new("id", ColumnType::BigInt),
        ColumnMeta::new("amount", ColumnType::Decimal),
        ColumnMeta::new("name", ColumnType::Text),
    ];
    static META: EntityMeta = EntityMeta {
        name: "T",
        table: "t",
        columns: &COLS,
        primary_key: 0,
        relations: &[],
        indexes: &[],
        renamed_from: None,
    };

    fn render(c: Condition, order: &[Order], dialect: Dialect) -> String {
        let spec = SelectSpec {
            order_by: order,
            ..Default::default()
        };
        select(&META, &c, &spec, dialect).sql
    }

    #[test]
    fn sqlite_compares_and_sorts_decimals_by_value() {
        let gt = Condition::Compare {
            column: "amount",
            op: CmpOp::Gt,
            value: Value::Text("9".into()),
        };
        let order = [Order::of(&META, 1)];
        assert_eq!(
            render(gt.clone(), &order, Dialect::Sqlite),
            r#"SELECT "id", "amount", "name" FROM "t" WHERE CAST("amount" AS REAL) > CAST(? AS REAL) ORDER BY CAST("amount" AS REAL) ASC"#
        );
        // PostgreSQL has an exact NUMERIC column: no cast.
        assert!(!render(gt, &order, Dialect::Postgres).contains("CAST"));
        // Text columns are never cast.
        let name = Condition::Compare {
            column: "name",
            op: CmpOp::Gt,
            value: Value::Text("9".into()),
        };
        assert!(!render(name, &[], Dialect::Sqlite).contains("CAST"));
    }

    #[test]
    fn or_inside_and_keeps_its_parentheses() {
        let eq = |c: &'static str, v: i64| Condition::Compare {
            column: c,
            op: CmpOp::Eq,
            value: Value::I64(v),
        };
        let c = Condition::And(vec![
            eq("id", 1),
            Condition::Or(vec![eq("id", 2), eq("id", 3)]),
        ]);
        assert!(
            render(c, &[], Dialect::Sqlite)
                .ends_with(r#"WHERE "id" = ? AND ("id" = ? OR "id" = ?)"#)
        );
        assert!(render(Condition::Or(vec![]), &[], Dialect::Sqlite).ends_with("WHERE 1 = 0"));
    }

    #[test]
    fn between_and_column_comparisons() {
        let c = Condition::And(vec![
            Condition::Between {
                column: "id",
                low: Value::I64(1),
                high: Value::I64(9),
                negated: true,
            },
            Condition::Columns {
                left: "amount",
                op: CmpOp::Lt,
                right: "id",
            },
        ]);
        assert_eq!(
            render(c, &[], Dialect::Postgres),
            r#"SELECT "id", "amount", "name" FROM "t" WHERE ("id" NOT BETWEEN $1 AND $2) AND "amount" < "id""#
        );
    }
}
