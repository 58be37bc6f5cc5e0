//! A group-by aggregate over N = 10 000 rows (issue 13): Coherent's typed select beside the
//! same query hand-written on the raw driver, in one run, on SQLite and (with the `postgres`
//! and `mysql` features) on PostgreSQL and MariaDB.
//!
//! Workload: `sales(id, customer_id, amount, price)`, N rows over G = 100 customers
//! (`customer_id` indexed). One iteration asks, per customer, for the number of sales, their
//! total amount, the largest amount and the average price:
//! - Coherent: `em.select((Sale::CUSTOMER_ID, count_all::<Sale>(), Sale::AMOUNT.sum(),
//!   Sale::AMOUNT.max(), Sale::PRICE.avg())).group_by(Sale::CUSTOMER_ID).all()`, rows as
//!   `(i64, i64, Option<i64>, Option<i32>, Option<f64>)`;
//! - baseline (rusqlite on SQLite, sqlx on the servers): `SELECT customer_id, COUNT(*),
//!   SUM(amount), MAX(amount), AVG(price) FROM sales GROUP BY customer_id` into the same
//!   tuples, with the casts a careful hand-written program needs to decode the same types
//!   (PostgreSQL sums integers as NUMERIC and MariaDB as DECIMAL: `CAST(.. AS BIGINT)` /
//!   `CAST(.. AS SIGNED)`; PostgreSQL averages as NUMERIC: `CAST(.. AS DOUBLE PRECISION)`).
//!
//! Both sides have their own tables from the same DDL (Coherent's); before timing both results
//! are checked against the seed, and afterwards Coherent's statements per select are counted
//! from its query log (1, as the baseline's; asserted).
//!
//! Run: `cargo bench -p coherent-bench --bench aggregates` (SQLite), and with the servers up:
//! `COHERENT_PG_URL=.. COHERENT_MYSQL_URL=.. cargo bench -p coherent-bench --features postgres,mysql --bench aggregates`
//! (`BENCH_N` and `BENCH_GROUPS` override the sizes; a server whose URL is unset is skipped).

mod harness;

use coherent::prelude::*;
use harness::{Samples, StatementCounter, measure, print_summary, remove_db, size, temp_db};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Entity, Clone, Debug)]
#[entity(table = "sales")]
struct Sale {
    #[primary_key]
    id: i64,
    #[column(index)]
    customer_id: i64,
    amount: i32,
    price: f64,
}

/// The phase, as `print_summary` names it.
const PHASE: &str = "group-by aggregate over N rows";

/// One row of the result: customer, sales, total amount, largest amount, average price.
type PerCustomer = (i64, i64, Option<i64>, Option<i32>, Option<f64>);

/// Sizes: `BENCH_N` rows over `BENCH_GROUPS` customers.
#[derive(Clone, Copy)]
struct Sizes {
    rows: usize,
    groups: usize,
}

/// The `i`-th sale's values (customer, amount, price).
fn sale_values(i: usize, sizes: Sizes) -> (i64, i32, f64) {
    (
        (i % sizes.groups) as i64 + 1,
        (i % 997) as i32 + 1,
        (i % 89) as f64 * 0.5,
    )
}

/// The expected result, per customer in key order.
fn expected(sizes: Sizes) -> Vec<PerCustomer> {
    let mut out: Vec<(i64, i64, i64, i32, f64)> = (1..=sizes.groups as i64)
        .map(|c| (c, 0, 0, i32::MIN, 0.0))
        .collect();
    for i in 0..sizes.rows {
        let (c, amount, price) = sale_values(i, sizes);
        let row = &mut out[c as usize - 1];
        row.1 += 1;
        row.2 += i64::from(amount);
        row.3 = row.3.max(amount);
        row.4 += price;
    }
    out.into_iter()
        .filter(|r| r.1 > 0)
        .map(|(c, n, sum, max, prices)| (c, n, Some(sum), Some(max), Some(prices / n as f64)))
        .collect()
}

