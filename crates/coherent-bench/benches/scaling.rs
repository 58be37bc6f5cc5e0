//! Cost per row as the work grows: persist + flush, and find, of N = 10 000, 100 000 and
//! 1 000 000 rows through Coherent beside hand-written rusqlite, in one run.
//!
//! The unit-of-work bench measures one size; a path whose cost grows with the square of the
//! work (a scan of what was persisted before, per persist) hides there and shows here as a
//! per-row cost that climbs with N. Both sides do the unit-of-work bench's phases a
//! (`persist` N new entities into one EntityManager and flush / multi-row INSERT in one
//! transaction) and b (`find` all N into a fresh fork / one SELECT into a `Vec`), on a file
//! database with WAL and `synchronous=NORMAL`. The summary prints, per size and phase, each
//! side's median, its time per row, and the ratio.
//!
//! Run: `cargo bench -p coherent-bench --bench scaling` (`BENCH_SCALE=10000,100000` picks sizes).

mod harness;

use harness::author::{Author, raw_authors};
use harness::{Samples, measure, remove_db, temp_db};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SCALE")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_SCALE is a list of sizes"))
        .collect();
    let rt = harness::runtime();
    let orm_path = temp_db("scale-orm");
    let raw_path = temp_db("scale-raw");
    let (orm, raw) = rt.block_on(harness::author::open_both(&orm_path, &raw_path));
    let samples: Samples = Arc::default();
    let mut c = harness::criterion();
    let mut phases = Vec::new();
    let mut g = c.benchmark_group("scaling");
    for &n in &sizes {
        let insert = format!("persist + flush {n}");
        let load = format!("find {n}");
        measure(
            &mut g,
            &format!("insert_{n}"),
            "coherent",
            &insert,
            &samples,
            |iters| {
                rt.block_on(harness::coherent_side::insert::<Author>(
                    &orm,
                    n,
                    "DELETE FROM author",
                    iters,
                ))
            },
        );
        measure(
            &mut g,
            &format!("insert_{n}"),
            "rusqlite",
            &insert,
            &samples,
            |iters| raw.timed_insert(n, iters),
        );
        rt.block_on(harness::seed::<Author>(&orm, n, "DELETE FROM author"));
        raw.clear();
        raw.insert(&mut raw_authors(n));
        measure(
            &mut g,
            &format!("find_{n}"),
            "coherent",
            &load,
            &samples,
            |iters| rt.block_on(harness::coherent_side::load::<Author>(&orm, n, iters)),
        );
        measure(
            &mut g,
            &format!("find_{n}"),
            "rusqlite",
            &load,
            &samples,
            |iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    assert_eq!(raw.load_all().len(), n);
                }
                t.elapsed()
            },
        );
        phases.push((insert, n));
        phases.push((load, n));
    }
    g.finish();
    c.final_summary();
    harness::print_per_row("Cost per row on SQLite", &samples, &phases, "rusqlite");
    remove_db(&orm_path);
    remove_db(&raw_path);
}
