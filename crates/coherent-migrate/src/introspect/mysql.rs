//! MySQL/MariaDB: `DATABASE()` from `information_schema` (`TABLES`, `COLUMNS`,
//! `STATISTICS`, `KEY_COLUMN_USAGE` with `REFERENTIAL_CONSTRAINTS`), three queries for all
//! tables, one batch.
//!
//! Policy: base tables (system-versioned ones included; not views or sequences). Types are
//! `COLUMN_TYPE` (`bigint(20)`, `varchar(255)`, character set and collation not included),
//! defaults `COLUMN_DEFAULT` as MariaDB 10.2.7+ reports them (an SQL expression: `'text'`,
//! `0`, `current_timestamp()`, `NULL` for none), both made canonical. An `auto_increment`
//! column (`EXTRA`) has no default. The index named `PRIMARY` is the primary key; an index
//! on a column prefix (`SUB_PART`) is left out with the other indexes the model cannot
//! describe. `DELETE_RULE` says `RESTRICT` where no rule was given, which is `NO ACTION`
//! ([`canonical::on_delete`]).

use super::catalog::{flag, int, on_delete, opt_text, query, text};
use super::reading::Reading;
use crate::Result;
use crate::model::{Column, canonical};
use coherent_core::{Connection, Dialect};

/// Columns of every base table.
const COLUMNS: &str = "\
SELECT c.TABLE_NAME AS table_name, c.ORDINAL_POSITION AS position, \
       c.COLUMN_NAME AS column_name, c.COLUMN_TYPE AS column_type, \
       c.IS_NULLABLE AS is_nullable, c.COLUMN_DEFAULT AS default_value, c.EXTRA AS extra \
FROM information_schema.TABLES t \
JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME \
WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION";

/// Columns of every index (the primary key's included).
const INDEXES: &str = "\
SELECT s.TABLE_NAME AS table_name, s.INDEX_NAME AS index_name, s.NON_UNIQUE AS non_unique, \
       s.SEQ_IN_INDEX AS position, s.COLUMN_NAME AS column_name, s.SUB_PART AS sub_part \
FROM information_schema.STATISTICS s \
WHERE s.TABLE_SCHEMA = DATABASE()";

/// Column pairs of every foreign key.
const FOREIGN_KEYS: &str = "\
SELECT k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS constraint_name, \
       k.REFERENCED_TABLE_NAME AS referenced_table, r.DELETE_RULE AS on_delete, \
       k.ORDINAL_POSITION AS position, k.COLUMN_NAME AS column_name, \
       k.REFERENCED_COLUMN_NAME AS referenced_column \
FROM information_schema.KEY_COLUMN_USAGE k \
JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME \
 AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL";

/// Reads the current database.
pub(super) async fn read(connection: &mut dyn Connection) -> Result<Reading> {
    let mut results = query(connection, &[COLUMNS, INDEXES, FOREIGN_KEYS])
        .await?
        .into_iter();
    let mut reading = Reading::default();
    let my = Dialect::MySql;

    for row in results.next().unwrap_or_default() {
        let table = text(&row, "table_name")?;
        reading.table(&table);
        let auto_increment = opt_text(&row, "extra")?
            .unwrap_or_default()
            .to_ascii_lowercase()
            .split_whitespace()
            .any(|word| word == "auto_increment");
        let default = match opt_text(&row, "default_value")? {
            Some(raw) if !auto_increment => canonical::default(my, &raw),
            _ => None,
        };
        let column = Column {
            name: text(&row, "column_name")?,
            sql_type: canonical::column_type(my, &text(&row, "column_type")?),
            nullable: flag(&row, "is_nullable")?,
            default,
            auto_increment,
            renamed_from: None,
        };
        reading.column(&table, int(&row, "position")?, column);
    }

    for row in results.next().unwrap_or_default() {
        let table = text(&row, "table_name")?;
        let name = text(&row, "index_name")?;
        let position = int(&row, "position")?;
        // A prefix of a column is not the column.
        let column = match opt_text(&row, "sub_part")? {
            None => opt_text(&row, "column_name")?,
            Some(_) => None,
        };
        if name == "PRIMARY" {
            if let Some(column) = column {
                reading.primary_key(&table, position, &column);
            }
            continue;
        }
        reading.index(&table, &name, !flag(&row, "non_unique")?, position, column);
    }

    for row in results.next().unwrap_or_default() {
        reading.foreign_key(
            &text(&row, "table_name")?,
            &text(&row, "constraint_name")?,
            &text(&row, "referenced_table")?,
            on_delete(my, &text(&row, "on_delete")?),
            int(&row, "position")?,
            &text(&row, "column_name")?,
            opt_text(&row, "referenced_column")?,
        );
    }
    Ok(reading)
}
