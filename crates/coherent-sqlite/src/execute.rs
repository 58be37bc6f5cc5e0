//! Running a [`Batch`] on a `rusqlite::Connection`: the synchronous core of the driver.
//!
//! Policy:
//! - **Every statement is prepared through the connection's statement cache**
//!   (`prepare_cached`; [`STATEMENT_CACHE_CAPACITY`] entries, set when the connection opens),
//!   so the ORM's repeated SQL text is parsed once per connection.
//! - **Parameters bind positionally**, and their number must match the statement's
//!   placeholders ([`Error::InvalidArgument`] otherwise: SQLite would silently bind NULL).
//! - **A row-returning statement yields one flat [`Rows`]** with every cell of every row;
//!   other statements report the rows they changed (`0` for DDL and for DML that matched
//!   nothing). Rows a non-returning statement happens to produce (a `PRAGMA`) are drained.
//! - **[`Statement::expect_rows`]** is checked against rows changed (or, for row-returning
//!   statements, rows returned) right after the statement, inside the transaction.
//! - **[`TxMode::Atomic`]** wraps the batch in `BEGIN IMMEDIATE` .. `COMMIT` when the
//!   connection is in autocommit mode: the write lock is taken up front, so a flush never
//!   dead-ends on a read-to-write lock upgrade. Inside an open transaction it uses
//!   `SAVEPOINT coherent_batch` .. `RELEASE coherent_batch`. On any failure, including a
//!   failed `COMMIT`, the batch is undone (`ROLLBACK`, or `ROLLBACK TO` + `RELEASE`), unless
//!   SQLite already rolled the transaction back itself.
//! - **[`TxMode::Plain`]** runs the statements as they come and stops at the first failure.
//! - Every statement and control statement is timed; the caller logs.
//! - A statement (not a control statement) runs under the statement timeout, if one is set
//!   (the private `interrupt` module).

use crate::error::classify;
use crate::value::{from_sql, to_sql};
use coherent_core::{
    Batch, BatchFailure, BatchResult, Control, Error, Outcome, Rows, Statement, TxMode,
};
use rusqlite::Connection;
use std::sync::Arc;
use std::time::Instant;

/// How many prepared statements each connection keeps cached.
pub const STATEMENT_CACHE_CAPACITY: usize = 256;

/// Opens an atomic batch in autocommit mode, taking the write lock.
pub const BEGIN: &str = "BEGIN IMMEDIATE";
/// Ends an atomic batch opened with [`BEGIN`].
pub const COMMIT: &str = "COMMIT";
/// Undoes an atomic batch opened with [`BEGIN`], or a transaction left open.
pub const ROLLBACK: &str = "ROLLBACK";
/// Opens an atomic batch inside an open transaction.
pub const SAVEPOINT: &str = "SAVEPOINT coherent_batch";
/// Ends an atomic batch opened with [`SAVEPOINT`].
pub const RELEASE: &str = "RELEASE coherent_batch";
/// Undoes an atomic batch opened with [`SAVEPOINT`] (followed by [`RELEASE`]).
pub const ROLLBACK_TO: &str = "ROLLBACK TO coherent_batch";

/// Runs a whole batch and commits it (see [`BatchRun`]).
// `BatchFailure` is the core's error type of `Connection::run`; it travels by value.
#[allow(clippy::result_large_err)]
pub fn run_batch(conn: &Connection, batch: &Batch) -> Result<BatchResult, BatchFailure> {
    run_batch_until(conn, batch, || true)
}

/// Runs a whole batch. `keep_going` is asked before COMMIT: if the caller has stopped
/// waiting, an atomic batch is rolled back instead of committed, so a cancelled flush never
/// commits behind a Unit of Work that will not apply it.
#[allow(clippy::result_large_err)]
pub fn run_batch_until(
    conn: &Connection,
    batch: &Batch,
    keep_going: impl Fn() -> bool,
) -> Result<BatchResult, BatchFailure> {
    let mut run = BatchRun::new(conn, batch.mode, batch.statements.len());
    run.feed(&batch.statements);
    run.end(keep_going())
}

