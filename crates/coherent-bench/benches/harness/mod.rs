//! What the benchmarks share: their runtime and criterion settings, recording criterion's
//! per-iteration times of the two sides of each phase, counting Coherent's statements from its
//! query log, printing the medians side by side with their ratio, the unit-of-work phases of
//! Coherent, SQLite files, and the servers ([`server`]).

// Each bench uses a part of the harness.
#![allow(dead_code)]

pub mod author;
pub mod server;

use coherent::prelude::*;
use criterion::{BenchmarkId, Criterion};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Per-iteration times of every (phase, side), as criterion measured them.
pub type Samples = Arc<Mutex<BTreeMap<(String, &'static str), Vec<f64>>>>;

/// A size from the environment (`BENCH_N`, `BENCH_M`), or `default`.
pub fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The runtime every bench drives its async work on: two worker threads.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Criterion as every bench here uses it: 10 samples, 1 s warm-up, 3 s of measurement
/// (command-line options apply on top).
/// Criterion's samples per benchmark; the summary's medians are of the last this many
/// recorded runs of a routine (criterion's warm-up calls the same routine first).
pub const SAMPLES: usize = 10;

pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// A SQLite database file `name` of this process in the temp directory, any left-over removed.
pub fn temp_db(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("coherent-bench-{}-{name}.db", std::process::id()));
    remove_db(&p);
    p
}

/// Removes a SQLite database file with its WAL and shared-memory files.
pub fn remove_db(p: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", p.display()));
    }
}

/// The hand-written side's SQLite connection to `path`, set up as Coherent's (WAL,
/// `synchronous=NORMAL`, foreign keys on) with a statement cache, after running `ddl`.
pub fn rusqlite_open(path: &Path, ddl: &[String]) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    )
    .unwrap();
    conn.set_prepared_statement_cache_capacity(256);
    for s in ddl {
        conn.execute(s, []).unwrap();
    }
    conn
}

/// Benchmarks one side of one phase with criterion's `iter_custom` (the routine returns the
/// time of `iters` iterations, setup excluded) and records the per-iteration times.
pub fn measure(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    side: &'static str,
    phase: &str,
    samples: &Samples,
    mut routine: impl FnMut(u64) -> Duration,
) {
    g.bench_function(BenchmarkId::new(id, side), |b| {
        b.iter_custom(|iters| {
            let total = routine(iters);
            samples
                .lock()
                .unwrap()
                .entry((phase.to_string(), side))
                .or_default()
                .push(total.as_secs_f64() / iters as f64);
            total
        })
    });
}

/// Counts the statements Coherent logs (target `coherent::sql`) while `work` runs.
pub struct StatementCounter(Arc<Mutex<usize>>);

impl StatementCounter {
    /// Installs the counting subscriber (once per process).
    pub fn install() -> StatementCounter {
        use tracing_subscriber::layer::SubscriberExt;
        struct Count(Arc<Mutex<usize>>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
            fn on_event(
                &self,
                e: &tracing::Event<'_>,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                if e.metadata().target() == coherent::query_log::TARGET {
                    *self.0.lock().unwrap() += 1;
                }
            }
        }
        let count = Arc::new(Mutex::new(0usize));
        let subscriber = tracing_subscriber::registry().with(Count(Arc::clone(&count)));
        let _ = tracing::subscriber::set_global_default(subscriber);
        StatementCounter(count)
    }

    /// Statements since the last call.
    pub fn take(&self) -> usize {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The workload's entity, as each bench declares it.
pub trait Workload: Entity<Key = i64> {
    /// The `i`-th new row.
    fn new_row(i: usize) -> Self;
    /// The statement-count pass's change.
    fn rename(&mut self);
    /// c's change in round `round`.
    fn rename_round(&mut self, round: u64);
    /// d's change.
    fn bump(&mut self);
}

/// Empties the table (`clear`) and inserts `n` rows through Coherent; their keys.
pub async fn seed<T: Workload>(orm: &Orm, n: usize, clear: &str) -> Vec<i64> {
    orm.em().execute(clear, vec![]).await.unwrap();
    let em = orm.em().fork();
    let all: Vec<_> = (0..n).map(|i| em.persist(T::new_row(i)).unwrap()).collect();
    em.flush().await.unwrap();
    all.iter().map(|a| a.key()).collect()
}

/// Coherent's side of the phases, the same in both benches: each runs `iters` iterations and
/// returns their time, setup excluded.
pub mod coherent_side {
    use super::*;

    /// a: persist `n` new entities and flush (the table emptied before each).
    pub async fn insert<T: Workload>(orm: &Orm, n: usize, clear: &str, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            orm.em().execute(clear, vec![]).await.unwrap();
            let em = orm.em().fork();
            let t = Instant::now();
            for i in 0..n {
                em.persist(T::new_row(i)).unwrap();
            }
            em.flush().await.unwrap();
            total += t.elapsed();
        }
        total
    }

    /// b: load all `n` rows into a fresh fork.
    pub async fn load<T: Workload>(orm: &Orm, n: usize, iters: u64) -> Duration {
        let t = Instant::now();
        for _ in 0..iters {
            let em = orm.em().fork();
            assert_eq!(em.find::<T>(Filter::all()).await.unwrap().len(), n);
        }
        t.elapsed()
    }

    /// c: change every loaded entity and flush (the load excluded).
    pub async fn change_all<T: Workload>(orm: &Orm, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for round in 0..iters {
            let em = orm.em().fork();
            let all = em.find::<T>(Filter::all()).await.unwrap();
            let t = Instant::now();
            for a in &all {
                a.write().rename_round(round);
            }
            em.flush().await.unwrap();
            total += t.elapsed();
        }
        total
    }

    /// d: `m` times fork, find one of `ids`, change it, flush.
    pub async fn find_change<T: Workload>(
        orm: &Orm,
        ids: &[i64],
        m: usize,
        iters: u64,
    ) -> Duration {
        let t = Instant::now();
        for round in 0..iters as usize {
            for k in 0..m {
                let em = orm.em().fork();
                let a = em
                    .find_one::<T>(ids[(round * m + k) % ids.len()])
                    .await
                    .unwrap()
                    .unwrap();
                a.write().bump();
                em.flush().await.unwrap();
            }
        }
        t.elapsed()
    }

    /// e: load all, remove each, flush (the table re-seeded with `n` rows before each).
    pub async fn remove_all<T: Workload>(orm: &Orm, n: usize, clear: &str, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            seed::<T>(orm, n, clear).await;
            let t = Instant::now();
            let em = orm.em().fork();
            for a in em.find::<T>(Filter::all()).await.unwrap() {
                em.remove(&a).unwrap();
            }
            em.flush().await.unwrap();
            total += t.elapsed();
        }
        total
    }

    /// f: find an entity already in `em`'s identity map.
    pub async fn find_in_map<T: Workload>(em: &EntityManager, id: i64, iters: u64) -> Duration {
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(em.find_one::<T>(std::hint::black_box(id)).await.unwrap());
        }
        t.elapsed()
    }
}

