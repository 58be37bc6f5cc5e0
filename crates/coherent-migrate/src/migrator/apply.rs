//! Running one migration's `up` or `down` in its transaction and recording it in the
//! history table.
//!
//! Policy: where DDL is transactional (PostgreSQL, SQLite) the migration's statements and
//! its history row commit together in the step's transaction; a failure rolls both back. On
//! MariaDB the row is written as `started` (or set to `reverting`) *before* the statements
//! run, committed on its own, and finished (set `applied`, or deleted) in the migration's
//! transaction after them: a failure leaves the mark, and the next call refuses with
//! [`Error::HalfApplied`](crate::Error::HalfApplied) until the migration is resolved. A
//! failing statement is [`Error::Failed`] naming the migration, the file, the statement's
//! index and SQL. The caller rolls back on error.

use crate::error::{Error, Result};
use crate::migration::timestamp::Utc;
use crate::migration::{Kind, Migration};
use crate::migrator::history::{self, Record, RecordState};
use crate::migrator::session::Session;
use coherent_core::Statement;
use std::time::{Instant, SystemTime};

/// Which way a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// Applies `migration` and records it, then commits; returns its record.
pub(crate) async fn up(s: &mut Session, migration: &Migration) -> Result<Record> {
    let dialect = s.dialect();
    let mut record = Record {
        name: migration.name().to_owned(),
        checksum: migration.checksum().to_owned(),
        applied_at: Utc::of(SystemTime::now()).rfc3339(),
        execution_ms: 0,
        state: RecordState::Started,
    };
    if !s.transactional_ddl() {
        s.run(history::insert(dialect, &record)).await?;
    }
    let started = Instant::now();
    s.begin_migration().await?;
    run(s, migration, Direction::Up).await?;
    record.execution_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    record.applied_at = Utc::of(SystemTime::now()).rfc3339();
    record.state = RecordState::Applied;
    if s.transactional_ddl() {
        s.run(history::insert(dialect, &record)).await?;
    } else {
        s.run(history::update(dialect, &record)).await?;
    }
    s.check_foreign_keys(migration.name()).await?;
    s.commit().await?;
    tracing::info!(
        target: crate::migrator::LOG_TARGET,
        migration = %record.name,
        execution_ms = record.execution_ms,
        "migration applied"
    );
    Ok(record)
}

/// Reverts `migration` and deletes its record, then commits.
pub(crate) async fn down(s: &mut Session, migration: &Migration) -> Result<()> {
    let dialect = s.dialect();
    if !migration.is_reversible() {
        return Err(Error::Irreversible {
            migration: migration.name().to_owned(),
        });
    }
    if !s.transactional_ddl() {
        s.run(history::set_state(
            dialect,
            migration.name(),
            RecordState::Reverting,
        ))
        .await?;
    }
    let started = Instant::now();
    s.begin_migration().await?;
    run(s, migration, Direction::Down).await?;
    s.run(history::delete(dialect, migration.name())).await?;
    s.check_foreign_keys(migration.name()).await?;
    s.commit().await?;
    tracing::info!(
        target: crate::migrator::LOG_TARGET,
        migration = %migration.name(),
        execution_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "migration reverted"
    );
    Ok(())
}

/// Runs the migration's statements (or its Rust code) one way.
async fn run(s: &mut Session, migration: &Migration, direction: Direction) -> Result<()> {
    let failed = |file: &str, statement: usize, sql: String, source| Error::Failed {
        migration: migration.name().to_owned(),
        file: file.to_owned(),
        statement,
        sql,
        source: Box::new(source),
    };
    match migration.kind() {
        Kind::Sql { up, down } => {
            let file = match direction {
                Direction::Up => up,
                Direction::Down => down.as_ref().ok_or_else(|| Error::Irreversible {
                    migration: migration.name().to_owned(),
                })?,
            };
            let mut tx = s.context();
            for (index, sql) in file.statements().iter().enumerate() {
                tx.run(Statement::execute(sql.as_str(), Vec::new()))
                    .await
                    .map_err(|e| failed(file.path(), index, sql.clone(), e))?;
            }
            Ok(())
        }
        Kind::Rust(code) => {
            let mut tx = s.context();
            let (name, result) = match direction {
                Direction::Up => ("up", code.up(&mut tx).await),
                Direction::Down => ("down", code.down(&mut tx).await),
            };
            result.map_err(|e| {
                let (index, sql) = tx.failure().unwrap_or_else(|| {
                    (
                        tx.statements_run(),
                        "(the Rust code failed after its last statement)".to_owned(),
                    )
                });
                failed(&format!("{}::{name}", code.source()), index, sql, e)
            })
        }
    }
}
