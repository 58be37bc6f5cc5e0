//! PostgreSQL: `current_schema()` from the system catalogs (`pg_class`, `pg_attribute`,
//! `pg_attrdef`, `pg_index`, `pg_constraint`), three queries for all tables, one batch.
//!
//! Policy: PostgreSQL 12 or later (`attgenerated`). Ordinary and partitioned tables (not partitions, views or foreign tables).
//! Types are `format_type` of the column (`character varying(255)`, `timestamp with time
//! zone`), defaults `pg_get_expr` of the stored expression, both made canonical. An identity
//! column (`GENERATED .. AS IDENTITY`) or a `serial` one (a `nextval(..)` default) is
//! auto-increment without a default; a generated (computed) column has no default either.
//! Indexes come from `pg_index`, unique constraints included; only key columns count
//! (`INCLUDE` columns do not), partial indexes are left out, as are expression ones.

use super::catalog::{flag, int, on_delete, opt_text, query, text};
use super::reading::Reading;
use crate::Result;
use crate::model::{Column, canonical};
use coherent_core::{Connection, Dialect};

/// Columns of every table (a row with NULL columns for a table without any).
const COLUMNS: &str = "\
SELECT c.relname::text AS table_name, a.attnum::int8 AS position, a.attname::text AS column_name, \
       format_type(a.atttypid, a.atttypmod) AS column_type, a.attnotnull AS not_null, \
       pg_get_expr(d.adbin, d.adrelid) AS default_value, a.attidentity::text AS identity, \
       a.attgenerated::text AS generated \
FROM pg_class c \
JOIN pg_namespace n ON n.oid = c.relnamespace \
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
ORDER BY c.relname, a.attnum";

/// Key columns of every full index (a NULL column for an expression).
const INDEXES: &str = "\
SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
       x.indisunique AS is_unique, x.indisprimary AS is_primary, \
       k.position AS position, a.attname::text AS column_name \
FROM pg_index x \
JOIN pg_class t ON t.oid = x.indrelid \
JOIN pg_class i ON i.oid = x.indexrelid \
JOIN pg_namespace n ON n.oid = t.relnamespace \
CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position) \
LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0 \
WHERE n.nspname = current_schema() AND x.indpred IS NULL AND k.position <= x.indnkeyatts";

/// Column pairs of every foreign key.
const FOREIGN_KEYS: &str = "\
SELECT t.relname::text AS table_name, c.conname::text AS constraint_name, \
       r.relname::text AS referenced_table, \
       CASE c.confdeltype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' \
            WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS on_delete, \
       k.position AS position, a.attname::text AS column_name, ra.attname::text AS referenced_column \
FROM pg_constraint c \
JOIN pg_class t ON t.oid = c.conrelid \
JOIN pg_class r ON r.oid = c.confrelid \
JOIN pg_namespace n ON n.oid = t.relnamespace \
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, position) \
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refnum \
WHERE c.contype = 'f' AND n.nspname = current_schema()";

/// Reads the current schema.
pub(super) async fn read(connection: &mut dyn Connection) -> Result<Reading> {
    let mut results = query(connection, &[COLUMNS, INDEXES, FOREIGN_KEYS])
        .await?
        .into_iter();
    let mut reading = Reading::default();
    let pg = Dialect::Postgres;

    for row in results.next().unwrap_or_default() {
        let table = text(&row, "table_name")?;
        reading.table(&table);
        let Some(name) = opt_text(&row, "column_name")? else {
            continue;
        };
        let identity = !opt_text(&row, "identity")?.unwrap_or_default().is_empty();
        let computed = !opt_text(&row, "generated")?.unwrap_or_default().is_empty();
        let raw_default = opt_text(&row, "default_value")?;
        let serial = raw_default
            .as_deref()
            .is_some_and(|d| d.trim_start().to_ascii_lowercase().starts_with("nextval("));
        let auto_increment = identity || serial;
        let default = match raw_default {
            Some(raw) if !auto_increment && !computed => canonical::default(pg, &raw),
            _ => None,
        };
        let column = Column {
            name,
            sql_type: canonical::column_type(pg, &text(&row, "column_type")?),
            nullable: !flag(&row, "not_null")?,
            default,
            auto_increment,
            renamed_from: None,
        };
        reading.column(&table, int(&row, "position")?, column);
    }

    for row in results.next().unwrap_or_default() {
        let table = text(&row, "table_name")?;
        let position = int(&row, "position")?;
        let column = opt_text(&row, "column_name")?;
        if flag(&row, "is_primary")? {
            if let Some(column) = column {
                reading.primary_key(&table, position, &column);
            }
            continue;
        }
        reading.index(
            &table,
            &text(&row, "index_name")?,
            flag(&row, "is_unique")?,
            position,
            column,
        );
    }

    for row in results.next().unwrap_or_default() {
        reading.foreign_key(
            &text(&row, "table_name")?,
            &text(&row, "constraint_name")?,
            &text(&row, "referenced_table")?,
            on_delete(pg, &text(&row, "on_delete")?),
            int(&row, "position")?,
            &text(&row, "column_name")?,
            Some(text(&row, "referenced_column")?),
        );
    }
    Ok(reading)
}
