//! [`SelectExpr`]s (a column, through to-one paths, or an aggregate of one) as SQL.
//!
//! Policy: an aggregate's SQL type is the same on every backend, so it decodes into one
//! Rust type: `COUNT` is a 64-bit integer; `SUM` of an integer column is cast to a 64-bit
//! integer (PostgreSQL and MySQL widen it to NUMERIC/DECIMAL); `AVG` is cast to a double;
//! `MIN` and `MAX` keep the column's type.

use crate::condition::Scope;
use coherent_core::{AggregateFn, ColumnType, Dialect, SelectExpr};
use sea_query::{Expr, ExprTrait, Func};

/// The expression of `expr`, in `scope` (whose joins hold the expression's path).
pub fn select_expr(expr: &SelectExpr, scope: Scope<'_>) -> Expr {
    let at = if expr.path.is_empty() {
        scope
    } else {
        let joins = scope.joins.expect("planned: a path has its joins");
        let node = joins.follow(expr.path).expect("a non-empty path");
        let n = joins.get(node);
        Scope {
            meta: n.meta,
            alias: Some(&n.alias),
            node: Some(node),
            ..scope
        }
    };
    let Some(function) = expr.function else {
        return at.col(expr.column);
    };
    if function == AggregateFn::CountRows {
        return Expr::cust("COUNT(*)");
    }
    let column_type = at
        .meta
        .column_index(expr.column)
        .map(|i| at.meta.columns[i].column_type);
    let col = at.column(expr.column);
    match function {
        AggregateFn::CountRows => unreachable!("handled above"),
        AggregateFn::Count => Func::count(col).into(),
        AggregateFn::CountDistinct => Func::count_distinct(col).into(),
        AggregateFn::Sum => {
            let sum: Expr = Func::sum(col).into();
            let integer = matches!(
                column_type,
                Some(ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt)
            );
            match (scope.dialect, integer) {
                (Dialect::Postgres, true) => sum.cast_as("BIGINT"),
                (Dialect::MySql, true) => sum.cast_as("SIGNED"),
                _ => sum,
            }
        }
        AggregateFn::Avg => {
            let avg: Expr = Func::avg(col).into();
            avg.cast_as(match scope.dialect {
                Dialect::Postgres => "DOUBLE PRECISION",
                Dialect::MySql => "DOUBLE",
                Dialect::Sqlite => "REAL",
            })
        }
        AggregateFn::Min => Func::min(col).into(),
        AggregateFn::Max => Func::max(col).into(),
    }
}
