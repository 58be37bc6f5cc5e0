//! The driver interface: the only thing a backend implements.
//!
//! Policy:
//! - **Dialect-neutral.** The ORM hands a driver finished SQL text with bound [`Value`]s; the
//!   driver never sees entities. SQL text is rendered per [`Dialect`] by `coherent-sql`.
//! - **Batches cross the async boundary whole.** A [`Batch`] (a whole flush, or one query) is
//!   one job for the driver, never one call per row or per statement, so an embedded database
//!   on its own thread pays one hop per flush (landscape reference 3.3).
//! - **Atomic batches.** [`TxMode::Atomic`] runs the batch in a transaction (or, inside an
//!   open transaction, a savepoint) and undoes all of it if any statement fails or an
//!   [`Statement::expect_rows`] check does not hold. The check runs inside the transaction,
//!   so there is no check-then-act window.
//! - **Errors are classified** into [`crate::Error`] variants by the driver.
//! - **Large results stream** ([`Connection::query_stream`]): chunks of rows, read ahead of
//!   the caller by a small fixed number of chunks at most, so memory stays bounded.
//! - **Timing is reported, not logged**, in [`Outcome::elapsed`]: the ORM emits the `tracing`
//!   events on the caller's task, inside the caller's span.

use crate::error::{Error, Result};
use crate::row::Rows;
use crate::stream::BoxStream;
use crate::value::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The SQL dialects Coherent renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3.35+ (RETURNING).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL / MariaDB.
    MySql,
}

/// What a backend can do; the ORM plans around it.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// `INSERT .. RETURNING` is available.
    pub returning: bool,
    /// The most bound parameters one statement may carry.
    pub max_params: usize,
    /// Two connections can hold write transactions at the same time.
    pub concurrent_writers: bool,
    /// Updates of many rows go in one statement (a server, where each statement is a
    /// network round trip); otherwise one prepared UPDATE per row (embedded SQLite, where
    /// that is the fastest form).
    pub batch_updates: bool,
    /// Many rows bind as one array per column (PostgreSQL: `UNNEST`, `= ANY`), so a flush
    /// phase of any size is one statement (see [`Statement::columnar`]).
    pub columnar: bool,
    /// Rows per multi-row statement when the application sets no batch size.
    pub default_batch_size: usize,
    /// The driver emits the query log's statement events itself, each as its statement
    /// finishes, on the caller's task ([`crate::query_log`]); otherwise the ORM emits a
    /// batch's events when the batch answers.
    pub logs_statements: bool,
}

/// How a [`Batch`] relates to transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Run the statements as they come (autocommit, or inside the connection's open
    /// transaction).
    Plain,
    /// All or nothing: a transaction (taking the write lock up front where the backend has
    /// one), or a savepoint if the connection is already in a transaction.
    Atomic,
}

/// One SQL statement with its bound parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    /// SQL text with the dialect's placeholders. Shared, since the ORM caches it.
    pub sql: Arc<str>,
    /// Bound parameters, in placeholder order.
    pub params: Vec<Value>,
    /// Whether the statement returns rows (a SELECT, or DML with RETURNING).
    pub returns_rows: bool,
    /// If set, the batch fails with [`Error::RowCountMismatch`] (and an atomic batch is undone)
    /// unless the statement affects exactly this many rows.
    pub expect_rows: Option<u64>,
    /// The entity the statement is about, for error messages.
    pub entity: &'static str,
    /// An INSERT whose keys the database generates, on a backend without `RETURNING`: the
    /// driver reports the generated keys as the outcome's rows, one per inserted row, in
    /// insert order.
    pub generated_keys: bool,
    /// A query the driver runs, inside the same transaction, when this statement fails its
    /// [`Statement::expect_rows`] check, before undoing the batch; its rows are reported in
    /// [`BatchResult::probe`] so the caller can tell which rows were missed (an optimistic
    /// lock conflict in a multi-row UPDATE).
    pub probe: Option<Box<Statement>>,
    /// Columnar binding (PostgreSQL `UNNEST`, `= ANY`): `params` are rows of this many values,
    /// row after row, and the driver binds column `i` of every row as one array, parameter
    /// `$i+1`.
    pub columnar: Option<usize>,
    /// Running it has no effect beyond its answer (the ORM's own reads), so a driver may run
    /// it again on another connection if its connection turns out to be broken before the
    /// answer came (a pooled connection the server closed while it was idle).
    pub idempotent: bool,
}

