//! DELETE by keys.

use crate::params::Slots;
use coherent_core::{Dialect, EntityMeta, Value};
use sea_query::{Expr, ExprTrait, Query};

/// `DELETE FROM t WHERE key IN (?, ..)` for `keys` keys: a cacheable shape.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta};
/// static COLS: [ColumnMeta; 1] = [ColumnMeta::new("id", ColumnType::BigInt)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// assert_eq!(coherent_sql::delete::delete_by_keys(&META, 2, Dialect::Sqlite), r#"DELETE FROM "users" WHERE "id" IN (?, ?)"#);
/// ```
pub fn delete_by_keys(meta: &EntityMeta, keys: usize, dialect: Dialect) -> String {
    let mut slots = Slots::new();
    let vals: Vec<_> = (0..keys).map(|_| slots.slot(Value::Null)).collect();
    let stmt = Query::delete()
        .from_table(meta.table)
        .and_where(Expr::col(meta.pk().name).is_in(vals))
        .to_owned();
    slots.render(&stmt, dialect).sql
}
