//! SELECT statements: by filter (with order, limit, offset), by key, and COUNT.
//!
//! Policy: entity SELECTs list every column explicitly, in column order, because rows are
//! decoded positionally.

use crate::condition::{Scope, to_expr};
use crate::params::{Rendered, Slots};
use coherent_core::{Condition, Dialect, EntityMeta, Order, Value};
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};

/// What a SELECT asks for besides its filter.
#[derive(Debug, Clone, Default)]
pub struct SelectSpec<'a> {
    /// Sort keys.
    pub order_by: &'a [Order],
    /// Row limit.
    pub limit: Option<u64>,
    /// Rows skipped.
    pub offset: Option<u64>,
}

fn base(meta: &EntityMeta) -> SelectStatement {
    Query::select()
        .columns(meta.columns.iter().map(|c| c.name))
        .from(meta.table)
        .to_owned()
}

/// `SELECT <all columns> FROM t WHERE <condition> [ORDER BY ..] [LIMIT ..] [OFFSET ..]`.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Condition, CmpOp, Dialect, EntityMeta, Value};
/// use coherent_sql::select::{select, SelectSpec};
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let cond = Condition::Compare { column: "name", op: CmpOp::Eq, value: Value::Text("x' OR 1=1 --".into()) };
/// let r = select(&META, &cond, &SelectSpec { limit: Some(5), ..Default::default() }, Dialect::Sqlite);
/// assert_eq!(r.sql, r#"SELECT "id", "name" FROM "users" WHERE "name" = ? ORDER BY "id" ASC LIMIT ?"#);
/// assert_eq!(r.params, vec![Value::Text("x' OR 1=1 --".into()), Value::I64(5)]);
/// ```
pub fn select(
    meta: &EntityMeta,
    condition: &Condition,
    spec: &SelectSpec<'_>,
    dialect: Dialect,
) -> Rendered {
    let mut slots = Slots::new();
    let scope = Scope {
        meta,
        dialect,
        alias: None,
    };
    let mut stmt = base(meta);
    if let Some(e) = to_expr(condition, scope, &mut slots) {
        stmt.and_where(e);
    }
    order_and_page(&mut stmt, scope, spec);
    slots.render(&stmt, dialect)
}

/// Adds `spec`'s ORDER BY, LIMIT and OFFSET, in `scope` (the root entity of the query).
pub(crate) fn order_and_page(stmt: &mut SelectStatement, scope: Scope<'_>, spec: &SelectSpec<'_>) {
    for o in spec.order_by {
        let order = if o.is_descending() {
            sea_query::Order::Desc
        } else {
            sea_query::Order::Asc
        };
        stmt.order_by_expr(scope.column(o.column()), order);
    }
    // Deterministic pagination: order by key last when a limit or offset is given.
    let pk = scope.meta.pk().name;
    if (spec.limit.is_some() || spec.offset.is_some())
        && !spec.order_by.iter().any(|o| o.column() == pk)
    {
        stmt.order_by_expr(scope.col(pk), sea_query::Order::Asc);
    }
    match (spec.limit, spec.offset) {
        (Some(l), _) => {
            stmt.limit(l);
        }
        // SQLite and MySQL need a LIMIT for an OFFSET.
        (None, Some(_)) if scope.dialect != Dialect::Postgres => {
            stmt.limit(i64::MAX as u64);
        }
        _ => {}
    }
    if let Some(o) = spec.offset {
        stmt.offset(o);
    }
}

/// `SELECT <all columns> FROM t WHERE pk = ?`: a cacheable shape, rendered without values.
pub fn select_by_key(meta: &EntityMeta, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let v = slots.slot(Value::Null);
    let stmt = base(meta)
        .and_where(Expr::col(meta.pk().name).eq(v))
        .to_owned();
    slots.render(&stmt, dialect).sql
}

/// `SELECT 1 FROM t AS <alias> WHERE <alias>.pk = ?`: the probe that takes a row lock on
/// one row (the lock clause is appended), as MikroORM's `em.lock` renders it.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::select::lock_row;
/// static COLS: [ColumnMeta; 1] = [ColumnMeta::new("id", ColumnType::BigInt)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(lock_row(&META, "u0", Dialect::Postgres), r#"SELECT 1 FROM "users" AS "u0" WHERE "u0"."id" = $1"#);
/// ```
pub fn lock_row(meta: &EntityMeta, alias: &str, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let v = slots.slot(Value::Null);
    let stmt = Query::select()
        .expr(Expr::cust("1"))
        .from_as(meta.table, Alias::new(alias))
        .and_where(Expr::col((Alias::new(alias), meta.pk().name)).eq(v))
        .to_owned();
    slots.render(&stmt, dialect).sql
}

/// `SELECT COUNT(*) FROM t WHERE <condition>`.
pub fn count(meta: &EntityMeta, condition: &Condition, dialect: Dialect) -> Rendered {
    let mut slots = Slots::new();
    let mut stmt = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(meta.table)
        .to_owned();
    if let Some(e) = to_expr(
        condition,
        Scope {
            meta,
            dialect,
            alias: None,
        },
        &mut slots,
    ) {
        stmt.and_where(e);
    }
    slots.render(&stmt, dialect)
}