/// A batch being run piece by piece: an atomic batch opens its transaction (or savepoint)
/// with the first statement, stops at the first failure (later pieces are ignored), and at
/// [`BatchRun::end`] commits, or rolls back on failure or abandonment.
pub struct BatchRun<'c> {
    conn: &'c Connection,
    mode: TxMode,
    executed: BatchResult,
    opened: Option<bool>,
    failure: Option<(Option<usize>, Error)>,
}

impl<'c> BatchRun<'c> {
    /// A run with room for `expected` outcomes.
    pub fn new(conn: &'c Connection, mode: TxMode, expected: usize) -> Self {
        BatchRun {
            conn,
            mode,
            executed: BatchResult {
                outcomes: Vec::with_capacity(expected),
                control: Vec::new(),
                probe: None,
            },
            opened: None,
            failure: None,
        }
    }

    /// Runs the next statements (none after a failure).
    pub fn feed(&mut self, statements: &[Statement]) {
        if self.failure.is_some() || statements.is_empty() {
            return;
        }
        if self.mode == TxMode::Atomic && self.opened.is_none() {
            let nested = !self.conn.is_autocommit();
            let open = if nested { SAVEPOINT } else { BEGIN };
            if let Err(error) = control(self.conn, open, &mut self.executed.control) {
                self.failure = Some((None, error));
                return;
            }
            self.opened = Some(nested);
        }
        let base = self.executed.outcomes.len();
        if let Err((index, error)) = run_statements(self.conn, statements, &mut self.executed) {
            self.failure = Some((Some(base + index), error));
        }
    }

    /// Ends the batch: commits if `commit` and nothing failed, else rolls back. A batch that
    /// never opened a transaction (plain, or nothing fed) has nothing to commit or undo.
    #[allow(clippy::result_large_err)]
    pub fn end(mut self, commit: bool) -> Result<BatchResult, BatchFailure> {
        let failed = |executed, (index, error)| BatchFailure {
            index,
            error,
            executed,
        };
        let Some(nested) = self.opened else {
            return match self.failure {
                Some(f) => Err(failed(self.executed, f)),
                None => Ok(self.executed),
            };
        };
        let failure = match (self.failure.take(), commit) {
            (Some(f), _) => f,
            (None, false) => (
                None,
                Error::connection_lost("the batch was abandoned before it ended; rolled back"),
            ),
            (None, true) => {
                let close = if nested { RELEASE } else { COMMIT };
                match control(self.conn, close, &mut self.executed.control) {
                    Ok(()) => return Ok(self.executed),
                    Err(error) => (None, error),
                }
            }
        };
        undo(self.conn, nested, &mut self.executed.control);
        Err(failed(self.executed, failure))
    }
}

/// Runs the statements in order, recording their outcomes; stops at the first failure.
fn run_statements(
    conn: &Connection,
    statements: &[Statement],
    executed: &mut BatchResult,
) -> Result<(), (usize, Error)> {
    // Consecutive statements with the same (shared) SQL text reuse one prepared statement:
    // a flush of N updates of one shape prepares once, not N times.
    let mut prepared: Option<(&Arc<str>, rusqlite::CachedStatement<'_>)> = None;
    // One clock read per statement: each statement's time runs from the previous one's end.
    let mut clock = Instant::now();
    for (index, statement) in statements.iter().enumerate() {
        let reuse = matches!(&prepared, Some((sql, _)) if Arc::ptr_eq(sql, &statement.sql));
        if !reuse {
            let stmt = conn
                .prepare_cached(&statement.sql)
                .map_err(|e| (index, classify(e)))?;
            prepared = Some((&statement.sql, stmt));
        }
        let (_, stmt) = prepared.as_mut().expect("prepared above");
        let mut outcome = execute_prepared(conn, stmt, statement).map_err(|e| (index, e))?;
        let now = Instant::now();
        outcome.elapsed = now - clock;
        clock = now;
        executed.outcomes.push(outcome);
    }
    Ok(())
}

/// Runs one statement: prepares it (from the cache), binds, executes, checks
/// [`Statement::expect_rows`].
pub fn run_statement(conn: &Connection, statement: &Statement) -> Result<Outcome, Error> {
    let start = Instant::now();
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(classify)?;
    let mut outcome = execute_prepared(conn, &mut stmt, statement)?;
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

/// Binds every parameter, checking their number against the placeholders (SQLite would
/// silently bind NULL to the missing ones).
fn bind(stmt: &mut rusqlite::Statement<'_>, statement: &Statement) -> Result<(), Error> {
    let placeholders = stmt.parameter_count();
    if placeholders != statement.params.len() {
        return Err(Error::InvalidArgument(format!(
            "statement has {placeholders} placeholder(s) but {} parameter(s) were given: {}",
            statement.params.len(),
            statement.sql
        )));
    }
    for (i, value) in statement.params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_sql(value)?)
            .map_err(classify)?;
    }
    Ok(())
}

