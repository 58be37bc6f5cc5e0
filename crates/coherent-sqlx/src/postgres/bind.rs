//! Binding [`Value`]s as the parameter types PostgreSQL inferred.
//!
//! Policy: integers convert between widths with a range check, floats widen (and an
//! integer becomes a float or a decimal exactly or not at all), text stays text, and nothing
//! is converted through strings. NULL binds as any type: PostgreSQL already knows the
//! parameter's type.

use coherent_core::{Error, Result, Value};
use sqlx::postgres::{PgArguments, PgTypeInfo};
use sqlx::{Arguments, TypeInfo};

fn mismatch(value: &Value, ty: &PgTypeInfo) -> Error {
    Error::InvalidArgument(format!(
        "cannot bind a {} value to a PostgreSQL {} parameter",
        value.kind(),
        ty.name()
    ))
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::I16(n) => Some(i64::from(*n)),
        Value::I32(n) => Some(i64::from(*n)),
        Value::I64(n) => Some(*n),
        _ => None,
    }
}

fn push<'q, T>(args: &mut PgArguments, v: T) -> Result<()>
where
    T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
{
    args.add(v)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode a parameter: {e}")))
}

/// Adds `value` to `args` as PostgreSQL type `ty`.
pub fn add(args: &mut PgArguments, value: &Value, ty: &PgTypeInfo) -> Result<()> {
    if value.is_null() {
        return push(args, None::<i64>);
    }
    let out_of_range = |n: i64| {
        Error::InvalidArgument(format!(
            "{n} is out of range for a PostgreSQL {} parameter",
            ty.name()
        ))
    };
    match ty.name() {
        "BOOL" => match value {
            Value::Bool(b) => push(args, *b),
            _ => Err(mismatch(value, ty)),
        },
        "INT2" => {
            let n = int(value).ok_or_else(|| mismatch(value, ty))?;
            push(args, i16::try_from(n).map_err(|_| out_of_range(n))?)
        }
        "INT4" => {
            let n = int(value).ok_or_else(|| mismatch(value, ty))?;
            push(args, i32::try_from(n).map_err(|_| out_of_range(n))?)
        }
        "INT8" => push(args, int(value).ok_or_else(|| mismatch(value, ty))?),
        "FLOAT4" => match value {
            Value::F32(f) => push(args, *f),
            _ => Err(mismatch(value, ty)),
        },
        "FLOAT8" => match value {
            Value::F32(f) => push(args, f64::from(*f)),
            Value::F64(f) => push(args, *f),
            _ => match int(value) {
                // Exact for |n| <= 2^53; beyond that the conversion would round.
                Some(n) if n.unsigned_abs() <= 1 << 53 => push(args, n as f64),
                _ => Err(mismatch(value, ty)),
            },
        },
        #[cfg(feature = "decimal")]
        "NUMERIC" => match value {
            Value::Decimal(d) if d.is_zero() => push(args, ZeroNumeric(d.scale())),
            Value::Decimal(d) => push(args, *d),
            _ => match int(value) {
                Some(n) => push(args, rust_decimal::Decimal::from(n)),
                None => Err(mismatch(value, ty)),
            },
        },
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => match value {
            Value::Text(s) => push(args, s.as_str()),
            _ => Err(mismatch(value, ty)),
        },
        "BYTEA" => match value {
            Value::Bytes(b) => push(args, b.as_slice()),
            _ => Err(mismatch(value, ty)),
        },
        #[cfg(feature = "uuid")]
        "UUID" => match value {
            Value::Uuid(u) => push(args, *u),
            Value::Bytes(b) => push(
                args,
                uuid::Uuid::from_slice(b).map_err(|_| mismatch(value, ty))?,
            ),
            _ => Err(mismatch(value, ty)),
        },
        #[cfg(feature = "chrono")]
        "TIMESTAMPTZ" => match value {
            Value::DateTimeUtc(t) => push(args, *t),
            Value::DateTime(t) => push(args, t.and_utc()),
            _ => Err(mismatch(value, ty)),
        },
        #[cfg(feature = "chrono")]
        "TIMESTAMP" => match value {
            Value::DateTime(t) => push(args, *t),
            Value::DateTimeUtc(t) => push(args, t.naive_utc()),
            _ => Err(mismatch(value, ty)),
        },
        #[cfg(feature = "chrono")]
        "DATE" => match value {
            Value::Date(d) => push(args, *d),
            _ => Err(mismatch(value, ty)),
        },
        #[cfg(feature = "json")]
        "JSON" | "JSONB" => match value {
            Value::Json(j) => push(args, sqlx::types::Json(j.clone())),
            _ => Err(mismatch(value, ty)),
        },
        _ => Err(mismatch(value, ty)),
    }
}

/// A decimal zero with its scale (`0.000`) as a PostgreSQL `NUMERIC`: sqlx encodes every
/// zero as `0`, dropping the scale, which the rest of Coherent keeps.
#[cfg(feature = "decimal")]
struct ZeroNumeric(u32);

#[cfg(feature = "decimal")]
impl sqlx::Type<sqlx::Postgres> for ZeroNumeric {
    fn type_info() -> PgTypeInfo {
        <rust_decimal::Decimal as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

#[cfg(feature = "decimal")]
impl sqlx::Encode<'_, sqlx::Postgres> for ZeroNumeric {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        // The binary NUMERIC: no digits, weight 0, positive, display scale.
        let scale = u16::try_from(self.0)?;
        for word in [0u16, 0, 0, scale] {
            buf.extend_from_slice(&word.to_be_bytes());
        }
        Ok(sqlx::encode::IsNull::No)
    }
}
