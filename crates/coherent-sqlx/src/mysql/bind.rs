//! Binding [`Value`]s for MySQL: each variant as its own wire type (MySQL converts on
//! assignment); UUIDs as 16 bytes (`BINARY(16)` columns), date-times as UTC in their stored
//! form ([`coherent_core::stored_form`]: to the microsecond, a leap second folded into the
//! next second, which MariaDB would store as a zero date). A `-0.0` binds as it is; the
//! server stores `0`.
//!
//! Floats must be finite: MySQL's `FLOAT` and `DOUBLE` have no NaN or infinities (an insert
//! is refused as out of range, and a filter would compare with something else), so they are
//! refused with [`Error::InvalidArgument`] before anything is sent, in every position.
//!
//! Dates and date-times must lie in the years 0 to 9999, what `DATE` and `DATETIME` hold;
//! others are refused with [`Error::InvalidArgument`] before anything is sent (the binary
//! protocol carries a year up to 65535, and MariaDB stores an invalid one as the zero date
//! `0000-00-00` without an error).
//!
//! Decimals must fit the schema's `DECIMAL(38, 10)`: one with more than 10 fractional digits
//! is refused with [`Error::InvalidData`] (MySQL would round it with only a note).

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

/// The scale of the `DECIMAL(38, 10)` columns Coherent's schema gives MySQL decimals.
#[cfg(feature = "rust_decimal")]
const DECIMAL_SCALE: u32 = 10;

/// Adds `value` to `args`.
pub fn add(args: &mut MySqlArguments, value: &Value) -> Result<()> {
    match value {
        Value::Null => push(args, None::<i64>),
        Value::Bool(b) => push(args, *b),
        Value::I16(n) => push(args, *n),
        Value::I32(n) => push(args, *n),
        Value::I64(n) => push(args, *n),
        Value::F32(f) => push(args, finite(f64::from(*f)).map(|_| *f)?),
        Value::F64(f) => push(args, finite(*f)?),
        Value::Text(s) => push(args, s.as_str()),
        Value::Bytes(b) => push(args, b.as_slice()),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => push(args, u.as_bytes().to_vec()),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => push(args, in_years(stored(t.naive_utc()))?),
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => push(args, in_years(stored(*t))?),
        #[cfg(feature = "chrono")]
        Value::Date(d) => {
            in_years(d.and_time(chrono::NaiveTime::MIN))?;
            push(args, *d)
        }
        #[cfg(feature = "rust_decimal")]
        Value::Decimal(d) => {
            // Coherent's MySQL decimal columns are DECIMAL(38, 10), and MySQL rounds a value
            // with more fractional digits with only a note: refuse it instead of losing digits.
            if d.scale() > DECIMAL_SCALE && d.round_dp(DECIMAL_SCALE) != *d {
                return Err(Error::InvalidData {
                    source: coherent_core::DatabaseError::new(format!(
                        "{d} has more than {DECIMAL_SCALE} fractional digits; a MySQL DECIMAL(38, {DECIMAL_SCALE}) column would round it"
                    )),
                });
            }
            push(args, *d)
        }
        #[cfg(feature = "json")]
        Value::Json(j) => push(args, j.to_string()),
    }
}

/// `f`, if MySQL can hold it.
fn finite(f: f64) -> Result<f64> {
    if f.is_nan() {
        Err(Error::InvalidArgument(
            "cannot bind NaN: MySQL's FLOAT and DOUBLE have no NaN".into(),
        ))
    } else if f.is_infinite() {
        Err(Error::InvalidArgument(format!(
            "cannot bind {f}: MySQL's FLOAT and DOUBLE hold finite numbers only"
        )))
    } else {
        Ok(f)
    }
}

/// `t` as a MySQL `DATETIME(6)` stores it.
#[cfg(feature = "chrono")]
fn stored(t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    coherent_core::stored_form::stored_datetime(coherent_core::Dialect::MySql, t)
}

/// `t`, if its year is one MySQL's `DATETIME` and `DATE` hold.
#[cfg(feature = "chrono")]
fn in_years(t: chrono::NaiveDateTime) -> Result<chrono::NaiveDateTime> {
    use chrono::Datelike;
    if (0..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(Error::InvalidArgument(format!(
            "the date {} is outside the years 0 to 9999 that MySQL's DATETIME and DATE hold",
            t.date()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finite_floats_are_bound() {
        let mut args = MySqlArguments::default();
        add(&mut args, &Value::F64(f64::MAX)).unwrap();
        add(&mut args, &Value::F32(-0.0)).unwrap();
        for v in [Value::F64(f64::NAN), Value::F32(-f32::NAN)] {
            let err = add(&mut args, &v).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument(m) if m.contains("NaN")),
                "{err:?}"
            );
        }
        for v in [Value::F64(f64::INFINITY), Value::F32(f32::NEG_INFINITY)] {
            let err = add(&mut args, &v).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument(m) if m.contains("inf")),
                "{err:?}"
            );
        }
    }
}

#[cfg(all(test, feature = "chrono"))]
mod chrono_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn years_outside_0_to_9999_are_refused() {
        let mut args = MySqlArguments::default();
        let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        for y in [0, 1, 9999] {
            add(&mut args, &Value::Date(day(y))).unwrap();
            add(
                &mut args,
                &Value::DateTime(day(y).and_hms_opt(0, 0, 0).unwrap()),
            )
            .unwrap();
        }
        for y in [-1, 10_000, 12_345] {
            let date = add(&mut args, &Value::Date(day(y))).unwrap_err();
            assert!(
                matches!(&date, Error::InvalidArgument(m) if m.contains("9999")),
                "{date:?}"
            );
            let utc = day(y).and_hms_opt(0, 0, 0).unwrap().and_utc();
            let at = add(&mut args, &Value::DateTimeUtc(utc)).unwrap_err();
            assert!(matches!(at, Error::InvalidArgument(_)), "{at:?}");
        }
    }
}
