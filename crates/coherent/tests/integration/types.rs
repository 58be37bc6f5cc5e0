//! Every supported field type, end to end: values (including extremes) survive a flush and a
//! fresh load exactly, filters bind them correctly, NaN is refused without a trace, hostile
//! text is only ever data, and a cell that does not fit its field is a typed decode error that
//! leaves the identity map alone.
//!
//! The entity uses the optional types, so the module needs the `chrono`, `uuid`, `rust_decimal`
//! and `json` features (`cargo test -p coherent --all-features`).
#![cfg(all(
    feature = "chrono",
    feature = "uuid",
    feature = "rust_decimal",
    feature = "json"
))]

use crate::common::*;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use coherent::prelude::*;
use coherent::{Error, Result};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

/// One field of every supported type.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "samples")]
struct Sample {
    #[primary_key]
    id: i64,
    flag: bool,
    small: i16,
    medium: i32,
    big: i64,
    single: f32,
    double: f64,
    text: String,
    bytes: Vec<u8>,
    opt_flag: Option<bool>,
    opt_small: Option<i16>,
    opt_big: Option<i64>,
    opt_single: Option<f32>,
    opt_double: Option<f64>,
    opt_text: Option<String>,
    opt_bytes: Option<Vec<u8>>,
    at: DateTime<Utc>,
    local: NaiveDateTime,
    day: NaiveDate,
    id_uuid: Uuid,
    amount: Decimal,
    doc: serde_json::Value,
    opt_at: Option<DateTime<Utc>>,
    opt_local: Option<NaiveDateTime>,
    opt_day: Option<NaiveDate>,
    opt_uuid: Option<Uuid>,
    opt_amount: Option<Decimal>,
    opt_doc: Option<serde_json::Value>,
}

/// A UTC date-time with microsecond precision (what the text format keeps).
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + Duration::microseconds(micros)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

impl Sample {
    /// An ordinary row; `text` tells rows apart.
    fn new(text: &str) -> Sample {
        let at = utc(2024, 2, 29, 13, 4, 5, 123_456);
        Sample {
            id: 0,
            flag: true,
            small: 7,
            medium: -42,
            big: 1 << 40,
            single: 1.5,
            double: 0.25,
            text: text.into(),
            bytes: vec![1, 2, 3],
            opt_flag: None,
            opt_small: None,
            opt_big: None,
            opt_single: None,
            opt_double: None,
            opt_text: None,
            opt_bytes: None,
            at,
            local: at.naive_utc(),
            day: date(1999, 12, 31),
            id_uuid: Uuid::new_v4(),
            amount: Decimal::new(110, 2),
            doc: json!({ "text": text }),
            opt_at: None,
            opt_local: None,
            opt_day: None,
            opt_uuid: None,
            opt_amount: None,
            opt_doc: None,
        }
    }
}

/// An Orm with only `Sample` registered and a fresh `samples` table.
async fn sample_orm(b: &Backend) -> Orm {
    let orm = Orm::builder()
        .url(b.url())
        .entity::<Sample>()
        .build()
        .await
        .expect("connect");
    orm.schema().refresh().await.expect("schema");
    orm
}

/// Like [`sample_orm`], with `column` of a type that can hold `value` whatever the field's
/// type: a typed server column refuses a cell that does not fit the field (SQLite's columns
/// take any value, so there the table is the ORM's own).
async fn loose_sample_orm(b: &Backend, column: &str, value: &Value) -> Orm {
    let orm = sample_orm(b).await;
    if b.is_sqlite() {
        return orm;
    }
    let loose = match (value, b.is_postgres()) {
        (Value::I64(_), _) => "BIGINT",
        (Value::F64(_), true) => "DOUBLE PRECISION",
        (Value::F64(_), false) => "DOUBLE",
        (Value::Text(_), true) => "TEXT",
        (Value::Text(_), false) => "LONGTEXT",
        (Value::Bytes(_), true) => "BYTEA",
        (Value::Bytes(_), false) => "LONGBLOB",
        (other, _) => panic!("no loose column type for {other:?}"),
    };
    let mut ddl = orm.schema().create_sql();
    let table = ddl
        .iter()
        .position(|s| s.starts_with("CREATE TABLE"))
        .expect("a CREATE TABLE");
    let def = format!("{} ", b.quote(column));
    let create = &mut ddl[table];
    let start = create.find(&def).expect("the column's definition") + def.len();
    let end = start + create[start..].find(" NULL").expect("NULL or NOT NULL");
    let end = create[..end].strip_suffix(" NOT").map_or(end, str::len);
    create.replace_range(start..end, loose);
    orm.em()
        .execute("DROP TABLE samples", vec![])
        .await
        .unwrap();
    for sql in ddl {
        orm.em().execute(&sql, vec![]).await.expect(&sql);
    }
    orm
}

/// Rows in `samples`, counted with raw SQL.
async fn row_count(orm: &Orm) -> i64 {
    orm.em()
        .query("SELECT COUNT(*) AS n FROM samples", vec![])
        .await
        .expect("raw count")[0]
        .get("n")
        .unwrap()
}

/// Every row of `samples` as raw cells, ordered by id.
async fn raw_rows(orm: &Orm) -> Vec<Row> {
    orm.em()
        .query("SELECT * FROM samples ORDER BY id", vec![])
        .await
        .expect("raw select")
}

/// Whether the `samples` table exists.
async fn table_exists(b: &Backend, orm: &Orm) -> bool {
    b.tables(orm).await.iter().any(|t| t == "samples")
}

/// Inserts `sample` with raw SQL, replacing the cells of `overrides` (column, value) with
/// values of any type; returns the generated id.
async fn raw_insert(b: &Backend, orm: &Orm, sample: &Sample, overrides: &[(&str, Value)]) -> i64 {
    let columns = Sample::META.insert_columns(false);
    let names: Vec<&str> = columns
        .iter()
        .map(|i| Sample::META.columns[i].name)
        .collect();
    let mut values = Vec::new();
    sample.push_values(columns, &mut values);
    for (column, value) in overrides {
        let at = names
            .iter()
            .position(|n| n == column)
            .unwrap_or_else(|| panic!("no column {column}"));
        values[at] = value.clone();
    }
    let insert = format!(
        "INSERT INTO samples ({}) VALUES ({})",
        names
            .iter()
            .map(|n| b.quote(n))
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; names.len()].join(", ")
    );
    if b.is_mysql() {
        // No RETURNING: the key is the connection's LAST_INSERT_ID(), read on the same
        // (transaction's) connection.
        let em = orm.em().fork();
        em.begin().await.unwrap();
        em.execute(&insert, values).await.expect("raw insert");
        let id = em
            .query("SELECT LAST_INSERT_ID() AS id", vec![])
            .await
            .unwrap()[0]
            .get("id")
            .unwrap();
        em.commit().await.unwrap();
        return id;
    }
    orm.em()
        .query(&b.sql(&format!("{insert} RETURNING id")), values)
        .await
        .expect("raw insert")[0]
        .get("id")
        .unwrap()
}

/// Float equality to the bit, except that the sign of a zero is not compared (SQLite stores
/// an integral REAL as an integer and MariaDB drops the sign, so `-0.0` is stored, and kept in
/// memory after the flush, as `0.0`: see `stored_values`), nor the payload of a NaN
/// (PostgreSQL keeps one NaN).
fn same_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0) || (a.is_nan() && b.is_nan())
}

fn same_f32(a: f32, b: f32) -> bool {
    same_f64(f64::from(a), f64::from(b))
}

/// Compares a sample with what `b` stored and gave back: [`assert_same`], except that MySQL's
/// `DECIMAL(38, 10)` column pads every decimal to the scale 10 (as far as a `Decimal`'s 28
/// digits go), so there decimals compare by value only.
fn assert_stored(b: &Backend, expected: &Sample, got: &Sample, ctx: &str) {
    let mut expected = expected.clone();
    if b.is_mysql() {
        let same_value = |e: &Decimal, g: &Decimal, what: &str| {
            assert_eq!(g, e, "{ctx}: {what} by value");
        };
        same_value(&expected.amount, &got.amount, "amount");
        expected.amount = got.amount;
        if let (Some(e), Some(g)) = (expected.opt_amount, got.opt_amount) {
            same_value(&e, &g, "opt_amount");
            expected.opt_amount = got.opt_amount;
        }
    }
    assert_same(&expected, got, ctx);
}