/// Both sides' results equal the seed's (sorted by customer; averages to 1e-9).
fn check(sizes: Sizes, mut seen: Vec<PerCustomer>, side: &str) {
    seen.sort_by_key(|r| r.0);
    let want = expected(sizes);
    assert_eq!(seen.len(), want.len(), "{side}: one row per customer");
    for (got, want) in seen.iter().zip(&want) {
        assert_eq!(
            (got.0, got.1, got.2, got.3),
            (want.0, want.1, want.2, want.3),
            "{side}"
        );
        assert!(
            (got.4.unwrap() - want.4.unwrap()).abs() < 1e-9,
            "{side}: average price of customer {}",
            got.0
        );
    }
}

// ---------------------------------------------------------------- Coherent

async fn seed_coherent(orm: &Orm, sizes: Sizes) {
    let em = orm.em().fork();
    for i in 0..sizes.rows {
        let (customer_id, amount, price) = sale_values(i, sizes);
        em.persist(Sale {
            id: 0,
            customer_id,
            amount,
            price,
        })
        .unwrap();
    }
    em.flush().await.unwrap();
}

/// One select, in a fresh fork (as a request would).
async fn select_coherent(orm: &Orm) -> Vec<PerCustomer> {
    orm.em()
        .fork()
        .select((
            Sale::CUSTOMER_ID,
            count_all::<Sale>(),
            Sale::AMOUNT.sum(),
            Sale::AMOUNT.max(),
            Sale::PRICE.avg(),
        ))
        .group_by(Sale::CUSTOMER_ID)
        .all()
        .await
        .unwrap()
}

async fn time_coherent(orm: &Orm, iters: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(select_coherent(orm).await);
    }
    t.elapsed()
}

// ---------------------------------------------------------------- the hand-written side

const INSERT: &str = "INSERT INTO sales (id, customer_id, amount, price) VALUES (?, ?, ?, ?)";
const SELECT_SQLITE: &str = "SELECT customer_id, COUNT(*), SUM(amount), MAX(amount), AVG(price) \
                             FROM sales GROUP BY customer_id";

/// rusqlite on a file of its own.
struct Sqlite {
    conn: rusqlite::Connection,
}

