//! SQLite: the `main` schema through the table-valued pragmas, joined to `sqlite_master`
//! (three queries for all tables, one batch), and each table's stored `CREATE TABLE`
//! ([`sqlite_ddl`]) for what the pragmas leave out.
//!
//! Policy: `pragma_table_info` gives the columns (declared type, `notnull`, default text,
//! key position); `pragma_index_list` / `pragma_index_info` the indexes (not the key's,
//! `origin = 'pk'`, nor `sqlite_autoindex_*`, nor partial ones);
//! `pragma_foreign_key_list` the foreign keys, which it does not name (see the module
//! [`introspect`](super)). A one-column `INTEGER` primary key is the rowid: never NULL, and
//! auto-increment when the table says `AUTOINCREMENT`.

use super::catalog::{flag, int, on_delete, opt_text, query, text};
use super::reading::Reading;
use super::sqlite_ddl::{self, TableDdl};
use crate::Result;
use crate::model::{Column, canonical};
use coherent_core::{Connection, Dialect};
use std::collections::BTreeMap;

/// The tables of `main`, `m` (every query joins its pragma to them).
const TABLES: &str = "main.sqlite_master AS m";

/// Which rows of `m` are tables to read.
const WHERE: &str = "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     AND m.sql NOT LIKE 'CREATE VIRTUAL %'";

/// Reads the `main` schema.
pub(super) async fn read(connection: &mut dyn Connection) -> Result<Reading> {
    let columns = format!(
        "SELECT m.name AS table_name, m.sql AS table_sql, p.cid AS position, \
         p.name AS column_name, p.type AS column_type, p.\"notnull\" AS not_null, \
         p.dflt_value AS default_value, p.pk AS key_position \
         FROM {TABLES} JOIN pragma_table_info(m.name, 'main') AS p {WHERE} ORDER BY m.name, p.cid"
    );
    let indexes = format!(
        "SELECT m.name AS table_name, l.name AS index_name, l.\"unique\" AS is_unique, \
         i.seqno AS position, i.name AS column_name \
         FROM {TABLES} JOIN pragma_index_list(m.name, 'main') AS l \
         JOIN pragma_index_info(l.name, 'main') AS i {WHERE} \
         AND l.origin <> 'pk' AND l.partial = 0 \
         AND l.name NOT LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\'"
    );
    let foreign_keys = format!(
        "SELECT m.name AS table_name, f.id AS key_id, f.seq AS position, \
         f.\"table\" AS referenced_table, f.\"from\" AS column_name, \
         f.\"to\" AS referenced_column, f.on_delete AS on_delete \
         FROM {TABLES} JOIN pragma_foreign_key_list(m.name, 'main') AS f {WHERE}"
    );
    let mut results = query(connection, &[&columns, &indexes, &foreign_keys])
        .await?
        .into_iter();
    let mut reading = Reading::default();

    // Columns, and each table's CREATE TABLE, read once.
    let mut ddl: BTreeMap<String, TableDdl> = BTreeMap::new();
    let mut rowid_candidates: BTreeMap<String, Vec<(i64, String, bool)>> = BTreeMap::new();
    for row in results.next().unwrap_or_default() {
        let table = text(&row, "table_name")?;
        if !ddl.contains_key(&table) {
            let sql = opt_text(&row, "table_sql")?.unwrap_or_default();
            ddl.insert(table.clone(), sqlite_ddl::parse(&sql));
            reading.table(&table);
        }
        let name = text(&row, "column_name")?;
        let sql_type = opt_text(&row, "column_type")?.unwrap_or_default();
        let key_position = int(&row, "key_position")?;
        if key_position > 0 {
            reading.primary_key(&table, key_position, &name);
            rowid_candidates.entry(table.clone()).or_default().push((
                int(&row, "position")?,
                name.clone(),
                sql_type.eq_ignore_ascii_case("integer"),
            ));
        }
        let column = Column {
            sql_type: canonical::column_type(Dialect::Sqlite, &sql_type),
            nullable: !flag(&row, "not_null")?,
            default: opt_text(&row, "default_value")?
                .and_then(|d| canonical::default(Dialect::Sqlite, &d)),
            name,
            ..Column::default()
        };
        reading.column(&table, int(&row, "position")?, column);
    }
    // The rowid alias: a one-column INTEGER key.
    for (table, key) in &rowid_candidates {
        if let [(position, name, true)] = key.as_slice() {
            let autoincrement = ddl.get(table).is_some_and(|d| d.autoincrement);
            reading.update_column(table, *position, |c| {
                debug_assert_eq!(&c.name, name);
                c.nullable = false;
                if autoincrement {
                    c.auto_increment = true;
                    c.default = None;
                }
            });
        }
    }

    for row in results.next().unwrap_or_default() {
        reading.index(
            &text(&row, "table_name")?,
            &text(&row, "index_name")?,
            flag(&row, "is_unique")?,
            int(&row, "position")?,
            opt_text(&row, "column_name")?,
        );
    }

    // Foreign keys: grouped by id, then named.
    type Part = (i64, String, Option<String>);
    let mut keys: BTreeMap<(String, i64), (String, String, Vec<Part>)> = BTreeMap::new();
    for row in results.next().unwrap_or_default() {
        let entry = keys
            .entry((text(&row, "table_name")?, int(&row, "key_id")?))
            .or_default();
        entry.0 = text(&row, "referenced_table")?;
        entry.1 = opt_text(&row, "on_delete")?.unwrap_or_default();
        entry.2.push((
            int(&row, "position")?,
            text(&row, "column_name")?,
            opt_text(&row, "referenced_column")?,
        ));
    }
    for ((table, _), (referenced_table, rule, mut parts)) in keys {
        parts.sort_by_key(|p| p.0);
        let columns: Vec<String> = parts.iter().map(|p| p.1.clone()).collect();
        let name = ddl
            .get(&table)
            .and_then(|d| d.foreign_key_names.iter().find(|(_, c)| *c == columns))
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| format!("fk_{table}_{}", columns.join("_")));
        for (position, column, referenced_column) in parts {
            reading.foreign_key(
                &table,
                &name,
                &referenced_table,
                on_delete(Dialect::Sqlite, &rule),
                position,
                &column,
                referenced_column,
            );
        }
    }
    Ok(reading)
}
