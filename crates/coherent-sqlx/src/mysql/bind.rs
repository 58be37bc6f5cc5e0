//! Binding [`Value`]s for MySQL: each variant as its own wire type (MySQL converts on
//! assignment); UUIDs as 16 bytes (`BINARY(16)` columns), date-times as UTC.

use coherent_core::{Error, Result, Value};
use sqlx::Arguments;
use sqlx::mysql::MySqlArguments;

fn push<'q, T>(args: &mut MySqlArguments, v: T) -> Result<()>
where
    T: sqlx::Encode<'q, sqlx::MySql> + sqlx::Type<sqlx::MySql> + 'q,
{
    args.add(v)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode a parameter: {e}")))
}

/// Adds `value` to `args`.
pub fn add(args: &mut MySqlArguments, value: &Value) -> Result<()> {
    match value {
        Value::Null => push(args, None::<i64>),
        Value::Bool(b) => push(args, *b),
        Value::I16(n) => push(args, *n),
        Value::I32(n) => push(args, *n),
        Value::I64(n) => push(args, *n),
        Value::F32(f) => push(args, *f),
        Value::F64(f) => push(args, *f),
        Value::Text(s) => push(args, s.clone()),
        Value::Bytes(b) => push(args, b.clone()),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => push(args, u.as_bytes().to_vec()),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => push(args, t.naive_utc()),
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => push(args, *t),
        #[cfg(feature = "chrono")]
        Value::Date(d) => push(args, *d),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => push(args, *d),
        #[cfg(feature = "json")]
        Value::Json(j) => push(args, j.to_string()),
    }
}
