//! The stored form of a [`Value`]: what a backend's column, as Coherent's schema creates it,
//! keeps of the value.
//!
//! Policy: **memory holds exactly what the database holds.** Where a column keeps less than
//! the Rust type, the value is normalised on write, never refused: drivers bind the stored
//! form (so a filter compares at the column's precision as well), and a flush gives every
//! instance it wrote the stored form of its values (`coherent-orm`), so a flushed instance is
//! equal to its row read back and is not dirty. What each backend keeps:
//!
//! | value | SQLite | PostgreSQL | MySQL/MariaDB |
//! |---|---|---|---|
//! | `DateTime<Utc>`, `NaiveDateTime` | microseconds (fixed-width text) | microseconds (`TIMESTAMP[TZ]`) | microseconds (`DATETIME(6)`) |
//! | a leap second (`23:59:60`) | kept | the next second's start | the next second's start |
//! | `-0.0` (`f32`, `f64`) | `0.0` (an integral `REAL` is stored as an integer) | `-0.0` | `0.0` |
//!
//! Date-times are truncated to the microsecond towards the past (the nanoseconds within the
//! second are cut), before 1970 and 2000 too. PostgreSQL and MySQL have no leap seconds:
//! chrono's leap second (a nanosecond count of one second or more) is folded into the next
//! second there, as PostgreSQL itself folds it (`23:59:60.5` is stored as `00:00:00.5` of the
//! next day; MariaDB would store a zero date). Every other value is kept as it is (decimals
//! beyond MySQL's `DECIMAL(38, 10)` scale and out-of-range years are refused by the drivers).

use crate::driver::Dialect;
use crate::value::{ColumnType, Value};

/// The fractional digits of a second every backend keeps of a date-time: microseconds.
pub const DATETIME_DIGITS: u16 = 6;

/// Whether `dialect` may store a value of `column_type` in a form other than the value: a
/// flush has to give the instances it wrote the stored form of these columns. Found once per
/// entity type, so types with no such column pay nothing.
///
/// ```
/// use coherent_core::{ColumnType, Dialect, stored_form::alters};
/// assert!(alters(Dialect::Postgres, ColumnType::DateTimeUtc));
/// assert!(alters(Dialect::Sqlite, ColumnType::Double) && !alters(Dialect::Postgres, ColumnType::Double));
/// assert!(!alters(Dialect::MySql, ColumnType::Text) && !alters(Dialect::MySql, ColumnType::BigInt));
/// ```
pub const fn alters(dialect: Dialect, column_type: ColumnType) -> bool {
    match column_type {
        ColumnType::DateTimeUtc | ColumnType::DateTime => true,
        ColumnType::Float | ColumnType::Double => loses_zero_sign(dialect),
        _ => false,
    }
}

/// Whether `dialect`'s float columns give back `-0.0` as `0.0`.
const fn loses_zero_sign(dialect: Dialect) -> bool {
    !matches!(dialect, Dialect::Postgres)
}

/// The form `dialect` stores `value` in, if it is not `value` itself.
///
/// ```
/// use coherent_core::{Dialect, Value, stored_form::stored_form};
/// assert_eq!(stored_form(Dialect::Sqlite, &Value::F64(-0.0)), Some(Value::F64(0.0)));
/// assert_eq!(stored_form(Dialect::Postgres, &Value::F64(-0.0)), None);
/// assert_eq!(stored_form(Dialect::MySql, &Value::F64(-1.5)), None);
/// assert_eq!(stored_form(Dialect::MySql, &Value::I64(7)), None);
/// ```
pub fn stored_form(dialect: Dialect, value: &Value) -> Option<Value> {
    match value {
        Value::F64(f) if *f == 0.0 && f.is_sign_negative() && loses_zero_sign(dialect) => {
            Some(Value::F64(0.0))
        }
        Value::F32(f) if *f == 0.0 && f.is_sign_negative() && loses_zero_sign(dialect) => {
            Some(Value::F32(0.0))
        }
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(t) => datetime::changed(dialect, *t).map(Value::DateTimeUtc),
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => datetime::changed(dialect, *t).map(Value::DateTime),
        _ => None,
    }
}

#[cfg(feature = "chrono")]
pub use datetime::DateTimeLike;

#[cfg(feature = "chrono")]
mod datetime {
    use super::{DATETIME_DIGITS, Dialect};
    use chrono::{SubsecRound, TimeDelta, Timelike};
    use std::ops::Add;

    /// The chrono date-time types (`DateTime<Utc>`, `NaiveDateTime`).
    pub trait DateTimeLike: SubsecRound + Timelike + Add<TimeDelta, Output = Self> + Copy {}
    impl<T: SubsecRound + Timelike + Add<TimeDelta, Output = T> + Copy> DateTimeLike for T {}

    const NANOS_PER_SECOND: u32 = 1_000_000_000;