/// Runs each Coherent phase once more, outside criterion, counting its statements; `clear`
/// empties the table first.
pub async fn count_phases<T: Workload>(
    orm: &Orm,
    n: usize,
    m: usize,
    counter: &StatementCounter,
    clear: &str,
) -> Vec<usize> {
    let mut out = Vec::new();
    orm.em().execute(clear, vec![]).await.unwrap();
    let em = orm.em().fork();
    counter.take();
    for i in 0..n {
        em.persist(T::new_row(i)).unwrap();
    }
    em.flush().await.unwrap();
    out.push(counter.take());
    let em = orm.em().fork();
    let all = em.find::<T>(Filter::all()).await.unwrap();
    out.push(counter.take());
    for a in &all {
        a.write().rename();
    }
    em.flush().await.unwrap();
    out.push(counter.take());
    let ids: Vec<i64> = all.iter().map(|a| a.key()).collect();
    for id in ids.iter().take(m) {
        let em = orm.em().fork();
        em.find_one::<T>(*id).await.unwrap().unwrap().write().bump();
        em.flush().await.unwrap();
    }
    out.push(counter.take());
    let em = orm.em().fork();
    for a in em.find::<T>(Filter::all()).await.unwrap() {
        em.remove(&a).unwrap();
    }
    em.flush().await.unwrap();
    out.push(counter.take());
    let em = orm.em().fork();
    let a = em.persist(T::new_row(0)).unwrap();
    em.flush().await.unwrap();
    counter.take();
    em.find_one::<T>(a.key()).await.unwrap();
    out.push(counter.take());
    out
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints one table: per phase the medians of Coherent and `baseline`, their ratio, and the
/// statements each side issues.
pub fn print_summary(
    title: &str,
    samples: &Samples,
    phases: &[String],
    baseline: &'static str,
    counts: &[(usize, usize)],
) {
    let samples = samples.lock().unwrap();
    println!("\n{title} (medians of criterion's samples)");
    println!("| phase | coherent | {baseline} | ratio | statements (coherent / {baseline}) |");
    println!("|---|---|---|---|---|");
    for (phase, (ours, theirs)) in phases.iter().zip(counts) {
        if let (Some(o), Some(r)) = (
            measured(&samples, phase, "coherent"),
            measured(&samples, phase, baseline),
        ) {
            println!(
                "| {phase} | {} | {} | {:.2}x | {ours} / {theirs} |",
                duration(o),
                duration(r),
                o / r
            );
        }
    }
}

/// The median of a side's measured samples of `phase` (the last [`SAMPLES`] recorded; the
/// warm-up's calls come before them).
fn measured(
    samples: &BTreeMap<(String, &'static str), Vec<f64>>,
    phase: &str,
    side: &'static str,
) -> Option<f64> {
    samples
        .get(&(phase.to_string(), side))
        .map(|v| median(&v[v.len().saturating_sub(SAMPLES)..]))
}

/// Seconds as µs below a millisecond, else ms.
fn duration(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.3} µs", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}

/// Prints one table: per phase of `rows` rows the medians of Coherent and `baseline`, each
/// side's time per row, and their ratio.
pub fn print_per_row(
    title: &str,
    samples: &Samples,
    phases: &[(String, usize)],
    baseline: &'static str,
) {
    let samples = samples.lock().unwrap();
    println!("\n{title} (medians of criterion's samples)");
    println!("| phase | coherent | per row | {baseline} | per row | ratio |");
    println!("|---|---|---|---|---|---|");
    for (phase, rows) in phases {
        if let (Some(o), Some(r)) = (
            measured(&samples, phase, "coherent"),
            measured(&samples, phase, baseline),
        ) {
            let per_row = |s: f64| format!("{:.0} ns", s * 1e9 / *rows as f64);
            println!(
                "| {phase} | {} | {} | {} | {} | {:.2}x |",
                duration(o),
                per_row(o),
                duration(r),
                per_row(r),
                o / r
            );
        }
    }
}
