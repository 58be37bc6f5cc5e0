//! [`Condition`] trees to sea-query expressions, every value through a [`Slots`] table.
//!
//! Policy: comparisons compare values the way the Rust type does. On SQLite a decimal is
//! stored as exact text, which would compare as text (`'10' < '9'`); there, comparisons and
//! ordering of decimal columns go through `CAST(.. AS REAL)`: by value, exactly for up to 15
//! significant digits (SQLite has no exact numeric type to compare in). `LIKE` stays textual:
//! `%` and `_` are its wildcards and every other character, `\` included, is literal on every
//! backend.

use crate::params::Slots;
use coherent_core::{CmpOp, ColumnType, Condition, Dialect, EntityMeta};
use sea_query::{Expr, ExprTrait};

/// Where a condition is rendered: the entity's columns, its table alias and the dialect.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The entity queried.
    pub meta: &'a EntityMeta,
    /// The dialect rendered for.
    pub dialect: Dialect,
    /// The entity's table alias, if the query has several tables: columns are qualified.
    pub alias: Option<&'a str>,
}

impl Scope<'_> {
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

    fn value(&self, column: &str, v: sea_query::Value) -> Expr {
        if self.numeric_text(column) {
            Expr::val(v).cast_as("REAL")
        } else {
            Expr::val(v)
        }
    }
}

/// Converts `condition` into a sea-query expression; `None` means "every row".
pub fn to_expr(condition: &Condition, scope: Scope<'_>, slots: &mut Slots) -> Option<Expr> {
    Some(match condition {
        Condition::All => return None,
        Condition::Compare {
            column,
            op: CmpOp::Like,
            value,
        } => {
            // `%` and `_` are the only wildcards, everything else is literal. PostgreSQL and
            // MySQL treat `\` as LIKE's escape character by default, so there it is doubled
            // (SQLite has no default escape character).
            let pattern = match (scope.dialect, value) {
                (Dialect::Postgres | Dialect::MySql, coherent_core::Value::Text(p))
                    if p.contains('\\') =>
                {
                    coherent_core::Value::Text(p.replace('\\', "\\\\"))
                }
                _ => value.clone(),
            };
            scope
                .col(column)
                .binary(sea_query::BinOper::Like, slots.slot(pattern))
        }
        Condition::Compare { column, op, value } => {
            let col = scope.column(column);
            let v = scope.value(column, slots.slot(value.clone()));
            match op {
                CmpOp::Eq => col.eq(v),
                CmpOp::Ne => col.ne(v),
                CmpOp::Lt => col.lt(v),
                CmpOp::Lte => col.lte(v),
                CmpOp::Gt => col.gt(v),
                CmpOp::Gte => col.gte(v),
                CmpOp::Like => unreachable!("handled above"),
            }
        }
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
                .map(|v| scope.value(column, slots.slot(v.clone())))
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
        Condition::And(parts) => fold(parts, scope, slots, true)?,
        Condition::Or(parts) => fold(parts, scope, slots, false)?,
        Condition::Not(inner) => match to_expr(inner, scope, slots) {
            Some(e) => e.not(),
            None => Expr::cust("1 = 0"),
        },
    })
}

fn fold(parts: &[Condition], scope: Scope<'_>, slots: &mut Slots, all: bool) -> Option<Expr> {
    let mut acc: Option<Expr> = None;
    for part in parts {
        let Some(e) = to_expr(part, scope, slots) else {
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
}
