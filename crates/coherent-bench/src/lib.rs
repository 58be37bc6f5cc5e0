//! Coherent's benchmarks (not published): `benches/` holds them, beside hand-written
//! rusqlite and sqlx baselines; see `BENCHMARKS.md` at the workspace root.
//!
//! Run one with `cargo bench -p coherent-bench --bench unit_of_work` (the servers' benches
//! need `--features postgres,mysql`). The library is empty: the crate exists so that the
//! baselines' drivers (rusqlite, sqlx, criterion) are not dev-dependencies of `coherent`.
