//! [`SqliteDriver`]: a small pool of connection workers, and [`SqliteConnection`], one
//! checked out.
//!
//! Policy:
//! - **At most [`SqliteOptions::max_connections`] workers**, opened lazily and reused: a
//!   semaphore bounds how many connections are checked out, an idle list holds the rest.
//!   Waiting for a connection is fair (first come, first served) and bounded: after
//!   [`SqliteOptions::acquire_timeout`] (30 s) it is [`Error::Connection`] with nothing sent
//!   (retryable), as on the server backends, so a pool exhausted by pinned transactions is
//!   reported instead of waited on forever.
//! - **Opening validates.** [`SqliteDriver::open`] opens one connection eagerly (or
//!   [`SqliteOptions::min_connections`]), so a database that cannot be opened fails there
//!   with a typed error, not on first use.
//! - **Upkeep off the hot path.** With an [`SqliteOptions::idle_timeout`] or a
//!   [`SqliteOptions::max_lifetime`], a task of the driver wakes a few times per the shorter
//!   of the two (at least every 5 ms, at most every second): it marks connections past
//!   their lifetime retired (closed when they come back instead of reused; idle ones at
//!   once), closes connections idle longer than the idle timeout while more than
//!   `min_connections` are open, and opens connections up to `min_connections` again.
//!   Checking out and giving back only read a flag and set one. Without a tokio runtime at
//!   open there is no upkeep.
//! - **An in-memory database lives as long as its driver**: the driver keeps one connection
//!   to it open for its whole life, whatever happens to the workers.
//! - **Dropping a [`SqliteConnection`] returns its worker at once**, and the worker rolls back
//!   any transaction left open before it runs anything for the next holder (jobs run in
//!   order, see the `worker` module). A future dropped mid-transaction, e.g. by a timeout or
//!   `select!`, therefore never leaves a transaction open on a pooled connection.

use crate::options::{SqliteOptions, SqliteTarget};
use crate::worker::{ConnectSpec, Worker};
use coherent_core::{
    Batch, BatchFailure, BatchResult, BoxFuture, Capabilities, Connection, Dialect, Driver, Error,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What SQLite can do, as far as the ORM's planning is concerned.
pub const CAPABILITIES: Capabilities = Capabilities {
    batch_updates: false,
    columnar: false,
    default_batch_size: 300,
    logs_statements: false,
    returning: true,
    max_params: 32766,
    concurrent_writers: false,
};

/// A SQLite database: a pool of connections, each on its own thread.
///
/// ```
/// use coherent_core::{Dialect, Driver};
/// use coherent_sqlite::{SqliteDriver, SqliteOptions};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let driver = SqliteDriver::open(SqliteOptions::memory().max_connections(2)).await?;
/// assert_eq!(driver.dialect(), Dialect::Sqlite);
/// assert!(driver.capabilities().returning);
/// let _a = driver.connect().await?;
/// let _b = driver.connect().await?;
/// assert_eq!(driver.open_connections(), 2);
/// # Ok::<(), coherent_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteDriver {
    pool: Arc<Pool>,
}

struct Pool {
    options: SqliteOptions,
    spec: ConnectSpec,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Worker>>,
    next_id: AtomicU64,
    /// Keeps an in-memory database alive while the driver lives (until it is closed).
    anchor: Mutex<Option<rusqlite::Connection>>,
    /// The connection threads started, for [`SqliteDriver::close`] to join.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Every connection opened, for the upkeep to retire the old ones.
    lives: Mutex<Vec<Weak<crate::worker::Life>>>,
    /// Closing began: a connection coming back is closed instead of kept idle.
    closed: AtomicBool,
}

