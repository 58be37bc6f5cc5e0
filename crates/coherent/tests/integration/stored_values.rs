//! Memory holds exactly what the database holds: a value a backend's column keeps with less
//! than the Rust type (a date-time's nanoseconds on every backend, the sign of a float zero on
//! SQLite and MariaDB) is written in its stored form, and the flush gives the instance that
//! same form. A flushed instance equals its row read back, is clean, and a filter with the
//! value as written finds the row.
#![cfg(feature = "chrono")]

use crate::common::*;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use coherent::prelude::*;

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "readings")]
struct Reading {
    #[primary_key]
    id: i64,
    at: DateTime<Utc>,
    local: NaiveDateTime,
    opt_at: Option<DateTime<Utc>>,
    single: f32,
    double: f64,
    opt_double: Option<f64>,
}

/// A UTC date-time to the nanosecond.
fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + chrono::Duration::nanoseconds(nanos.into())
}

impl Reading {
    fn new(at: DateTime<Utc>, local: NaiveDateTime, double: f64) -> Reading {
        Reading {
            id: 0,
            at,
            local,
            opt_at: Some(at),
            single: double as f32,
            double,
            opt_double: Some(double),
        }
    }
}

/// The fields with floats by their bits, so a zero's sign counts.
type Bits = (
    i64,
    DateTime<Utc>,
    NaiveDateTime,
    Option<DateTime<Utc>>,
    u32,
    u64,
    Option<u64>,
);

fn bits(r: &Reading) -> Bits {
    (
        r.id,
        r.at,
        r.local,
        r.opt_at,
        r.single.to_bits(),
        r.double.to_bits(),
        r.opt_double.map(f64::to_bits),
    )
}

async fn reading_orm(b: &Backend) -> Orm {
    let orm = Orm::builder()
        .url(b.url())
        .entity::<Reading>()
        .build()
        .await
        .expect("connect");
    orm.schema().refresh().await.expect("schema");
    orm
}

/// The row of `expected.id` as the database holds it: through a fresh fork, and through raw
/// SQL.
async fn assert_row_is(b: &Backend, orm: &Orm, expected: &Reading, ctx: &str) {
    let fresh = orm.em().fork();
    let loaded = fresh
        .find_one::<Reading>(expected.id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{ctx}: row {} not found", expected.id));
    assert_eq!(bits(&loaded.read()), bits(expected), "{ctx}: a fresh load");

    let columns = ["at", "local", "opt_at", "single", "double", "opt_double"].map(|c| b.quote(c));
    let sql = b.sql(&format!(
        "SELECT {} FROM readings WHERE id = ?",
        columns.join(", ")
    ));
    let rows = orm
        .em()
        .query(&sql, vec![expected.id.into()])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{ctx}: raw SQL");
    let row = &rows[0];
    let raw = Reading {
        id: expected.id,
        at: row.get("at").unwrap(),
        local: row.get("local").unwrap(),
        opt_at: row.get("opt_at").unwrap(),
        single: row.get("single").unwrap(),
        double: row.get("double").unwrap(),
        opt_double: row.get("opt_double").unwrap(),
    };
    assert_eq!(bits(&raw), bits(expected), "{ctx}: raw SQL");
}

/// Truncated to the microsecond (towards the past, also before 1970 and 2000).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::Timelike;
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000).unwrap()
}

#[tokio::test]
async fn date_times_are_kept_at_the_microsecond_the_database_holds() {
    for b in backends() {
        let n = b.name;
        let orm = reading_orm(&b).await;
        let em = orm.em().fork();
        let recent = at(2024, 2, 29, 13, 4, 5, 123_456_789);
        // Before 1970 and 2000: PostgreSQL counts microseconds from 2000, and a count towards
        // zero would move these up, not down.
        let old = at(1969, 12, 31, 23, 59, 59, 999_999_999);
        let eve = at(1999, 12, 31, 23, 59, 59, 999_999_500);
        let a = em
            .persist(Reading::new(recent, old.naive_utc(), 1.0))
            .unwrap();
        let c = em
            .persist(Reading::new(eve, recent.naive_utc(), 2.0))
            .unwrap();
        em.flush().await.unwrap();

        for (h, t, local) in [(&a, recent, old), (&c, eve, recent)] {
            let r = h.read().clone();
            let ctx = format!("{n} / {t}");
            assert_eq!(r.at, micros(t), "{ctx}: at in memory");
            assert_eq!(r.local, micros(local).naive_utc(), "{ctx}: local in memory");
            assert_eq!(r.opt_at, Some(micros(t)), "{ctx}: opt_at in memory");
            assert!(!h.is_dirty(), "{ctx}: clean after the flush");
            assert_row_is(&b, &orm, &r, &ctx).await;
        }
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{n}: nothing left to write");

        // Updates (both rows: one multi-row statement on the servers) are stored the same way.
        let later = at(2030, 1, 1, 0, 0, 0, 999);
        a.write().at = later;
        c.write().local = old.naive_utc();
        c.write().opt_at = Some(later);
        em.flush().await.unwrap();
        assert_eq!(a.read().at, micros(later), "{n}: updated at");
        assert_eq!(
            c.read().local,
            micros(old).naive_utc(),
            "{n}: updated local"
        );
        assert_eq!(c.read().opt_at, Some(micros(later)), "{n}: updated opt_at");
        for h in [&a, &c] {
            assert!(!h.is_dirty(), "{n}: clean after the update");
            let r = h.read().clone();
            assert_row_is(&b, &orm, &r, &format!("{n} / update")).await;
        }
        log.take();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{n}: nothing left to write");

        // Filters compare at the column's precision: the value as written finds its row, and so
        // does the value as stored.
        let fresh = orm.em().fork();
        let id = |v: Vec<Managed<Reading>>| v.iter().map(|m| m.read().id).collect::<Vec<_>>();
        let (a_id, c_id) = (a.read().id, c.read().id);
        for (filter, expected, what) in [
            (Reading::AT.eq(later), vec![a_id], "at = later"),
            (
                Reading::AT.eq(micros(later)),
                vec![a_id],
                "at = stored later",
            ),
            (
                Reading::LOCAL.eq(old.naive_utc()),
                vec![a_id, c_id],
                "local = old",
            ),
            (
                Reading::LOCAL.eq(micros(old).naive_utc()),
                vec![a_id, c_id],
                "local = stored old",
            ),
            (Reading::AT.eq(eve), vec![c_id], "at = eve"),
            (Reading::OPT_AT.eq(Some(later)), vec![c_id], "opt_at"),
        ] {
            let mut got = id(fresh.find(filter).await.unwrap());
            got.sort_unstable();
            assert_eq!(got, expected, "{n}: {what}");
        }
    }
}

