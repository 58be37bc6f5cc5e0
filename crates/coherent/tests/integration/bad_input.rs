//! Bad input in every value and filter position: SQL-injection payloads, NUL bytes, 1 MB
//! strings, extreme and non-finite numbers, arbitrary bytes. Each either reaches the database
//! as a bound value (and reads back exactly) or is refused with a typed error; nothing else in
//! the database changes either way.

use crate::common::*;
use crate::each_backend;
use coherent::Error;
use coherent::prelude::*;

#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "payloads")]
pub struct Payload {
    #[primary_key]
    pub id: i64,
    pub text: String,
    pub note: Option<String>,
    pub big: i64,
    pub small: i32,
    pub real: f64,
    pub blob: Vec<u8>,
}

fn sentinel() -> Payload {
    Payload {
        id: 0,
        text: "sentinel".into(),
        note: Some("keep me".into()),
        big: 7,
        small: 7,
        real: 7.5,
        blob: vec![7],
    }
}

fn texts() -> Vec<String> {
    vec![
        "'; DROP TABLE payloads; --".into(),
        "\" OR 1=1 --".into(),
        "Robert'); DELETE FROM payloads WHERE ('1'='1".into(),
        "`payloads`; --".into(),
        "\\'".into(),
        "%_".into(),
        "nul\0byte".into(),
        "\0".into(),
        "💥 ünïcødé".into(),
        "x".repeat(1 << 20),
    ]
}

fn blobs() -> Vec<Vec<u8>> {
    let mut noise = Vec::with_capacity(1 << 20);
    let mut x: u32 = 0x9E37_79B9;
    for _ in 0..(1 << 20) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x as u8);
    }
    vec![(0..=255u8).collect(), Vec::new(), vec![0; 64], noise]
}

const BIGS: [i64; 4] = [i64::MIN, i64::MAX, 0, -1];
const SMALLS: [i32; 2] = [i32::MIN, i32::MAX];
const REALS: [f64; 8] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN_POSITIVE,
    -0.0,
    1e-300,
    -1e300,
];