impl Pool {
    fn idle(&self) -> MutexGuard<'_, Vec<Worker>> {
        // The list is consistent whatever panicked while holding it.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn start_worker(&self) -> Result<Worker, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (worker, thread) = Worker::start(self.spec.clone(), id).await?;
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        // Threads of connections found broken and dropped have ended: forget them.
        threads.retain(|t| !t.is_finished());
        threads.push(thread);
        drop(threads);
        let mut lives = self.lives.lock().unwrap_or_else(|e| e.into_inner());
        lives.retain(|life| life.strong_count() > 0);
        lives.push(Arc::downgrade(&worker.life));
        Ok(worker)
    }

    /// How many connections are open: idle ones plus checked-out ones.
    fn open_connections(&self) -> usize {
        let idle = self.idle().len();
        idle + self.options.max_connections - self.permits.available_permits()
    }

    /// Opens connections until `min_connections` are open (a failure waits for the next
    /// round).
    async fn top_up(&self) {
        while self.open_connections() < self.options.min_connections
            && !self.closed.load(Ordering::Acquire)
        {
            // Open under a permit: a checkout meanwhile cannot open one connection more than
            // `max_connections`, and `close` waits for this one to be opened and counted.
            let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
                return;
            };
            match self.start_worker().await {
                Ok(worker) if !self.closed.load(Ordering::Acquire) => self.idle().push(worker),
                _ => return,
            }
        }
    }

    /// One round of upkeep (module docs); `idle_since` is when each idle connection was
    /// first seen unused.
    fn reap(&self, idle_since: &mut std::collections::HashMap<u64, Instant>) {
        let now = Instant::now();
        if let Some(max) = self.options.max_lifetime {
            let lives = self.lives.lock().unwrap_or_else(|e| e.into_inner());
            for life in lives.iter().filter_map(Weak::upgrade) {
                if now.duration_since(life.born) >= max {
                    life.retired.store(true, Ordering::Relaxed);
                }
            }
        }
        let mut idle = self.idle();
        // Read under the idle lock: a connection on its way in or out is counted once.
        let busy = self.options.max_connections - self.permits.available_permits();
        idle.retain(|w| w.is_reusable());
        idle_since.retain(|id, _| idle.iter().any(|w| w.life.id == *id));
        for worker in idle.iter() {
            let since = idle_since.entry(worker.life.id).or_insert(now);
            if worker.life.used.swap(false, Ordering::Relaxed) {
                *since = now;
            }
        }
        if let Some(timeout) = self.options.idle_timeout {
            let keep = self.options.min_connections.saturating_sub(busy);
            let mut expired = 0;
            let excess = idle.len().saturating_sub(keep);
            // The idle list is a stack: the connections idle longest are at its bottom.
            idle.retain(|w| {
                let old = idle_since
                    .get(&w.life.id)
                    .is_some_and(|since| now.duration_since(*since) >= timeout);
                let close = old && expired < excess;
                expired += usize::from(close);
                !close
            });
        }
    }
}

/// The driver's upkeep task (module docs): ends with the driver, or when it is closed.
async fn upkeep(pool: Weak<Pool>, every: Duration) {
    let mut idle_since = std::collections::HashMap::new();
    loop {
        tokio::time::sleep(every).await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        if pool.closed.load(Ordering::Acquire) {
            return;
        }
        pool.reap(&mut idle_since);
        pool.top_up().await;
    }
}

impl SqliteDriver {
    /// Opens the database described by `options`, opening one connection to check that it
    /// can. Fails with [`Error::Config`] for unusable options and [`Error::Connection`] if
    /// the database cannot be opened (a missing file with `create` off, a directory that does
    /// not exist, a file that is not a database).
    ///
    /// ```
    /// use coherent_core::Error;
    /// use coherent_sqlite::{SqliteDriver, SqliteOptions};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let missing = std::env::temp_dir().join("coherent-doc-no-such-dir/app.db");
    /// let err = SqliteDriver::open(SqliteOptions::file(missing)).await.unwrap_err();
    /// assert!(matches!(err, Error::Connection { .. }));
    /// # });
    /// ```
    pub async fn open(options: SqliteOptions) -> Result<SqliteDriver, Error> {
        options.validate()?;
        let spec = ConnectSpec::new(&options);
        // Opening a memdb database takes microseconds: no need to leave the caller's thread.
        let anchor = match options.target {
            SqliteTarget::Memory => Some(spec.open()?),
            SqliteTarget::File(_) => None,
        };
        let pool = Pool {
            permits: Arc::new(Semaphore::new(options.max_connections)),
            options,
            spec,
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            anchor: Mutex::new(anchor),
            threads: Mutex::new(Vec::new()),
            lives: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        };
        let first = pool.start_worker().await?;
        pool.idle().push(first);
        pool.top_up().await;
        let pool = Arc::new(pool);
        let shortest = [pool.options.idle_timeout, pool.options.max_lifetime]
            .into_iter()
            .flatten()
            .min();
        if let (Some(shortest), Ok(runtime)) = (shortest, tokio::runtime::Handle::try_current()) {
            let every = (shortest / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
            runtime.spawn(upkeep(Arc::downgrade(&pool), every));
        }
        Ok(SqliteDriver { pool })
    }

    /// Opens the database `options` describe (their URL a `sqlite:` one; see
    /// [`SqliteOptions::from_connect`]).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use coherent_sqlite::SqliteDriver;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let driver = SqliteDriver::open_with(&ConnectOptions::new("sqlite::memory:").min_connections(3)).await?;
    /// assert_eq!(driver.open_connections(), 3);
    /// # Ok::<(), coherent_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_with(options: &coherent_core::ConnectOptions) -> Result<SqliteDriver, Error> {
        SqliteDriver::open(SqliteOptions::from_connect(options)?).await
    }

