//! What both unit-of-work benchmarks share: recording criterion's per-iteration times of the
//! two sides of each phase, counting Coherent's statements from its query log, and printing
//! the medians side by side with their ratio.

use coherent::prelude::*;
use criterion::BenchmarkId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per-iteration times of every (phase, side), as criterion measured them.
pub type Samples = Arc<Mutex<BTreeMap<(String, &'static str), Vec<f64>>>>;

/// A size from the environment (`BENCH_N`, `BENCH_M`), or `default`.
pub fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
    /// c's change.
    fn rename(&mut self);
    /// d's change.
    fn bump(&mut self);
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
        let get = |side| samples.get(&(phase.clone(), side)).map(|v| median(v));
        if let (Some(o), Some(r)) = (get("coherent"), get(baseline)) {
            let fmt = |s: f64| {
                if s < 1e-3 {
                    format!("{:.3} µs", s * 1e6)
                } else {
                    format!("{:.2} ms", s * 1e3)
                }
            };
            println!(
                "| {phase} | {} | {} | {:.2}x | {ours} / {theirs} |",
                fmt(o),
                fmt(r),
                o / r
            );
        }
    }
}
