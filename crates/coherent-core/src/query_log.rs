//! The statement events of the query log: one `tracing` event per statement, target
//! [`TARGET`], at DEBUG level.
//!
//! Policy: an event carries `sql`, `params` (the count, never the values: they may be
//! secrets), and `rows` and `elapsed_us` for a statement that ran, or `error` for one that
//! failed. Each event is emitted when its statement finishes, in the order the statements
//! ran, on the task that ran it (so inside the caller's spans, such as a flush's
//! `coherent.flush`): a driver that runs statements on the caller's task emits them itself
//! as they finish ([`crate::Capabilities::logs_statements`]); for one that runs a batch
//! elsewhere (SQLite's connection threads) the ORM emits the batch's events, in order, when
//! the batch answers. Applications turn the log on with a subscriber filter
//! (`coherent::sql=debug`).

use crate::Error;
use std::time::Duration;

/// Target of the statement events.
pub const TARGET: &str = "coherent::sql";

/// Whether anyone listens to the statement events (so a caller can skip collecting them).
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// The event of a statement that ran.
pub fn ran(sql: &str, params: usize, rows: u64, elapsed: Duration) {
    tracing::debug!(target: TARGET, sql, params, rows, elapsed_us = elapsed.as_micros() as u64, "statement");
}

/// The event of a statement that failed.
pub fn failed(sql: &str, params: usize, error: &Error) {
    tracing::debug!(target: TARGET, sql, params, error = %error, "statement failed");
}