    /// `t` as `dialect` stores it, if that is not `t`.
    pub fn changed<T: DateTimeLike>(dialect: Dialect, t: T) -> Option<T> {
        let nanos = t.nanosecond();
        let cut = !nanos.is_multiple_of(10u32.pow(9 - u32::from(DATETIME_DIGITS)));
        let leap = nanos >= NANOS_PER_SECOND && dialect != Dialect::Sqlite;
        if !cut && !leap {
            return None;
        }
        let t = t.trunc_subsecs(DATETIME_DIGITS);
        if !leap {
            return Some(t);
        }
        // `23:59:60.x` is `23:59:59.x` and one second.
        let within = t.with_nanosecond(t.nanosecond() - NANOS_PER_SECOND)?;
        Some(within + TimeDelta::seconds(1))
    }
}

/// `t` as `dialect` stores it ([`stored_form`] of a date-time): truncated to the microsecond,
/// towards the past, and a leap second folded into the next second where the backend has no
/// leap seconds. For the drivers, which bind it.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use coherent_core::{Dialect, stored_form::stored_datetime};
/// let second = Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap();
/// let t = second + chrono::Duration::nanoseconds(999_999_999);
/// assert_eq!(stored_datetime(Dialect::Postgres, t), second + chrono::Duration::microseconds(999_999));
/// let leap = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_milli_opt(23, 59, 59, 1_500).unwrap();
/// let next = NaiveDate::from_ymd_opt(2017, 1, 1).unwrap().and_hms_milli_opt(0, 0, 0, 500).unwrap();
/// assert_eq!(stored_datetime(Dialect::MySql, leap), next);
/// assert_eq!(stored_datetime(Dialect::Sqlite, leap), leap);
/// ```
#[cfg(feature = "chrono")]
pub fn stored_datetime<T: DateTimeLike>(dialect: Dialect, t: T) -> T {
    datetime::changed(dialect, t).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_lose_their_sign_where_the_backend_does() {
        for dialect in [Dialect::Sqlite, Dialect::MySql] {
            let f = stored_form(dialect, &Value::F64(-0.0));
            assert!(
                matches!(f, Some(Value::F64(z)) if z.to_bits() == 0),
                "{f:?}"
            );
            let f = stored_form(dialect, &Value::F32(-0.0));
            assert!(
                matches!(f, Some(Value::F32(z)) if z.to_bits() == 0),
                "{f:?}"
            );
            assert_eq!(stored_form(dialect, &Value::F64(0.0)), None);
            assert_eq!(stored_form(dialect, &Value::F64(f64::MIN_POSITIVE)), None);
        }
        assert_eq!(stored_form(Dialect::Postgres, &Value::F32(-0.0)), None);
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn date_times_keep_microseconds_towards_the_past() {
        use chrono::{Duration, NaiveDate, TimeZone, Utc};
        let second = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            let t = second + Duration::nanoseconds(999_999_999);
            assert_eq!(
                stored_form(dialect, &Value::DateTimeUtc(t)),
                Some(Value::DateTimeUtc(second + Duration::microseconds(999_999)))
            );
            let exact = second + Duration::microseconds(1);
            assert_eq!(stored_form(dialect, &Value::DateTimeUtc(exact)), None);
            let naive = NaiveDate::from_ymd_opt(1, 1, 1)
                .unwrap()
                .and_hms_nano_opt(0, 0, 0, 1_001)
                .unwrap();
            assert_eq!(
                stored_form(dialect, &Value::DateTime(naive)),
                Some(Value::DateTime(
                    NaiveDate::from_ymd_opt(1, 1, 1)
                        .unwrap()
                        .and_hms_micro_opt(0, 0, 0, 1)
                        .unwrap()
                ))
            );
        }
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn leap_seconds_fold_into_the_next_second_without_leap_seconds() {
        use chrono::NaiveDate;
        let day = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap();
        let leap = day.and_hms_nano_opt(23, 59, 59, 1_999_999_999).unwrap();
        let next = NaiveDate::from_ymd_opt(2017, 1, 1)
            .unwrap()
            .and_hms_micro_opt(0, 0, 0, 999_999)
            .unwrap();
        for dialect in [Dialect::Postgres, Dialect::MySql] {
            assert_eq!(
                stored_form(dialect, &Value::DateTime(leap)),
                Some(Value::DateTime(next))
            );
            let utc = leap.and_utc();
            assert_eq!(
                stored_form(dialect, &Value::DateTimeUtc(utc)),
                Some(Value::DateTimeUtc(next.and_utc()))
            );
        }
        let kept = day.and_hms_micro_opt(23, 59, 59, 1_999_999).unwrap();
        assert_eq!(
            stored_form(Dialect::Sqlite, &Value::DateTime(leap)),
            Some(Value::DateTime(kept))
        );
        assert_eq!(stored_form(Dialect::Sqlite, &Value::DateTime(kept)), None);
    }
}
