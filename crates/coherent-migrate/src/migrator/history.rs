//! The history table, [`HISTORY_TABLE`] (`coherent_migrations`): one row per applied
//! migration.
//!
//! Columns: `name` (the key), `checksum` (of the files it was applied with), `applied_at`
//! (RFC 3339 UTC, so it reads and sorts the same on every backend), `execution_ms`, and
//! `state`: `applied`, or, on MariaDB while a migration runs and after one that failed
//! halfway, `started` (being applied) or `reverting` (being reverted). The portable types
//! (`VARCHAR`, `BIGINT`) are the same DDL on all three dialects.

use crate::HISTORY_TABLE;
use crate::error::{Error, Result};
use crate::migration::context::placeholders;
use coherent_core::{Dialect, Row, Statement, Value};

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The migration's name.
    pub name: String,
    /// The checksum of the files it was applied with.
    pub checksum: String,
    /// When it was applied (RFC 3339, UTC); for a migration not finished, when it started.
    pub applied_at: String,
    /// How long it took, in milliseconds (0 while it has not finished).
    pub execution_ms: u64,
    /// Whether it finished.
    pub state: RecordState,
}

/// Where a recorded migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Applied.
    Applied,
    /// Started and not finished (MariaDB): possibly half-applied.
    Started,
    /// Being reverted and not finished (MariaDB): possibly half-reverted.
    Reverting,
}

impl RecordState {
    /// The value of the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Applied => "applied",
            RecordState::Started => "started",
            RecordState::Reverting => "reverting",
        }
    }

    fn parse(s: &str) -> Option<RecordState> {
        [
            RecordState::Applied,
            RecordState::Started,
            RecordState::Reverting,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// Creates the table if it is missing.
pub(crate) fn create() -> Statement {
    Statement::execute(
        format!(
            "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (\
             name VARCHAR(255) NOT NULL PRIMARY KEY, \
             checksum VARCHAR(64) NOT NULL, \
             applied_at VARCHAR(32) NOT NULL, \
             execution_ms BIGINT NOT NULL, \
             state VARCHAR(16) NOT NULL)"
        ),
        Vec::new(),
    )
}

/// A query with one row if the table exists (in the schema `CREATE TABLE` would use).
pub(crate) fn exists(dialect: Dialect) -> Statement {
    let sql = match dialect {
        Dialect::Sqlite => format!(
            "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = '{HISTORY_TABLE}'"
        ),
        Dialect::Postgres => format!(
            "SELECT 1 AS present FROM pg_tables WHERE schemaname = current_schema() AND tablename = '{HISTORY_TABLE}'"
        ),
        Dialect::MySql => format!(
            "SELECT 1 AS present FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{HISTORY_TABLE}'"
        ),
    };
    Statement::query(sql, Vec::new())
}

/// Every row, by name.
pub(crate) fn select() -> Statement {
    Statement::query(
        format!(
            "SELECT name, checksum, applied_at, execution_ms, state FROM {HISTORY_TABLE} ORDER BY name"
        ),
        Vec::new(),
    )
}

/// Records `record`.
pub(crate) fn insert(dialect: Dialect, record: &Record) -> Statement {
    let sql = format!(
        "INSERT INTO {HISTORY_TABLE} (name, checksum, applied_at, execution_ms, state) VALUES (?, ?, ?, ?, ?)"
    );
    Statement::execute(
        placeholders(dialect, &sql),
        vec![
            record.name.as_str().into(),
            record.checksum.as_str().into(),
            record.applied_at.as_str().into(),
            Value::I64(i64::try_from(record.execution_ms).unwrap_or(i64::MAX)),
            record.state.as_str().into(),
        ],
    )
    .expecting(1)
}

/// Marks the row of `record.name` as `record` says (its state, time and duration).
pub(crate) fn update(dialect: Dialect, record: &Record) -> Statement {
    let sql = format!(
        "UPDATE {HISTORY_TABLE} SET checksum = ?, applied_at = ?, execution_ms = ?, state = ? WHERE name = ?"
    );
    Statement::execute(
        placeholders(dialect, &sql),
        vec![
            record.checksum.as_str().into(),
            record.applied_at.as_str().into(),
            Value::I64(i64::try_from(record.execution_ms).unwrap_or(i64::MAX)),
            record.state.as_str().into(),
            record.name.as_str().into(),
        ],
    )
    .expecting(1)
}

/// Sets the state of the row of `name`.
pub(crate) fn set_state(dialect: Dialect, name: &str, state: RecordState) -> Statement {
    let sql = format!("UPDATE {HISTORY_TABLE} SET state = ? WHERE name = ?");
    Statement::execute(
        placeholders(dialect, &sql),
        vec![state.as_str().into(), name.into()],
    )
    .expecting(1)
}

/// Deletes the row of `name`.
pub(crate) fn delete(dialect: Dialect, name: &str) -> Statement {
    let sql = format!("DELETE FROM {HISTORY_TABLE} WHERE name = ?");
    Statement::execute(placeholders(dialect, &sql), vec![name.into()]).expecting(1)
}

/// The records of the rows [`select`] read.
pub(crate) fn decode(rows: Vec<Row>) -> Result<Vec<Record>> {
    rows.into_iter()
        .map(|row| {
            let state: String = row.get("state")?;
            let execution_ms: i64 = row.get("execution_ms")?;
            Ok(Record {
                state: RecordState::parse(&state).ok_or_else(|| {
                    Error::Database(coherent_core::Error::Decode {
                        column: format!("{HISTORY_TABLE}.state"),
                        message: format!("unknown state {state:?}"),
                    })
                })?,
                name: row.get("name")?,
                checksum: row.get("checksum")?,
                applied_at: row.get("applied_at")?,
                execution_ms: u64::try_from(execution_ms).unwrap_or(0),
            })
        })
        .collect()
}