    /// Opens the database named by a `sqlite:` URL (see [`SqliteOptions::from_url`]).
    ///
    /// ```
    /// use coherent_sqlite::SqliteDriver;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let driver = SqliteDriver::open_url("sqlite::memory:?max_connections=1").await?;
    /// assert_eq!(driver.options().max_connections, 1);
    /// # Ok::<(), coherent_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn open_url(url: &str) -> Result<SqliteDriver, Error> {
        SqliteDriver::open(SqliteOptions::from_url(url)?).await
    }

    /// The options the driver was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.pool.options
    }

    /// Checks out a connection, waiting while all [`SqliteOptions::max_connections`] are in
    /// use, at most [`SqliteOptions::acquire_timeout`]. The same as [`Driver::acquire`],
    /// without the box.
    ///
    /// ```
    /// use coherent_core::Error;
    /// use coherent_sqlite::{SqliteDriver, SqliteOptions};
    /// use std::time::Duration;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let options = SqliteOptions::memory()
    ///     .max_connections(1)
    ///     .acquire_timeout(Duration::from_millis(50));
    /// let driver = SqliteDriver::open(options).await?;
    /// let held = driver.connect().await?;
    /// let err = driver.connect().await.unwrap_err();
    /// assert!(matches!(err, Error::Connection { sent: false, .. }) && err.is_retryable());
    /// drop(held);
    /// let _again = driver.connect().await?;
    /// # Ok::<(), coherent_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(&self) -> Result<SqliteConnection, Error> {
        let options = &self.pool.options;
        let permit = tokio::time::timeout(
            options.acquire_timeout,
            self.pool.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| {
            Error::connection_unavailable(format!(
                "no free SQLite connection within {:?} (all {} are in use)",
                options.acquire_timeout, options.max_connections
            ))
        })?
        .map_err(|_| Error::Closed)?;
        let reused = {
            let mut idle = self.pool.idle();
            loop {
                match idle.pop() {
                    Some(worker) if worker.is_reusable() => break Some(worker),
                    Some(_broken) => continue,
                    None => break None,
                }
            }
        };
        let worker = match reused {
            Some(worker) => worker,
            None => self.pool.start_worker().await?,
        };
        Ok(SqliteConnection {
            worker: Some(worker),
            maybe_in_transaction: false,
            pool: self.pool.clone(),
            _permit: permit,
        })
    }

    /// Closes the pool: from now on [`SqliteDriver::connect`] fails with [`Error::Closed`];
    /// idle connections are closed at once, checked-out ones when they come back; the future
    /// ends when all of them are closed and their threads have ended (joined), so the
    /// database file can be removed or reopened safely right after. Dropping the driver
    /// instead closes everything in the background.
    ///
    /// ```
    /// use coherent_core::Error;
    /// use coherent_sqlite::{SqliteDriver, SqliteOptions};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let driver = SqliteDriver::open(SqliteOptions::memory()).await?;
    /// driver.close().await;
    /// assert_eq!(driver.open_connections(), 0);
    /// assert!(matches!(driver.connect().await.unwrap_err(), Error::Closed));
    /// # Ok::<(), coherent_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn close(&self) {
        let pool = &self.pool;
        pool.closed.store(true, Ordering::Release);
        pool.permits.close();
        pool.idle().clear();
        // Checked-out connections close as they come back.
        while pool.permits.available_permits() < pool.options.max_connections {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        // One that came back while closing began may have gone idle: close it too.
        pool.idle().clear();
        drop(pool.anchor.lock().unwrap_or_else(|e| e.into_inner()).take());
        loop {
            let running = {
                let mut threads = pool.threads.lock().unwrap_or_else(|e| e.into_inner());
                let (ended, running): (Vec<_>, Vec<_>) =
                    threads.drain(..).partition(|t| t.is_finished());
                for thread in ended {
                    // A thread that panicked has ended too.
                    let _ = thread.join();
                }
                *threads = running;
                !threads.is_empty()
            };
            if !running {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// How many connections are open: idle ones plus checked-out ones.
    pub fn open_connections(&self) -> usize {
        self.pool.open_connections()
    }
}

impl std::fmt::Debug for SqliteDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDriver")
            .field("options", &self.pool.options)
            .field("open_connections", &self.open_connections())
            .finish()
    }
}

impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Connection>, Error>> {
        Box::pin(async move {
            let conn = self.connect().await?;
            Ok(Box::new(conn) as Box<dyn Connection>)
        })
    }

    fn max_connections(&self) -> Option<usize> {
        Some(self.pool.options.max_connections)
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(SqliteDriver::close(self))
    }
}

/// A connection checked out of a [`SqliteDriver`]. Dropping it returns it to the pool, after
/// rolling back any transaction left open.
///
/// ```
/// use coherent_core::{Batch, Connection, Statement, TxMode, Value};
/// use coherent_sqlite::{SqliteDriver, SqliteOptions};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let driver = SqliteDriver::open(SqliteOptions::memory()).await?;
/// let mut conn = driver.connect().await?;
/// let result = conn
///     .run(Batch { statements: vec![Statement::query("SELECT 40 + 2", vec![])], mode: TxMode::Plain })
///     .await
///     .map_err(|f| f.error)?;
/// assert_eq!(result.outcomes[0].rows.as_ref().unwrap().values, vec![Value::I64(42)]);
/// # Ok::<(), coherent_core::Error>(())
/// # }).unwrap();
/// ```
pub struct SqliteConnection {
    /// Always `Some` until dropped.
    worker: Option<Worker>,
    /// Whether the connection may hold an open transaction (a batch left one open, or a
    /// batch was abandoned mid-flight): then dropping it must roll back first.
    maybe_in_transaction: bool,
    pool: Arc<Pool>,
    /// Released after the worker is back in the idle list (fields drop after `drop` runs).
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for SqliteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConnection")
            .field(
                "healthy",
                &self.worker.as_ref().is_some_and(Worker::is_healthy),
            )
            .finish()
    }
}

impl Connection for SqliteConnection {
    fn discard(mut self: Box<Self>) {
        // Not back to the idle list: its thread ends and the connection closes (rolling back
        // what it left open). The pool opens another when it needs one.
        if let Some(worker) = self.worker.take() {
            if self.maybe_in_transaction {
                worker.release();
            }
            drop(worker);
        }
    }

    fn run(&mut self, batch: Batch) -> BoxFuture<'_, Result<BatchResult, BatchFailure>> {
        Box::pin(async move {
            match &self.worker {
                Some(worker) => {
                    // Stays true if this future is dropped before the answer arrives.
                    self.maybe_in_transaction = true;
                    let (result, autocommit) = worker.run(batch).await;
                    self.maybe_in_transaction = !autocommit;
                    result
                }
                None => Err(Error::connection_unavailable("the connection was released").into()),
            }
        })
    }

    fn stream_batch(
        self: Box<Self>,
        mode: coherent_core::TxMode,
    ) -> Box<dyn coherent_core::BatchWriter> {
        Box::new(SqliteBatchWriter {
            connection: *self,
            mode,
            held: None,
            pieces: None,
        })
    }

    fn query_chunked<'a>(
        &'a mut self,
        statement: coherent_core::Statement,
        chunk_rows: usize,
        sink: &'a mut coherent_core::RowSink<'a>,
    ) -> BoxFuture<'a, Result<coherent_core::Outcome, Error>> {
        Box::pin(self.stream(statement, chunk_rows, sink))
    }

    fn query_stream<'a>(
        &'a mut self,
        statement: coherent_core::Statement,
        chunk_rows: usize,
    ) -> coherent_core::BoxStream<'a, Result<coherent_core::Rows, Error>> {
        Box::pin(self.rows(statement, chunk_rows))
    }
}

/// The rows of a streamed query on a [`SqliteConnection`] ([`Connection::query_stream`]), in
/// chunks, read ahead by the connection thread at most [`crate::worker::STREAM_AHEAD`] chunks.
/// Dropping it stops the query at the thread's next chunk; the connection stays usable (the
/// thread's next job runs once the query has stopped).
pub(crate) struct RowStream<'a> {
    connection: &'a mut SqliteConnection,
    /// `None` once the query ended (or could not start).
    inbox: Option<tokio::sync::mpsc::Receiver<crate::worker::Streamed>>,
    /// An error to yield before ending: the query could not start.
    failed: Option<Error>,
    /// Chunks the connection thread has sent (read by the read-ahead test).
    #[cfg_attr(not(test), allow(dead_code))]
    sent: Arc<AtomicU64>,
}

