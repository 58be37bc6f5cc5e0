//! [`SelectExpr`]s (a column, through to-one paths, or an aggregate of one) as SQL.
//!
//! Policy: an aggregate's SQL type is the same on every backend, so it decodes into one
//! Rust type: `COUNT` is a 64-bit integer; `SUM` of an integer column is cast to a 64-bit
//! integer (PostgreSQL and MySQL widen it to NUMERIC/DECIMAL), of a single-precision column
//! summed in double precision (PostgreSQL would sum a `REAL` as a `REAL`); `AVG` is cast to a
//! double; `MIN` and `MAX` keep the column's type.
//!
//! Two forms: [`select_expr`] is the expression as compared and sorted (in a HAVING and an
//! ORDER BY), [`output_expr`] as selected. They differ on SQLite only, for decimals (exact
//! text there): an aggregate of a decimal column is taken by value (`SUM(CAST(c AS REAL))`,
//! as the filters compare decimals) and, selected, printed back as text
//! (`CAST(.. AS TEXT)`), which decodes as a decimal to 15 significant digits.

use crate::condition::Scope;
use coherent_core::{AggregateFn, ColumnType, Dialect, SelectExpr};
use sea_query::{Expr, ExprTrait, Func};

/// The scope of the table `expr`'s column is in (the root's, or a joined table's).
fn scope_of<'a>(expr: &SelectExpr, scope: Scope<'a>) -> Scope<'a> {
    if expr.path.is_empty() {
        return scope;
    }
    let joins = scope.joins.expect("planned: a path has its joins");
    let node = joins.follow(expr.path).expect("a non-empty path");
    let n = joins.get(node);
    Scope {
        meta: n.meta,
        alias: Some(&n.alias),
        node: Some(node),
        ..scope
    }
}

/// The column type of `expr`'s column (None for `COUNT(*)`).
fn column_type(expr: &SelectExpr, scope: Scope<'_>) -> Option<ColumnType> {
    let at = scope_of(expr, scope);
    at.meta
        .column_index(expr.column)
        .map(|i| at.meta.columns[i].column_type)
}

/// Whether `expr` is an aggregate that compares as a SQLite REAL over exact decimal text:
/// the value it is compared with must be cast the same way.
pub fn compares_as_real(expr: &SelectExpr, scope: Scope<'_>) -> bool {
    scope.dialect == Dialect::Sqlite
        && matches!(
            expr.function,
            Some(AggregateFn::Sum | AggregateFn::Min | AggregateFn::Max)
        )
        && column_type(expr, scope) == Some(ColumnType::Decimal)
}

/// The expression of `expr` as compared and sorted, in `scope` (whose joins hold the
/// expression's path).
pub fn select_expr(expr: &SelectExpr, scope: Scope<'_>) -> Expr {
    let at = scope_of(expr, scope);
    let Some(function) = expr.function else {
        return at.col(expr.column);
    };
    if function == AggregateFn::CountRows {
        return Func::count(Expr::col(sea_query::Asterisk)).into();
    }
    let column_type = column_type(expr, scope);
    let col = at.column(expr.column);
    match function {
        AggregateFn::CountRows => unreachable!("handled above"),
        AggregateFn::Count => Func::count(col).into(),
        AggregateFn::CountDistinct => Func::count_distinct(col).into(),
        AggregateFn::Sum => {
            let integer = matches!(
                column_type,
                Some(ColumnType::SmallInt | ColumnType::Int | ColumnType::BigInt)
            );
            match (scope.dialect, integer, column_type) {
                (Dialect::Postgres, true, _) => Expr::from(Func::sum(col)).cast_as("BIGINT"),
                (Dialect::MySql, true, _) => Expr::from(Func::sum(col)).cast_as("SIGNED"),
                (Dialect::Postgres, _, Some(ColumnType::Float)) => {
                    Func::sum(col.cast_as("DOUBLE PRECISION")).into()
                }
                _ => Func::sum(col).into(),
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

/// The expression of `expr` as selected: [`select_expr`], printed back as text where it is a
/// SQLite aggregate of decimals taken by value.
///
/// ```
/// use coherent_core::{AggregateFn, ColumnMeta, ColumnType, Dialect, EntityMeta, Path, SelectExpr};
/// use coherent_sql::condition::Scope;
/// use coherent_sql::expr::output_expr;
/// use sea_query::{Query, SqliteQueryBuilder};
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("price", ColumnType::Decimal)];
/// static META: EntityMeta = EntityMeta { name: "Item", table: "items", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let max = SelectExpr { function: Some(AggregateFn::Max), path: Path::EMPTY, column: "price" };
/// let sql = Query::select().expr(output_expr(&max, Scope::root(&META, Dialect::Sqlite, None))).to_string(SqliteQueryBuilder);
/// assert_eq!(sql, r#"SELECT CAST(MAX(CAST("price" AS REAL)) AS TEXT)"#);
/// ```
pub fn output_expr(expr: &SelectExpr, scope: Scope<'_>) -> Expr {
    let e = select_expr(expr, scope);
    if compares_as_real(expr, scope) {
        e.cast_as("TEXT")
    } else {
        e
    }
}
