//! The unit-of-work benchmark of `shared/reference/peer-benchmarks.md`, through Coherent and
//! through hand-written rusqlite side by side, in one run.
//!
//! Workload: `author(id, name, email, age, version)`, N = 10 000 rows, M = 1 000.
//! - a: persist N new entities and flush
//! - b: load N into a fresh fork
//! - c: change all N and flush
//! - d: M times: fork, find_one by key, change, flush
//! - e: load all, remove all and flush
//! - f: find_one of an entity already in the identity map
//!
//! Both sides use a file database with WAL and `synchronous=NORMAL`, the same DDL, and do the
//! same work; the baseline is written to be as fast as plain rusqlite can be (cached
//! statements, one transaction, multi-row INSERT and `IN`-list DELETE in chunks of 300).
//! Criterion measures each phase; at the end the bench prints the median of each side, the
//! ratio, and the statements Coherent issued per phase (counted from its query log).
//!
//! Run: `cargo bench -p coherent-bench --bench unit_of_work` (`BENCH_N`, `BENCH_M` override sizes).

mod harness;

use coherent::prelude::*;
use criterion::Criterion;
use harness::author::{Author, Raw, raw_authors};
use harness::{Samples, StatementCounter, measure, print_summary, remove_db, size, temp_db};
use rusqlite::params;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

// ---------------------------------------------------------------- Coherent

fn main() {
    let n = size("BENCH_N", 10_000);
    let m = size("BENCH_M", 1_000);
    let rt = harness::runtime();
    let orm_path = temp_db("orm");
    let raw_path = temp_db("raw");
    let (orm, raw) = rt.block_on(harness::author::open_both(&orm_path, &raw_path));
    let samples: Samples = Arc::default();
    let mut c = harness::criterion();

    let phases = bench_phases(&mut c, &rt, &orm, &raw, n, m, &samples);
    let counter = StatementCounter::install();
    let counts = rt.block_on(harness::count_phases::<Author>(
        &orm,
        n,
        m,
        &counter,
        "DELETE FROM author",
    ));
    c.final_summary();
    // The hand-written baseline's statements per phase: one transaction with 34 multi-row
    // INSERTs; one SELECT; one transaction with N UPDATEs; M x (BEGIN, SELECT, UPDATE,
    // COMMIT); SELECT + one transaction with 34 DELETEs; one SELECT.
    let chunks = n.div_ceil(300);
    let baseline = [chunks + 2, 1, n + 2, 4 * m, chunks + 3, 1];
    let counts: Vec<(usize, usize)> = counts.into_iter().zip(baseline).collect();
    print_summary(
        &format!("Unit-of-work benchmark on SQLite, N = {n}, M = {m}"),
        &samples,
        &phases,
        "rusqlite",
        &counts,
    );
    remove_db(&orm_path);
    remove_db(&raw_path);
}

#[allow(clippy::too_many_arguments)]
fn bench_phases(
    c: &mut Criterion,
    rt: &Runtime,
    orm: &Orm,
    raw: &Raw,
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
        "f find_one in the identity map".to_string(),
    ];
    let mut g = c.benchmark_group("unit_of_work");

    // a
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
                "DELETE FROM author",
                iters,
            ))
        },
    );
    measure(
        &mut g,
        "a_insert",
        "rusqlite",
        &phases[0],
        samples,
        |iters| raw.timed_insert(n, iters),
    );

    // b
    rt.block_on(harness::seed::<Author>(orm, n, "DELETE FROM author"));
    raw.clear();
    raw.insert(&mut raw_authors(n));
    measure(&mut g, "b_load", "coherent", &phases[1], samples, |iters| {
        rt.block_on(harness::coherent_side::load::<Author>(orm, n, iters))
    });
    measure(&mut g, "b_load", "rusqlite", &phases[1], samples, |iters| {
        let t = Instant::now();
        for _ in 0..iters {
            assert_eq!(raw.load_all().len(), n);
        }

        t.elapsed()
    });

    // c
    measure(
        &mut g,
        "c_update",
        "coherent",
        &phases[2],
        samples,
        |iters| rt.block_on(harness::coherent_side::change_all::<Author>(orm, iters)),
    );
    measure(
        &mut g,
        "c_update",
        "rusqlite",
        &phases[2],
        samples,
        |iters| {
            let mut total = Duration::ZERO;
            for round in 0..iters {
                let mut all = raw.load_all();
                let t = Instant::now();
                for a in &mut all {
                    a.name = format!("renamed {round} {}", a.id);
                }
                raw.update_names(&all);
                total += t.elapsed();
            }
            total
        },
    );

    // d
    let ids = rt.block_on(harness::seed::<Author>(orm, n, "DELETE FROM author"));
    let raw_ids: Vec<i64> = raw.load_all().iter().map(|a| a.id).collect();
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
        "rusqlite",
        &phases[3],
        samples,
        |iters| {
            let t = Instant::now();
            for round in 0..iters as usize {
                for k in 0..m {
                    let mut a = raw.find(raw_ids[(round * m + k) % raw_ids.len()]).unwrap();
                    a.age += 1;
                    let tx = raw.conn.unchecked_transaction().unwrap();
                    {
                        let mut st = tx
                            .prepare_cached("UPDATE author SET age = ? WHERE id = ?")
                            .unwrap();
                        assert_eq!(st.execute(params![a.age, a.id]).unwrap(), 1);
                    }
                    tx.commit().unwrap();
                }
            }

            t.elapsed()
        },
    );

    // e
    measure(
        &mut g,
        "e_remove_all",
        "coherent",
        &phases[4],
        samples,
        |iters| {
            rt.block_on(harness::coherent_side::remove_all::<Author>(
                orm,
                n,
                "DELETE FROM author",
                iters,
            ))
        },
    );
    measure(
        &mut g,
        "e_remove_all",
        "rusqlite",
        &phases[4],
        samples,
        |iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                raw.clear();
                raw.insert(&mut raw_authors(n));
                let t = Instant::now();
                let all = raw.load_all();
                raw.delete(&all);
                total += t.elapsed();
            }
            total
        },
    );

    // f
    let ids = rt.block_on(harness::seed::<Author>(orm, n, "DELETE FROM author"));
    raw.clear();
    raw.insert(&mut raw_authors(n));
    let raw_id = raw.load_all()[n / 2].id;
    let em = orm.em().fork();
    let id = ids[n / 2];
    rt.block_on(em.find_one::<Author>(id)).unwrap().unwrap();
    measure(
        &mut g,
        "f_find_one_cached",
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
        "f_find_one_cached",
        "rusqlite",
        &phases[5],
        samples,
        |iters| {
            let t = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(raw.find(std::hint::black_box(raw_id)));
            }

            t.elapsed()
        },
    );
    g.finish();
    phases
}