#[tokio::test]
async fn a_float_zero_keeps_its_sign_only_where_the_database_does() {
    for b in backends() {
        let n = b.name;
        let orm = reading_orm(&b).await;
        let em = orm.em().fork();
        let t = at(2024, 1, 1, 0, 0, 0, 0);
        // PostgreSQL's REAL and DOUBLE PRECISION keep -0; SQLite (which stores an integral
        // REAL as an integer) and MariaDB give back 0.
        let zero = if b.is_postgres() { -0.0 } else { 0.0 };
        let h = em.persist(Reading::new(t, t.naive_utc(), -0.0)).unwrap();
        let other = em.persist(Reading::new(t, t.naive_utc(), 5.0)).unwrap();
        em.flush().await.unwrap();
        let expect = |r: &Reading, ctx: &str| {
            assert_eq!(
                r.single.to_bits(),
                (zero as f32).to_bits(),
                "{n}: {ctx} single"
            );
            assert_eq!(r.double.to_bits(), f64::to_bits(zero), "{n}: {ctx} double");
            assert_eq!(
                r.opt_double.map(f64::to_bits),
                Some(f64::to_bits(zero)),
                "{n}: {ctx} opt_double"
            );
        };
        expect(&h.read(), "in memory after the insert");
        assert!(!h.is_dirty(), "{n}: clean after the insert");
        assert_row_is(&b, &orm, &h.read().clone(), &format!("{n} / insert")).await;

        // An update to -0 (both rows: one multi-row statement on the servers).
        for m in [&h, &other] {
            let mut w = m.write();
            w.single = -0.0;
            w.double = -0.0;
            w.opt_double = Some(-0.0);
        }
        h.write().double = 1.0;
        em.flush().await.unwrap();
        h.write().double = -0.0;
        em.flush().await.unwrap();
        for m in [&h, &other] {
            expect(&m.read(), "in memory after the update");
            assert!(!m.is_dirty(), "{n}: clean after the update");
            assert_row_is(&b, &orm, &m.read().clone(), &format!("{n} / update")).await;
        }
        let log = StatementLog::capture();
        em.flush().await.unwrap();
        assert!(log.take().is_empty(), "{n}: nothing left to write");

        // Zero equals zero whatever its sign, on every backend.
        let fresh = orm.em().fork();
        for z in [0.0, -0.0] {
            assert_eq!(
                fresh.count(Reading::DOUBLE.eq(z)).await.unwrap(),
                2,
                "{n}: double = {z}"
            );
        }
    }
}

#[tokio::test]
async fn a_leap_second_is_kept_as_the_database_holds_it() {
    for b in backends() {
        let n = b.name;
        let orm = reading_orm(&b).await;
        let em = orm.em().fork();
        let day = chrono::NaiveDate::from_ymd_opt(2016, 12, 31).unwrap();
        let leap = day.and_hms_nano_opt(23, 59, 59, 1_500_000_001).unwrap();
        // SQLite's text keeps `23:59:60`; PostgreSQL and MariaDB have no leap seconds: it is
        // the start of the next second there (as PostgreSQL folds it; MariaDB would store a
        // zero date).
        let stored = if b.is_sqlite() {
            day.and_hms_micro_opt(23, 59, 59, 1_500_000).unwrap()
        } else {
            day.succ_opt()
                .unwrap()
                .and_hms_micro_opt(0, 0, 0, 500_000)
                .unwrap()
        };
        let h = em.persist(Reading::new(leap.and_utc(), leap, 1.0)).unwrap();
        em.flush().await.unwrap();
        let r = h.read().clone();
        assert_eq!(r.at, stored.and_utc(), "{n}: at in memory");
        assert_eq!(r.local, stored, "{n}: local in memory");
        assert!(!h.is_dirty(), "{n}: clean");
        assert_row_is(&b, &orm, &r, n).await;
        let fresh = orm.em().fork();
        assert_eq!(
            fresh.count(Reading::LOCAL.eq(leap)).await.unwrap(),
            1,
            "{n}: the value as written finds its row"
        );
    }
}