impl Statement {
    /// A statement that returns no rows.
    ///
    /// ```
    /// use coherent_core::{Statement, Value};
    /// let s = Statement::execute("DELETE FROM t WHERE id = ?", vec![Value::I64(1)]);
    /// assert!(!s.returns_rows && s.expect_rows.is_none());
    /// ```
    pub fn execute(sql: impl Into<Arc<str>>, params: Vec<Value>) -> Statement {
        Statement {
            sql: sql.into(),
            params,
            returns_rows: false,
            expect_rows: None,
            entity: "",
            generated_keys: false,
            probe: None,
            columnar: None,
            idempotent: false,
        }
    }

    /// A statement that returns rows.
    pub fn query(sql: impl Into<Arc<str>>, params: Vec<Value>) -> Statement {
        Statement {
            returns_rows: true,
            ..Statement::execute(sql, params)
        }
    }

    /// Requires exactly `rows` affected rows.
    pub fn expecting(mut self, rows: u64) -> Statement {
        self.expect_rows = Some(rows);
        self
    }

    /// Asks the driver to report the keys the database generated (see
    /// [`Statement::generated_keys`]).
    pub fn reading_generated_keys(mut self) -> Statement {
        self.generated_keys = true;
        self
    }

    /// Binds `params` (rows of `width` values) as one array per column (see
    /// [`Statement::columnar`]).
    pub fn columnar(mut self, width: usize) -> Statement {
        self.columnar = Some(width);
        self
    }

    /// Marks the statement as a read without effects (see [`Statement::idempotent`]).
    pub fn idempotent(mut self) -> Statement {
        self.idempotent = true;
        self
    }

    /// Names the entity the statement concerns.
    pub fn about(mut self, entity: &'static str) -> Statement {
        self.entity = entity;
        self
    }
}

/// Statements run as one job.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The statements, run in order; the first failure stops the batch.
    pub statements: Vec<Statement>,
    /// Transaction handling.
    pub mode: TxMode,
}

/// What one statement did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Rows affected (DML) or returned (queries).
    pub affected: u64,
    /// Returned rows, if the statement returns rows.
    pub rows: Option<Rows>,
    /// Time spent executing it.
    pub elapsed: Duration,
}

/// A transaction-control statement the driver issued around a batch.
#[derive(Debug, Clone)]
pub struct Control {
    /// The SQL (`BEGIN IMMEDIATE`, `COMMIT`, `SAVEPOINT ..`).
    pub sql: &'static str,
    /// Time spent.
    pub elapsed: Duration,
}

/// What a batch did: one [`Outcome`] per statement, and the control statements around it.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    /// One per statement, in order.
    pub outcomes: Vec<Outcome>,
    /// Transaction control issued before and after.
    pub control: Vec<Control>,
    /// The rows of the failing statement's [`Statement::probe`], if it had one and it ran.
    pub probe: Option<Rows>,
}

/// A failed batch: the error, and which statement caused it (None for control statements).
#[derive(Debug)]
pub struct BatchFailure {
    /// The failing statement's index in [`Batch::statements`].
    pub index: Option<usize>,
    /// The classified error.
    pub error: Error,
    /// Statements and control statements that ran before the failure, for the query log.
    pub executed: BatchResult,
}

impl From<Error> for BatchFailure {
    fn from(error: Error) -> Self {
        BatchFailure {
            index: None,
            error,
            executed: BatchResult::default(),
        }
    }
}

/// Receives the rows of a chunked query, chunk by chunk, on the caller's task.
pub type RowSink<'a> = dyn FnMut(Rows) -> Result<()> + Send + 'a;

