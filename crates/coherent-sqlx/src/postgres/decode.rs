//! Decoding PostgreSQL rows into [`Value`]s by column type: each column's [`Kind`] is found
//! once per result set, then each cell decodes straight from its raw value.

use coherent_core::{Error, Result, Value};
use sqlx::postgres::{PgColumn, PgRow, PgValueRef};
use sqlx::{Column, Decode, Row, TypeInfo, ValueRef};

/// How one column's cells decode, found once per result set from its type.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `BOOL`.
    Bool,
    /// `INT2`.
    I16,
    /// `INT4`.
    I32,
    /// `INT8`.
    I64,
    /// `FLOAT4`.
    F32,
    /// `FLOAT8`.
    F64,
    /// `BYTEA`.
    Bytes,
    /// Text types.
    Text,
    /// `NUMERIC`.
    #[cfg(feature = "rust_decimal")]
    Decimal,
    /// `UUID`.
    #[cfg(feature = "uuid")]
    Uuid,
    /// `TIMESTAMPTZ`.
    #[cfg(feature = "chrono")]
    DateTimeUtc,
    /// `TIMESTAMP`.
    #[cfg(feature = "chrono")]
    DateTime,
    /// `DATE`.
    #[cfg(feature = "chrono")]
    Date,
    /// `JSON`, `JSONB`.
    #[cfg(feature = "json")]
    Json,
}

/// The kinds of `columns`; a type Coherent does not read is an error naming the column.
pub fn kinds(columns: &[PgColumn]) -> Result<Vec<Kind>> {
    columns
        .iter()
        .map(|column| {
            Ok(match column.type_info().name() {
                "BOOL" => Kind::Bool,
                "INT2" => Kind::I16,
                "INT4" => Kind::I32,
                "INT8" => Kind::I64,
                "FLOAT4" => Kind::F32,
                "FLOAT8" => Kind::F64,
                "BYTEA" => Kind::Bytes,
                #[cfg(feature = "rust_decimal")]
                "NUMERIC" => Kind::Decimal,
                #[cfg(feature = "uuid")]
                "UUID" => Kind::Uuid,
                #[cfg(feature = "chrono")]
                "TIMESTAMPTZ" => Kind::DateTimeUtc,
                #[cfg(feature = "chrono")]
                "TIMESTAMP" => Kind::DateTime,
                #[cfg(feature = "chrono")]
                "DATE" => Kind::Date,
                #[cfg(feature = "json")]
                "JSON" | "JSONB" => Kind::Json,
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Kind::Text,
                other => {
                    return Err(Error::Decode {
                        column: column.name().to_owned(),
                        message: format!("unsupported PostgreSQL type {other}"),
                    });
                }
            })
        })
        .collect()
}

/// Appends the cells of `row` to `out`, column `i` decoded as `kinds[i]`.
pub fn row(row: &PgRow, kinds: &[Kind], out: &mut Vec<Value>) -> Result<()> {
    for (i, kind) in kinds.iter().enumerate() {
        let failed = |e: sqlx::error::BoxDynError| Error::Decode {
            column: row.columns()[i].name().to_owned(),
            message: e.to_string(),
        };
        let raw = row.try_get_raw(i).map_err(|e| failed(Box::new(e)))?;
        if raw.is_null() {
            out.push(Value::Null);
            continue;
        }
        fn get<'r, T: Decode<'r, sqlx::Postgres>>(
            raw: PgValueRef<'r>,
        ) -> std::result::Result<T, sqlx::error::BoxDynError> {
            T::decode(raw)
        }
        let v = match kind {
            Kind::Bool => get(raw).map(Value::Bool),
            Kind::I16 => get::<i16>(raw).map(|n| Value::I64(i64::from(n))),
            Kind::I32 => get::<i32>(raw).map(|n| Value::I64(i64::from(n))),
            Kind::I64 => get(raw).map(Value::I64),
            Kind::F32 => get(raw).map(Value::F32),
            Kind::F64 => get(raw).map(Value::F64),
            Kind::Bytes => get(raw).map(Value::Bytes),
            Kind::Text => get(raw).map(Value::Text),
            #[cfg(feature = "rust_decimal")]
            Kind::Decimal => match zero_with_scale(&raw) {
                Some(zero) => Ok(Value::Decimal(zero)),
                None => get(raw).map(Value::Decimal),
            },
            #[cfg(feature = "uuid")]
            Kind::Uuid => get(raw).map(Value::Uuid),
            #[cfg(feature = "chrono")]
            Kind::DateTimeUtc => get(raw).map(Value::DateTimeUtc),
            #[cfg(feature = "chrono")]
            Kind::DateTime => get(raw).map(Value::DateTime),
            #[cfg(feature = "chrono")]
            Kind::Date => get(raw).map(Value::Date),
            #[cfg(feature = "json")]
            Kind::Json => {
                get::<sqlx::types::Json<serde_json::Value>>(raw).map(|j| Value::Json(j.0))
            }
        };
        out.push(v.map_err(failed)?);
    }
    Ok(())
}

/// A binary `NUMERIC` zero with a display scale (`0.000`), which sqlx decodes as `0`.
#[cfg(feature = "rust_decimal")]
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
