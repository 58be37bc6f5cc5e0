//! Binding [`Value`]s as the parameter types PostgreSQL inferred.
//!
//! Policy: integers convert between widths with a range check, floats widen (and an
//! integer becomes a float or a decimal exactly or not at all), text stays text, and nothing
//! is converted through strings. NULL binds as any type: PostgreSQL already knows the
//! parameter's type. Date-times bind in their stored form
//! ([`coherent_core::stored_form`]): truncated to the microsecond, towards the past, a leap
//! second folded into the next second.

#[cfg(feature = "chrono")]
use coherent_core::{Dialect, stored_form::stored_datetime};
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

/// A value converted to the Rust type of one PostgreSQL type.
enum Typed<'v> {
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    #[cfg(feature = "rust_decimal")]
    Numeric(Numeric),
    Text(&'v str),
    Bytes(&'v [u8]),
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    #[cfg(feature = "chrono")]
    Tstz(chrono::DateTime<chrono::Utc>),
    #[cfg(feature = "chrono")]
    Ts(chrono::NaiveDateTime),
    #[cfg(feature = "chrono")]
    Date(chrono::NaiveDate),
    #[cfg(feature = "json")]
    Json(sqlx::types::Json<&'v serde_json::Value>),
}

/// Converts `value` to PostgreSQL type `name` (None for NULL).
fn typed<'v>(value: &'v Value, name: &str, ty: &PgTypeInfo) -> Result<Option<Typed<'v>>> {
    if value.is_null() {
        return Ok(None);
    }
    let out_of_range = |n: i64| {
        Error::InvalidArgument(format!(
            "{n} is out of range for a PostgreSQL {name} parameter"
        ))
    };
    let t = match name {
        "BOOL" => match value {
            Value::Bool(b) => Typed::Bool(*b),
            _ => return Err(mismatch(value, ty)),
        },
        "INT2" => {
            let n = int(value).ok_or_else(|| mismatch(value, ty))?;
            Typed::I16(i16::try_from(n).map_err(|_| out_of_range(n))?)
        }
        "INT4" => {
            let n = int(value).ok_or_else(|| mismatch(value, ty))?;
            Typed::I32(i32::try_from(n).map_err(|_| out_of_range(n))?)
        }
        "INT8" => Typed::I64(int(value).ok_or_else(|| mismatch(value, ty))?),
        "FLOAT4" => match value {
            Value::F32(f) => Typed::F32(*f),
            _ => return Err(mismatch(value, ty)),
        },
        "FLOAT8" => match value {
            Value::F32(f) => Typed::F64(f64::from(*f)),
            Value::F64(f) => Typed::F64(*f),
            _ => match int(value) {
                // Exact for |n| <= 2^53; beyond that the conversion would round.
                Some(n) if n.unsigned_abs() <= 1 << 53 => Typed::F64(n as f64),
                _ => return Err(mismatch(value, ty)),
            },
        },
        #[cfg(feature = "rust_decimal")]
        "NUMERIC" => match value {
            Value::Decimal(d) => Typed::Numeric(Numeric(*d)),
            _ => match int(value) {
                Some(n) => Typed::Numeric(Numeric(rust_decimal::Decimal::from(n))),
                None => return Err(mismatch(value, ty)),
            },
        },
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => match value {
            Value::Text(s) => Typed::Text(s.as_str()),
            _ => return Err(mismatch(value, ty)),
        },
        "BYTEA" => match value {
            Value::Bytes(b) => Typed::Bytes(b.as_slice()),
            _ => return Err(mismatch(value, ty)),
        },
        #[cfg(feature = "uuid")]
        "UUID" => match value {
            Value::Uuid(u) => Typed::Uuid(*u),
            Value::Bytes(b) => {
                Typed::Uuid(uuid::Uuid::from_slice(b).map_err(|_| mismatch(value, ty))?)
            }
            _ => return Err(mismatch(value, ty)),
        },
        // In their stored form: sqlx counts microseconds from 2000 towards zero, which would
        // move a date-time before 2000 up instead of down.
        #[cfg(feature = "chrono")]
        "TIMESTAMPTZ" => match value {
            Value::DateTimeUtc(t) => Typed::Tstz(stored_datetime(Dialect::Postgres, *t)),
            Value::DateTime(t) => Typed::Tstz(stored_datetime(Dialect::Postgres, t.and_utc())),
            _ => return Err(mismatch(value, ty)),
        },
        #[cfg(feature = "chrono")]
        "TIMESTAMP" => match value {
            Value::DateTime(t) => Typed::Ts(stored_datetime(Dialect::Postgres, *t)),
            Value::DateTimeUtc(t) => Typed::Ts(stored_datetime(Dialect::Postgres, t.naive_utc())),
            _ => return Err(mismatch(value, ty)),
        },
        #[cfg(feature = "chrono")]
        "DATE" => match value {
            Value::Date(d) => Typed::Date(*d),
            _ => return Err(mismatch(value, ty)),
        },
        #[cfg(feature = "json")]
        "JSON" | "JSONB" => match value {
            Value::Json(j) => Typed::Json(sqlx::types::Json(j)),
            _ => return Err(mismatch(value, ty)),
        },
        _ => return Err(mismatch(value, ty)),
    };
    Ok(Some(t))
}