impl Sqlite {
    fn seed(&self, sizes: Sizes) {
        let tx = self.conn.unchecked_transaction().unwrap();
        for i in 0..sizes.rows {
            let (customer_id, amount, price) = sale_values(i, sizes);
            tx.execute(
                INSERT,
                rusqlite::params![i as i64 + 1, customer_id, amount, price],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    fn select(&self) -> Vec<PerCustomer> {
        self.conn
            .prepare_cached(SELECT_SQLITE)
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

// ---------------------------------------------------------------- the run

fn main() {
    let sizes = Sizes {
        rows: size("BENCH_N", 10_000),
        groups: size("BENCH_GROUPS", 100),
    };
    let rt = harness::runtime();
    let mut c = harness::criterion();
    let mut runs: Vec<(&str, Orm, Samples, &'static str)> = Vec::new();

    let orm_path = temp_db("aggregates-orm");
    let raw_path = temp_db("aggregates-raw");
    let orm = rt.block_on(async {
        let orm = Orm::builder()
            .url(format!("sqlite://{}", orm_path.display()))
            .entity::<Sale>()
            .build()
            .await
            .unwrap();
        orm.schema().create().await.unwrap();
        seed_coherent(&orm, sizes).await;
        orm
    });
    let raw = Sqlite {
        conn: harness::rusqlite_open(&raw_path, &orm.schema().create_sql()),
    };
    raw.seed(sizes);
    check(sizes, rt.block_on(select_coherent(&orm)), "coherent");
    check(sizes, raw.select(), "rusqlite");
    let samples: Samples = Arc::default();
    let mut g = c.benchmark_group("aggregates/sqlite");
    measure(&mut g, "group_by", "coherent", PHASE, &samples, |iters| {
        rt.block_on(time_coherent(&orm, iters))
    });
    measure(&mut g, "group_by", "rusqlite", PHASE, &samples, |iters| {
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(raw.select());
        }
        t.elapsed()
    });
    g.finish();
    runs.push(("SQLite", orm, samples, "rusqlite"));

    #[cfg(all(feature = "postgres", feature = "mysql"))]
    for (server, name, url) in harness::server::configured() {
        let (orm, mut raw) = rt.block_on(harness::server::open(
            server,
            &url,
            "coherent_bench_aggregates",
            |b| b.entity::<Sale>(),
        ));
        rt.block_on(async {
            seed_coherent(&orm, sizes).await;
            raw.seed(sizes).await;
            check(sizes, select_coherent(&orm).await, "coherent");
            check(sizes, raw.select().await, "sqlx");
        });
        let samples: Samples = Arc::default();
        let mut g = c.benchmark_group(format!("aggregates/{name}"));
        measure(&mut g, "group_by", "coherent", PHASE, &samples, |iters| {
            rt.block_on(time_coherent(&orm, iters))
        });
        measure(&mut g, "group_by", "sqlx", PHASE, &samples, |iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(raw.select().await);
                }
                t.elapsed()
            })
        });
        g.finish();
        runs.push((name, orm, samples, "sqlx"));
    }

    // Counting turns Coherent's query log on, which costs time: only after all timing.
    let counter = StatementCounter::install();
    let counts: Vec<usize> = runs
        .iter()
        .map(|(_, orm, ..)| {
            counter.take();
            rt.block_on(select_coherent(orm));
            counter.take()
        })
        .collect();
    c.final_summary();
    for ((name, _, samples, baseline), count) in runs.iter().zip(&counts) {
        print_summary(
            &format!(
                "Group-by aggregate on {name}, N = {}, G = {}",
                sizes.rows, sizes.groups
            ),
            samples,
            &[PHASE.to_string()],
            baseline,
            &[(*count, 1)],
        );
    }
    remove_db(&orm_path);
    remove_db(&raw_path);
    for ((name, ..), count) in runs.iter().zip(counts) {
        assert_eq!(count, 1, "{name}: Coherent's select is one statement");
    }
}

// ---------------------------------------------------------------- servers

#[cfg(all(feature = "postgres", feature = "mysql"))]
mod servers {
    use super::*;
    use harness::server::RawConn;
    use sqlx::Row;

    impl RawConn {
        /// Every sale, one row a statement, in one transaction.
        pub(crate) async fn seed(&mut self, sizes: Sizes) {
            use sqlx::Connection;
            macro_rules! body {
                ($c:expr, $insert:expr) => {{
                    let mut tx = $c.begin().await.unwrap();
                    for i in 0..sizes.rows {
                        let (customer_id, amount, price) = sale_values(i, sizes);
                        sqlx::query($insert)
                            .bind(i as i64 + 1)
                            .bind(customer_id)
                            .bind(amount)
                            .bind(price)
                            .execute(&mut *tx)
                            .await
                            .unwrap();
                    }
                    tx.commit().await.unwrap();
                }};
            }
            match self {
                RawConn::Pg(c) => body!(
                    c,
                    "INSERT INTO sales (id, customer_id, amount, price) VALUES ($1, $2, $3, $4)"
                ),
                RawConn::My(c) => body!(c, INSERT),
            }
        }

        /// The select, hand-written per server with the casts its types need.
        pub(crate) async fn select(&mut self) -> Vec<PerCustomer> {
            macro_rules! body {
                ($c:expr, $sql:expr) => {
                    sqlx::query($sql)
                        .fetch_all(&mut *$c)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                        .collect()
                };
            }
            match self {
                RawConn::Pg(c) => body!(
                    c,
                    "SELECT customer_id, COUNT(*), CAST(SUM(amount) AS BIGINT), MAX(amount), \
                     CAST(AVG(price) AS DOUBLE PRECISION) FROM sales GROUP BY customer_id"
                ),
                RawConn::My(c) => body!(
                    c,
                    "SELECT customer_id, COUNT(*), CAST(SUM(amount) AS SIGNED), MAX(amount), \
                     AVG(price) FROM sales GROUP BY customer_id"
                ),
            }
        }
    }
}
