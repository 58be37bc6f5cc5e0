//! Decoding PostgreSQL rows into [`Value`]s by column type.

use coherent_core::{Error, Result, Value};
use sqlx::postgres::PgRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

fn cell<'r, T>(row: &'r PgRow, i: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get_unchecked::<T, _>(i).map_err(|e| Error::Decode {
        column: row.columns()[i].name().to_owned(),
        message: e.to_string(),
    })
}

/// Appends the cells of `row` to `out`.
pub fn row(row: &PgRow, out: &mut Vec<Value>) -> Result<()> {
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(|e| Error::Decode {
            column: column.name().to_owned(),
            message: e.to_string(),
        })?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        let v = match column.type_info().name() {
            "BOOL" => Value::Bool(cell(row, i)?),
            "INT2" => Value::I64(i64::from(cell::<i16>(row, i)?)),
            "INT4" => Value::I64(i64::from(cell::<i32>(row, i)?)),
            "INT8" => Value::I64(cell(row, i)?),
            "FLOAT4" => Value::F32(cell(row, i)?),
            "FLOAT8" => Value::F64(cell(row, i)?),
            "BYTEA" => Value::Bytes(cell(row, i)?),
            #[cfg(feature = "decimal")]
            "NUMERIC" => Value::Decimal(zero_with_scale(&raw).map_or_else(|| cell(row, i), Ok)?),
            #[cfg(feature = "uuid")]
            "UUID" => Value::Uuid(cell(row, i)?),
            #[cfg(feature = "chrono")]
            "TIMESTAMPTZ" => Value::DateTimeUtc(cell(row, i)?),
            #[cfg(feature = "chrono")]
            "TIMESTAMP" => Value::DateTime(cell(row, i)?),
            #[cfg(feature = "chrono")]
            "DATE" => Value::Date(cell(row, i)?),
            #[cfg(feature = "json")]
            "JSON" | "JSONB" => {
                Value::Json(cell::<sqlx::types::Json<serde_json::Value>>(row, i)?.0)
            }
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Value::Text(cell(row, i)?),
            other => {
                return Err(Error::Decode {
                    column: column.name().to_owned(),
                    message: format!("unsupported PostgreSQL type {other}"),
                });
            }
        };
        out.push(v);
    }
    Ok(())
}

/// A binary `NUMERIC` zero with a display scale (`0.000`), which sqlx decodes as `0`.
#[cfg(feature = "decimal")]
fn zero_with_scale(raw: &sqlx::postgres::PgValueRef<'_>) -> Option<rust_decimal::Decimal> {
    if raw.format() != sqlx::postgres::PgValueFormat::Binary {
        return None;
    }
    let bytes = raw.as_bytes().ok()?;
    let word = |at: usize| Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    // No digits and a positive sign (not NaN or an infinity): a zero.
    if bytes.len() != 8 || word(0)? != 0 || word(4)? != 0 {
        return None;
    }
    rust_decimal::Decimal::try_new(0, u32::from(word(6)?)).ok()
}
