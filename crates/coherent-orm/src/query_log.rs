//! The query log: one `tracing` event per statement, on the caller's task.
//!
//! Policy: drivers time statements; this module turns their [`BatchResult`] into events with
//! target `coherent::sql` at DEBUG level: `sql`, `params` (count, never the values: they may
//! be secrets), `rows` and `elapsed_us`. Transaction control statements are logged the same
//! way. Applications turn the log on with a subscriber filter (`coherent::sql=debug`); tests
//! count these events to assert how many statements an operation issued. When no subscriber
//! wants the events, no SQL text is even collected.

use coherent_core::{Batch, BatchResult};
use std::sync::Arc;

/// Target of the statement events.
pub const TARGET: &str = "coherent::sql";

/// One remembered statement: its SQL and parameter count, and its probe's (the SELECT the
/// driver runs inside the transaction when a multi-row UPDATE misses rows).
type Remembered = (Arc<str>, usize, Option<(Arc<str>, usize)>);

/// The SQL texts and parameter counts of a batch, kept only if the log is on.
pub(crate) struct Pending(Option<Vec<Remembered>>);

impl Pending {
    /// Nothing yet (see [`Pending::remember`]); collects only if anyone listens.
    pub fn empty() -> Pending {
        if tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
            Pending(Some(Vec::new()))
        } else {
            Pending(None)
        }
    }

    /// Remembers what `batch` will run, if anyone listens.
    pub fn of(batch: &Batch) -> Pending {
        let mut pending = Pending::empty();
        pending.remember(&batch.statements);
        pending
    }

    /// Remembers one statement, if anyone listens.
    pub fn of_statement(statement: &coherent_core::Statement) -> Pending {
        let mut pending = Pending::empty();
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
            Ok(o) => {
                tracing::debug!(target: TARGET, sql = &**sql, params, rows = o.affected, elapsed_us = o.elapsed.as_micros() as u64, "statement")
            }
            Err(error) => {
                tracing::debug!(target: TARGET, sql = &**sql, params, error = %error, "statement failed")
            }
        }
    }

    /// Emits one event per executed statement, in the order they ran: the opening control
    /// statement, the statements, the failed one (`failed` names it) and its probe if the
    /// driver ran it, then the closing control statement.
    pub fn emit(
        self,
        result: &BatchResult,
        failed: Option<(Option<usize>, &coherent_core::Error)>,
    ) {
        let Some(statements) = self.0 else { return };
        let opens = |sql: &str| sql.starts_with("BEGIN") || sql.starts_with("SAVEPOINT");
        let log_control = |opening: bool| {
            for c in result.control.iter().filter(|c| opens(c.sql) == opening) {
                tracing::debug!(target: TARGET, sql = c.sql, params = 0usize, rows = 0u64, elapsed_us = c.elapsed.as_micros() as u64, "statement");
            }
        };
        log_control(true);
        for ((sql, params, _), o) in statements.iter().zip(&result.outcomes) {
            tracing::debug!(target: TARGET, sql = &**sql, params, rows = o.affected, elapsed_us = o.elapsed.as_micros() as u64, "statement");
        }
        if let Some((Some((sql, params, probe)), error)) =
            failed.map(|(index, error)| (index.and_then(|i| statements.get(i)), error))
        {
            tracing::debug!(target: TARGET, sql = &**sql, params, error = %error, "statement failed");
            if let (Some((sql, params)), Some(rows)) = (probe, &result.probe) {
                tracing::debug!(target: TARGET, sql = &**sql, params, rows = rows.len() as u64, "probe");
            }
        }
        log_control(false);
    }
}