/// One connection, checked out of a [`Driver`]. Dropping it returns it to the driver, which
/// rolls back any transaction left open.
pub trait Connection: Send + 'static {
    /// Runs a batch as one job.
    fn run(
        &mut self,
        batch: Batch,
    ) -> BoxFuture<'_, std::result::Result<BatchResult, BatchFailure>>;

    /// Starts a batch whose statements are handed over piece by piece
    /// ([`BatchWriter::push`]) while the driver already runs the first ones, so planning a
    /// large flush overlaps executing it. Still one job with one transaction: nothing is sent
    /// until the first push, and a writer dropped without [`BatchWriter::finish`] abandons
    /// the batch (an atomic one is rolled back).
    ///
    /// The writer owns the connection, and [`BatchWriter::finish`]'s future owns the writer:
    /// a caller that stops waiting can hand that future to another task, so a started batch
    /// always ends in a known way.
    ///
    /// The default collects the pieces and runs them as one [`Batch`] at `finish`.
    fn stream_batch(self: Box<Self>, mode: TxMode) -> Box<dyn BatchWriter> {
        Box::new(CollectingWriter {
            connection: self,
            batch: Batch {
                statements: Vec::new(),
                mode,
            },
        })
    }

    /// Closes this connection instead of giving it back to the driver: for a caller that
    /// changed the connection's session state (a named lock, a pragma) and could not put it
    /// back, so the next user never sees it. An open transaction is rolled back with the
    /// connection. The default gives it back, as dropping it does.
    fn discard(self: Box<Self>) {
        drop(self);
    }

    /// Runs one query and hands its rows to `sink` in chunks of about `chunk_rows` rows as
    /// the driver reads them, so the caller processes one chunk while the driver reads the
    /// next (on a machine with two cores, decoding and merging overlap). Still one job: the
    /// statement runs once, as a whole. If `sink` fails, the query is abandoned and its error
    /// returned. The returned [`Outcome`] has no rows (they went to the sink).
    ///
    /// The default runs the query as a batch and hands over all rows at once.
    fn query_chunked<'a>(
        &'a mut self,
        statement: Statement,
        chunk_rows: usize,
        sink: &'a mut RowSink<'a>,
    ) -> BoxFuture<'a, Result<Outcome>> {
        let _ = chunk_rows;
        Box::pin(async move {
            let batch = Batch {
                statements: vec![statement],
                mode: TxMode::Plain,
            };
            let mut result = self.run(batch).await.map_err(|f| f.error)?;
            let mut outcome = result.outcomes.pop().unwrap_or_default();
            if let Some(rows) = outcome.rows.take() {
                sink(rows)?;
            }
            Ok(outcome)
        })
    }

    /// Runs one query and returns its rows as a stream of chunks of about `chunk_rows` rows,
    /// read as the caller asks for them: a result of any size in bounded memory.
    ///
    /// The policy every driver follows:
    /// - **Backpressure.** The driver reads ahead of the caller by at most a small, fixed
    ///   number of chunks (SQLite: two, then its connection thread waits; the servers: what
    ///   the socket buffers hold, then the server waits), so memory does not grow with the
    ///   result while the caller is slower than the database.
    /// - **Nothing runs until the stream is first polled**; the statement then runs once. An
    ///   error (of the statement, or of a row read mid-way) is the stream's last item,
    ///   classified as [`Connection::run`] classifies it.
    /// - **Dropping the stream abandons the query** (at the driver's next chunk, or by
    ///   reading and discarding the rest of the server's answer before the connection's next
    ///   statement) and leaves the connection usable: inside a transaction the transaction
    ///   goes on; outside one the connection may go back to the pool.
    /// - The connection is borrowed for the stream's life: nothing else runs on it meanwhile.
    ///
    /// The default runs the statement as one batch and yields all its rows as one chunk (no
    /// bound on memory: drivers override it).
    ///
    /// ```
    /// use coherent_core::stream::{generate, next};
    /// use coherent_core::{
    ///     Batch, BatchFailure, BatchResult, BoxFuture, Connection, Outcome, Rows, Statement, Value,
    /// };
    /// use std::sync::Arc;
    ///
    /// /// A connection whose every query answers the numbers 1 to 3.
    /// struct Counting;
    /// impl Connection for Counting {
    ///     fn run(&mut self, _: Batch) -> BoxFuture<'_, Result<BatchResult, BatchFailure>> {
    ///         let rows = Rows { columns: Arc::from(vec!["n".to_string()]), values: (1..=3).map(Value::I64).collect() };
    ///         let outcome = Outcome { affected: 3, rows: Some(rows), ..Outcome::default() };
    ///         Box::pin(async move { Ok(BatchResult { outcomes: vec![outcome], ..BatchResult::default() }) })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut conn = Counting;
    /// let mut chunks = conn.query_stream(Statement::query("SELECT n FROM t", vec![]), 1024);
    /// let only = next(&mut chunks).await.unwrap()?;
    /// assert_eq!(only.len(), 3);
    /// assert!(next(&mut chunks).await.is_none());
    /// # Ok::<(), coherent_core::Error>(())
    /// # }).unwrap();
    /// ```
    fn query_stream<'a>(
        &'a mut self,
        statement: Statement,
        chunk_rows: usize,
    ) -> BoxStream<'a, Result<Rows>> {
        let _ = chunk_rows;
        Box::pin(crate::stream::generate(move |y| async move {
            let batch = Batch {
                statements: vec![statement],
                mode: TxMode::Plain,
            };
            match self.run(batch).await {
                Ok(mut result) => {
                    let rows = result.outcomes.pop().and_then(|o| o.rows);
                    if let Some(rows) = rows.filter(|r| !r.is_empty()) {
                        y.give(Ok(rows)).await;
                    }
                }
                Err(failure) => y.give(Err(failure.error)).await,
            }
        }))
    }
}

