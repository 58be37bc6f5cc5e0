//! Selects of values ([`SelectQuery`]): `SELECT <items> FROM t [joins] WHERE .. GROUP BY ..
//! HAVING .. ORDER BY .. LIMIT ..`, on [`Planned`].
//!
//! Policy:
//! - **One statement.** The to-one paths of the items, the grouping keys, the `having`'s
//!   aggregates, the filter and the orders share one [`crate::joins::JoinTree`]: a path used
//!   only to select or group is a LEFT JOIN (a row without the reference is kept and groups
//!   under NULL), one the filter requires an INNER JOIN.
//! - **Items as typed.** Columns are selected as stored; aggregates as [`output_expr`] casts
//!   them, so each decodes into its one Rust type on every backend. A grouping key is the
//!   same expression as its selected column (PostgreSQL matches them by text).
//! - **The HAVING** is rendered by [`to_expr`] in the root's scope: aggregates compare as
//!   [`crate::expr::select_expr`] renders them, plain conditions name grouped columns.
//! - **Stable pages.** With a limit or offset, the grouping keys (a grouped select: they are
//!   unique per row) or the root's key (a select of plain columns) are appended to the order,
//!   as for entity queries.
//! - The select is checked before it is rendered ([`SelectQuery::check`]); rendering assumes
//!   a checked select.

use crate::condition::{Scope, to_expr};
use crate::expr::{output_expr, select_expr};
use crate::order::{add_order, page};
use crate::params::Rendered;
use crate::select::Planned;
use coherent_core::{Condition, Dialect, EntityMeta, SelectQuery};
use sea_query::Expr;

/// Renders `query`, a checked select of rows of `meta`.
///
/// ```
/// use coherent_core::{AggregateFn, CmpOp, ColumnMeta, ColumnType, Condition, Dialect, EntityMeta, Path, SelectExpr, SelectQuery, Value};
/// use coherent_sql::aggregate::select;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("author_id", ColumnType::BigInt), ColumnMeta::new("pages", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "Book", table: "books", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let author = SelectExpr::plain(Path::EMPTY, "author_id");
/// let pages = SelectExpr { function: Some(AggregateFn::Sum), path: Path::EMPTY, column: "pages" };
/// let q = SelectQuery {
///     group_by: vec![author],
///     having: Some(Condition::Aggregate { expr: SelectExpr::COUNT_ROWS, op: CmpOp::Gt, value: Value::I64(1) }),
///     ..SelectQuery::new(vec![author, SelectExpr::COUNT_ROWS, pages])
/// };
/// let r = select(&META, &q, Dialect::Postgres);
/// assert_eq!(r.sql, r#"SELECT "author_id", COUNT(*), CAST(SUM("pages") AS BIGINT) FROM "books" GROUP BY "author_id" HAVING COUNT(*) > $1"#);
/// assert_eq!(r.params, vec![Value::I64(1)]);
/// ```
pub fn select(meta: &'static EntityMeta, query: &SelectQuery, dialect: Dialect) -> Rendered {
    let paths = query.paths();
    let mut planned = Planned::new(
        meta,
        &query.filter,
        &query.order_by,
        &paths,
        dialect,
        None,
        1,
    );
    let Planned {
        stmt,
        state,
        alias,
        joins,
        ..
    } = &mut planned;
    let scope = Scope {
        meta,
        dialect,
        alias: alias.as_deref(),
        joins: Some(joins),
        node: None,
    };
    for item in &query.items {
        stmt.expr(output_expr(item, scope));
    }
    let keys: Vec<Expr> = query
        .group_by
        .iter()
        .map(|k| select_expr(k, scope))
        .collect();
    if !keys.is_empty() {
        stmt.add_group_by(keys);
    }
    if let Some(e) = query.having.as_ref().and_then(|h| to_expr(h, scope, state)) {
        stmt.and_having(e);
    }
    for order in &query.order_by {
        add_order(stmt, order, scope);
    }
    if query.limit.is_some() || query.offset.is_some() {
        let sorted =
            |e: &coherent_core::SelectExpr| query.order_by.iter().any(|o| o.select_expr() == *e);
        if !query.group_by.is_empty() {
            for key in query.group_by.iter().filter(|k| !sorted(k)) {
                stmt.order_by_expr(select_expr(key, scope), sea_query::Order::Asc);
            }
        } else if !query.is_aggregating() {
            let pk = coherent_core::SelectExpr::plain(coherent_core::Path::EMPTY, meta.pk().name);
            if !sorted(&pk) {
                stmt.order_by_expr(scope.col(meta.pk().name), sea_query::Order::Asc);
            }
        }
    }
    page(stmt, dialect, query.limit, query.offset);
    planned.render()
}