/// Compares two samples field by field, decimals by their text (so the scale counts).
fn assert_same(expected: &Sample, got: &Sample, ctx: &str) {
    let e = expected;
    let g = got;
    assert_eq!(g.id, e.id, "{ctx}: id");
    assert_eq!(g.flag, e.flag, "{ctx}: flag");
    assert_eq!(g.small, e.small, "{ctx}: small");
    assert_eq!(g.medium, e.medium, "{ctx}: medium");
    assert_eq!(g.big, e.big, "{ctx}: big");
    assert!(
        same_f32(g.single, e.single),
        "{ctx}: single {} vs {}",
        g.single,
        e.single
    );
    assert!(
        same_f64(g.double, e.double),
        "{ctx}: double {} vs {}",
        g.double,
        e.double
    );
    assert!(
        g.text == e.text,
        "{ctx}: text differs (len {} vs {})",
        g.text.len(),
        e.text.len()
    );
    assert_eq!(g.bytes, e.bytes, "{ctx}: bytes");
    assert_eq!(g.opt_flag, e.opt_flag, "{ctx}: opt_flag");
    assert_eq!(g.opt_small, e.opt_small, "{ctx}: opt_small");
    assert_eq!(g.opt_big, e.opt_big, "{ctx}: opt_big");
    match (g.opt_single, e.opt_single) {
        (Some(a), Some(b)) => assert!(same_f32(a, b), "{ctx}: opt_single {a} vs {b}"),
        (a, b) => assert_eq!(a, b, "{ctx}: opt_single"),
    }
    match (g.opt_double, e.opt_double) {
        (Some(a), Some(b)) => assert!(same_f64(a, b), "{ctx}: opt_double {a} vs {b}"),
        (a, b) => assert_eq!(a, b, "{ctx}: opt_double"),
    }
    assert_eq!(g.opt_text, e.opt_text, "{ctx}: opt_text");
    assert_eq!(g.opt_bytes, e.opt_bytes, "{ctx}: opt_bytes");
    assert_eq!(g.at, e.at, "{ctx}: at");
    assert_eq!(g.local, e.local, "{ctx}: local");
    assert_eq!(g.day, e.day, "{ctx}: day");
    assert_eq!(g.id_uuid, e.id_uuid, "{ctx}: id_uuid");
    assert_eq!(g.amount.to_string(), e.amount.to_string(), "{ctx}: amount");
    assert_eq!(g.doc, e.doc, "{ctx}: doc");
    assert_eq!(g.opt_at, e.opt_at, "{ctx}: opt_at");
    assert_eq!(g.opt_local, e.opt_local, "{ctx}: opt_local");
    assert_eq!(g.opt_day, e.opt_day, "{ctx}: opt_day");
    assert_eq!(g.opt_uuid, e.opt_uuid, "{ctx}: opt_uuid");
    assert_eq!(
        g.opt_amount.map(|d| d.to_string()),
        e.opt_amount.map(|d| d.to_string()),
        "{ctx}: opt_amount"
    );
    assert_eq!(g.opt_doc, e.opt_doc, "{ctx}: opt_doc");
}

/// The extreme rows of the round-trip test, with a label each.
fn extreme_samples() -> Vec<(&'static str, Sample)> {
    let all_bytes: Vec<u8> = (0..=255u8).chain([0, 0xFF, 0, 0]).collect();
    let megabyte: String = "0123456789abcdef".repeat(65_536); // 1 MiB
    let nested = json!({
        "a": { "b": [1, 2.5, null, true, "x", { "c": { "d": [] } }], "e": {} },
        "quote\"d": "it's \"quoted\" \\ and \u{e9}\u{65e5}",
        "big": u64::MAX,
        "neg": i64::MIN,
        "empty": ""
    });

    let mut lows = Sample::new("");
    lows.flag = false;
    lows.small = i16::MIN;
    lows.medium = i32::MIN;
    lows.big = i64::MIN;
    lows.single = f32::NEG_INFINITY;
    lows.double = f64::NEG_INFINITY;
    lows.bytes = Vec::new();
    lows.at = utc(1970, 1, 1, 0, 0, 0, 1);
    lows.local = utc(1900, 1, 1, 0, 0, 0, 0).naive_utc();
    lows.day = date(1, 1, 1);
    lows.id_uuid = Uuid::nil();
    lows.amount = dec("0.1");
    lows.doc = nested.clone();

    let mut highs = Sample::new("placeholder");
    highs.text = megabyte;
    highs.small = i16::MAX;
    highs.medium = i32::MAX;
    highs.big = i64::MAX;
    highs.single = f32::MAX;
    highs.double = f64::INFINITY;
    highs.bytes = all_bytes.clone();
    highs.opt_flag = Some(false);
    highs.opt_small = Some(i16::MIN);
    highs.opt_big = Some(i64::MIN);
    highs.opt_single = Some(f32::MIN);
    highs.opt_double = Some(f64::MAX);
    highs.opt_text = Some(String::new());
    highs.opt_bytes = Some(Vec::new());
    highs.at = utc(9999, 12, 31, 23, 59, 59, 999_999);
    highs.local = utc(9999, 12, 31, 23, 59, 59, 999_999).naive_utc();
    highs.day = date(9999, 12, 31);
    highs.id_uuid = Uuid::max();
    highs.amount = dec("12345678901234567890.123456789");
    highs.doc = json!([nested.clone(), [], {}, 0]);
    highs.opt_at = Some(utc(2000, 1, 1, 0, 0, 0, 0));
    highs.opt_local = Some(utc(2000, 2, 29, 12, 0, 0, 500_000).naive_utc());
    highs.opt_day = Some(date(2000, 2, 29));
    highs.opt_uuid = Some(Uuid::new_v4());
    highs.opt_amount = Some(Decimal::MAX);
    highs.opt_doc = Some(json!(null));

    let mut odd = Sample::new("nul\0byte \u{e9}\u{65e5}\u{672c}\u{8a9e} \u{1f980} end");
    odd.single = f32::MIN_POSITIVE;
    odd.double = f64::MIN_POSITIVE;
    odd.bytes = vec![0x00, 0xFF, 0x00, 0x80, 0x7F];
    odd.opt_flag = Some(true);
    odd.opt_small = Some(i16::MAX);
    odd.opt_big = Some(i64::MAX);
    odd.opt_single = Some(-0.0);
    odd.opt_double = Some(-0.0);
    odd.opt_text = Some("\0".into());
    odd.opt_bytes = Some(all_bytes);
    odd.amount = Decimal::new(110, 2); // 1.10: the scale is kept
    odd.opt_amount = Some(dec("-0.000000000000000000000000001"));
    odd.doc = json!("just a string with \"quotes\"");
    odd.opt_doc = Some(json!({ "k": [[[[{}]]]] }));

    let mut zeros = Sample::new("zeros");
    zeros.small = 0;
    zeros.medium = 0;
    zeros.big = 0;
    zeros.single = -0.0;
    zeros.double = -0.0;
    zeros.bytes = vec![0];
    zeros.amount = dec("0.000");
    zeros.opt_amount = Some(dec("100"));
    zeros.doc = json!(0);

    vec![
        ("lows", lows),
        ("highs", highs),
        ("odd", odd),
        ("zeros", zeros),
    ]
}

/// An extreme value a backend refuses: in which sample, what it is, how to replace it with a
/// value the backend holds, and the error it gives.
struct Refusal {
    label: &'static str,
    what: &'static str,
    fix: fn(&mut Sample),
    error: fn(&Error) -> bool,
}

