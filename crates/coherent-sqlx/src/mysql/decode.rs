//! Decoding MySQL rows into [`Value`]s by column type: integers (and `BOOLEAN`, which is
//! `TINYINT(1)`) as `i64`, `FLOAT` as `f32`, `DOUBLE` as `f64`, text (any character set but
//! `binary`, whatever the collation) as text, binary as bytes, `DATETIME`/`TIMESTAMP` as naive
//! UTC date-times, `DECIMAL` as decimals, `JSON` (MariaDB: `LONGTEXT` in `utf8mb4_bin`) as
//! text.

use coherent_core::{Error, Result, Value};
use sqlx::mysql::{MySqlColumn, MySqlRow, MySqlValueRef};
use sqlx::{Column, Decode, Row, TypeInfo, ValueRef};

/// How one column's cells decode, found once per result set from its type.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `BOOLEAN` (`TINYINT(1)`).
    Bool,
    /// Signed integers, `YEAR`.
    I64,
    /// Unsigned integers (must fit an `i64`).
    U64,
    /// `FLOAT`.
    F32,
    /// `DOUBLE`.
    F64,
    /// `DECIMAL`.
    #[cfg(feature = "rust_decimal")]
    Decimal,
    /// `DATETIME`, `TIMESTAMP`.
    #[cfg(feature = "chrono")]
    DateTime,
    /// `DATE`.
    #[cfg(feature = "chrono")]
    Date,
    /// Text in a text character set (including `_bin` collations).
    Text,
    /// Binary strings.
    Bytes,
    /// Anything else: text if it decodes as text, else bytes.
    Other,
}

/// The kinds of `columns`.
pub fn kinds(columns: &[MySqlColumn]) -> Vec<Kind> {
    columns
        .iter()
        .map(|column| match column.type_info().name() {
            "BOOLEAN" => Kind::Bool,
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => Kind::I64,
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
            | "BIGINT UNSIGNED" => Kind::U64,
            "FLOAT" => Kind::F32,
            "DOUBLE" => Kind::F64,
            #[cfg(feature = "rust_decimal")]
            "DECIMAL" => Kind::Decimal,
            #[cfg(feature = "chrono")]
            "DATETIME" | "TIMESTAMP" => Kind::DateTime,
            #[cfg(feature = "chrono")]
            "DATE" => Kind::Date,
            // sqlx names a column "BLOB" (not "TEXT") when the server flags it BINARY, which
            // it also does for text in a `_bin` collation (MariaDB's JSON is LONGTEXT in
            // utf8mb4_bin): only the binary character set makes bytes.
            _ if <str as sqlx::Type<sqlx::MySql>>::compatible(column.type_info()) => Kind::Text,
            "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => Kind::Bytes,
            _ => Kind::Other,
        })
        .collect()
}

fn get<'r, T: Decode<'r, sqlx::MySql>>(
    raw: MySqlValueRef<'r>,
) -> std::result::Result<T, sqlx::error::BoxDynError> {
    T::decode(raw)
}

/// Appends the cells of `row` to `out`, column `i` decoded as `kinds[i]`.
pub fn row(row: &MySqlRow, kinds: &[Kind], out: &mut Vec<Value>) -> Result<()> {
    for (i, kind) in kinds.iter().enumerate() {
        let failed = |message: String| Error::Decode {
            column: row.columns()[i].name().to_owned(),
            message,
        };
        let raw = row.try_get_raw(i).map_err(|e| failed(e.to_string()))?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let v = match kind {
            Kind::Bool => get(raw).map(Value::Bool),
            Kind::I64 => get(raw).map(Value::I64),
            Kind::U64 => {
                let n: u64 = get(raw).map_err(|e| failed(e.to_string()))?;
                let n = i64::try_from(n).map_err(|_| failed(format!("{n} does not fit an i64")))?;
                Ok(Value::I64(n))
            }
            Kind::F32 => get(raw).map(Value::F32),
            Kind::F64 => get(raw).map(Value::F64),
            #[cfg(feature = "rust_decimal")]
            Kind::Decimal => get(raw).map(Value::Decimal),
            #[cfg(feature = "chrono")]
            Kind::DateTime => get(raw).map(Value::DateTime),
            #[cfg(feature = "chrono")]
            Kind::Date => get(raw).map(Value::Date),
            Kind::Text => get(raw).map(Value::Text),
            Kind::Bytes => get(raw).map(Value::Bytes),
            Kind::Other => match get::<String>(raw.clone()) {
                Ok(s) => Ok(Value::Text(s)),
                Err(_) => get(raw).map(Value::Bytes),
            },
        };
        out.push(v.map_err(|e| failed(e.to_string()))?);
    }
    Ok(())
}