/// Runs a query and hands its rows to `send` in chunks of `chunk_rows` rows as they are
/// read; `send` returning false abandons the query. The outcome counts the rows read; a
/// failure mid-way is returned after the rows before it were sent.
pub fn stream_query(
    conn: &Connection,
    statement: &Statement,
    chunk_rows: usize,
    mut send: impl FnMut(Rows) -> bool,
) -> Result<Outcome, Error> {
    let start = Instant::now();
    let chunk_rows = chunk_rows.max(1);
    let _clock = crate::interrupt::arm();
    let mut stmt = conn.prepare_cached(&statement.sql).map_err(classify)?;
    bind(&mut stmt, statement)?;
    let columns: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let width = columns.len();
    let mut values = Vec::with_capacity(chunk_rows * width);
    let mut count = 0u64;
    let mut in_chunk = 0usize;
    let mut cursor = stmt.raw_query();
    let failure = loop {
        let row = match cursor.next() {
            Ok(Some(row)) => row,
            Ok(None) => break None,
            Err(e) => break Some(classify(e)),
        };
        let read = columns.iter().enumerate().try_for_each(|(i, column)| {
            values.push(from_sql(row.get_ref(i).map_err(classify)?, column)?);
            Ok::<(), Error>(())
        });
        if let Err(e) = read {
            values.truncate(in_chunk * width); // the failed row's cells
            break Some(e);
        }
        count += 1;
        in_chunk += 1;
        if in_chunk == chunk_rows {
            in_chunk = 0;
            let chunk = std::mem::replace(&mut values, Vec::with_capacity(chunk_rows * width));
            if !send(Rows {
                columns: columns.clone(),
                values: chunk,
            }) {
                break None;
            }
        }
    };
    // The rows read before the end (or before a failure: they were read) go out first.
    if !values.is_empty() {
        send(Rows { columns, values });
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(Outcome {
            affected: count,
            rows: None,
            elapsed: start.elapsed(),
        }),
    }
}

/// Binds and executes an already prepared statement (its `elapsed` is left zero).
fn execute_prepared(
    conn: &Connection,
    stmt: &mut rusqlite::Statement<'_>,
    statement: &Statement,
) -> Result<Outcome, Error> {
    let _clock = crate::interrupt::arm();
    bind(stmt, statement)?;
    let (affected, rows) = if statement.returns_rows {
        let columns: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut values = Vec::new();
        let mut count = 0u64;
        let mut cursor = stmt.raw_query();
        while let Some(row) = cursor.next().map_err(classify)? {
            for (i, column) in columns.iter().enumerate() {
                values.push(from_sql(row.get_ref(i).map_err(classify)?, column)?);
            }
            count += 1;
        }
        (count, Some(Rows { columns, values }))
    } else {
        let before = conn.total_changes();
        let mut cursor = stmt.raw_query();
        while cursor.next().map_err(classify)?.is_some() {}
        drop(cursor);
        // `changes()` keeps the count of the last DML statement; only trust it if this
        // statement changed something.
        let affected = if conn.total_changes() == before {
            0
        } else {
            conn.changes()
        };
        (affected, None)
    };
    if let Some(expected) = statement.expect_rows
        && expected != affected
    {
        return Err(Error::RowCountMismatch {
            entity: statement.entity,
            key: String::new(),
            expected,
            actual: affected,
        });
    }
    Ok(Outcome {
        affected,
        rows,
        elapsed: std::time::Duration::ZERO,
    })
}