/// PostgreSQL's text cannot hold NUL (a data exception, SQLSTATE 22021); MySQL's FLOAT and
/// DOUBLE hold no infinities (refused by the driver) and its DECIMAL(38, 10) column no more
/// than 28 integer digits (out of range, error 1264).
fn refused_extremes(b: &Backend) -> Vec<Refusal> {
    fn nul(e: &Error) -> bool {
        matches!(e, Error::InvalidData { source } if source.code() == Some("22021"))
    }
    fn infinite(e: &Error) -> bool {
        matches!(e, Error::InvalidArgument(m) if m.contains("inf"))
    }
    match b.dialect() {
        coherent::Dialect::Sqlite => vec![],
        coherent::Dialect::Postgres => vec![
            Refusal {
                label: "odd",
                what: "NUL in String",
                fix: |s| s.text = s.text.replace('\0', "\u{2400}"),
                error: nul,
            },
            Refusal {
                label: "odd",
                what: "NUL in Option<String>",
                fix: |s| s.opt_text = Some("\u{2400}".into()),
                error: nul,
            },
        ],
        coherent::Dialect::MySql => vec![
            Refusal {
                label: "lows",
                what: "-inf f32",
                fix: |s| s.single = f32::MIN,
                error: infinite,
            },
            Refusal {
                label: "lows",
                what: "-inf f64",
                fix: |s| s.double = f64::MIN,
                error: infinite,
            },
            Refusal {
                label: "highs",
                what: "+inf f64",
                fix: |s| s.double = f64::MAX,
                error: infinite,
            },
            Refusal {
                label: "highs",
                what: "Decimal::MAX",
                // The largest mantissa at DECIMAL(38, 10)'s scale.
                fix: |s| {
                    s.opt_amount = Some(Decimal::from_i128_with_scale(Decimal::MAX.mantissa(), 10))
                },
                error: |e| matches!(e, Error::InvalidData { source } if source.code() == Some("1264")),
            },
            Refusal {
                label: "odd",
                what: "a decimal with 27 fractional digits",
                // DECIMAL(38, 10) would round it to 0 with only a note: refused before sending.
                fix: |s| s.opt_amount = Some(dec("-0.0000000001")),
                error: |e| matches!(e, Error::InvalidData { source } if source.code().is_none()),
            },
        ],
    }
}

#[tokio::test]
async fn every_field_type_round_trips_with_extreme_values() {
    for b in backends() {
        let orm = sample_orm(&b).await;
        let mut samples = extreme_samples();
        // The extreme values a server cannot hold are refused, each on its own, with a typed
        // error and nothing written; the rest of the test stores a value it can hold instead.
        let refusals = refused_extremes(&b);
        for r in &refusals {
            let ctx = format!("{} / {}: {}", b.name, r.label, r.what);
            let mut sample = samples
                .iter()
                .find(|(l, _)| *l == r.label)
                .unwrap()
                .1
                .clone();
            for other in refusals
                .iter()
                .filter(|o| o.label == r.label && o.what != r.what)
            {
                (other.fix)(&mut sample);
            }
            let em = orm.em().fork();
            let h = em.persist(sample).unwrap();
            let err = em.flush().await.unwrap_err();
            assert!((r.error)(&err), "{ctx}: {err:?}");
            assert_eq!(row_count(&orm).await, 0, "{ctx}: nothing written");
            assert_eq!(h.read().id, 0, "{ctx}: still pending");
        }
        for r in &refusals {
            (r.fix)(&mut samples.iter_mut().find(|(l, _)| *l == r.label).unwrap().1);
        }
        let em = orm.em().fork();
        let handles: Vec<_> = samples
            .iter()
            .map(|(_, s)| em.persist(s.clone()).unwrap())
            .collect();
        em.flush().await.unwrap();
        assert_eq!(row_count(&orm).await, samples.len() as i64, "{}", b.name);

        let fresh = orm.em().fork();
        for ((label, original), handle) in samples.iter().zip(&handles) {
            let ctx = format!("{} / {label}", b.name);
            let id = handle.read().id;
            assert_ne!(id, 0, "{ctx}: key generated");
            let mut expected = original.clone();
            expected.id = id;
            // The persisted instance is untouched by the flush, apart from its key (and the
            // sign of a zero where the backend drops it).
            assert_same(&expected, &handle.read(), &format!("{ctx} (in memory)"));
            let loaded = fresh
                .find_one::<Sample>(id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{ctx}: row {id} not found"));
            assert!(!Managed::ptr_eq(&loaded, handle), "{ctx}: a fresh instance");
            assert_stored(&b, &expected, &loaded.read(), &ctx);
            assert!(!loaded.is_dirty(), "{ctx}: a loaded row is clean");
        }
        assert_eq!(fresh.len().unwrap(), samples.len(), "{}", b.name);

        // Decoded values compare equal to themselves: touching every loaded instance
        // without changing it makes nothing dirty, and a flush writes nothing.
        let loaded = fresh.find(Filter::<Sample>::all()).await.unwrap();
        for m in &loaded {
            drop(m.write());
            assert!(!m.is_dirty(), "{}: {:?}", b.name, m.changed_columns());
        }
        let log = StatementLog::capture();
        fresh.flush().await.unwrap();
        assert!(log.take().is_empty(), "{}: clean flush", b.name);
    }
}

/// The documented storage classes and encodings on SQLite; on the servers, the documented
/// column types (`coherent_sql::column_type`) and the values as the server shows them.
#[tokio::test]
async fn values_are_stored_in_their_documented_sqlite_forms() {
    for b in backends() {
        let orm = sample_orm(&b).await;
        let em = orm.em().fork();
        let mut s = Sample::new("forms");
        s.id_uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        s.amount = dec("12345678901234567890.1200");
        // MySQL's DOUBLE has no infinity.
        s.double = if b.is_mysql() { 0.25 } else { f64::INFINITY };
        s.bytes = vec![0x00, 0xFF];
        s.doc = json!({ "a": { "b": [1, null] } });
        let h = em.persist(s.clone()).unwrap();
        em.flush().await.unwrap();
        let id = h.read().id;
        if b.is_server() {
            assert_server_forms(&b, &orm, id, &s.doc).await;
            continue;
        }
        let rows = orm
            .em()
            .query(
                "SELECT typeof(flag) AS t_flag, flag, typeof(small) AS t_small, \
                 typeof(double) AS t_double, typeof(text) AS t_text, typeof(bytes) AS t_bytes, \
                 hex(bytes) AS hex_bytes, typeof(id_uuid) AS t_uuid, hex(id_uuid) AS hex_uuid, \
                 typeof(at) AS t_at, at, local, day, typeof(amount) AS t_amount, amount, \
                 typeof(doc) AS t_doc, doc, typeof(opt_text) AS t_opt_text \
                 FROM samples WHERE id = ?",
                vec![id.into()],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{}", b.name);
        let r = &rows[0];
        let text = |c: &str| r.get::<String>(c).unwrap();
        assert_eq!(text("t_flag"), "integer", "{}", b.name);
        assert_eq!(r.get::<i64>("flag").unwrap(), 1, "{}", b.name);
        assert_eq!(text("t_small"), "integer", "{}", b.name);
        assert_eq!(text("t_double"), "real", "{}", b.name);
        assert_eq!(text("t_text"), "text", "{}", b.name);
        assert_eq!(text("t_bytes"), "blob", "{}", b.name);
        assert_eq!(text("hex_bytes"), "00FF", "{}", b.name);
        assert_eq!(text("t_uuid"), "blob", "{}", b.name);
        assert_eq!(
            text("hex_uuid"),
            "0123456789ABCDEF0123456789ABCDEF",
            "{}: the 16 bytes of the uuid",
            b.name
        );
        assert_eq!(text("t_at"), "text", "{}", b.name);
        assert_eq!(text("at"), "2024-02-29 13:04:05.123456", "{}", b.name);
        assert_eq!(text("local"), "2024-02-29 13:04:05.123456", "{}", b.name);
        assert_eq!(text("day"), "1999-12-31", "{}", b.name);
        assert_eq!(text("t_amount"), "text", "{}", b.name);
        assert_eq!(
            text("amount"),
            "12345678901234567890.1200",
            "{}: exact text, scale kept",
            b.name
        );
        assert_eq!(text("t_doc"), "text", "{}", b.name);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text("doc")).unwrap(),
            s.doc,
            "{}",
            b.name
        );
        assert_eq!(text("t_opt_text"), "null", "{}: None is NULL", b.name);
    }
}

