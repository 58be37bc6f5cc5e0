//! Optimistic-lock versions: the first value of a version column and the next one.
//!
//! Policy: integer versions start at 1 and go up by one. Timestamp versions hold UTC
//! milliseconds: they start at the current millisecond and move to the current millisecond,
//! or one millisecond past the old version if the clock has not moved on, so every update
//! changes the version. Versions are compared by value (MikroORM compares `Date` versions by
//! identity, so an equal date fails, reference 1.10).

use crate::error::{Error, Result};
use crate::value::{ColumnType, Value};

/// The Rust types a `#[version]` field may have.
#[diagnostic::on_unimplemented(
    message = "a version field cannot be of type `{Self}`",
    note = "versions are i16, i32, i64 (a counter) or chrono::DateTime<Utc> (a millisecond timestamp)"
)]
pub trait VersionType: crate::FieldType {}

impl VersionType for i16 {}
impl VersionType for i32 {}
impl VersionType for i64 {}
#[cfg(feature = "chrono")]
impl VersionType for chrono::DateTime<chrono::Utc> {}

/// The version a new row gets.
///
/// ```
/// use coherent_core::{ColumnType, Value, version};
/// assert_eq!(version::initial(ColumnType::Int).unwrap(), Value::I32(1));
/// assert_eq!(version::initial(ColumnType::BigInt).unwrap(), Value::I64(1));
/// ```
pub fn initial(column_type: ColumnType) -> Result<Value> {
    match column_type {
        ColumnType::SmallInt => Ok(Value::I16(1)),
        ColumnType::Int => Ok(Value::I32(1)),
        ColumnType::BigInt => Ok(Value::I64(1)),
        #[cfg(feature = "chrono")]
        ColumnType::DateTimeUtc => Ok(Value::DateTimeUtc(now_ms())),
        other => Err(Error::InvalidArgument(format!(
            "a version column cannot be of type {other:?}"
        ))),
    }
}

/// The version after `current`.
///
/// ```
/// use coherent_core::{Value, version};
/// assert_eq!(version::next(&Value::I32(4)).unwrap(), Value::I32(5));
/// assert!(version::next(&Value::I16(i16::MAX)).is_err());
/// ```
pub fn next(current: &Value) -> Result<Value> {
    let overflow = || Error::InvalidArgument(format!("version {current:?} cannot be advanced"));
    match current {
        Value::I16(n) => n.checked_add(1).map(Value::I16).ok_or_else(overflow),
        Value::I32(n) => n.checked_add(1).map(Value::I32).ok_or_else(overflow),
        Value::I64(n) => n.checked_add(1).map(Value::I64).ok_or_else(overflow),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => {
            let now = now_ms();
            Ok(Value::DateTimeUtc(if now > *t {
                now
            } else {
                truncate_ms(*t) + chrono::Duration::milliseconds(1)
            }))
        }
        other => Err(Error::InvalidArgument(format!(
            "{} is not a version value",
            other.kind()
        ))),
    }
}

/// A version as users read it in messages: the number, or the milliseconds since the epoch.
pub fn display(v: &Value) -> String {
    match v {
        Value::I16(n) => n.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => t.timestamp_millis().to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(feature = "chrono")]
fn truncate_ms(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

#[cfg(feature = "chrono")]
fn now_ms() -> chrono::DateTime<chrono::Utc> {
    truncate_ms(chrono::Utc::now())
}

#[cfg(all(test, feature = "chrono"))]
mod tests {
    use super::*;

    #[test]
    fn timestamp_versions_are_milliseconds_and_always_move() {
        let Value::DateTimeUtc(first) = initial(ColumnType::DateTimeUtc).unwrap() else {
            panic!()
        };
        assert_eq!(first.timestamp_subsec_nanos() % 1_000_000, 0);
        let future = first + chrono::Duration::seconds(60);
        let Value::DateTimeUtc(after) = next(&Value::DateTimeUtc(future)).unwrap() else {
            panic!()
        };
        assert_eq!(after, future + chrono::Duration::milliseconds(1));
    }
}
