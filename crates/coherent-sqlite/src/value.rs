//! Converting [`Value`]s to SQLite's storage classes and back.
//!
//! Policy:
//! - **Binding** keeps SQLite's five storage classes honest: `Bool` is the integer 0 or 1,
//!   every integer width is an INTEGER, floats are REAL, text is TEXT, bytes are a BLOB.
//!   Optional types have fixed encodings: a UUID is its 16-byte BLOB, date-times are TEXT in
//!   [`coherent_core::field_type::DATETIME_FORMAT`] (fixed width, so text order is time
//!   order; to the microsecond, the nanoseconds within the second cut: the stored form of
//!   [`coherent_core::stored_form`]), dates are `%Y-%m-%d`, decimals are their exact text,
//!   JSON is its text. (A `-0.0` binds as it is; a table stores it as `0`.)
//! - **NaN is refused** with [`Error::InvalidArgument`]: SQLite would silently store NULL.
//!   Infinities are stored as they are.
//! - **Decoding** returns the widest natural variant: NULL, `I64`, `F64`, `Text`, `Bytes`;
//!   [`coherent_core::FieldType::from_value`] narrows with range checks.
//! - Text and bytes are bound by reference: binding copies nothing on the Rust side.

use coherent_core::{Error, Value};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// Date-times are stored as fixed-width text, whose order is time order only for the years
/// 0 to 9999 (chrono writes a sign and more digits outside them): other years are refused
/// rather than stored in a form that filters and ORDER BY would compare wrongly.
#[cfg(feature = "chrono")]
fn sortable_year(date: chrono::NaiveDate) -> Result<(), Error> {
    use chrono::Datelike;
    if (0..=9999).contains(&date.year()) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "the date {date} is outside the years 0 to 9999 that SQLite's date-time text keeps in order"
        )))
    }
}

/// The SQLite form of `value`, ready to bind.
///
/// ```
/// use coherent_core::Value;
/// use coherent_sqlite::value::to_sql;
/// use rusqlite::types::{ToSqlOutput, ValueRef};
///
/// assert_eq!(to_sql(&Value::Bool(true))?, ToSqlOutput::Borrowed(ValueRef::Integer(1)));
/// assert!(to_sql(&Value::F64(f64::NAN)).is_err());
/// # Ok::<(), coherent_core::Error>(())
/// ```
pub fn to_sql(value: &Value) -> Result<ToSqlOutput<'_>, Error> {
    Ok(match value {
        Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
        Value::I16(i) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*i))),
        Value::I32(i) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*i))),
        Value::I64(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::F32(f) => ToSqlOutput::Borrowed(ValueRef::Real(finite_or_infinite(f64::from(*f))?)),
        Value::F64(f) => ToSqlOutput::Borrowed(ValueRef::Real(finite_or_infinite(*f)?)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(d) => {
            sortable_year(d.date_naive())?;
            text(
                d.naive_utc()
                    .format(coherent_core::field_type::DATETIME_FORMAT)
                    .to_string(),
            )
        }
        #[cfg(feature = "chrono")]
        Value::DateTime(d) => {
            sortable_year(d.date())?;
            text(
                d.format(coherent_core::field_type::DATETIME_FORMAT)
                    .to_string(),
            )
        }
        #[cfg(feature = "chrono")]
        Value::Date(d) => {
            sortable_year(*d)?;
            text(d.format("%Y-%m-%d").to_string())
        }
        #[cfg(feature = "rust_decimal")]
        Value::Decimal(d) => text(d.to_string()),
        #[cfg(feature = "json")]
        Value::Json(j) => text(j.to_string()),
    })
}

#[cfg(any(feature = "chrono", feature = "rust_decimal", feature = "json"))]
fn text(s: String) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(rusqlite::types::Value::Text(s))
}

fn finite_or_infinite(f: f64) -> Result<f64, Error> {
    if f.is_nan() {
        Err(Error::InvalidArgument(
            "cannot bind NaN: SQLite would store it as NULL".into(),
        ))
    } else {
        Ok(f)
    }
}

