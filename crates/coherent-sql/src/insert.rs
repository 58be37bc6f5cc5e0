//! Multi-row INSERT.
//!
//! Policy: one statement per chunk of rows, `INSERT INTO t (cols) VALUES (..), (..)`, with
//! `RETURNING <key>` when the database generates the key and the dialect has RETURNING. The
//! chunk size is the smaller of the configured batch size and what the dialect's parameter
//! limit allows ([`rows_per_statement`]).

use crate::params::Slots;
use coherent_core::{ColumnSet, Dialect, EntityMeta, Value};
use sea_query::Query;

/// How many rows of `columns` one INSERT may carry.
///
/// ```
/// assert_eq!(coherent_sql::insert::rows_per_statement(300, 32766, 4), 300);
/// assert_eq!(coherent_sql::insert::rows_per_statement(300, 999, 4), 249);
/// ```
pub fn rows_per_statement(batch_size: usize, max_params: usize, columns: usize) -> usize {
    batch_size.min(max_params / columns.max(1)).max(1)
}

/// `INSERT INTO t (columns) VALUES (?, ..), .. [RETURNING key]` for `rows` rows: a cacheable
/// shape. Parameters are then the values of each row in column order, row after row.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnSet, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::insert::insert_rows;
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("name", ColumnType::Text)];
/// static META: EntityMeta = EntityMeta { name: "User", table: "users", columns: &COLS, primary_key: 0, relations: &[], indexes: &[], renamed_from: None };
/// let sql = insert_rows(&META, ColumnSet::first(2).without(ColumnSet::first(1)), 2, true, Dialect::Sqlite);
/// assert_eq!(sql, r#"INSERT INTO "users" ("name") VALUES (?), (?) RETURNING "id""#);
/// // An entity that is its generated key alone:
/// let sql = insert_rows(&META, ColumnSet::EMPTY, 2, true, Dialect::Postgres);
/// assert_eq!(sql, r#"INSERT INTO "users" ("id") VALUES (DEFAULT), (DEFAULT) RETURNING "id""#);
/// ```
pub fn insert_rows(
    meta: &EntityMeta,
    columns: ColumnSet,
    rows: usize,
    returning_key: bool,
    dialect: Dialect,
) -> String {
    let mut slots = Slots::new();
    let mut stmt = Query::insert();
    if columns.is_empty() {
        // A row that is a generated key alone: the key column takes its default (SQLite has
        // no DEFAULT in VALUES; NULL makes its INTEGER PRIMARY KEY generate one).
        let default = if dialect == Dialect::Sqlite {
            "NULL"
        } else {
            "DEFAULT"
        };
        stmt.into_table(meta.table).columns([meta.pk().name]);
        for _ in 0..rows {
            stmt.values_panic([sea_query::Expr::cust(default)]);
        }
    } else {
        stmt.into_table(meta.table)
            .columns(columns.iter().map(|i| meta.columns[i].name));
        for _ in 0..rows {
            let row: Vec<sea_query::Expr> = columns
                .iter()
                .map(|_| slots.slot(Value::Null).into())
                .collect();
            stmt.values_panic(row);
        }
    }
    if returning_key && dialect != Dialect::MySql {
        stmt.returning_col(meta.pk().name);
    }
    slots.render(&stmt, dialect).sql
}
