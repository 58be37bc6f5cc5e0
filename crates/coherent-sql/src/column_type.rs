//! The DDL type of each [`ColumnType`] per dialect.
//!
//! A text column in a composite index is indexed too: see [`entity_sql_type`].
//!
//! Policy: types preserve values exactly, and text compares as Rust's `==` and `Ord` on
//! `String` do. On SQLite, decimals, date-times and JSON are `TEXT` (a `DECIMAL` column would
//! get NUMERIC affinity and turn `'1.10'` into `1.1`), UUIDs are 16-byte `BLOB`s. On MySQL,
//! text that is a key, unique or indexed is `VARCHAR(255)` (MySQL cannot index unbounded
//! `TEXT`), and every text column is `utf8mb4` in MariaDB's `utf8mb4_nopad_bin` collation
//! ([`MYSQL_TEXT`]): compared and sorted by code point, trailing spaces included. The default
//! collations ignore case, accents and trailing spaces, so a key `"k"` would find and collide
//! with `"K"` and `"k "`. (SQLite's text compares bytewise; PostgreSQL's deterministic
//! collations compare equal only what is the same text.)

use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta};

/// A MySQL text type followed by [`MYSQL_TEXT`], as one literal.
macro_rules! mysql_text {
    ($($ty:literal)?) => {
        concat!($($ty, " ",)? "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin")
    };
}

/// The character set and collation of every text column on MySQL/MariaDB: binary (by code
/// point) and without padding (`"k"` and `"k "` differ), as Rust compares strings.
pub const MYSQL_TEXT: &str = mysql_text!();

/// The SQL type of `column` in `dialect`.
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta};
/// use coherent_sql::column_type::sql_type;
/// assert_eq!(sql_type(Dialect::Sqlite, &ColumnMeta::new("price", ColumnType::Decimal)), "TEXT");
/// assert_eq!(sql_type(Dialect::Postgres, &ColumnMeta::new("price", ColumnType::Decimal)), "NUMERIC");
/// let key = ColumnMeta { primary_key: true, ..ColumnMeta::new("code", ColumnType::Text) };
/// assert_eq!(sql_type(Dialect::MySql, &key), "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin");
/// assert_eq!(sql_type(Dialect::MySql, &ColumnMeta::new("bio", ColumnType::Text)), "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin");
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
                mysql_text!("VARCHAR(255)")
            }
            Text => mysql_text!("LONGTEXT"),
            Blob => "LONGBLOB",
            Uuid => "BINARY(16)",
            DateTimeUtc | DateTime => "DATETIME(6)",
            Date => "DATE",
            Decimal => "DECIMAL(38, 10)",
            Json => "JSON",
        },
    }
}

/// The SQL type of `column` of `meta` in `dialect`: [`sql_type`], except that on MySQL a text
/// column in one of the entity's composite indexes is `VARCHAR(255)` too (MySQL cannot
/// index unbounded text).
///
/// ```
/// use coherent_core::{ColumnMeta, ColumnType, Dialect, EntityMeta, IndexMeta};
/// use coherent_sql::column_type::entity_sql_type;
/// static COLS: [ColumnMeta; 2] = [ColumnMeta::new("id", ColumnType::BigInt), ColumnMeta::new("title", ColumnType::Text)];
/// static IDX: [IndexMeta; 1] = [IndexMeta { name: "idx_t_title_id", columns: &["title", "id"], unique: false }];
/// static META: EntityMeta = EntityMeta { name: "T", table: "t", columns: &COLS, primary_key: 0, relations: &[], indexes: &IDX, renamed_from: None };
/// assert!(entity_sql_type(Dialect::MySql, &META, &COLS[1]).starts_with("VARCHAR(255)"));
/// assert_eq!(entity_sql_type(Dialect::Postgres, &META, &COLS[1]), "TEXT");
/// ```
pub fn entity_sql_type(dialect: Dialect, meta: &EntityMeta, column: &ColumnMeta) -> &'static str {
    let in_composite = || {
        meta.indexes
            .iter()
            .any(|i| i.columns.contains(&column.name))
    };
    if dialect == Dialect::MySql && column.column_type == ColumnType::Text && in_composite() {
        return mysql_text!("VARCHAR(255)");
    }
    sql_type(dialect, column)
}