fn control(conn: &Connection, sql: &'static str, log: &mut Vec<Control>) -> Result<(), Error> {
    let start = Instant::now();
    let result = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.raw_execute())
        .map(drop)
        .map_err(classify);
    log.push(Control {
        sql,
        elapsed: start.elapsed(),
    });
    result
}

/// Undoes a failed atomic batch. Errors are ignored: the batch's own error is the one to
/// report, and SQLite may already have rolled the transaction back (then this does nothing).
fn undo(conn: &Connection, nested: bool, log: &mut Vec<Control>) {
    if conn.is_autocommit() {
        return;
    }
    if nested {
        if control(conn, ROLLBACK_TO, log).is_ok() {
            let _ = control(conn, RELEASE, log);
        }
    } else {
        let _ = control(conn, ROLLBACK, log);
    }
}

/// Rolls back a transaction left open on `conn`, if any; returns whether the connection is
/// in autocommit mode afterwards (so fit to be handed to someone else).
///
/// ```
/// use coherent_sqlite::execute::rollback_if_open;
/// let conn = rusqlite::Connection::open_in_memory().unwrap();
/// conn.execute_batch("BEGIN").unwrap();
/// assert!(rollback_if_open(&conn));
/// assert!(conn.is_autocommit());
/// ```
pub fn rollback_if_open(conn: &Connection) -> bool {
    if !conn.is_autocommit() {
        let _ = control(conn, ROLLBACK, &mut Vec::new());
    }
    conn.is_autocommit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use coherent_core::{ConstraintKind, Value};

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
            .unwrap();
        conn
    }

    fn insert(name: &str) -> Statement {
        Statement::execute("INSERT INTO t (name) VALUES (?)", vec![name.into()])
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    fn sqls(control: &[Control]) -> Vec<&'static str> {
        control.iter().map(|c| c.sql).collect()
    }

    #[test]
    fn atomic_failure_rolls_back_and_reports_the_index() {
        let conn = conn();
        let batch = Batch {
            statements: vec![insert("a"), insert("b"), insert("a")],
            mode: TxMode::Atomic,
        };
        let failure = run_batch(&conn, &batch).unwrap_err();
        assert_eq!(failure.index, Some(2));
        assert_eq!(
            failure.error.constraint_kind(),
            Some(ConstraintKind::Unique)
        );
        assert_eq!(failure.executed.outcomes.len(), 2);
        assert_eq!(sqls(&failure.executed.control), [BEGIN, ROLLBACK]);
        assert_eq!(count(&conn), 0);
        assert!(conn.is_autocommit());
    }

    #[test]
    fn nested_atomic_uses_a_savepoint() {
        let conn = conn();
        conn.execute_batch("BEGIN; INSERT INTO t (name) VALUES ('outer');")
            .unwrap();
        let ok = run_batch(
            &conn,
            &Batch {
                statements: vec![insert("x")],
                mode: TxMode::Atomic,
            },
        )
        .unwrap();
        assert_eq!(sqls(&ok.control), [SAVEPOINT, RELEASE]);
        let failure = run_batch(
            &conn,
            &Batch {
                statements: vec![insert("y"), insert("outer")],
                mode: TxMode::Atomic,
            },
        )
        .unwrap_err();
        assert_eq!(failure.index, Some(1));
        assert_eq!(
            sqls(&failure.executed.control),
            [SAVEPOINT, ROLLBACK_TO, RELEASE]
        );
        assert!(
            !conn.is_autocommit(),
            "the outer transaction must stay open"
        );
        conn.execute_batch("COMMIT").unwrap();
        let names: Vec<String> = conn
            .prepare("SELECT name FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["outer", "x"]);
    }

    #[test]
    fn plain_failure_keeps_earlier_statements() {
        let conn = conn();
        let failure = run_batch(
            &conn,
            &Batch {
                statements: vec![insert("a"), insert("a")],
                mode: TxMode::Plain,
            },
        )
        .unwrap_err();
        assert_eq!(failure.index, Some(1));
        assert!(failure.executed.control.is_empty());
        assert_eq!(count(&conn), 1);
    }

    #[test]
    fn affected_rows_are_exact() {
        let conn = conn();
        let result = run_batch(
            &conn,
            &Batch {
                statements: vec![
                    Statement::execute(
                        "INSERT INTO t (name) VALUES (?), (?), (?)",
                        vec!["a".into(), "b".into(), "c".into()],
                    ),
                    // DDL after DML must not report the DML's count.
                    Statement::execute("CREATE TABLE u (x)", vec![]),
                    Statement::execute(
                        "UPDATE t SET name = name || '!' WHERE id > ?",
                        vec![Value::I64(1)],
                    ),
                    Statement::execute("DELETE FROM t WHERE id = ?", vec![Value::I64(99)]),
                    Statement::execute("PRAGMA user_version", vec![]),
                ],
                mode: TxMode::Plain,
            },
        )
        .unwrap();
        let affected: Vec<u64> = result.outcomes.iter().map(|o| o.affected).collect();
        assert_eq!(affected, [3, 0, 2, 0, 0]);
    }

    #[test]
    fn expect_rows_mismatch_undoes_the_batch() {
        let conn = conn();
        let failure = run_batch(
            &conn,
            &Batch {
                statements: vec![
                    insert("a"),
                    Statement::execute("UPDATE t SET name = 'z' WHERE id = 42", vec![])
                        .expecting(1)
                        .about("T"),
                ],
                mode: TxMode::Atomic,
            },
        )
        .unwrap_err();
        assert_eq!(failure.index, Some(1));
        assert!(matches!(
            failure.error,
            Error::RowCountMismatch {
                entity: "T",
                expected: 1,
                actual: 0,
                ..
            }
        ));
        assert_eq!(count(&conn), 0);
    }

    #[test]
    fn parameter_count_is_checked() {
        let conn = conn();
        let err = run_statement(
            &conn,
            &Statement::execute("INSERT INTO t (name) VALUES (?)", vec![]),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(m) if m.contains("1 placeholder")));
    }

    #[test]
    fn returned_rows_are_flat_with_names() {
        let conn = conn();
        let outcome = run_statement(
            &conn,
            &Statement::query(
                "INSERT INTO t (name) VALUES (?), (?) RETURNING id, name",
                vec!["p".into(), "q".into()],
            ),
        )
        .unwrap();
        let rows = outcome.rows.unwrap();
        assert_eq!(&*rows.columns, ["id", "name"]);
        assert_eq!(
            rows.values,
            [Value::I64(1), "p".into(), Value::I64(2), "q".into()]
        );
        assert_eq!(outcome.affected, 2);
    }

    #[test]
    fn failed_commit_is_undone() {
        let conn = conn();
        conn.execute_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        let failure = run_batch(
            &conn,
            &Batch {
                statements: vec![Statement::execute("INSERT INTO child VALUES (7)", vec![])],
                mode: TxMode::Atomic,
            },
        )
        .unwrap_err();
        assert_eq!(failure.index, None);
        assert_eq!(
            failure.error.constraint_kind(),
            Some(ConstraintKind::ForeignKey)
        );
        assert_eq!(sqls(&failure.executed.control), [BEGIN, COMMIT, ROLLBACK]);
        assert!(conn.is_autocommit());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM child", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
