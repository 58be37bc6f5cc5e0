//! Decoding MySQL rows into [`Value`]s by column type: integers (and `BOOLEAN`, which is
//! `TINYINT(1)`) as `i64`, `FLOAT` as `f32`, `DOUBLE` as `f64`, text (any character set but
//! `binary`, whatever the collation) as text, binary as bytes, `DATETIME`/`TIMESTAMP` as naive
//! UTC date-times, `DECIMAL` as decimals, `JSON` (MariaDB: `LONGTEXT` in `utf8mb4_bin`) as
//! text.

use coherent_core::{Error, Result, Value};
use sqlx::mysql::MySqlRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

fn cell<'r, T>(row: &'r MySqlRow, i: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>,
{
    row.try_get_unchecked::<T, _>(i).map_err(|e| Error::Decode {
        column: row.columns()[i].name().to_owned(),
        message: e.to_string(),
    })
}

/// Appends the cells of `row` to `out`.
pub fn row(row: &MySqlRow, out: &mut Vec<Value>) -> Result<()> {
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| Error::Decode {
            column: column.name().to_owned(),
            message: e.to_string(),
        })?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let name = column.type_info().name();
        let v = match name {
            "BOOLEAN" => Value::Bool(cell(row, i)?),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
                Value::I64(cell(row, i)?)
            }
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED"
            | "BIGINT UNSIGNED" => {
                let n: u64 = cell(row, i)?;
                Value::I64(i64::try_from(n).map_err(|_| Error::Decode {
                    column: column.name().to_owned(),
                    message: format!("{n} does not fit an i64"),
                })?)
            }
            "FLOAT" => Value::F32(cell(row, i)?),
            "DOUBLE" => Value::F64(cell(row, i)?),
            #[cfg(feature = "decimal")]
            "DECIMAL" => Value::Decimal(cell(row, i)?),
            #[cfg(feature = "chrono")]
            "DATETIME" | "TIMESTAMP" => Value::DateTime(cell(row, i)?),
            #[cfg(feature = "chrono")]
            "DATE" => Value::Date(cell(row, i)?),
            // sqlx names a column "BLOB" (not "TEXT") when the server flags it BINARY, which
            // it also does for text in a `_bin` collation (MariaDB's JSON is LONGTEXT in
            // utf8mb4_bin): only the binary character set makes bytes.
            _ if <str as sqlx::Type<sqlx::MySql>>::compatible(column.type_info()) => {
                Value::Text(cell(row, i)?)
            }
            "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
                Value::Bytes(cell(row, i)?)
            }
            _ => match cell::<String>(row, i) {
                Ok(s) => Value::Text(s),
                Err(_) => Value::Bytes(cell(row, i)?),
            },
        };
        out.push(v);
    }
    Ok(())
}
