//! The round-trip property of schema evolution, on every backend: for random schema shapes
//! and random evolutions of them, migrating to a schema and introspecting it gives that
//! schema back (the diff is empty), `down` returns to where `up` started, and `up` again
//! arrives at the same place. A failing case is shrunk by proptest and printed.
//!
//! `COHERENT_SHAPE_CASES` sets the number of cases per backend, `COHERENT_SHAPE_SEED` the
//! seed.

mod shapes;

use crate::common::{backends, seeded_runner};
use coherent::Orm;
use coherent::migrate::diff::{PlanOptions, diff, plan};
use coherent::migrate::introspect;
use coherent::migrate::model::Schema;
use proptest::test_runner::TestError;
use shapes::{Shape, Step};

const DEFAULT_CASES: u32 = 24;
const SEED: u64 = 12;

/// Runs `sql` (a rendered migration: statements ending in `;` at the end of a line,
/// comment lines starting with `--`) one statement at a time.
async fn execute(orm: &Orm, sql: &str) -> Result<(), String> {
    let text: String = sql
        .lines()
        .filter(|l| !l.starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    for statement in text.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        orm.em()
            .execute(statement, vec![])
            .await
            .map_err(|e| format!("{statement}: {e}\n--- in ---\n{sql}"))?;
    }
    Ok(())
}

async fn live(orm: &Orm) -> Result<Schema, String> {
    introspect::live(orm)
        .await
        .map_err(|e| format!("introspect: {e}"))
}

/// Migrates the database to `target` and checks that it arrived there.
async fn arrive(orm: &Orm, target: &Schema, what: &str) -> Result<String, String> {
    let from = live(orm).await?;
    let p = plan(
        &from,
        target,
        orm.dialect(),
        PlanOptions::default().allow_destructive(true),
    );
    execute(orm, &p.up).await?;
    let now = live(orm).await?;
    let left = diff(&now, target);
    if !left.is_empty() {
        return Err(format!(
            "{what}: after the migration the diff is not empty: {left:#?}\n--- up ---\n{}\n--- live ---\n{now:#?}",
            p.up
        ));
    }
    Ok(p.up)
}

async fn run_case(orm: &Orm, start: &Shape, steps: &[Step]) -> Result<(), String> {
    let d = orm.dialect();
    arrive(orm, &Schema::default(), "reset").await?;
    arrive(orm, &start.schema(d), "create").await?;
    let before = live(orm).await?;
    let next = start.evolve(steps, &mut 0).schema(d);
    let p = plan(
        &before,
        &next,
        d,
        PlanOptions::default().allow_destructive(true),
    );
    execute(orm, &p.up).await?;
    let after = live(orm).await?;
    let left = diff(&after, &next);
    if !left.is_empty() {
        return Err(format!(
            "evolve: the diff is not empty: {left:#?}\n--- up ---\n{}",
            p.up
        ));
    }
    execute(orm, &p.down).await?;
    let back = live(orm).await?;
    let left = diff(&back, &before);
    if !left.is_empty() {
        return Err(format!(
            "down: not back where up started: {left:#?}\n--- up ---\n{}\n--- down ---\n{}",
            p.up, p.down
        ));
    }
    execute(orm, &p.up).await?;
    if !diff(&live(orm).await?, &next).is_empty() {
        return Err(format!("up again: not at the target\n--- up ---\n{}", p.up));
    }
    Ok(())
}

fn shapes_test(name: &str) {
    let Some(backend) = backends().into_iter().find(|b| b.name == name) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let orm = rt.block_on(async { Orm::connect(backend.url()).await.expect("connect") });
    let (mut runner, seed) = seeded_runner(
        ("COHERENT_SHAPE_CASES", DEFAULT_CASES),
        ("COHERENT_SHAPE_SEED", SEED),
        256,
    );
    let result = runner.run(&(shapes::shape(), shapes::steps()), |(start, steps)| {
        rt.block_on(run_case(&orm, &start, &steps))
            .map_err(proptest::test_runner::TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, (start, steps))) => {
            panic!(
                "schema shapes {name} (seed {seed}): minimal failing case:\n{start:#?}\n{steps:#?}\n{why}"
            )
        }
        Err(TestError::Abort(why)) => panic!("schema shapes {name}: aborted: {why}"),
    }
    rt.block_on(orm.close());
    drop(backend);
}

#[test]
fn schema_shapes_round_trip_sqlite_memory() {
    shapes_test("sqlite-memory");
}

#[test]
fn schema_shapes_round_trip_sqlite_file() {
    shapes_test("sqlite-file");
}

#[test]
fn schema_shapes_round_trip_postgres() {
    shapes_test("postgres");
}

#[test]
fn schema_shapes_round_trip_mariadb() {
    shapes_test("mariadb");
}
