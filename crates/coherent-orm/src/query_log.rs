//! The query log of batches a driver runs away from the caller's task (SQLite's connection
//! threads): the ORM emits their statement events ([`coherent_core::query_log`]) on the
//! caller's task when the batch answers, in the order the statements ran. A driver that runs
//! statements on the caller's task emits them itself as each finishes
//! ([`coherent_core::Capabilities::logs_statements`]), and this module stays silent.
//!
//! Policy: applications turn the log on with a subscriber filter (`coherent::sql=debug`);
//! tests count these events to assert how many statements an operation issued. When no
//! subscriber wants the events, no SQL text is even collected.

use coherent_core::query_log::{failed, ran};
use coherent_core::{Batch, BatchResult};
use std::sync::Arc;
use std::time::Duration;

/// Target of the statement events.
pub use coherent_core::query_log::TARGET;

/// One remembered statement: its SQL and parameter count, and its probe's (the SELECT the
/// driver runs inside the transaction when a multi-row UPDATE misses rows).
type Remembered = (Arc<str>, usize, Option<(Arc<str>, usize)>);

/// The SQL texts and parameter counts of a batch, kept only if the log is on.
pub(crate) struct Pending(Option<Vec<Remembered>>);

impl Pending {
    /// Nothing yet (see [`Pending::remember`]); collects only if anyone listens and the
    /// driver does not log by itself (`driver_logs`).
    pub fn empty(driver_logs: bool) -> Pending {
        if !driver_logs && coherent_core::query_log::enabled() {
            Pending(Some(Vec::new()))
        } else {
            Pending(None)
        }
    }

    /// Remembers what `batch` will run, if it is to be logged here.
    pub fn of(batch: &Batch, driver_logs: bool) -> Pending {
        let mut pending = Pending::empty(driver_logs);
        pending.remember(&batch.statements);
        pending
    }

    /// Remembers one statement, if it is to be logged here.
    pub fn of_statement(statement: &coherent_core::Statement, driver_logs: bool) -> Pending {
        let mut pending = Pending::empty(driver_logs);
        pending.remember(std::slice::from_ref(statement));
        pending
    }

    /// Remembers statements handed to the driver piece by piece.
    pub fn remember(&mut self, statements: &[coherent_core::Statement]) {
        if let Some(v) = &mut self.0 {
            v.extend(statements.iter().map(|s| {
                let probe = s
                    .probe
                    .as_deref()
                    .map(|p| (Arc::clone(&p.sql), p.params.len()));
                (Arc::clone(&s.sql), s.params.len(), probe)
            }));
        }
    }

    /// Emits the event of a single statement run on its own.
    pub fn emit_single(self, result: &coherent_core::Result<coherent_core::Outcome>) {
        let Some(statements) = self.0 else { return };
        let Some((sql, params, _)) = statements.first() else {
            return;
        };
        match result {
            Ok(o) => ran(sql, *params, o.affected, o.elapsed),
            Err(error) => failed(sql, *params, error),
        }
    }

    /// Emits the event of a streamed query when it ends: the rows it read (all of them, or
    /// those read before the stream was dropped), or the error that ended it.
    pub fn emit_stream(self, rows: u64, elapsed: Duration, error: Option<&coherent_core::Error>) {
        let Some(statements) = self.0 else { return };
        let Some((sql, params, _)) = statements.first() else {
            return;
        };
        match error {
            None => ran(sql, *params, rows, elapsed),
            Some(error) => failed(sql, *params, error),
        }
    }

    /// Emits one event per executed statement, in the order they ran: the opening control
    /// statement, the statements, the failed one (`failure` names it) and its probe if the
    /// driver ran it, then the closing control statement.
    pub fn emit(
        self,
        result: &BatchResult,
        failure: Option<(Option<usize>, &coherent_core::Error)>,
    ) {
        let Some(statements) = self.0 else { return };
        let opens = |sql: &str| sql.starts_with("BEGIN") || sql.starts_with("SAVEPOINT");
        let log_control = |opening: bool| {
            for c in result.control.iter().filter(|c| opens(c.sql) == opening) {
                ran(c.sql, 0, 0, c.elapsed);
            }
        };
        log_control(true);
        for ((sql, params, _), o) in statements.iter().zip(&result.outcomes) {
            ran(sql, *params, o.affected, o.elapsed);
        }
        if let Some((Some((sql, params, probe)), error)) =
            failure.map(|(index, error)| (index.and_then(|i| statements.get(i)), error))
        {
            failed(sql, *params, error);
            if let (Some((sql, params)), Some(rows)) = (probe, &result.probe) {
                // The driver reports the probe's rows, not its time.
                ran(sql, *params, rows.len() as u64, Duration::ZERO);
            }
        }
        log_control(false);
    }
}
