//! ORDER BY, LIMIT and OFFSET of a query rooted at one entity.
//!
//! Policy: a sort key through a to-one path sorts by the joined table's column (the join is
//! planned with the filter's, [`crate::joins`]), an aggregate (in a grouped select) by the
//! aggregate as [`crate::expr::select_expr`] compares it; NULLs go where the order asks on every
//! backend (`NULLS FIRST`/`LAST`, emulated with an `IS NULL` key on MySQL) or where the
//! database puts them. With a limit or offset the root's key is appended, so pages are
//! stable.

use crate::condition::Scope;
use crate::select::SelectSpec;
use coherent_core::{Dialect, Nulls, Order};
use sea_query::{Expr, NullOrdering, SelectStatement};

/// The expression `order` sorts by, in the query rooted at `scope`.
pub fn sort_expr(order: &Order, scope: Scope<'_>) -> Expr {
    if order.function().is_some() {
        return crate::expr::select_expr(&order.select_expr(), scope);
    }
    if order.path().is_empty() {
        return scope.column(order.column());
    }
    let joins = scope.joins.expect("planned: a path has its joins");
    let n = joins.get(joins.follow(order.path()).expect("a non-empty path"));
    let at = Scope {
        meta: n.meta,
        alias: Some(&n.alias),
        ..scope
    };
    at.column(order.column())
}

/// Adds `order` to `stmt`.
pub fn add_order(stmt: &mut SelectStatement, order: &Order, scope: Scope<'_>) {
    let expr = sort_expr(order, scope);
    let direction = if order.is_descending() {
        sea_query::Order::Desc
    } else {
        sea_query::Order::Asc
    };
    match order.nulls() {
        None => stmt.order_by_expr(expr, direction),
        Some(nulls) => stmt.order_by_expr_with_nulls(
            expr,
            direction,
            match nulls {
                Nulls::First => NullOrdering::First,
                Nulls::Last => NullOrdering::Last,
            },
        ),
    };
}

/// Adds `spec`'s ORDER BY, LIMIT and OFFSET, in `scope` (the root entity of the query).
pub(crate) fn order_and_page(stmt: &mut SelectStatement, scope: Scope<'_>, spec: &SelectSpec<'_>) {
    for o in spec.order_by {
        add_order(stmt, o, scope);
    }
    // Deterministic pagination: order by key last when a limit or offset is given.
    let pk = scope.meta.pk().name;
    if (spec.limit.is_some() || spec.offset.is_some())
        && !spec
            .order_by
            .iter()
            .any(|o| o.column() == pk && o.path().is_empty())
    {
        stmt.order_by_expr(scope.col(pk), sea_query::Order::Asc);
    }
    page(stmt, scope.dialect, spec.limit, spec.offset);
}

/// LIMIT and OFFSET.
pub fn page(stmt: &mut SelectStatement, dialect: Dialect, limit: Option<u64>, offset: Option<u64>) {
    match (limit, offset) {
        (Some(l), _) => {
            stmt.limit(l);
        }
        // SQLite and MySQL need a LIMIT for an OFFSET.
        (None, Some(_)) if dialect != Dialect::Postgres => {
            stmt.limit(i64::MAX as u64);
        }
        _ => {}
    }
    if let Some(o) = offset {
        stmt.offset(o);
    }
}
