//! UPDATE by primary key.
//!
//! Policy: only changed columns are written. The shape depends on the set of changed columns,
//! so the ORM caches one text per (entity, column set) and executes it once per row with the
//! statement cached by the driver: on an embedded database that is faster than one big
//! `CASE WHEN` statement, and on every database it is one job per flush.

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