/// The column types `coherent_sql::column_type` documents for `samples` on a server, and the
/// row `id` as the server shows it.
async fn assert_server_forms(b: &Backend, orm: &Orm, id: i64, doc: &serde_json::Value) {
    let n = b.name;
    let pg = b.is_postgres();
    let catalog = if pg {
        "SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'samples'"
    } else {
        "SELECT column_name AS name, column_type AS type FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = 'samples'"
    };
    let types: std::collections::HashMap<String, String> = orm
        .em()
        .query(catalog, vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("name").unwrap(), r.get("type").unwrap()))
        .collect();
    let expected: &[(&str, &str)] = if pg {
        &[
            ("id", "bigint"),
            ("flag", "boolean"),
            ("small", "smallint"),
            ("medium", "integer"),
            ("single", "real"),
            ("double", "double precision"),
            ("text", "text"),
            ("bytes", "bytea"),
            ("id_uuid", "uuid"),
            ("at", "timestamp with time zone"),
            ("local", "timestamp without time zone"),
            ("day", "date"),
            ("amount", "numeric"),
            ("doc", "jsonb"),
        ]
    } else {
        &[
            ("id", "bigint(20)"),
            ("flag", "tinyint(1)"),
            ("small", "smallint(6)"),
            ("medium", "int(11)"),
            ("single", "float"),
            ("double", "double"),
            ("text", "longtext"),
            ("bytes", "longblob"),
            ("id_uuid", "binary(16)"),
            ("at", "datetime(6)"),
            ("local", "datetime(6)"),
            ("day", "date"),
            ("amount", "decimal(38,10)"),
            // MariaDB's JSON is LONGTEXT (with a json_valid check).
            ("doc", "longtext"),
        ]
    };
    for (column, ty) in expected {
        assert_eq!(
            types.get(*column).map(String::as_str),
            Some(*ty),
            "{n}: {column}"
        );
    }
    let q = |c: &str| b.quote(c);
    let sql = if pg {
        format!(
            "SELECT {}::text AS flag, encode({}, 'hex') AS hex_bytes, {}::text AS uuid, \
             to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at, {}::text AS local, \
             {}::text AS day, {}::text AS amount, {}::text AS doc, {}::text AS double, \
             {} IS NULL AS opt_text_null FROM samples WHERE id = $1",
            q("flag"),
            q("bytes"),
            q("id_uuid"),
            q("at"),
            q("local"),
            q("day"),
            q("amount"),
            q("doc"),
            q("double"),
            q("opt_text")
        )
    } else {
        format!(
            "SELECT CAST({} AS CHAR) AS flag, HEX({}) AS hex_bytes, HEX({}) AS uuid, \
             CAST({} AS CHAR) AS at, CAST({} AS CHAR) AS local, CAST({} AS CHAR) AS day, \
             CAST({} AS CHAR) AS amount, {} AS doc, CAST({} AS CHAR) AS `double`, \
             {} IS NULL AS opt_text_null FROM samples WHERE id = ?",
            q("flag"),
            q("bytes"),
            q("id_uuid"),
            q("at"),
            q("local"),
            q("day"),
            q("amount"),
            q("doc"),
            q("double"),
            q("opt_text")
        )
    };
    let rows = orm.em().query(&sql, vec![id.into()]).await.unwrap();
    assert_eq!(rows.len(), 1, "{n}");
    let r = &rows[0];
    let text = |c: &str| r.get::<String>(c).unwrap();
    let (flag, hex_bytes, uuid, amount, double) = if pg {
        (
            "true",
            "00ff",
            "01234567-89ab-cdef-0123-456789abcdef",
            "12345678901234567890.1200",
            "Infinity",
        )
    } else {
        (
            "1",
            "00FF",
            "0123456789ABCDEF0123456789ABCDEF",
            "12345678901234567890.1200000000",
            "0.25",
        )
    };
    assert_eq!(text("flag"), flag, "{n}");
    assert_eq!(text("hex_bytes"), hex_bytes, "{n}");
    assert_eq!(text("uuid"), uuid, "{n}: the 16 bytes of the uuid");
    assert_eq!(text("at"), "2024-02-29 13:04:05.123456", "{n}: UTC");
    assert_eq!(text("local"), "2024-02-29 13:04:05.123456", "{n}");
    assert_eq!(text("day"), "1999-12-31", "{n}");
    assert_eq!(text("amount"), amount, "{n}: exact, at the column's scale");
    assert_eq!(text("double"), double, "{n}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text("doc")).unwrap(),
        *doc,
        "{n}"
    );
    assert!(r.get::<bool>("opt_text_null").unwrap(), "{n}: None is NULL");
}

