//! The unit-of-work benchmark on PostgreSQL and MariaDB: Coherent beside hand-written sqlx, in
//! one run (`shared/reference/peer-benchmarks.md` has the peers on the same workload).
//!
//! Workload: `author(id, name, email, age, version)` with an optimistic-lock version,
//! N = 10 000 rows, M = 1 000.
//! - a: persist N new entities and flush
//! - b: load N into a fresh fork
//! - c: change all N and flush (version-checked)
//! - d: M times: fork, find_one by key, change, flush (version-checked)
//! - e: load all, remove all and flush
//! - f: find_one by key (Coherent: from the identity map; sqlx: a SELECT)
//!
//! The baselines are what a careful hand-written sqlx program does, the peer benchmark's
//! `raw-sqlx`: on PostgreSQL, arrays through `UNNEST` (one INSERT, one version-checked
//! UPDATE, one `DELETE .. = ANY`); on MariaDB, multi-row statements in chunks (INSERT 1 000
//! rows, UPDATE 100 rows with `CASE` and a `(id, version) IN` check, DELETE 1 000 keys). Both
//! check affected rows where Coherent does.
//!
//! Run with the servers up (`scripts/postgres.sh`, `scripts/mariadb.sh`):
//! `COHERENT_PG_URL=.. COHERENT_MYSQL_URL=.. cargo bench -p coherent-bench --features postgres,mysql --bench servers`
//! (`BENCH_N`, `BENCH_M` override sizes; a backend whose URL is unset is skipped).

mod harness;

use coherent::prelude::*;
use criterion::Criterion;
use harness::server::{RawConn as Raw, Server};
use harness::{Samples, StatementCounter, measure, print_summary, size};
use sqlx::{Connection, Executor, Row};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

#[derive(Entity, Clone, Debug)]
#[entity(table = "author")]
struct Author {
    #[primary_key]
    id: i64,
    name: String,
    email: String,
    age: i32,
    #[version]
    version: i64,
}

fn author(i: usize) -> Author {
    Author {
        id: 0,
        name: format!("author {i}"),
        email: format!("author{i}@example.com"),
        age: (i % 90) as i32,
        version: 0,
    }
}

struct RawAuthor {
    id: i64,
    name: String,
    email: String,
    age: i32,
    version: i64,
}

fn raw_authors(n: usize) -> Vec<RawAuthor> {
    (0..n)
        .map(|i| RawAuthor {
            id: 0,
            name: format!("author {i}"),
            email: format!("author{i}@example.com"),
            age: (i % 90) as i32,
            version: 1,
        })
        .collect()
}

const SELECT_ALL: &str = "SELECT id, name, email, age, version FROM author";

macro_rules! row_author {
    ($r:expr) => {
        RawAuthor {
            id: $r.get(0),
            name: $r.get(1),
            email: $r.get(2),
            age: $r.get(3),
            version: $r.get(4),
        }
    };
}

impl Raw {
    async fn clear(&mut self) {
        match self {
            Raw::Pg(c) => drop(c.execute("TRUNCATE author").await.unwrap()),
            Raw::My(c) => drop(c.execute("TRUNCATE author").await.unwrap()),
        }
    }

    async fn insert(&mut self, rows: &mut [RawAuthor]) {
        match self {
            Raw::Pg(c) => {
                let mut tx = c.begin().await.unwrap();
                let names: Vec<&str> = rows.iter().map(|a| a.name.as_str()).collect();
                let emails: Vec<&str> = rows.iter().map(|a| a.email.as_str()).collect();
                let ages: Vec<i32> = rows.iter().map(|a| a.age).collect();
                let versions: Vec<i64> = rows.iter().map(|a| a.version).collect();
                let mut ids: Vec<i64> = sqlx::query_scalar(
                    "INSERT INTO author (name, email, age, version) \
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::int8[]) RETURNING id",
                )
                .bind(names)
                .bind(emails)
                .bind(ages)
                .bind(versions)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
                tx.commit().await.unwrap();
                ids.sort_unstable();
                for (a, id) in rows.iter_mut().zip(ids) {
                    a.id = id;
                }
            }
            Raw::My(c) => {
                let mut tx = c.begin().await.unwrap();
                for chunk in rows.chunks_mut(1000) {
                    let marks = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
                    let sql =
                        format!("INSERT INTO author (name, email, age, version) VALUES {marks}");
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for a in chunk.iter() {
                        q = q.bind(&a.name).bind(&a.email).bind(a.age).bind(a.version);
                    }
                    let done = q.execute(&mut *tx).await.unwrap();
                    assert_eq!(done.rows_affected(), chunk.len() as u64);
                    let first = done.last_insert_id() as i64;
                    for (i, a) in chunk.iter_mut().enumerate() {
                        a.id = first + i as i64;
                    }
                }
                tx.commit().await.unwrap();
            }
        }
    }