impl RowStream<'_> {
    /// How many chunks the connection thread has sent so far (those read, and those waiting
    /// to be read).
    #[cfg(test)]
    pub(crate) fn chunks_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl coherent_core::Stream for RowStream<'_> {
    type Item = Result<coherent_core::Rows, Error>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use crate::worker::Streamed;
        use std::task::Poll;
        let this = self.get_mut();
        if let Some(error) = this.failed.take() {
            return Poll::Ready(Some(Err(error)));
        }
        let (Some(inbox), Some(worker)) = (this.inbox.as_mut(), this.connection.worker.as_ref())
        else {
            return Poll::Ready(None);
        };
        let message = match worker.poll_streamed(inbox, cx) {
            Poll::Ready(message) => message,
            Poll::Pending => return Poll::Pending,
        };
        match message {
            Some(Streamed::Chunk(mut rows)) => {
                crate::rehome::rows(&mut rows);
                Poll::Ready(Some(Ok(rows)))
            }
            Some(Streamed::Done(result, autocommit)) => {
                this.inbox = None;
                this.connection.settle(autocommit);
                Poll::Ready(result.err().map(Err))
            }
            None => {
                this.inbox = None;
                Poll::Ready(Some(Err(worker.lost())))
            }
        }
    }
}

/// The writer of a streamed batch on a [`SqliteConnection`]. The first piece is held back:
/// a batch that ends with it (most flushes) goes to the connection thread as one ordinary
/// job, one message and one answer; a second piece starts the streamed job. A batch nothing
/// is pushed to never wakes the connection thread.
struct SqliteBatchWriter {
    connection: SqliteConnection,
    mode: coherent_core::TxMode,
    held: Option<Vec<coherent_core::Statement>>,
    pieces: Option<crate::worker::StreamedBatch>,
}

impl coherent_core::BatchWriter for SqliteBatchWriter {
    fn push(&mut self, statements: Vec<coherent_core::Statement>) {
        if statements.is_empty() {
            return;
        }
        if self.pieces.is_none() {
            let Some(first) = self.held.take() else {
                self.held = Some(statements);
                return;
            };
            let Some(worker) = &self.connection.worker else {
                return;
            };
            // From here on the connection may be inside a transaction until the answer.
            self.connection.maybe_in_transaction = true;
            self.pieces = worker.start_batch(self.mode);
            if let Some((pieces, _)) = &self.pieces {
                let _ = pieces.send(crate::worker::Piece::Statements(first));
            }
        }
        if let Some((pieces, _)) = &self.pieces {
            // A closed channel means the thread died; `finish` reports it.
            let _ = pieces.send(crate::worker::Piece::Statements(statements));
        }
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<BatchResult, BatchFailure>> {
        let SqliteBatchWriter {
            mut connection,
            mode,
            held,
            pieces,
        } = *self;
        Box::pin(async move {
            let Some(worker) = connection.worker.clone() else {
                return Err(Error::connection_unavailable("the connection was released").into());
            };
            let (result, autocommit) = match (pieces, held) {
                (Some((pieces, answer)), _) => {
                    let _ = pieces.send(crate::worker::Piece::End);
                    worker.answer(answer).await
                }
                (None, Some(statements)) => {
                    connection.maybe_in_transaction = true;
                    worker.run(Batch { statements, mode }).await
                }
                (None, None) if worker.is_healthy() => return Ok(BatchResult::default()),
                (None, None) => return Err(worker.lost_error()),
            };
            connection.settle(autocommit);
            result
        })
    }
}

impl SqliteConnection {
    /// Records whether the connection is back in autocommit mode after a job (then dropping
    /// it needs no rollback).
    fn settle(&mut self, autocommit: bool) {
        self.maybe_in_transaction = !autocommit;
    }

    /// Starts a streamed query (see [`RowStream`]).
    pub(crate) fn rows(
        &mut self,
        statement: coherent_core::Statement,
        chunk_rows: usize,
    ) -> RowStream<'_> {
        let started = match &self.worker {
            Some(worker) => {
                // Stays true if the stream is dropped before the query ends.
                self.maybe_in_transaction = true;
                worker.open_stream(statement, chunk_rows)
            }
            None => Err(Error::connection_unavailable("the connection was released")),
        };
        match started {
            Ok((inbox, sent)) => RowStream {
                connection: self,
                inbox: Some(inbox),
                failed: None,
                sent,
            },
            Err(error) => RowStream {
                connection: self,
                inbox: None,
                failed: Some(error),
                sent: Arc::new(AtomicU64::new(0)),
            },
        }
    }

