//! The DDL type of each [`ColumnType`] per dialect.
//!
//! Policy: types preserve values exactly. On SQLite, decimals, date-times and JSON are
//! `TEXT` (a `DECIMAL` column would get NUMERIC affinity and turn `'1.10'` into `1.1`), UUIDs
//! are 16-byte `BLOB`s. On MySQL, text that is a key, unique or indexed is `VARCHAR(255)`
//! (MySQL cannot index unbounded `TEXT`).

use coherent_core::{ColumnMeta, ColumnType, Dialect};

/// The SQL type of `column` in `dialect`.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect};
/// use coherent_sql::column_type::sql_type;
/// assert_eq!(sql_type(Dialect::Sqlite, &ColumnMeta::new("price", ColumnType::Decimal)), "TEXT");
/// assert_eq!(sql_type(Dialect::Postgres, &ColumnMeta::new("price", ColumnType::Decimal)), "NUMERIC");
/// ```
pub fn sql_type(dialect: Dialect, column: &ColumnMeta) -> &'static str {
    use ColumnType::*;
    match dialect {
        Dialect::Sqlite => match column.column_type {
            Bool => "BOOLEAN",
            SmallInt | Int | BigInt => "INTEGER",
            Float | Double => "REAL",
            Text | DateTimeUtc | DateTime | Date | Decimal | Json => "TEXT",
            Blob | Uuid => "BLOB",
        },
        Dialect::Postgres => match column.column_type {
            Bool => "BOOLEAN",
            SmallInt => "SMALLINT",
            Int => "INTEGER",
            BigInt => "BIGINT",
            Float => "REAL",
            Double => "DOUBLE PRECISION",
            Text => "TEXT",
            Blob => "BYTEA",
            Uuid => "UUID",
            DateTimeUtc => "TIMESTAMPTZ",
            DateTime => "TIMESTAMP",
            Date => "DATE",
            Decimal => "NUMERIC",
            Json => "JSONB",
        },
        Dialect::MySql => match column.column_type {
            Bool => "BOOLEAN",
            SmallInt => "SMALLINT",
            Int => "INT",
            BigInt => "BIGINT",
            Float => "FLOAT",
            Double => "DOUBLE",
            Text if column.primary_key
                || column.unique
                || column.index
                || column.references.is_some() =>
            {
                "VARCHAR(255)"
            }
            Text => "LONGTEXT",
            Blob => "LONGBLOB",
            Uuid => "BINARY(16)",
            DateTimeUtc | DateTime => "DATETIME(6)",
            Date => "DATE",
            Decimal => "DECIMAL(38, 10)",
            Json => "JSON",
        },
    }
}
