//! A model-based random test: random sequences of operations on three EntityManagers of one
//! database, run on Coherent and on an in-memory model of what the database and each
//! identity map must hold; after every step the two are compared. A failing sequence is
//! shrunk by proptest to a minimal one, which is printed (and becomes a regular test in
//! [`findings`]).
//!
//! **Modelled.** Two entity types: `Item` (a client-assigned key from 1 to 4, so persists
//! collide with rows and with each other) and `Doc` (a generated key and a `#[version]`).
//! Operations ([`ops::Op`]): `persist`, a field change, `remove`, `flush`, `find` (all rows)
//! and `find_one` (by key, also a missing one), `refresh`, `fork`, `begin` / `commit` /
//! `rollback` (savepoints when nested), `transactional_with` under every `Propagation` (with
//! a short body of operations on the scope's EntityManager, failing on request), a
//! concurrent writer (EntityManagers 1 and 2, and raw UPDATE / DELETE / INSERT on a
//! connection of their own), and on the servers flushes and commits of EntityManager 0
//! whose connection the fault-injecting proxy ([`crate::proxy`]) cuts before BEGIN, after
//! some bytes, before or after COMMIT, or after COMMIT's answer. The model ([`state`])
//! holds the committed rows, EntityManager 0's open transaction (its own writes, and what
//! each scope restores), and per EntityManager the identity map: managed instances by key,
//! pending inserts in order, scheduled removals, and each instance's values and baseline.
//! It follows the documented behaviour: a failed flush changes nothing; a flush writes only
//! changed columns, an UPDATE must hit its row (`OptimisticLock` / `RowCountMismatch`) and a
//! versioned one its version; deletes are idempotent; `find` merges rows into clean
//! instances and only the unchanged fields of dirty ones (keeping their version); queries
//! flush first when their type has persists or removals queued (`FlushMode::Auto`);
//! `refresh` of a vanished row detaches; rollback restores memory to the scope's start;
//! joined scopes that fail make the transaction rollback-only; `Mandatory` without a
//! transaction, `Never` inside one and `RequiresNew` inside one on SQLite are refused; a
//! scope without a transaction that fails merges nothing back (the shared instances keep
//! their changes); merging an empty fork that ran outside the transaction passes on only
//! the rows it wrote (finding 2 in [`findings`]: it used to copy every instance's state onto
//! the parent's, losing the parent's change).
//! After every step ([`runner::Case::verify`]) the committed rows (read on a connection of
//! their own), the open transaction's rows (read on its pinned connection), and every
//! EntityManager's `contains`, `len`, and each managed instance's values, `is_dirty`,
//! `original` and in-doubt mark must be the model's. A cut connection must end in one of
//! the documented outcomes: applied, as before, or (MariaDB) `CommitOutcomeUnknown` with
//! the inserted instances in doubt, a blind second flush refused with `InDoubt`, and the
//! case resolving it (`clear` if the rows are there, `resolve_in_doubt` if not).
//!
//! **Not modelled.** Relations, other flush modes, isolation levels other than the default
//! (and read committed for explicit transactions on the servers), read-only transactions,
//! locks, `fork_with { clear: false }` outside `transactional`, transactions on
//! EntityManagers 1 and 2, concurrent writers while EntityManager 0's transaction is open
//! (on SQLite they would wait for its write lock; on the servers for its row locks), writes
//! inside `RequiresNew` / `NotSupported` scopes nested in a transaction (only `find` and
//! `Doc` inserts, which take no lock the outer transaction holds), flushes and finds inside
//! scopes without a transaction (their body only persists, changes and removes), cancelled
//! futures, and faults inside a transaction other than at its COMMIT.
//!
//! **Runs.** Each backend is its own test, with one schema for all its sequences (the
//! tables are emptied between them), a fixed seed (`COHERENT_MODEL_SEED` to change it) and
//! [`DEFAULT_CASES`] sequences of up to [`MAX_STEPS`] operations; `COHERENT_MODEL_CASES=N`
//! runs N (the long mode, e.g. 10 000). Each test prints how many sequences and operations
//! ran.