    async fn load_all(&mut self) -> Vec<RawAuthor> {
        match self {
            Raw::Pg(c) => sqlx::query(SELECT_ALL)
                .fetch_all(c)
                .await
                .unwrap()
                .iter()
                .map(|r| row_author!(r))
                .collect(),
            Raw::My(c) => sqlx::query(SELECT_ALL)
                .fetch_all(c)
                .await
                .unwrap()
                .iter()
                .map(|r| row_author!(r))
                .collect(),
        }
    }

    /// All rows' names, version-checked, in one transaction; versions advanced.
    async fn update_names(&mut self, rows: &mut [RawAuthor]) {
        match self {
            Raw::Pg(c) => {
                let mut tx = c.begin().await.unwrap();
                let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
                let names: Vec<&str> = rows.iter().map(|a| a.name.as_str()).collect();
                let versions: Vec<i64> = rows.iter().map(|a| a.version).collect();
                let done = sqlx::query(
                    "UPDATE author SET name = u.name, version = author.version + 1 \
                     FROM UNNEST($1::int8[], $2::text[], $3::int8[]) AS u(id, name, version) \
                     WHERE author.id = u.id AND author.version = u.version",
                )
                .bind(ids)
                .bind(names)
                .bind(versions)
                .execute(&mut *tx)
                .await
                .unwrap();
                assert_eq!(done.rows_affected(), rows.len() as u64);
                tx.commit().await.unwrap();
            }
            Raw::My(c) => {
                let mut tx = c.begin().await.unwrap();
                for chunk in rows.chunks(100) {
                    let cases = vec!["WHEN ? THEN ?"; chunk.len()].join(" ");
                    let pairs = vec!["(?, ?)"; chunk.len()].join(", ");
                    let sql = format!(
                        "UPDATE author SET name = CASE id {cases} END, version = version + 1 \
                         WHERE (id, version) IN ({pairs})"
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for a in chunk {
                        q = q.bind(a.id).bind(&a.name);
                    }
                    for a in chunk {
                        q = q.bind(a.id).bind(a.version);
                    }
                    let done = q.execute(&mut *tx).await.unwrap();
                    assert_eq!(done.rows_affected(), chunk.len() as u64);
                }
                tx.commit().await.unwrap();
            }
        }
        for a in rows.iter_mut() {
            a.version += 1;
        }
    }

    /// BEGIN, SELECT by key, version-checked UPDATE, COMMIT.
    async fn find_change(&mut self, id: i64) {
        macro_rules! body {
            ($c:expr, $sel:expr, $upd:expr) => {{
                let mut tx = $c.begin().await.unwrap();
                let r = sqlx::query($sel)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                let a = row_author!(r);
                let done = sqlx::query($upd)
                    .bind(a.age + 1)
                    .bind(a.id)
                    .bind(a.version)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                assert_eq!(done.rows_affected(), 1);
                tx.commit().await.unwrap();
            }};
        }
        match self {
            Raw::Pg(c) => body!(
                c,
                "SELECT id, name, email, age, version FROM author WHERE id = $1",
                "UPDATE author SET age = $1, version = version + 1 WHERE id = $2 AND version = $3"
            ),
            Raw::My(c) => body!(
                c,
                "SELECT id, name, email, age, version FROM author WHERE id = ?",
                "UPDATE author SET age = ?, version = version + 1 WHERE id = ? AND version = ?"
            ),
        }
    }

    async fn delete_all(&mut self) {
        let all = self.load_all().await;
        let ids: Vec<i64> = all.iter().map(|a| a.id).collect();
        match self {
            Raw::Pg(c) => {
                let mut tx = c.begin().await.unwrap();
                sqlx::query("DELETE FROM author WHERE id = ANY($1)")
                    .bind(ids)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
            Raw::My(c) => {
                let mut tx = c.begin().await.unwrap();
                for chunk in ids.chunks(1000) {
                    let marks = vec!["?"; chunk.len()].join(", ");
                    let sql = format!("DELETE FROM author WHERE id IN ({marks})");
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        }
    }

    async fn find(&mut self, id: i64) -> RawAuthor {
        match self {
            Raw::Pg(c) => {
                let r =
                    sqlx::query("SELECT id, name, email, age, version FROM author WHERE id = $1")
                        .bind(id)
                        .fetch_one(c)
                        .await
                        .unwrap();
                row_author!(r)
            }
            Raw::My(c) => {
                let r =
                    sqlx::query("SELECT id, name, email, age, version FROM author WHERE id = ?")
                        .bind(id)
                        .fetch_one(c)
                        .await
                        .unwrap();
                row_author!(r)
            }
        }
    }
}

/// The bench uses its own tables: `author` in a schema (PostgreSQL) or database (MariaDB)
/// named `coherent_bench_orm` / `coherent_bench_raw`, so the two sides never share a table.
async fn open(server: Server, url: &str) -> (Orm, Raw) {
    harness::server::open(server, url, "coherent_bench", |builder| {
        let builder = builder.entity::<Author>();
        // For experiments only: the figures in BENCHMARKS.md use the default batch size.
        match std::env::var("BENCH_BATCH") {
            Ok(n) => builder.batch_size(n.parse().unwrap()),
            Err(_) => builder,
        }
    })
    .await
}

fn main() {
    let n = size("BENCH_N", 10_000);
    let m = size("BENCH_M", 1_000);
    let rt = harness::runtime();
    let mut c = harness::criterion();
    let counter = StatementCounter::install();
    let mut tables = Vec::new();
    for (server, name, url) in harness::server::configured() {
        let (orm, mut raw) = rt.block_on(open(server, &url));
        let samples: Samples = Arc::default();
        let phases = bench_phases(&mut c, &rt, name, &orm, &mut raw, n, m, &samples);
        let counts = rt.block_on(harness::count_phases::<Author>(
            &orm,
            n,
            m,
            &counter,
            "TRUNCATE author",
        ));
        let chunks = |size: usize| n.div_ceil(size);
        let baseline = match server {
            Server::Postgres => [3, 1, 3, 4 * m, 4, 1],
            Server::MariaDb => [
                chunks(1000) + 2,
                1,
                chunks(100) + 2,
                4 * m,
                chunks(1000) + 3,
                1,
            ],
        };
        tables.push((
            name,
            samples,
            phases,
            counts.into_iter().zip(baseline).collect::<Vec<_>>(),
        ));
    }
    c.final_summary();
    for (name, samples, phases, counts) in tables {
        print_summary(
            &format!("Unit-of-work benchmark on {name}, N = {n}, M = {m}"),
            &samples,
            &phases,
            "sqlx",
            &counts,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn bench_phases(
    c: &mut Criterion,
    rt: &Runtime,
    server: &str,
    orm: &Orm,
    raw: &mut Raw,
    n: usize,
    m: usize,
    samples: &Samples,
) -> Vec<String> {
    let phases = vec![
        "a persist N + flush".to_string(),
        "b load N into a fresh fork".to_string(),
        "c change N + flush".to_string(),
        format!("d {m} x (fork, find_one, change, flush)"),
        "e load N, remove all, flush".to_string(),
        "f find_one by key".to_string(),
    ];
    let mut g = c.benchmark_group(format!("servers/{server}"));

    measure(
        &mut g,
        "a_insert",
        "coherent",
        &phases[0],
        samples,
        |iters| {
            rt.block_on(harness::coherent_side::insert::<Author>(
                orm,
                n,
                "TRUNCATE author",
                iters,
            ))
        },
    );
    measure(&mut g, "a_insert", "sqlx", &phases[0], samples, |iters| {
        rt.block_on(async {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                raw.clear().await;
                let t = Instant::now();
                let mut rows = raw_authors(n);
                raw.insert(&mut rows).await;
                total += t.elapsed();
            }
            total
        })
    });

    let ids = rt.block_on(harness::seed::<Author>(orm, n, "TRUNCATE author"));
    rt.block_on(async {
        raw.clear().await;
        raw.insert(&mut raw_authors(n)).await;
    });
    measure(&mut g, "b_load", "coherent", &phases[1], samples, |iters| {
        rt.block_on(harness::coherent_side::load::<Author>(orm, n, iters))
    });
    measure(&mut g, "b_load", "sqlx", &phases[1], samples, |iters| {
        rt.block_on(async {
            let t = Instant::now();
            for _ in 0..iters {
                assert_eq!(raw.load_all().await.len(), n);
            }
            t.elapsed()
        })
    });

    measure(
        &mut g,
        "c_update",
        "coherent",
        &phases[2],
        samples,
        |iters| rt.block_on(harness::coherent_side::change_all::<Author>(orm, iters)),
    );
    measure(&mut g, "c_update", "sqlx", &phases[2], samples, |iters| {
        rt.block_on(async {
            let mut total = Duration::ZERO;
            for round in 0..iters {
                let mut all = raw.load_all().await;
                let t = Instant::now();
                for a in &mut all {
                    a.name = format!("renamed {round} {}", a.id);
                }
                raw.update_names(&mut all).await;
                total += t.elapsed();
            }
            total
        })
    });

    let raw_ids: Vec<i64> = rt.block_on(raw.load_all()).iter().map(|a| a.id).collect();
    measure(
        &mut g,
        "d_find_change_flush",
        "coherent",
        &phases[3],
        samples,
        |iters| {
            rt.block_on(harness::coherent_side::find_change::<Author>(
                orm, &ids, m, iters,
            ))
        },
    );
    measure(
        &mut g,
        "d_find_change_flush",
        "sqlx",
        &phases[3],
        samples,
        |iters| {
            rt.block_on(async {
                let t = Instant::now();
                for round in 0..iters as usize {
                    for k in 0..m {
                        raw.find_change(raw_ids[(round * m + k) % raw_ids.len()])
                            .await;
                    }
                }
                t.elapsed()
            })
        },
    );

    measure(
        &mut g,
        "e_delete",
        "coherent",
        &phases[4],
        samples,
        |iters| {
            rt.block_on(harness::coherent_side::remove_all::<Author>(
                orm,
                n,
                "TRUNCATE author",
                iters,
            ))
        },
    );
    measure(&mut g, "e_delete", "sqlx", &phases[4], samples, |iters| {
        rt.block_on(async {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                raw.clear().await;
                raw.insert(&mut raw_authors(n)).await;
                let t = Instant::now();
                raw.delete_all().await;
                total += t.elapsed();
            }
            total
        })
    });

    let (em, id) = rt.block_on(async {
        let ids = harness::seed::<Author>(orm, 10, "TRUNCATE author").await;
        let em = orm.em().fork();
        em.find_one::<Author>(ids[0]).await.unwrap().unwrap();
        (em, ids[0])
    });
    let raw_id = rt.block_on(async {
        raw.clear().await;
        let mut rows = raw_authors(10);
        raw.insert(&mut rows).await;
        rows[0].id
    });
    measure(
        &mut g,
        "f_find_in_map",
        "coherent",
        &phases[5],
        samples,
        |iters| {
            rt.block_on(harness::coherent_side::find_in_map::<Author>(
                &em, id, iters,
            ))
        },
    );
    measure(
        &mut g,
        "f_find_in_map",
        "sqlx",
        &phases[5],
        samples,
        |iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(raw.find(raw_id).await.id);
                }
                t.elapsed()
            })
        },
    );
    g.finish();
    phases
}

impl harness::Workload for Author {
    fn new_row(i: usize) -> Self {
        author(i)
    }
    fn rename(&mut self) {
        self.name.push('!');
    }
    fn rename_round(&mut self, round: u64) {
        self.name = format!("renamed {round} {}", self.id);
    }
    fn bump(&mut self) {
        self.age += 1;
    }
}