/// `SELECT 1 FROM t [joins] WHERE <condition> LIMIT 1`: whether a row matches.
///
/// ```
/// use coherent_core::{CmpOp, ColumnMeta, ColumnType, Condition, Dialect, EntityMeta, Value};
/// use coherent_sql::aggregate::exists;
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let cond = Condition::Compare { column: "name", op: CmpOp::Eq, value: Value::Text("Ann".into()) };
/// let r = exists(&META, &cond, Dialect::MySql);
/// assert_eq!(r.sql, "SELECT 1 FROM `users` WHERE `name` = ? LIMIT ?");
/// ```
pub fn exists(meta: &'static EntityMeta, condition: &Condition, dialect: Dialect) -> Rendered {
    let mut planned = Planned::new(meta, condition, &[], &[], dialect, None, 1);
    planned.stmt.expr(Expr::cust("1"));
    page(&mut planned.stmt, dialect, Some(1), None);
    planned.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coherent_core::{
        AggregateFn, CmpOp, ColumnMeta, ColumnType, Nulls, Order, Path, Reference, SelectExpr,
        Value,
    };

    static A_COLS: [ColumnMeta; 3] = [
        ColumnMeta::new("id", ColumnType::BigInt),
        ColumnMeta::new("name", ColumnType::Text),
        ColumnMeta::new("born", ColumnType::Int),
    ];
    static AUTHOR: EntityMeta = EntityMeta {
        name: "Author",
        table: "authors",
        columns: &A_COLS,
        primary_key: 0,
        relations: &[],
        indexes: &[],
        renamed_from: None,
    };
    static B_COLS: [ColumnMeta; 4] = [
        ColumnMeta::new("id", ColumnType::BigInt),
        ColumnMeta {
            references: Some(Reference {
                meta: || &AUTHOR,
                type_id: std::any::TypeId::of::<()>,
            }),
            ..ColumnMeta::new("author_id", ColumnType::BigInt)
        },
        ColumnMeta::new("price", ColumnType::Decimal),
        ColumnMeta::new("weight", ColumnType::Float),
    ];
    static BOOK: EntityMeta = EntityMeta {
        name: "Book",
        table: "books",
        columns: &B_COLS,
        primary_key: 0,
        relations: &[],
        indexes: &[],
        renamed_from: None,
    };

    fn agg(function: AggregateFn, path: Path, column: &'static str) -> SelectExpr {
        SelectExpr {
            function: Some(function),
            path,
            column,
        }
    }

    #[test]
    fn group_by_a_path_joins_and_pages_by_the_keys() {
        let author = Path::EMPTY.push("author_id");
        let name = SelectExpr::plain(author, "name");
        let q = SelectQuery {
            group_by: vec![name],
            order_by: vec![
                Order::by_expr("Book", SelectExpr::COUNT_ROWS)
                    .desc()
                    .nulls_last(),
            ],
            limit: Some(2),
            ..SelectQuery::new(vec![
                name,
                SelectExpr::COUNT_ROWS,
                agg(AggregateFn::Max, author, "born"),
            ])
        };
        assert_eq!(
            select(&BOOK, &q, Dialect::Sqlite).sql,
            r#"SELECT "a1"."name", COUNT(*), MAX("a1"."born") FROM "books" AS "b0" LEFT JOIN "authors" AS "a1" ON "a1"."id" = "b0"."author_id" GROUP BY "a1"."name" ORDER BY COUNT(*) DESC NULLS LAST, "a1"."name" ASC LIMIT ?"#
        );
        assert_eq!(
            select(&BOOK, &q, Dialect::MySql).sql,
            "SELECT `a1`.`name`, COUNT(*), MAX(`a1`.`born`) FROM `books` AS `b0` LEFT JOIN `authors` AS `a1` ON `a1`.`id` = `b0`.`author_id` GROUP BY `a1`.`name` ORDER BY COUNT(*) IS NULL ASC, COUNT(*) DESC, `a1`.`name` ASC LIMIT ?"
        );
    }

    #[test]
    fn decimals_on_sqlite_aggregate_by_value() {
        let sum = agg(AggregateFn::Sum, Path::EMPTY, "price");
        let q = SelectQuery {
            group_by: vec![SelectExpr::plain(Path::EMPTY, "author_id")],
            having: Some(Condition::Aggregate {
                expr: sum,
                op: CmpOp::Gt,
                value: Value::Text("9.5".into()),
            }),
            ..SelectQuery::new(vec![sum, agg(AggregateFn::Avg, Path::EMPTY, "price")])
        };
        assert_eq!(
            select(&BOOK, &q, Dialect::Sqlite).sql,
            r#"SELECT CAST(SUM(CAST("price" AS REAL)) AS TEXT), CAST(AVG(CAST("price" AS REAL)) AS REAL) FROM "books" GROUP BY "author_id" HAVING SUM(CAST("price" AS REAL)) > CAST(? AS REAL)"#
        );
        assert_eq!(
            select(&BOOK, &q, Dialect::Postgres).sql,
            r#"SELECT SUM("price"), CAST(AVG("price") AS DOUBLE PRECISION) FROM "books" GROUP BY "author_id" HAVING SUM("price") > $1"#
        );
        let floats = SelectQuery::new(vec![agg(AggregateFn::Sum, Path::EMPTY, "weight")]);
        assert_eq!(
            select(&BOOK, &floats, Dialect::Postgres).sql,
            r#"SELECT SUM(CAST("weight" AS DOUBLE PRECISION)) FROM "books""#
        );
    }

    #[test]
    fn plain_projections_page_by_the_key() {
        let q = SelectQuery {
            offset: Some(1),
            order_by: vec![Order::through("Book", Path::EMPTY, "price").nulls_first()],
            ..SelectQuery::new(vec![SelectExpr::plain(Path::EMPTY, "author_id")])
        };
        let r = select(&BOOK, &q, Dialect::Postgres);
        assert_eq!(
            r.sql,
            r#"SELECT "author_id" FROM "books" ORDER BY "price" ASC NULLS FIRST, "id" ASC OFFSET $1"#
        );
        let _ = Nulls::First;
    }
}