/// Decodes one result cell; `column` names it in the error for invalid UTF-8 text.
///
/// ```
/// use coherent_core::Value;
/// use coherent_sqlite::value::from_sql;
/// use rusqlite::types::ValueRef;
///
/// assert_eq!(from_sql(ValueRef::Integer(7), "n")?, Value::I64(7));
/// assert_eq!(from_sql(ValueRef::Text(b"hi"), "s")?, Value::Text("hi".into()));
/// assert!(from_sql(ValueRef::Text(&[0xff]), "s").is_err());
/// # Ok::<(), coherent_core::Error>(())
/// ```
pub fn from_sql(cell: ValueRef<'_>, column: &str) -> Result<Value, Error> {
    Ok(match cell {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::I64(i),
        ValueRef::Real(f) => Value::F64(f),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_owned()),
            Err(e) => {
                return Err(Error::Decode {
                    column: column.to_owned(),
                    message: format!("text is not valid UTF-8: {e}"),
                });
            }
        },
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use coherent_core::FieldType;

    /// Binds `value` as `SELECT ?` on a real connection and decodes the cell.
    fn round_trip(value: &Value) -> Result<Value, Error> {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("SELECT ?1, typeof(?1)").unwrap();
        stmt.raw_bind_parameter(1, to_sql(value)?).unwrap();
        let mut rows = stmt.raw_query();
        let row = rows.next().unwrap().unwrap();
        let cell = from_sql(row.get_ref(0).unwrap(), "v")?;
        let storage: String = row.get(1).unwrap();
        let expected_storage = match &cell {
            Value::Null => "null",
            Value::I64(_) => "integer",
            Value::F64(_) => "real",
            Value::Text(_) => "text",
            Value::Bytes(_) => "blob",
            other => panic!("unexpected decoded variant {other:?}"),
        };
        assert_eq!(storage, expected_storage);
        Ok(cell)
    }

    #[test]
    fn scalars_round_trip() {
        assert_eq!(round_trip(&Value::Null).unwrap(), Value::Null);
        assert_eq!(round_trip(&Value::Bool(true)).unwrap(), Value::I64(1));
        assert_eq!(round_trip(&Value::Bool(false)).unwrap(), Value::I64(0));
        assert_eq!(round_trip(&Value::I16(-7)).unwrap(), Value::I64(-7));
        assert_eq!(
            round_trip(&Value::I32(i32::MIN)).unwrap(),
            Value::I64(i32::MIN.into())
        );
        assert_eq!(
            round_trip(&Value::I64(i64::MAX)).unwrap(),
            Value::I64(i64::MAX)
        );
        assert_eq!(round_trip(&Value::F32(1.5)).unwrap(), Value::F64(1.5));
        assert_eq!(round_trip(&Value::F64(-0.25)).unwrap(), Value::F64(-0.25));
        assert_eq!(
            round_trip(&Value::F64(f64::INFINITY)).unwrap(),
            Value::F64(f64::INFINITY)
        );
        assert_eq!(
            round_trip(&Value::F64(f64::NEG_INFINITY)).unwrap(),
            Value::F64(f64::NEG_INFINITY)
        );
        assert_eq!(
            round_trip(&Value::Text("héllo".into())).unwrap(),
            Value::Text("héllo".into())
        );
        assert_eq!(
            round_trip(&Value::Text(String::new())).unwrap(),
            Value::Text(String::new())
        );
        assert_eq!(
            round_trip(&Value::Bytes(vec![0, 1, 255])).unwrap(),
            Value::Bytes(vec![0, 1, 255])
        );
        assert!(bool::from_value(round_trip(&Value::Bool(true)).unwrap()).unwrap());
        assert_eq!(
            i16::from_value(round_trip(&Value::I16(300)).unwrap()).unwrap(),
            300
        );
    }

    #[test]
    fn nan_is_rejected() {
        for v in [Value::F64(f64::NAN), Value::F32(f32::NAN)] {
            match round_trip(&v) {
                Err(Error::InvalidArgument(m)) => assert!(m.contains("NaN"), "{m}"),
                other => panic!("expected InvalidArgument, got {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_is_a_decode_error() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let result = conn
            .query_row("SELECT CAST(x'ff' AS TEXT)", [], |r| {
                Ok(from_sql(r.get_ref(0)?, "bad"))
            })
            .unwrap();
        match result {
            Err(Error::Decode { column, message }) => {
                assert_eq!(column, "bad");
                assert!(message.contains("UTF-8"), "{message}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[cfg(feature = "uuid")]
    #[test]
    fn uuid_is_a_16_byte_blob() {
        let u = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let cell = round_trip(&Value::Uuid(u)).unwrap();
        assert_eq!(cell, Value::Bytes(u.as_bytes().to_vec()));
        assert_eq!(uuid::Uuid::from_value(cell).unwrap(), u);
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn chrono_is_fixed_width_text() {
        use chrono::{NaiveDate, TimeZone, Utc};
        let d = Utc.with_ymd_and_hms(2024, 2, 29, 13, 4, 5).unwrap()
            + chrono::Duration::microseconds(123_456);
        let cell = round_trip(&Value::DateTimeUtc(d)).unwrap();
        assert_eq!(cell, Value::Text("2024-02-29 13:04:05.123456".into()));
        assert_eq!(chrono::DateTime::<Utc>::from_value(cell).unwrap(), d);

        let naive = d.naive_utc();
        let cell = round_trip(&Value::DateTime(naive)).unwrap();
        assert_eq!(chrono::NaiveDateTime::from_value(cell).unwrap(), naive);

        // Nanoseconds bind as the stored form: cut to the microsecond, towards the past.
        for t in [d, Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap()] {
            let t = t + chrono::Duration::nanoseconds(999);
            let stored =
                coherent_core::stored_form::stored_datetime(coherent_core::Dialect::Sqlite, t);
            assert_ne!(stored, t);
            assert_eq!(
                round_trip(&Value::DateTimeUtc(t)).unwrap(),
                round_trip(&Value::DateTimeUtc(stored)).unwrap()
            );
            assert_eq!(
                round_trip(&Value::DateTime(t.naive_utc())).unwrap(),
                round_trip(&Value::DateTime(stored.naive_utc())).unwrap()
            );
        }

        let date = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap();
        let cell = round_trip(&Value::Date(date)).unwrap();
        assert_eq!(cell, Value::Text("1999-12-31".into()));
        assert_eq!(NaiveDate::from_value(cell).unwrap(), date);
    }

    #[cfg(feature = "rust_decimal")]
    #[test]
    fn decimal_is_exact_text() {
        let d: rust_decimal::Decimal = "12345678901234567890.1200".parse().unwrap();
        let cell = round_trip(&Value::Decimal(d)).unwrap();
        assert_eq!(cell, Value::Text("12345678901234567890.1200".into()));
        let back = rust_decimal::Decimal::from_value(cell).unwrap();
        assert!(back.same(&d));
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_is_text() {
        let j = serde_json::json!({"a": [1, 2, {"b": null}]});
        let cell = round_trip(&Value::Json(j.clone())).unwrap();
        assert!(matches!(cell, Value::Text(_)));
        assert_eq!(serde_json::Value::from_value(cell).unwrap(), j);
    }
}
