//! UPDATE by primary key.
//!
//! Policy: only changed columns are written. The shape depends on the set of changed columns,
//! so the ORM caches one text per (entity, column set) and executes it once per row with the
//! statement cached by the driver: on an embedded database that is faster than one big
//! `CASE WHEN` statement, and on every database it is one job per flush. Optimistically
//! locked updates ([`update_guarded`]) carry the expected version and checked values in
//! their own WHERE, so the check and the write are one statement (no check-then-update race).

use crate::params::Slots;
use coherent_core::{ColumnSet, Dialect, EntityMeta, Value};
use sea_query::{Expr, ExprTrait, Query};

/// `UPDATE t SET c1 = ?, c2 = ? WHERE key = ?`: parameters are the values of `columns` in
/// column order, then the key.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::update::update_by_key;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text), ColumnMeta::new("age", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0 };
/// let mut set = ColumnSet::EMPTY; set.insert(1); set.insert(2);
/// assert_eq!(update_by_key(&META, set, Dialect::Postgres), r#"UPDATE "users" SET "name" = $1, "age" = $2 WHERE "id" = $3"#);
/// ```
pub fn update_by_key(meta: &EntityMeta, columns: ColumnSet, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let mut stmt = Query::update();
    stmt.table(meta.table);
    for i in columns.iter() {
        let v = slots.slot(Value::Null);
        stmt.value(meta.columns[i].name, v);
    }
    let key = slots.slot(Value::Null);
    stmt.and_where(Expr::col(meta.pk().name).eq(key));
    slots.render(&stmt, dialect).sql
}

/// `UPDATE t SET c = ?, .. WHERE key = ? AND g1 = ? AND g2 IS NULL ..`: an optimistically
/// locked update. Parameters: the values of `set` in column order, the key, then the
/// expected values of the `guard` columns in column order, leaving out those in
/// `null_guards` (compared with `IS NULL`).
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::update::update_guarded;
/// static COLS: [ColumnMeta; 3] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("title", ColumnType::Text), ColumnMeta::new("version", ColumnType::Int)];
/// static META: EntityMeta = EntityMeta { name: "Doc", table: "docs", columns: &COLS, primary_key: 0 };
/// let mut set = ColumnSet::EMPTY; set.insert(1); set.insert(2);
/// let sql = update_guarded(&META, set, ColumnSet::single(2), ColumnSet::EMPTY, Dialect::Postgres);
/// assert_eq!(sql, r#"UPDATE "docs" SET "title" = $1, "version" = $2 WHERE "id" = $3 AND "version" = $4"#);
/// let sql = update_guarded(&META, set, ColumnSet::single(1), ColumnSet::single(1), Dialect::MySql);
/// assert_eq!(sql, "UPDATE `docs` SET `title` = ?, `version` = ? WHERE `id` = ? AND `title` IS NULL");
/// ```
pub fn update_guarded(
    meta: &EntityMeta,
    set: ColumnSet,
    guard: ColumnSet,
    null_guards: ColumnSet,
    dialect: Dialect,
) -> String {
    let mut slots = Slots::new();
    let mut stmt = Query::update();
    stmt.table(meta.table);
    for i in set.iter() {
        let v = slots.slot(Value::Null);
        stmt.value(meta.columns[i].name, v);
    }
    let key = slots.slot(Value::Null);
    stmt.and_where(Expr::col(meta.pk().name).eq(key));
    for i in guard.iter() {
        let column = Expr::col(meta.columns[i].name);
        if null_guards.contains(i) {
            stmt.and_where(column.is_null());
        } else {
            let v = slots.slot(Value::Null);
            stmt.and_where(column.eq(v));
        }
    }
    slots.render(&stmt, dialect).sql
}