/// Adds `value` to `args` as PostgreSQL type `ty`.
pub fn add(args: &mut PgArguments, value: &Value, ty: &PgTypeInfo) -> Result<()> {
    match typed(value, ty.name(), ty)? {
        None => push(args, None::<i64>),
        Some(Typed::Bool(v)) => push(args, v),
        Some(Typed::I16(v)) => push(args, v),
        Some(Typed::I32(v)) => push(args, v),
        Some(Typed::I64(v)) => push(args, v),
        Some(Typed::F32(v)) => push(args, v),
        Some(Typed::F64(v)) => push(args, v),
        #[cfg(feature = "rust_decimal")]
        Some(Typed::Numeric(v)) => push(args, v),
        Some(Typed::Text(v)) => push(args, v),
        Some(Typed::Bytes(v)) => push(args, v),
        #[cfg(feature = "uuid")]
        Some(Typed::Uuid(v)) => push(args, v),
        #[cfg(feature = "chrono")]
        Some(Typed::Tstz(v)) => push(args, v),
        #[cfg(feature = "chrono")]
        Some(Typed::Ts(v)) => push(args, v),
        #[cfg(feature = "chrono")]
        Some(Typed::Date(v)) => push(args, v),
        #[cfg(feature = "json")]
        Some(Typed::Json(v)) => push(args, v),
    }
}

/// Adds `values` (one column of a columnar statement) to `args` as one array of the
/// PostgreSQL array type `ty` (`INT8[]`, ..), each element converted as [`add`] converts a
/// scalar.
pub fn add_array<'v>(
    args: &mut PgArguments,
    values: impl ExactSizeIterator<Item = &'v Value>,
    ty: &PgTypeInfo,
) -> Result<()> {
    let Some(element) = ty.name().strip_suffix("[]") else {
        return Err(Error::InvalidArgument(format!(
            "a columnar statement binds arrays, but the server expects {}",
            ty.name()
        )));
    };
    macro_rules! column {
        ($variant:ident, $t:ty) => {{
            let mut out: Vec<Option<$t>> = Vec::with_capacity(values.len());
            for value in values {
                out.push(match typed(value, element, ty)? {
                    None => None,
                    Some(Typed::$variant(v)) => Some(v),
                    Some(_) => return Err(mismatch(value, ty)),
                });
            }
            push(args, out)
        }};
    }
    match element {
        "BOOL" => column!(Bool, bool),
        "INT2" => column!(I16, i16),
        "INT4" => column!(I32, i32),
        "INT8" => column!(I64, i64),
        "FLOAT4" => column!(F32, f32),
        "FLOAT8" => column!(F64, f64),
        #[cfg(feature = "rust_decimal")]
        "NUMERIC" => column!(Numeric, Numeric),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => column!(Text, &str),
        "BYTEA" => column!(Bytes, &[u8]),
        #[cfg(feature = "uuid")]
        "UUID" => column!(Uuid, uuid::Uuid),
        #[cfg(feature = "chrono")]
        "TIMESTAMPTZ" => column!(Tstz, chrono::DateTime<chrono::Utc>),
        #[cfg(feature = "chrono")]
        "TIMESTAMP" => column!(Ts, chrono::NaiveDateTime),
        #[cfg(feature = "chrono")]
        "DATE" => column!(Date, chrono::NaiveDate),
        #[cfg(feature = "json")]
        "JSON" | "JSONB" => column!(Json, sqlx::types::Json<&serde_json::Value>),
        _ => Err(Error::InvalidArgument(format!(
            "cannot bind an array of PostgreSQL {element}"
        ))),
    }
}

/// A decimal as a PostgreSQL `NUMERIC`, a zero with its scale (`0.000`): sqlx encodes every
/// zero as `0`, dropping the scale, which the rest of Coherent keeps.
#[cfg(feature = "rust_decimal")]
struct Numeric(rust_decimal::Decimal);

#[cfg(feature = "rust_decimal")]
impl sqlx::Type<sqlx::Postgres> for Numeric {
    fn type_info() -> PgTypeInfo {
        <rust_decimal::Decimal as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

#[cfg(feature = "rust_decimal")]
impl sqlx::postgres::PgHasArrayType for Numeric {
    fn array_type_info() -> PgTypeInfo {
        <rust_decimal::Decimal as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}

#[cfg(feature = "rust_decimal")]
impl sqlx::Encode<'_, sqlx::Postgres> for Numeric {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        if !self.0.is_zero() {
            return <rust_decimal::Decimal as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(
                &self.0, buf,
            );
        }
        // The binary NUMERIC zero: no digits, weight 0, positive, display scale.
        let scale = u16::try_from(self.0.scale())?;
        for word in [0u16, 0, 0, scale] {
            buf.extend_from_slice(&word.to_be_bytes());
        }
        Ok(sqlx::encode::IsNull::No)
    }
}