#[tokio::test]
async fn filters_bind_every_type() {
    for b in backends() {
        let orm = sample_orm(&b).await;
        let em = orm.em().fork();
        let amounts = [
            dec("1.10"),
            dec("0.1"),
            dec("-1.10"),
            dec("11.0"),
            dec("12345678901234567890.123456789"),
        ];
        let times = [
            utc(2024, 1, 1, 0, 0, 0, 1),
            utc(2024, 1, 1, 0, 0, 0, 2),
            utc(1999, 12, 31, 23, 59, 59, 999_999),
            utc(2024, 1, 1, 0, 0, 0, 0),
            utc(2023, 6, 15, 12, 30, 0, 250_000),
        ];
        let blobs: [Vec<u8>; 5] = [
            vec![0, 255, 0],
            vec![0],
            vec![0, 255],
            vec![255, 0],
            Vec::new(),
        ];
        // PostgreSQL's text cannot hold NUL: U+0001 stands in for it there. MySQL's DOUBLE has
        // no infinities: its extremes stand in for them. (Both refusals are checked below.)
        let nul = if b.is_postgres() { "\u{1}" } else { "\0" };
        let texts = ["a\0b", "a\0c", "a", "a\0", "A\0B"].map(|t| t.replace('\0', nul));
        let (inf, neg_inf) = if b.is_mysql() {
            (f64::MAX, f64::MIN)
        } else {
            (f64::INFINITY, f64::NEG_INFINITY)
        };
        if b.is_postgres() {
            let refused = |e: &Error| matches!(e, Error::InvalidData { source } if source.code() == Some("22021"));
            let nul_row = em.persist(Sample::new("a\0b")).unwrap();
            let err = em.flush().await.unwrap_err();
            assert!(refused(&err), "{}: {err:?}", b.name);
            em.remove(&nul_row).unwrap();
            let err = em.find(Sample::TEXT.eq("a\0b")).await.unwrap_err();
            assert!(refused(&err), "{}: {err:?}", b.name);
        }
        if b.is_mysql() {
            let mut s = Sample::new("inf");
            s.double = f64::INFINITY;
            let inf_row = em.persist(s).unwrap();
            let err = em.flush().await.unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument(m) if m.contains("inf")),
                "{}: {err:?}",
                b.name
            );
            em.remove(&inf_row).unwrap();
            let err = em
                .find(Sample::DOUBLE.eq(f64::NEG_INFINITY))
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::InvalidArgument(m) if m.contains("inf")),
                "{}: {err:?}",
                b.name
            );
        }
        assert_eq!(row_count(&orm).await, 0, "{}: nothing written", b.name);
        let mut handles = Vec::new();
        for i in 0..5 {
            let mut s = Sample::new(&texts[i]);
            s.amount = amounts[i];
            s.at = times[i];
            s.local = times[i].naive_utc();
            s.day = times[i].date_naive();
            s.bytes = blobs[i].clone();
            s.big = i as i64 - 2;
            s.double = [0.1, -0.5, inf, neg_inf, 1e300][i];
            s.flag = i % 2 == 0;
            s.opt_uuid = (i % 2 == 1).then(Uuid::new_v4);
            s.opt_amount = (i == 3).then(|| dec("2.50"));
            handles.push(em.persist(s).unwrap());
        }
        em.flush().await.unwrap();
        let ids: Vec<i64> = handles.iter().map(|h| h.read().id).collect();
        let uuids: Vec<Uuid> = handles.iter().map(|h| h.read().id_uuid).collect();

        // Each query on a fresh fork, sorted by id: exactly which rows matched.
        let query = |filter: Filter<Sample>| {
            let em = orm.em().fork();
            async move {
                let found = em
                    .find_with(
                        filter,
                        FindOptions {
                            order_by: vec![Sample::ID.asc()],
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                found.iter().map(|m| m.read().id).collect::<Vec<i64>>()
            }
        };
        let rows = |idx: &[usize]| idx.iter().map(|&i| ids[i]).collect::<Vec<i64>>();
        let n = b.name;

        assert_eq!(
            query(Sample::AMOUNT.eq(Decimal::new(110, 2))).await,
            rows(&[0]),
            "{n}"
        );
        assert_eq!(
            query(Sample::AMOUNT.eq(dec("-1.10"))).await,
            rows(&[2]),
            "{n}"
        );
        assert_eq!(
            query(Sample::AMOUNT.eq(dec("12345678901234567890.123456789"))).await,
            rows(&[4]),
            "{n}"
        );
        assert_eq!(
            query(Sample::OPT_AMOUNT.eq(dec("2.50"))).await,
            rows(&[3]),
            "{n}"
        );
        assert_eq!(
            query(Sample::OPT_AMOUNT.eq(None::<Decimal>)).await,
            rows(&[0, 1, 2, 4]),
            "{n}"
        );
        for (i, uuid) in uuids.iter().enumerate() {
            assert_eq!(
                query(Sample::ID_UUID.eq(*uuid)).await,
                rows(&[i]),
                "{n}: uuid {i}"
            );
        }
        assert_eq!(
            query(Sample::ID_UUID.is_in([uuids[4], uuids[1]])).await,
            rows(&[1, 4]),
            "{n}"
        );
        assert_eq!(
            query(Sample::ID_UUID.eq(Uuid::new_v4())).await,
            rows(&[]),
            "{n}"
        );
        assert_eq!(
            query(Sample::OPT_UUID.is_not_null()).await,
            rows(&[1, 3]),
            "{n}"
        );

        assert_eq!(
            query(Sample::AT.gt(times[0])).await,
            rows(&[1]),
            "{n}: one microsecond later"
        );
        assert_eq!(query(Sample::AT.gte(times[0])).await, rows(&[0, 1]), "{n}");
        assert_eq!(query(Sample::AT.lt(times[3])).await, rows(&[2, 4]), "{n}");
        assert_eq!(query(Sample::AT.eq(times[3])).await, rows(&[3]), "{n}");
        assert_eq!(
            query(Sample::LOCAL.gt(times[4].naive_utc())).await,
            rows(&[0, 1, 3]),
            "{n}"
        );
        assert_eq!(
            query(Sample::DAY.eq(date(2024, 1, 1))).await,
            rows(&[0, 1, 3]),
            "{n}"
        );
        assert_eq!(
            query(Sample::DAY.lt(date(2000, 1, 1))).await,
            rows(&[2]),
            "{n}"
        );

        assert_eq!(
            query(Sample::BYTES.eq(vec![0u8, 255])).await,
            rows(&[2]),
            "{n}"
        );
        assert_eq!(query(Sample::BYTES.eq(vec![0u8])).await, rows(&[1]), "{n}");
        assert_eq!(
            query(Sample::BYTES.eq(Vec::<u8>::new())).await,
            rows(&[4]),
            "{n}"
        );
        assert_eq!(
            query(Sample::BYTES.is_in([vec![255u8, 0], vec![0, 255, 0]])).await,
            rows(&[0, 3]),
            "{n}"
        );

        // Text compares as Rust's `==` on every backend: case and NUL count ("a\0" <> "a",
        // "a\0b" <> "A\0B"), also in MariaDB, whose text columns Coherent creates in a
        // binary collation (the suite's databases default to utf8mb4_unicode_ci).
        let (ab, a, a_nul): (&[usize], &[usize], &[usize]) = (&[0], &[2], &[3]);
        assert_eq!(
            query(Sample::TEXT.eq(texts[0].as_str())).await,
            rows(ab),
            "{n}: NUL is bound"
        );
        assert_eq!(query(Sample::TEXT.eq("a")).await, rows(a), "{n}");
        assert_eq!(
            query(Sample::TEXT.eq(texts[3].as_str())).await,
            rows(a_nul),
            "{n}"
        );

        assert_eq!(query(Sample::BIG.lt(0i64)).await, rows(&[0, 1]), "{n}");
        assert_eq!(query(Sample::DOUBLE.gt(1.0)).await, rows(&[2, 4]), "{n}");
        assert_eq!(query(Sample::DOUBLE.eq(neg_inf)).await, rows(&[3]), "{n}");
        assert_eq!(query(Sample::FLAG.eq(true)).await, rows(&[0, 2, 4]), "{n}");
        assert_eq!(
            query(Sample::FLAG.eq(false).and(Sample::BIG.gte(0i64))).await,
            rows(&[3]),
            "{n}"
        );
        assert_eq!(
            query(Sample::DOC.eq(json!({ "text": "a" }))).await,
            rows(&[2]),
            "{n}: json binds as its text"
        );
        assert_eq!(
            query(
                Sample::AMOUNT
                    .eq(Decimal::new(110, 2))
                    .and(Sample::AT.gt(times[0]))
            )
            .await,
            rows(&[]),
            "{n}"
        );
        assert_eq!(row_count(&orm).await, 5, "{n}: reads change nothing");
    }
}

async fn assert_nan_refused(result: Result<()>, b: &Backend, orm: &Orm, before: &[Row], ctx: &str) {
    match result {
        Err(Error::InvalidArgument(message)) => {
            assert!(message.contains("NaN"), "{ctx}: {message}")
        }
        other => panic!("{ctx}: expected InvalidArgument, got {other:?}"),
    }
    assert!(table_exists(b, orm).await, "{ctx}");
    assert_eq!(raw_rows(orm).await, before, "{ctx}: the table is unchanged");
}

