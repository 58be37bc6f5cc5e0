//! UTC timestamps without a date library: `YYYYMMDDHHMMSS` for new migration names and
//! RFC 3339 (`2026-12-07T12:00:00Z`) for the history table's `applied_at`.
//!
//! Policy: the proleptic Gregorian calendar, computed from the seconds since the Unix epoch
//! (Howard Hinnant's `civil_from_days`); times before the epoch are clamped to it.

use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time as UTC calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    /// The year.
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
    /// The hour, 0 to 23.
    pub hour: u32,
    /// The minute, 0 to 59.
    pub minute: u32,
    /// The second, 0 to 59.
    pub second: u32,
}

impl Utc {
    /// The calendar fields of `time` in UTC.
    ///
    /// ```
    /// use coherent_migrate::migration::timestamp::Utc;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let t = Utc::of(UNIX_EPOCH + Duration::from_secs(951_782_400)); // 2000-02-29
    /// assert_eq!((t.year, t.month, t.day, t.hour), (2000, 2, 29, 0));
    /// ```
    pub fn of(time: SystemTime) -> Utc {
        let secs = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (days, rest) = (secs / 86_400, secs % 86_400);
        let (year, month, day) = civil_from_days(days as i64);
        Utc {
            year,
            month,
            day,
            hour: (rest / 3_600) as u32,
            minute: (rest % 3_600 / 60) as u32,
            second: (rest % 60) as u32,
        }
    }

    /// `YYYYMMDDHHMMSS`, the timestamp of a migration name.
    ///
    /// ```
    /// use coherent_migrate::migration::timestamp::Utc;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let t = Utc::of(UNIX_EPOCH + Duration::from_secs(1_796_644_800));
    /// assert_eq!(t.compact(), "20261207120000");
    /// ```
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// RFC 3339 in UTC: `2026-12-07T12:00:00Z`.
    ///
    /// ```
    /// use coherent_migrate::migration::timestamp::Utc;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// assert_eq!(Utc::of(UNIX_EPOCH + Duration::from_secs(1_796_644_800)).rfc3339(), "2026-12-07T12:00:00Z");
    /// ```
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The Gregorian date of `days` after 1970-01-01 (Howard Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> Utc {
        Utc::of(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn known_instants() {
        assert_eq!(at(0).compact(), "19700101000000");
        assert_eq!(at(86_399).compact(), "19700101235959");
        assert_eq!(at(951_782_400).rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(at(951_868_800).rfc3339(), "2000-03-01T00:00:00Z");
        assert_eq!(at(1_709_164_800).rfc3339(), "2024-02-29T00:00:00Z");
        assert_eq!(at(4_107_542_399).rfc3339(), "2100-02-28T23:59:59Z");
        assert_eq!(at(4_107_542_400).rfc3339(), "2100-03-01T00:00:00Z"); // 2100 is no leap year
        assert_eq!(at(1_798_761_599).compact(), "20261231235959");
        assert_eq!(at(1_798_761_600).compact(), "20270101000000");
    }

    #[test]
    fn before_the_epoch_is_the_epoch() {
        let t = Utc::of(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(t.rfc3339(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // 1970 to 2100: days are consecutive, months and years roll over correctly.
        let mut previous = civil_from_days(0);
        for days in 1..47_500 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let next_day = y == py && m == pm && d == pd + 1;
            let next_month = y == py && m == pm + 1 && d == 1 && pd >= 28;
            let next_year = y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31;
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            previous = (y, m, d);
        }
    }
}