/// The sending half of a streamed batch (see [`Connection::stream_batch`]).
pub trait BatchWriter: Send {
    /// Queues statements; never blocks. Statement indexes in the result and in a
    /// [`BatchFailure`] count across all pushes.
    fn push(&mut self, statements: Vec<Statement>);
    /// Ends the batch (commits an atomic one if every statement succeeded) and waits for its
    /// result. A batch nothing was pushed to issues no SQL at all.
    fn finish(
        self: Box<Self>,
    ) -> BoxFuture<'static, std::result::Result<BatchResult, BatchFailure>>;
}

/// The default [`BatchWriter`]: collects everything, runs it as one batch at `finish`.
struct CollectingWriter<C: Connection + ?Sized> {
    connection: Box<C>,
    batch: Batch,
}

impl<C: Connection + ?Sized> BatchWriter for CollectingWriter<C> {
    fn push(&mut self, statements: Vec<Statement>) {
        self.batch.statements.extend(statements);
    }

    fn finish(
        self: Box<Self>,
    ) -> BoxFuture<'static, std::result::Result<BatchResult, BatchFailure>> {
        let CollectingWriter {
            mut connection,
            batch,
        } = *self;
        Box::pin(async move {
            if batch.statements.is_empty() {
                return Ok(BatchResult::default());
            }
            connection.run(batch).await
        })
    }
}

/// A backend: a source of connections of one dialect.
pub trait Driver: Send + Sync + 'static {
    /// The dialect to render for.
    fn dialect(&self) -> Dialect;
    /// What the backend can do.
    fn capabilities(&self) -> Capabilities;
    /// Checks out a connection, waiting for one if all are busy.
    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Connection>>>;
    /// The most connections the driver hands out at once, if it has such a bound (a pool's
    /// size). The ORM uses it to refuse at once a wait only its own task could end: taking a
    /// connection while the task's suspended transactions hold all of them
    /// ([`crate::Error::ConnectionsPinned`]). The default, `None`, is no known bound.
    fn max_connections(&self) -> Option<usize> {
        None
    }
    /// Closes the driver: from now on `acquire` fails with [`crate::Error::Closed`]; the
    /// future ends once every connection checked out before has come back and every
    /// connection is closed (threads joined, sockets closed). The default does nothing.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