#[tokio::test]
async fn nan_is_refused_and_the_flush_leaves_no_trace() {
    let cases: [(&str, Poison, Poison); 4] = [
        ("f64", |s| s.double = f64::NAN, |s| s.double = 2.5),
        ("f32", |s| s.single = f32::NAN, |s| s.single = -2.5),
        (
            "Option<f64>",
            |s| s.opt_double = Some(-f64::NAN),
            |s| s.opt_double = None,
        ),
        (
            "Option<f32>",
            |s| s.opt_single = Some(f32::NAN),
            |s| s.opt_single = Some(0.5),
        ),
    ];
    for b in backends() {
        let orm = sample_orm(&b).await;
        if b.is_postgres() {
            nan_is_a_value(&b, &orm, &cases).await;
            continue;
        }
        let setup = orm.em().fork();
        setup.persist(Sample::new("existing")).unwrap();
        setup.flush().await.unwrap();

        for (label, poison, fix) in cases {
            let ctx = format!("{} / {label}", b.name);
            let before = raw_rows(&orm).await;
            let n_before = before.len() as i64;

            // Insert: a valid entity and a NaN one in the same flush; neither is written.
            let em = orm.em().fork();
            let good = em.persist(Sample::new("good")).unwrap();
            let mut bad = Sample::new("bad");
            poison(&mut bad);
            let bad = em.persist(bad).unwrap();
            let result = em.flush().await;
            assert_nan_refused(result, &b, &orm, &before, &format!("{ctx} insert")).await;
            assert_eq!(
                (good.read().id, bad.read().id),
                (0, 0),
                "{ctx}: still pending"
            );
            assert!(
                em.contains(&good).unwrap() && em.contains(&bad).unwrap(),
                "{ctx}"
            );
            assert_eq!(em.len().unwrap(), 2, "{ctx}");
            // Flushing again without a fix fails the same way.
            let result = em.flush().await;
            assert_nan_refused(result, &b, &orm, &before, &format!("{ctx} insert again")).await;

            bad.update(fix);
            em.flush().await.unwrap();
            assert_eq!(
                row_count(&orm).await,
                n_before + 2,
                "{ctx}: both rows, once"
            );
            let bad_id = bad.read().id;
            assert!(bad_id != 0 && good.read().id != 0, "{ctx}");
            let stored = orm
                .em()
                .fork()
                .find_one::<Sample>(bad_id)
                .await
                .unwrap()
                .unwrap();
            assert_stored(&b, &bad.get(), &stored.read(), &ctx);
            em.flush().await.unwrap();
            assert_eq!(row_count(&orm).await, n_before + 2, "{ctx}: no duplicate");

            // Update: a loaded entity set to NaN; the row keeps its value, the entity stays
            // dirty, the fix is written.
            let before = raw_rows(&orm).await;
            let em = orm.em().fork();
            let loaded = em.find_one::<Sample>(bad_id).await.unwrap().unwrap();
            loaded.update(poison);
            loaded.write().text = "changed".into();
            let result = em.flush().await;
            assert_nan_refused(result, &b, &orm, &before, &format!("{ctx} update")).await;
            assert!(loaded.is_dirty(), "{ctx}: still dirty");
            assert_eq!(
                loaded.original().unwrap().text,
                "bad",
                "{ctx}: baseline kept"
            );
            loaded.update(fix);
            loaded.write().text = "fixed".into();
            em.flush().await.unwrap();
            let stored = orm
                .em()
                .fork()
                .find_one::<Sample>(bad_id)
                .await
                .unwrap()
                .unwrap();
            assert_stored(&b, &loaded.get(), &stored.read(), &ctx);
            assert_eq!(stored.read().text, "fixed", "{ctx}");
            assert_eq!(
                row_count(&orm).await,
                n_before + 2,
                "{ctx}: updated in place"
            );
        }

        // NaN in a filter is refused the same way, before anything runs.
        let em = orm.em().fork();
        let before = raw_rows(&orm).await;
        for err in [
            em.find(Sample::DOUBLE.eq(f64::NAN)).await.unwrap_err(),
            em.find(Sample::SINGLE.lt(f32::NAN)).await.unwrap_err(),
            em.count(Sample::OPT_DOUBLE.is_in([1.0, f64::NAN]))
                .await
                .unwrap_err(),
        ] {
            assert!(
                matches!(err, Error::InvalidArgument(_)),
                "{}: {err:?}",
                b.name
            );
        }
        assert!(em.is_empty().unwrap(), "{}", b.name);
        assert_eq!(raw_rows(&orm).await, before, "{}", b.name);
    }
}

/// Sets a float field of a sample (to NaN, or back to a number).
type Poison = fn(&mut Sample);

/// PostgreSQL: NaN is a value of its own (equal to itself, greater than every number), so it
/// is stored, loaded, compared and found like any other.
async fn nan_is_a_value(b: &Backend, orm: &Orm, cases: &[(&str, Poison, Poison)]) {
    let em = orm.em().fork();
    let mut handles = Vec::new();
    for (label, poison, _) in cases {
        let mut s = Sample::new(label);
        poison(&mut s);
        handles.push(em.persist(s).unwrap());
    }
    em.flush().await.unwrap();
    let fresh = orm.em().fork();
    for h in &handles {
        let ctx = format!("{} / {}", b.name, h.read().text);
        let loaded = fresh
            .find_one::<Sample>(h.read().id)
            .await
            .unwrap()
            .unwrap();
        assert_stored(b, &h.get(), &loaded.read(), &ctx);
        drop(loaded.write());
        assert!(!loaded.is_dirty(), "{ctx}: NaN equals NaN");
    }
    let log = StatementLog::capture();
    fresh.flush().await.unwrap();
    assert!(log.take().is_empty(), "{}: clean flush", b.name);
    drop(log);
    let texts = |filter: Filter<Sample>| {
        let em = orm.em().fork();
        async move {
            let mut v: Vec<String> = em
                .find(filter)
                .await
                .unwrap()
                .iter()
                .map(|m| m.read().text.clone())
                .collect();
            v.sort();
            v
        }
    };
    assert_eq!(
        texts(Sample::DOUBLE.eq(f64::NAN)).await,
        ["f64"],
        "{}",
        b.name
    );
    assert_eq!(
        texts(Sample::SINGLE.lt(f32::NAN)).await,
        ["Option<f32>", "Option<f64>", "f64"],
        "{}: NaN is above every number",
        b.name
    );
    assert_eq!(
        texts(Sample::OPT_DOUBLE.is_in([1.0, f64::NAN])).await,
        ["Option<f64>"],
        "{}",
        b.name
    );
    assert_eq!(row_count(orm).await, cases.len() as i64, "{}", b.name);
}

#[tokio::test]
async fn injection_payloads_are_plain_data() {
    let payloads = [
        "'; DROP TABLE samples; --",
        "\" OR 1=1 --",
        "\\",
        "\\\\'",
        "%_",
        "' OR '1'='1",
        "Robert'); DELETE FROM samples WHERE ('1'='1",
        "\"samples\"; --",
    ];
    for b in backends() {
        let orm = sample_orm(&b).await;
        let em = orm.em().fork();
        em.persist(Sample::new("plain")).unwrap();
        let mut ids = Vec::new();
        for p in payloads {
            let mut s = Sample::new(p);
            s.opt_text = Some(p.to_string());
            ids.push(em.persist(s).unwrap());
        }
        em.flush().await.unwrap();
        let ids: Vec<i64> = ids.iter().map(|h| h.read().id).collect();
        let n = b.name;
        let total = payloads.len() + 1;

        // Stored verbatim.
        let stored: Vec<(i64, String, Option<String>)> = raw_rows(&orm)
            .await
            .iter()
            .map(|r| {
                (
                    r.get("id").unwrap(),
                    r.get("text").unwrap(),
                    r.get("opt_text").unwrap(),
                )
            })
            .collect();
        assert_eq!(stored.len(), total, "{n}");
        for (i, p) in payloads.iter().enumerate() {
            assert!(
                stored.contains(&(ids[i], p.to_string(), Some(p.to_string()))),
                "{n}: {p:?} stored verbatim"
            );
        }

        let find_ids = |filter: Filter<Sample>| {
            let em = orm.em().fork();
            async move {
                let mut v: Vec<i64> = em
                    .find(filter)
                    .await
                    .unwrap()
                    .iter()
                    .map(|m| m.read().id)
                    .collect();
                v.sort_unstable();
                v
            }
        };
        for (i, p) in payloads.iter().enumerate() {
            assert_eq!(
                find_ids(Sample::TEXT.eq(*p)).await,
                vec![ids[i]],
                "{n}: eq {p:?}"
            );
            assert_eq!(
                find_ids(Sample::OPT_TEXT.eq(Some(p.to_string()))).await,
                vec![ids[i]],
                "{n}: eq Some({p:?})"
            );
            assert_eq!(
                find_ids(Sample::TEXT.is_in([*p, "no such text"])).await,
                vec![ids[i]],
                "{n}: is_in {p:?}"
            );
            assert_eq!(
                find_ids(Sample::TEXT.ne(*p)).await.len(),
                total - 1,
                "{n}: ne {p:?}"
            );
            if !p.contains(['%', '_']) {
                // Without wildcards LIKE is (ASCII case-insensitive) equality; the payloads
                // differ by more than case.
                assert_eq!(
                    find_ids(Sample::TEXT.like(p)).await,
                    vec![ids[i]],
                    "{n}: like {p:?}"
                );
                assert_eq!(
                    find_ids(Sample::TEXT.like(&format!("%{p}%"))).await,
                    // "\\" is contained in "\\\\'".
                    if *p == "\\" {
                        vec![ids[2], ids[3]]
                    } else {
                        vec![ids[i]]
                    },
                    "{n}: like %{p:?}%"
                );
            }
        }
        let mut all_payload_ids = ids.clone();
        all_payload_ids.sort_unstable();
        assert_eq!(
            find_ids(Sample::TEXT.is_in(payloads)).await,
            all_payload_ids,
            "{n}"
        );
        assert_eq!(
            find_ids(Sample::TEXT.not_in(payloads)).await.len(),
            1,
            "{n}: only the plain row"
        );
        // `%` and `_` in a LIKE pattern are wildcards (documented): "%_" matches every
        // non-empty text, i.e. every row here, and nothing more.
        assert_eq!(find_ids(Sample::TEXT.like("%_")).await.len(), total, "{n}");
        let em = orm.em().fork();
        assert_eq!(
            em.count(Sample::TEXT.like("%DROP TABLE%")).await.unwrap(),
            1,
            "{n}"
        );

        // The payloads in raw SQL parameters are data too.
        for p in payloads {
            let rows = orm
                .em()
                .query(
                    &b.sql(&format!(
                        "SELECT id FROM samples WHERE {} = ?",
                        b.quote("text")
                    )),
                    vec![p.into()],
                )
                .await
                .unwrap();
            assert_eq!(rows.len(), 1, "{n}: raw {p:?}");
        }

        assert!(table_exists(&b, &orm).await, "{n}: the table survived");
        assert_eq!(
            row_count(&orm).await,
            total as i64,
            "{n}: exactly the rows inserted"
        );
    }
}