mod findings;
pub mod ops;
pub mod runner;
pub mod state;

use crate::common::{backends, seeded_runner};
use coherent::prelude::*;
use proptest::test_runner::TestError;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A client-assigned key (from 1 to 4), no version.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "model_items")]
pub struct Item {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub qty: Option<i32>,
}

/// A generated key and an optimistic-lock version.
#[derive(Entity, Clone, Debug, PartialEq)]
#[entity(table = "model_docs")]
pub struct Doc {
    #[primary_key]
    pub id: i64,
    pub name: String,
    pub qty: Option<i32>,
    #[version]
    pub version: i64,
}

/// A builder for `url` with the model's entities.
pub fn builder(url: &str) -> coherent::OrmBuilder {
    Orm::builder().url(url).entity::<Item>().entity::<Doc>()
}

/// Sequences per backend by default.
pub const DEFAULT_CASES: u32 = 300;
/// The longest sequence.
pub const MAX_STEPS: usize = 30;
/// The default seed.
const SEED: u64 = 0x000c_0e4e_4710;

/// Runs one sequence (the tables emptied first).
pub async fn run_sequence(env: &runner::Env, ops: &[ops::Op]) -> Result<usize, String> {
    env_reset(env).await?;
    let mut case = runner::Case::new(env);
    let mut result = Ok(());
    for (n, op) in ops.iter().enumerate() {
        let step = async {
            if case.apply(op).await? {
                case.ran += 1;
                case.verify().await?;
            }
            Ok::<(), String>(())
        };
        if let Err(m) = step.await {
            result = Err(format!("step {n} ({op:?}): {m}"));
            break;
        }
    }
    case.close().await;
    result.map(|()| case.ran)
}

async fn env_reset(env: &runner::Env) -> Result<(), String> {
    for t in ["model_items", "model_docs"] {
        env.orm
            .em()
            .execute(&format!("DELETE FROM {t}"), vec![])
            .await
            .map_err(|e| format!("reset: {e}"))?;
    }
    Ok(())
}

/// Runs the model test on the backend `name` (skipped if it is not available here).
fn model_test(name: &str) {
    let Some(backend) = backends().into_iter().find(|b| b.name == name) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let env = rt.block_on(runner::Env::new(backend));
    let (mut runner, seed) = seeded_runner(
        ("COHERENT_MODEL_CASES", DEFAULT_CASES),
        ("COHERENT_MODEL_SEED", SEED),
        4096,
    );
    let (sequences, steps) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let result = runner.run(&ops::sequence(MAX_STEPS), |ops| {
        let ran = rt
            .block_on(run_sequence(&env, &ops))
            .map_err(proptest::test_runner::TestCaseError::fail)?;
        sequences.fetch_add(1, Ordering::Relaxed);
        steps.fetch_add(ran, Ordering::Relaxed);
        Ok(())
    });
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "model {name}: {} sequences passed ({} operations) in {:.1?}, seed {seed}",
        sequences.load(Ordering::Relaxed),
        steps.load(Ordering::Relaxed),
        started.elapsed()
    );
    if std::env::var_os("COHERENT_MODEL_STATS").is_some() {
        for (what, n) in runner::STATS.lock().unwrap().iter() {
            let _ = writeln!(std::io::stderr(), "  {n:>7}  {what}");
        }
    }
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, ops)) => {
            panic!(
                "model {name}: minimal failing sequence ({} operations): {ops:#?}\n{why}",
                ops.len()
            )
        }
        Err(TestError::Abort(why)) => panic!("model {name}: aborted: {why}"),
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn model_sqlite_memory() {
    model_test("sqlite-memory");
}

#[cfg(feature = "sqlite")]
#[test]
fn model_sqlite_file() {
    model_test("sqlite-file");
}

#[test]
fn model_postgres() {
    model_test("postgres");
}

#[test]
fn model_mariadb() {
    model_test("mariadb");
}