    async fn stream(
        &mut self,
        statement: coherent_core::Statement,
        chunk_rows: usize,
        sink: &mut coherent_core::RowSink<'_>,
    ) -> Result<coherent_core::Outcome, Error> {
        let Some(worker) = &self.worker else {
            return Err(Error::connection_unavailable("the connection was released"));
        };
        self.maybe_in_transaction = true;
        let (result, autocommit) = worker.stream(statement, chunk_rows, sink).await;
        self.maybe_in_transaction = !autocommit;
        result
    }
}

impl Drop for SqliteConnection {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            if self.maybe_in_transaction {
                worker.release();
            }
            if worker.is_reusable() && !self.pool.closed.load(Ordering::Acquire) {
                worker.life.used.store(true, Ordering::Relaxed);
                self.pool.idle().push(worker);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coherent_core::stream::next;
    use coherent_core::{Statement, TxMode};

    /// A one-connection memory database with `n` rows in `t`.
    async fn numbers(n: usize) -> (SqliteDriver, SqliteConnection) {
        let driver = SqliteDriver::open(SqliteOptions::memory().max_connections(1))
            .await
            .unwrap();
        let mut conn = driver.connect().await.unwrap();
        let sql = format!(
            "CREATE TABLE t (n INTEGER PRIMARY KEY); \
             WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {n}) \
             INSERT INTO t SELECT n FROM c"
        );
        let statements = sql
            .split("; ")
            .map(|s| Statement::execute(s.to_owned(), vec![]))
            .collect();
        conn.run(Batch {
            statements,
            mode: TxMode::Atomic,
        })
        .await
        .map_err(|f| f.error)
        .unwrap();
        (driver, conn)
    }

    /// The connection thread reads ahead of a reader that stopped by at most `STREAM_AHEAD`
    /// chunks, and no more. The pause only gives an unbounded thread time to run away (it
    /// would send all 1 000 chunks in about a millisecond); what is asserted is the bound,
    /// so a slow machine can make the test weaker, never make it fail.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_reads_ahead_of_its_reader_by_a_bounded_number_of_chunks() {
        let (_driver, mut conn) = numbers(10_000).await;
        let statement = Statement::query("SELECT n FROM t ORDER BY n", vec![]);
        let mut rows = conn.rows(statement, 10);
        let first = next(&mut rows).await.unwrap().unwrap();
        assert_eq!(first.len(), 10);
        let bound = 1 + crate::worker::STREAM_AHEAD as u64;
        // The thread fills the channel (a wait without a deadline: it will).
        while rows.chunks_sent() < bound {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(rows.chunks_sent(), bound, "read ahead beyond the bound");
        // Reading on lets it go on, in order, to the end.
        let mut seen = 10;
        while let Some(chunk) = next(&mut rows).await {
            let chunk = chunk.unwrap();
            assert_eq!(chunk.values[0], coherent_core::Value::I64(seen + 1));
            seen += chunk.len() as i64;
        }
        assert_eq!(seen, 10_000);
        assert_eq!(rows.chunks_sent(), 1_000);
    }

    /// A stream dropped while its thread waits for room stops the query; the connection's
    /// next job runs, outside a transaction and inside one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_stream_frees_its_connection_thread() {
        let (_driver, mut conn) = numbers(10_000).await;
        for in_transaction in [false, true] {
            if in_transaction {
                conn.run(Batch {
                    statements: vec![Statement::execute("BEGIN", vec![])],
                    mode: TxMode::Plain,
                })
                .await
                .map_err(|f| f.error)
                .unwrap();
            }
            let statement = Statement::query("SELECT n FROM t ORDER BY n", vec![]);
            let mut rows = conn.rows(statement, 10);
            next(&mut rows).await.unwrap().unwrap();
            while rows.chunks_sent() < 3 {
                tokio::task::yield_now().await;
            }
            drop(rows);
            let result = conn
                .run(Batch {
                    statements: vec![Statement::query("SELECT count(*) FROM t", vec![])],
                    mode: TxMode::Plain,
                })
                .await
                .map_err(|f| f.error)
                .unwrap();
            let count = &result.outcomes[0].rows.as_ref().unwrap().values;
            assert_eq!(count, &[coherent_core::Value::I64(10_000)]);
            assert_eq!(conn.maybe_in_transaction, in_transaction);
        }
    }
}