/// Asserts a typed decode error naming `Sample.<column>` whose message contains `needle`.
fn assert_decode(err: &Error, column: &str, needle: &str, ctx: &str) {
    match err {
        Error::Decode { column: c, message } => {
            assert_eq!(c, &format!("Sample.{column}"), "{ctx}: {err}");
            assert!(
                message.contains(needle),
                "{ctx}: {message:?} lacks {needle:?}"
            );
            assert!(
                err.to_string().contains(&format!("Sample.{column}")),
                "{ctx}: {err}"
            );
        }
        other => panic!("{ctx}: expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn cells_that_do_not_fit_their_field_are_typed_decode_errors() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("small", Value::I64(70_000), "70000 out of range for i16"),
        (
            "small",
            Value::I64(i64::from(i16::MIN) - 1),
            "out of range for i16",
        ),
        ("opt_small", Value::I64(-40_000), "out of range for i16"),
        (
            "medium",
            Value::I64(i64::from(i32::MAX) + 1),
            "out of range for i32",
        ),
        ("medium", Value::Text("abc".into()), "got text"),
        ("big", Value::Text("12x".into()), "got text"),
        ("big", Value::F64(1.5), "got f64"),
        ("flag", Value::I64(2), "expected bool"),
        ("text", Value::Bytes(vec![0xFF]), "got bytes"),
        ("bytes", Value::Text("not bytes".into()), "got text"),
        ("id_uuid", Value::Bytes(vec![1; 15]), ""),
        ("id_uuid", Value::Text("not-a-uuid".into()), ""),
        ("at", Value::Text("yesterday".into()), "bad date-time"),
        (
            "local",
            Value::Text("2024-13-01 00:00:00.000000".into()),
            "bad date-time",
        ),
        ("day", Value::Text("2024-02-30".into()), "bad date"),
        ("amount", Value::Text("1.2.3".into()), "bad decimal"),
        ("doc", Value::Text("{not json".into()), "bad json"),
        ("opt_doc", Value::Text("[1,".into()), "bad json"),
    ];
    for b in backends() {
        for (column, value, needle) in &cases {
            let orm = loose_sample_orm(&b, column, value).await;
            let ctx = format!("{} / {column} = {value:?}", b.name);
            // On a server the good row's cell takes the loose column's type, in a form the
            // field decodes; where there is none (text in an integer column) there is no good
            // row beside the bad one.
            let good = Sample::new("good");
            let good_cell = if b.is_sqlite() {
                Some(vec![])
            } else {
                loose_form(&field_value(&good, column), value).map(|v| vec![(*column, v)])
            };
            let good_id = match &good_cell {
                Some(cells) => Some(raw_insert(&b, &orm, &good, cells).await),
                None => None,
            };
            let bad_id =
                raw_insert(&b, &orm, &Sample::new("bad"), &[(*column, value.clone())]).await;
            let before = raw_rows(&orm).await;

            let em = orm.em().fork();
            if let Some(good_id) = good_id {
                // The good row decodes on its own.
                let good = em.find_one::<Sample>(good_id).await.unwrap().unwrap();
                assert_eq!(good.read().text, "good", "{ctx}");
                em.clear().unwrap();
            }

            let err = em.find(Sample::ID.eq(bad_id)).await.unwrap_err();
            assert_decode(&err, column, needle, &ctx);
            // A result with one bad row merges nothing, not even the good rows before it.
            let err = em
                .find_with(
                    Filter::<Sample>::all(),
                    FindOptions {
                        order_by: vec![Sample::ID.asc()],
                        ..Default::default()
                    },
                )
                .await
                .unwrap_err();
            assert_decode(&err, column, needle, &ctx);
            let err = em.find_one::<Sample>(bad_id).await.unwrap_err();
            assert_decode(&err, column, needle, &ctx);
            let err = em.find_one_or_fail::<Sample>(bad_id).await.unwrap_err();
            assert_decode(&err, column, needle, &ctx);
            assert_eq!(em.len().unwrap(), 0, "{ctx}: the identity map stays empty");
            assert_eq!(
                em.count(Filter::<Sample>::all()).await.unwrap(),
                1 + good_id.iter().count() as u64,
                "{ctx}"
            );
            // Nothing to flush, and the rows are untouched.
            em.flush().await.unwrap();
            assert_eq!(raw_rows(&orm).await, before, "{ctx}: rows untouched");
            let raw = orm
                .em()
                .query(
                    &b.sql(&format!(
                        "SELECT {} AS v FROM samples WHERE id = ?",
                        b.quote(column)
                    )),
                    vec![bad_id.into()],
                )
                .await
                .unwrap();
            assert_eq!(raw[0].values()[0], *value, "{ctx}: the cell as written");
        }
    }
}

/// The cell of `column` that `sample` is written with.
fn field_value(sample: &Sample, column: &str) -> Value {
    let columns = Sample::META.insert_columns(false);
    let at = columns
        .iter()
        .position(|i| Sample::META.columns[i].name == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let mut values = Vec::new();
    sample.push_values(columns, &mut values);
    values.swap_remove(at)
}

/// `value` in the kind of `loose` (the type of a loosened server column), in a form its
/// field decodes (SQLite's storage form), if there is one.
fn loose_form(value: &Value, loose: &Value) -> Option<Value> {
    const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";
    Some(match (loose, value) {
        (Value::I64(_), Value::Bool(v)) => Value::I64(i64::from(*v)),
        (Value::I64(_), Value::I16(v)) => Value::I64(i64::from(*v)),
        (Value::I64(_), Value::I32(v)) => Value::I64(i64::from(*v)),
        (Value::I64(_), Value::I64(v)) => Value::I64(*v),
        (Value::F64(_), Value::F32(v)) => Value::F64(f64::from(*v)),
        (Value::F64(_), Value::F64(v)) => Value::F64(*v),
        (Value::Text(_), Value::Text(v)) => Value::Text(v.clone()),
        (Value::Text(_), Value::DateTimeUtc(v)) => Value::Text(v.format(FORMAT).to_string()),
        (Value::Text(_), Value::DateTime(v)) => Value::Text(v.format(FORMAT).to_string()),
        (Value::Text(_), Value::Date(v)) => Value::Text(v.format("%Y-%m-%d").to_string()),
        (Value::Text(_), Value::Decimal(v)) => Value::Text(v.to_string()),
        (Value::Text(_), Value::Json(v)) => Value::Text(v.to_string()),
        (Value::Text(_), Value::Uuid(v)) => Value::Text(v.to_string()),
        (Value::Bytes(_), Value::Bytes(v)) => Value::Bytes(v.clone()),
        (Value::Bytes(_), Value::Uuid(v)) => Value::Bytes(v.as_bytes().to_vec()),
        _ => return None,
    })
}

// Defects found while writing this module, fixed since; each test keeps the case.

/// On SQLite a decimal is stored as exact TEXT; comparisons and ORDER BY must still go by
/// value (`AMOUNT.gt(9)` finds 10.00 and 100, `AMOUNT.lt(-5)` does not find -3), and 1.1
/// equals 1.10.
#[tokio::test]
async fn decimal_range_filters_and_ordering_compare_by_value() {
    let values = ["9.5", "10.00", "100", "-3", "-20", "1.10"];
    for b in backends() {
        let orm = sample_orm(&b).await;
        let em = orm.em().fork();
        for v in values {
            let mut s = Sample::new(v);
            s.amount = dec(v);
            em.persist(s).unwrap();
        }
        em.flush().await.unwrap();
        let texts = |filter: Filter<Sample>, order_by: Vec<Order>| {
            let em = orm.em().fork();
            async move {
                em.find_with(
                    filter,
                    FindOptions {
                        order_by,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .iter()
                .map(|m| m.read().text.clone())
                .collect::<Vec<String>>()
            }
        };
        let by_amount = || vec![Sample::AMOUNT.asc()];
        assert_eq!(
            texts(Sample::AMOUNT.gt(dec("9")), by_amount()).await,
            ["9.5", "10.00", "100"],
            "{}",
            b.name
        );
        assert_eq!(
            texts(Sample::AMOUNT.lt(dec("-5")), by_amount()).await,
            ["-20"],
            "{}",
            b.name
        );
        assert_eq!(
            texts(Filter::all(), by_amount()).await,
            ["-20", "-3", "1.10", "9.5", "10.00", "100"],
            "{}",
            b.name
        );
        let equal = texts(Sample::AMOUNT.eq(dec("1.1")), by_amount()).await;
        assert_eq!(equal, ["1.10"], "{}: 1.1 == 1.10 by value", b.name);
        let within = texts(
            Sample::AMOUNT.is_in([dec("100.0"), dec("-3.00")]),
            by_amount(),
        )
        .await;
        assert_eq!(within, ["-3", "100"], "{}", b.name);
        assert_eq!(row_count(&orm).await, values.len() as i64, "{}", b.name);
    }
}

/// Decoding is strict (no silent truncation): a REAL outside f32's range is a decode error,
/// not infinity.
#[tokio::test]
async fn a_real_outside_the_f32_range_is_a_decode_error() {
    for b in backends() {
        let big = Value::F64(1e300);
        let orm = loose_sample_orm(&b, "single", &big).await;
        let id = raw_insert(&b, &orm, &Sample::new("big"), &[("single", big)]).await;
        let before = raw_rows(&orm).await;
        let em = orm.em().fork();
        let result = em.find_one::<Sample>(id).await;
        match &result {
            Err(err) => assert_decode(err, "single", "f32", b.name),
            Ok(found) => panic!(
                "{}: decoded as {:?}",
                b.name,
                found.as_ref().map(|m| m.read().single)
            ),
        }
        assert_eq!(em.len().unwrap(), 0, "{}", b.name);
        assert_eq!(raw_rows(&orm).await, before, "{}", b.name);
    }
}

/// Date-times are stored as fixed-width text, which sorts in time order only for the years
/// 0 to 9999 (chrono writes `+12345-01-01 ...` beyond, which sorts before every four-digit
/// year). Such a value is refused with a typed error instead of being stored where filters
/// and ORDER BY would compare it wrongly; nothing is written and memory stays pending.
/// MySQL's `DATETIME` and `DATE` hold the same years and refuse the others the same way;
/// PostgreSQL's `TIMESTAMPTZ` and `DATE` hold them all, and compare them in time order.
#[tokio::test]
async fn date_times_outside_the_sortable_years_are_refused() {
    for b in backends() {
        let orm = sample_orm(&b).await;
        if b.is_postgres() {
            far_dates_are_kept_in_time_order(&b, &orm).await;
            continue;
        }
        let em = orm.em().fork();
        let mut far = Sample::new("far");
        far.at = utc(12345, 1, 1, 0, 0, 0, 0);
        let far = em.persist(far).unwrap();
        em.persist(Sample::new("near")).unwrap();
        let err = em.flush().await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("9999")),
            "{}: {err:?}",
            b.name
        );
        assert_eq!(row_count(&orm).await, 0, "{}: nothing written", b.name);
        assert_eq!(far.read().id, 0, "{}: still pending", b.name);
        // A date column, and a filter value, are refused the same way.
        far.write().at = utc(2030, 1, 1, 0, 0, 0, 0);
        far.write().day = date(-44, 3, 15);
        assert!(
            matches!(em.flush().await, Err(Error::InvalidArgument(_))),
            "{}",
            b.name
        );
        far.write().day = date(2030, 1, 1);
        em.flush().await.unwrap();
        assert_eq!(row_count(&orm).await, 2, "{}", b.name);
        let filter = em.find(Sample::AT.gt(utc(12345, 1, 1, 0, 0, 0, 0))).await;
        assert!(
            matches!(filter, Err(Error::InvalidArgument(_))),
            "{}",
            b.name
        );
        let later: Vec<i64> = em
            .find(Sample::AT.gt(utc(2025, 1, 1, 0, 0, 0, 0)))
            .await
            .unwrap()
            .iter()
            .map(|m| m.read().id)
            .collect();
        assert_eq!(later, [far.read().id], "{}", b.name);
    }
}

/// PostgreSQL: years beyond 9999 and before year 0 are stored, loaded and compared exactly.
async fn far_dates_are_kept_in_time_order(b: &Backend, orm: &Orm) {
    let em = orm.em().fork();
    let mut far = Sample::new("far");
    far.at = utc(12345, 1, 1, 0, 0, 0, 0);
    far.local = utc(12345, 6, 1, 0, 0, 0, 7).naive_utc();
    far.day = date(-44, 3, 15);
    let far = em.persist(far).unwrap();
    let near = em.persist(Sample::new("near")).unwrap();
    em.flush().await.unwrap();
    let (far_id, near_id) = (far.read().id, near.read().id);
    let loaded = orm
        .em()
        .fork()
        .find_one::<Sample>(far_id)
        .await
        .unwrap()
        .unwrap();
    assert_stored(b, &far.get(), &loaded.read(), b.name);
    let ids = |filter: Filter<Sample>| {
        let em = orm.em().fork();
        async move {
            em.find_with(
                filter,
                FindOptions {
                    order_by: vec![Sample::AT.asc()],
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .iter()
            .map(|m| m.read().id)
            .collect::<Vec<i64>>()
        }
    };
    assert_eq!(ids(Filter::all()).await, [near_id, far_id], "{}", b.name);
    assert_eq!(
        ids(Sample::AT.gt(utc(2025, 1, 1, 0, 0, 0, 0))).await,
        [far_id],
        "{}",
        b.name
    );
    assert!(
        ids(Sample::AT.gt(utc(12345, 1, 1, 0, 0, 0, 0)))
            .await
            .is_empty(),
        "{}",
        b.name
    );
    assert_eq!(
        ids(Sample::LOCAL.gt(utc(9999, 12, 31, 0, 0, 0, 0).naive_utc())).await,
        [far_id],
        "{}",
        b.name
    );
    assert_eq!(
        ids(Sample::DAY.lt(date(0, 1, 1))).await,
        [far_id],
        "{}",
        b.name
    );
}
