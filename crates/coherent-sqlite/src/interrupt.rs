//! The statement timeout: a statement running longer than
//! [`crate::SqliteOptions::statement_timeout`] is interrupted (`SQLITE_INTERRUPT`, classified
//! as [`coherent_core::Error::StatementTimeout`]).
//!
//! Policy:
//! - **Nothing without a timeout.** The progress handler is installed only on the connection
//!   threads of a driver with a timeout; without one a statement costs nothing more.
//! - **Per statement, on the connection's thread.** Each connection thread owns one
//!   connection, so its deadline lives in a thread-local: a statement arms it when it starts
//!   (one clock read), disarms it when it ends; SQLite calls the handler every [`OPS`]
//!   virtual-machine instructions, and the handler compares the clock with the deadline.
//!   The control statements the driver adds around an atomic batch (`BEGIN`, `COMMIT`,
//!   `ROLLBACK`) are never armed; those the ORM sends as statements (an explicit
//!   transaction's) are, but run too few instructions to reach the check.
//! - SQLite rolls back the whole open transaction when it interrupts a statement that writes;
//!   the connection thread then refuses the transaction's later statements (see the `worker`
//!   module), as PostgreSQL does after an error.

use rusqlite::Connection;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Virtual-machine instructions between two calls of the progress handler: a clock read per
/// some microseconds of work.
const OPS: i32 = 1000;

thread_local! {
    /// This thread's connection's statement timeout.
    static LIMIT: Cell<Option<Duration>> = const { Cell::new(None) };
    /// When the running statement is interrupted.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Makes `limit` the statement timeout of `conn`, which this thread owns from now on.
pub(crate) fn install(conn: &Connection, limit: Option<Duration>) -> rusqlite::Result<()> {
    let Some(limit) = limit else {
        return Ok(());
    };
    LIMIT.set(Some(limit));
    conn.progress_handler(
        OPS,
        Some(|| {
            DEADLINE
                .get()
                .is_some_and(|deadline| Instant::now() >= deadline)
        }),
    )
}

/// Starts the clock of a statement, if this thread has a timeout; the guard stops it.
pub(crate) fn arm() -> Armed {
    match LIMIT.get() {
        Some(limit) => {
            DEADLINE.set(Some(Instant::now() + limit));
            Armed(true)
        }
        None => Armed(false),
    }
}

/// A running statement's clock; dropping it disarms the deadline.
pub(crate) struct Armed(bool);

impl Drop for Armed {
    fn drop(&mut self) {
        if self.0 {
            DEADLINE.set(None);
        }
    }
}