/// Every row, ordered by key, read by a fresh fork.
async fn all(orm: &Orm) -> Vec<Payload> {
    orm.em()
        .fork()
        .find_with(
            Filter::<Payload>::all(),
            FindOptions {
                order_by: vec![Payload::ID.asc()],
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|p| p.read().clone())
        .collect()
}

fn same(a: &Payload, b: &Payload) -> bool {
    a.id == b.id
        && a.text == b.text
        && a.note == b.note
        && a.big == b.big
        && a.small == b.small
        // IEEE equality: SQLite keeps a REAL without a fraction as an integer, so -0.0 reads
        // back as 0.0, which is equal.
        && (a.real == b.real || (a.real.is_nan() && b.real.is_nan()))
        && a.blob == b.blob
}

/// A refusal must be typed: a bad argument or a value the database does not take.
fn assert_typed(err: &Error, what: &str) {
    assert!(
        matches!(err, Error::InvalidArgument(_) | Error::InvalidData { .. }),
        "{what}: untyped refusal {err:?}"
    );
}

/// Inserts `p` beside the sentinel: either it reads back exactly, or the error is typed and
/// the table holds only what it held before. Returns whether it was stored.
async fn insert_or_refuse(orm: &Orm, p: Payload, what: &str) -> bool {
    let before = all(orm).await;
    let em = orm.em().fork();
    let h = em.persist(p.clone()).unwrap();
    match em.flush().await {
        Ok(()) => {
            let id = h.read().id;
            let back = orm
                .em()
                .fork()
                .find_one_or_fail::<Payload>(id)
                .await
                .unwrap();
            let stored = Payload { id, ..p };
            assert!(
                same(&back.read(), &stored),
                "{what}: read back {:?}",
                back.read().text.len()
            );
            let after = all(orm).await;
            assert_eq!(after.len(), before.len() + 1, "{what}");
            assert!(
                before.iter().zip(&after).all(|(a, b)| same(a, b)),
                "{what}: others changed"
            );
            true
        }
        Err(err) => {
            assert_typed(&err, what);
            let after = all(orm).await;
            assert_eq!(after.len(), before.len(), "{what}: nothing stored");
            assert!(
                before.iter().zip(&after).all(|(a, b)| same(a, b)),
                "{what}: others changed"
            );
            false
        }
    }
}

#[tokio::test]
async fn bad_values_are_bound_or_refused_with_a_typed_error() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Payload>()).await;
        let em = orm.em().fork();
        em.persist(sentinel()).unwrap();
        em.flush().await.unwrap();
        let mut refused = Vec::new();
        for t in texts() {
            let what = format!("{}: text {:?}", b.name, &t[..t.len().min(30)]);
            let p = Payload {
                text: t.clone(),
                note: Some(t.clone()),
                ..sentinel()
            };
            if !insert_or_refuse(&orm, p, &what).await {
                refused.push(what);
            }
        }
        for blob in blobs() {
            let what = format!("{}: {} bytes", b.name, blob.len());
            let p = Payload { blob, ..sentinel() };
            assert!(
                insert_or_refuse(&orm, p, &what).await,
                "{what}: bytes are always storable"
            );
        }
        for big in BIGS {
            let what = format!("{}: i64 {big}", b.name);
            assert!(
                insert_or_refuse(&orm, Payload { big, ..sentinel() }, &what).await,
                "{what}"
            );
        }
        for small in SMALLS {
            let what = format!("{}: i32 {small}", b.name);
            assert!(
                insert_or_refuse(
                    &orm,
                    Payload {
                        small,
                        ..sentinel()
                    },
                    &what
                )
                .await,
                "{what}"
            );
        }
        for real in REALS {
            let what = format!("{}: f64 {real}", b.name);
            if !insert_or_refuse(&orm, Payload { real, ..sentinel() }, &what).await {
                refused.push(what);
            }
        }
        // Updates carry the same values through UPDATE's SET.
        let target = em
            .find_one_or_fail::<Payload>(Payload::TEXT.eq("sentinel"))
            .await
            .unwrap();
        for t in texts() {
            let before = all(&orm).await;
            target.write().text = t.clone();
            match em.flush().await {
                Ok(()) => {
                    let back = orm
                        .em()
                        .fork()
                        .find_one_or_fail::<Payload>(target.read().id)
                        .await
                        .unwrap();
                    assert_eq!(back.read().text, t, "{}", b.name);
                }
                Err(err) => {
                    assert_typed(&err, b.name);
                    let after = all(&orm).await;
                    assert!(
                        before.iter().zip(&after).all(|(x, y)| same(x, y)),
                        "{}: update left a trace",
                        b.name
                    );
                    // Put the entity back as it is in the database.
                    em.refresh(&target).await.unwrap();
                }
            }
        }
        println!("{}: refused {refused:?}", b.name);
    }
}

#[tokio::test]
async fn bad_values_in_every_filter_position_are_bound() {
    for b in backends() {
        let orm = b.orm_with(|o| o.entity::<Payload>()).await;
        let em = orm.em().fork();
        em.persist(sentinel()).unwrap();
        em.flush().await.unwrap();
        let before = all(&orm).await;
        for t in texts() {
            let t = t.as_str();
            let filters = vec![
                Payload::TEXT.eq(t),
                Payload::TEXT.ne(t),
                Payload::TEXT.gt(t),
                Payload::TEXT.lte(t),
                Payload::TEXT.is_in([t, "sentinel"]),
                Payload::TEXT.not_in([t]),
                Payload::TEXT.like(t),
                Payload::NOTE
                    .eq(Some(t.to_string()))
                    .or(Payload::NOTE.is_null()),
            ];
            let short: String = t.chars().take(30).collect();
            for (i, f) in filters.into_iter().enumerate() {
                let what = format!("{}: filter #{i} with {short:?} ({} bytes)", b.name, t.len());
                match em.find(f.clone()).await {
                    Ok(found) => {
                        // The only row is the sentinel: a payload matches it only as data would.
                        for p in &found {
                            assert_eq!(p.read().text, "sentinel", "{what}");
                        }
                    }
                    Err(err) => assert_typed(&err, &what),
                }
                match em.count(f).await {
                    Ok(n) => assert!(n <= 1, "{what}"),
                    Err(err) => assert_typed(&err, &what),
                }
            }
        }
        for blob in blobs() {
            let found = em.find(Payload::BLOB.eq(blob.clone())).await.unwrap();
            assert_eq!(found.len(), usize::from(blob == vec![7]), "{}", b.name);
        }
        for big in BIGS {
            for f in [
                Payload::BIG.eq(big),
                Payload::BIG.gt(big),
                Payload::BIG.lt(big),
                Payload::BIG.is_in([big, 7]),
            ] {
                em.find(f).await.unwrap();
            }
        }
        for real in REALS {
            for f in [
                Payload::REAL.eq(real),
                Payload::REAL.gte(real),
                Payload::REAL.ne(real),
            ] {
                if let Err(err) = em.find(f).await {
                    assert_typed(&err, &format!("{}: f64 {real}", b.name));
                }
            }
        }
        // Raw SQL binds too: a payload as a parameter is data.
        let sql = match b.dialect() {
            coherent::Dialect::Postgres => "SELECT COUNT(*) AS n FROM payloads WHERE text = $1",
            _ => "SELECT COUNT(*) AS n FROM payloads WHERE text = ?",
        };
        let rows = orm
            .em()
            .query(sql, vec![Value::Text("' OR '1'='1".into())])
            .await
            .unwrap();
        assert_eq!(rows[0].get::<i64>("n").unwrap(), 0, "{}", b.name);
        let after = all(&orm).await;
        assert_eq!(before.len(), after.len(), "{}", b.name);
        assert!(
            before.iter().zip(&after).all(|(x, y)| same(x, y)),
            "{}: filters changed data",
            b.name
        );
    }
}

/// Order-by names come from the entity's metadata, never from the caller: a name that is not
/// a column (a NUL byte included, which would cut a PostgreSQL connection) is refused when
/// the order is made, and a query of another entity refuses the order before any SQL.
#[tokio::test]
async fn an_order_by_an_unknown_or_foreign_column_is_refused_before_any_sql() {
    each_backend!(|b, orm| {
        let em = orm.em().fork();
        for name in ["ann", "cy", "bo"] {
            em.persist(User::new(name, &format!("{name}@x.io")))
                .unwrap();
        }
        em.flush().await.unwrap();

        for bad in [
            "nonexistent",
            "name\0",
            "name; DROP TABLE users",
            "",
            "NAME",
        ] {
            match Order::by_name::<User>(bad) {
                Err(Error::InvalidArgument(message)) => {
                    assert!(
                        message.contains("not a column of User"),
                        "{}: {message}",
                        b.name
                    )
                }
                other => panic!("{}: {bad:?} gave {other:?}", b.name),
            }
        }

        let log = StatementLog::capture();
        let foreign = FindOptions {
            order_by: vec![Tag::LABEL.asc()],
            ..Default::default()
        };
        let err = em
            .find_with(Filter::<User>::all(), foreign)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("cannot be ordered by Tag.label")),
            "{}: {err:?}",
            b.name
        );
        assert!(log.take_all().is_empty(), "{}: no SQL", b.name);
        drop(log);

        // By field name or column name, then flipped: the connection is fine and sorts.
        let by_name = FindOptions {
            order_by: vec![Order::by_name::<User>("name").unwrap().desc()],
            ..Default::default()
        };
        let names: Vec<String> = orm
            .em()
            .fork()
            .find_with(Filter::<User>::all(), by_name)
            .await
            .unwrap()
            .iter()
            .map(|u| u.read().name.clone())
            .collect();
        assert_eq!(names, ["cy", "bo", "ann"], "{}", b.name);
        assert_eq!(
            user_rows(&orm).await.len(),
            3,
            "{}: nothing changed",
            b.name
        );
    });
}
