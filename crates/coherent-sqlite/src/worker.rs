//! The connection actor: one OS thread owning one `rusqlite::Connection`.
//!
//! Policy:
//! - **One thread per connection, fed by a channel.** SQLite blocks; the thread does the
//!   blocking, async callers only wait on a `tokio::sync::oneshot` reply.
//! - **One message per batch.** A job carries a whole [`Batch`] and its reply carries the whole
//!   [`BatchResult`] (all rows, flat): the hop costs a few microseconds per flush, nothing per
//!   row or statement.
//! - **A streamed query reads ahead by at most [`STREAM_AHEAD`] chunks**
//!   ([`Worker::open_stream`]: a bounded channel the thread waits on), and stops at its next
//!   chunk once its reader is gone. A `find` (`Worker::stream`) is not bounded: it keeps every
//!   row anyway, and the thread never waits for it.
//! - **Jobs run in order, to completion.** A caller that stops waiting (a dropped future) does
//!   not stop its job; jobs sent after it wait their turn. So a *release* sent when a
//!   connection is dropped runs after everything the holder sent, and rolls back any
//!   transaction they left open before the next holder's first job.
//! - **A worker that cannot get back to autocommit mode, or whose thread is gone, is marked
//!   unhealthy** and the pool drops it instead of handing it out.
//! - **A transaction SQLite rolled back by itself stays failed.** When a job that started
//!   inside a transaction fails and leaves the connection in autocommit mode (SQLite rolls
//!   the whole transaction back when it interrupts a writing statement, and after some I/O
//!   errors), later statements would each commit on their own: until the holder ends the
//!   transaction, the thread refuses them with [`Error::TransactionAborted`]; a `ROLLBACK`
//!   (or `ROLLBACK TO`/`RELEASE` of a savepoint) answers success, a `COMMIT` the same error,
//!   as PostgreSQL's driver does.
//! - The thread ends when the last sender to it is dropped, closing the connection.

use crate::execute::{BatchRun, STATEMENT_CACHE_CAPACITY, rollback_if_open, run_batch_until};
use crate::options::{SqliteOptions, SqliteTarget};
use coherent_core::{
    Batch, BatchFailure, BatchResult, DatabaseError, Error, JournalMode, Synchronous,
};
use rusqlite::{Connection, OpenFlags};
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How many messages of a streamed query ([`Worker::open_stream`]) may wait unread before
/// the connection thread waits for its reader: the bound on a stream's read-ahead.
pub(crate) const STREAM_AHEAD: usize = 2;

/// Distinguishes the in-memory databases of several drivers in one process.
static NEXT_MEMORY_DB: AtomicU64 = AtomicU64::new(0);

/// How to open (and set up) one connection of a driver.
#[derive(Debug, Clone)]
pub(crate) struct ConnectSpec {
    path: PathBuf,
    flags: OpenFlags,
    busy_timeout: Duration,
    file: bool,
    spin: Duration,
    journal_mode: JournalMode,
    synchronous: Synchronous,
    pub(crate) statement_timeout: Option<Duration>,
}

impl ConnectSpec {
    /// The spec for `options`. For memory, names a fresh `memdb` database, so each call gives
    /// another database: call it once per driver.
    pub(crate) fn new(options: &SqliteOptions) -> ConnectSpec {
        let base = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match &options.target {
            SqliteTarget::File(path) => ConnectSpec {
                path: path.clone(),
                flags: if options.create {
                    base | OpenFlags::SQLITE_OPEN_CREATE
                } else {
                    base
                },
                busy_timeout: options.busy_timeout,
                file: true,
                spin: options.spin,
                journal_mode: options.journal_mode,
                synchronous: options.synchronous,
                statement_timeout: options.statement_timeout,
            },
            SqliteTarget::Memory => ConnectSpec {
                path: PathBuf::from(format!(
                    "file:/coherent-mem-{}-{}?vfs=memdb",
                    std::process::id(),
                    NEXT_MEMORY_DB.fetch_add(1, Ordering::Relaxed)
                )),
                flags: base | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI,
                busy_timeout: options.busy_timeout,
                file: false,
                spin: options.spin,
                journal_mode: options.journal_mode,
                synchronous: options.synchronous,
                statement_timeout: options.statement_timeout,
            },
        }
    }

    /// Opens and sets up a connection (blocking).
    pub(crate) fn open(&self) -> Result<Connection, Error> {
        let describe = |e: rusqlite::Error| match crate::error::classify(e) {
            e @ Error::LockTimeout { .. } => e,
            e => Error::connection_unavailable_from(
                format!("cannot open SQLite database {}: {e}", self.path.display()),
                e,
            ),
        };
        let conn = Connection::open_with_flags(&self.path, self.flags).map_err(describe)?;
        conn.busy_timeout(self.busy_timeout).map_err(describe)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        // An in-memory database keeps its own journal mode, and never syncs (setting it would
        // wait for another connection's write lock).
        let disk = if self.file {
            format!(
                "PRAGMA journal_mode = {}; PRAGMA synchronous = {}; ",
                self.journal_mode.as_sql(),
                self.synchronous.as_sql()
            )
        } else {
            String::new()
        };
        conn.execute_batch(&format!("{disk}PRAGMA foreign_keys = ON;"))
            .map_err(describe)?;
        Ok(conn)
    }
}

/// What a job answers: the batch's result, and whether the connection is back in
/// autocommit mode (no transaction left open) after it.
type Reply = (Result<BatchResult, BatchFailure>, bool);

/// What a worker thread is asked to do.
enum Job {
    /// Run a batch and reply.
    Run {
        batch: Batch,
        reply: oneshot::Sender<Reply>,
    },
    /// The holder let go: roll back any transaction they left open.
    /// A batch whose statements arrive piece by piece.
    StreamBatch {
        mode: coherent_core::TxMode,
        pieces: mpsc::Receiver<Piece>,
        reply: oneshot::Sender<Reply>,
    },
    /// A query whose rows go out in chunks as they are read: `out` sends a message and says
    /// whether the receiver is still there (a `false` stops the query at that chunk).
    Stream {
        statement: coherent_core::Statement,
        chunk_rows: usize,
        out: Box<dyn FnMut(Streamed) -> bool + Send>,
    },
    Release,
}

/// A started streamed batch: where its pieces go, and where its answer comes from.
pub(crate) type StreamedBatch = (mpsc::Sender<Piece>, oneshot::Receiver<Reply>);

/// A piece of a streamed batch.
pub(crate) enum Piece {
    Statements(Vec<coherent_core::Statement>),
    /// The batch is complete: commit it.
    End,
}

/// What a streamed query sends: chunks of rows, then its outcome and whether the connection
/// is in autocommit mode afterwards.
pub(crate) enum Streamed {
    Chunk(coherent_core::Rows),
    Done(Result<coherent_core::Outcome, Error>, bool),
}

/// The handle of one connection thread.
#[derive(Debug, Clone)]
pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
    healthy: Arc<AtomicBool>,
    spin: Duration,
    /// What the pool's upkeep knows of the connection.
    pub(crate) life: Arc<Life>,
}

/// A connection's age and use, for the pool's upkeep (`pool.rs`): the hot path only reads
/// `retired` and sets `used`.
#[derive(Debug)]
pub(crate) struct Life {
    /// The connection's number in its driver.
    pub id: u64,
    /// When it was opened.
    pub born: std::time::Instant,
    /// It outlived the pool's `max_lifetime`: closed instead of reused.
    pub retired: AtomicBool,
    /// It went back to the idle list since the upkeep last looked.
    pub used: AtomicBool,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Run { batch, .. } => write!(f, "Run({} statements)", batch.statements.len()),
            Job::Stream { statement, .. } => write!(f, "Stream({})", statement.sql),
            Job::StreamBatch { mode, .. } => write!(f, "StreamBatch({mode:?})"),
            Job::Release => f.write_str("Release"),
        }
    }
}

impl Worker {
    /// Starts a thread and opens a connection on it; fails if the connection cannot be opened.
    /// The thread ends once the worker (its only sender of jobs) is dropped.
    pub(crate) async fn start(
        spec: ConnectSpec,
        id: u64,
    ) -> Result<(Worker, std::thread::JoinHandle<()>), Error> {
        let spin = spec.spin;
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (ready, opened) = oneshot::channel::<Result<(), Error>>();
        let healthy = Arc::new(AtomicBool::new(true));
        let flag = healthy.clone();
        let thread = std::thread::Builder::new()
            .name(format!("coherent-sqlite-{id}"))
            .spawn(move || {
                match spec.open().and_then(|conn| {
                    crate::interrupt::install(&conn, spec.statement_timeout)
                        .map_err(crate::error::classify)?;
                    Ok(conn)
                }) {
                    Ok(conn) => {
                        if ready.send(Ok(())).is_ok() {
                            serve(&conn, &inbox, &flag, spin);
                        }
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|e| {
                Error::connection_unavailable_from(
                    format!("cannot start a SQLite connection thread: {e}"),
                    e,
                )
            })?;
        opened.await.map_err(|_| {
            Error::connection_unavailable("the SQLite connection thread stopped while opening")
        })??;
        Ok((
            Worker {
                jobs,
                healthy,
                spin,
                life: Arc::new(Life {
                    id,
                    born: std::time::Instant::now(),
                    retired: AtomicBool::new(false),
                    used: AtomicBool::new(false),
                }),
            },
            thread,
        ))
    }

    /// Runs a batch on the worker's connection.
    /// Runs a batch; returns its result and whether the connection is in autocommit mode
    /// afterwards.
    ///
    /// The answer usually comes within microseconds, while parking and waking this task costs
    /// tens of microseconds on a virtual machine, so the caller first polls the reply for up
    /// to `spin` before awaiting it (0 disables this).
    pub(crate) async fn run(&self, batch: Batch) -> Reply {
        let (reply, result) = oneshot::channel();
        if self.jobs.send(Job::Run { batch, reply }).is_err() {
            return (Err(self.lost().into()), false);
        }
        self.answer(result).await
    }

    /// Starts a streamed batch: returns where to send its pieces and where its answer comes.
    pub(crate) fn start_batch(&self, mode: coherent_core::TxMode) -> Option<StreamedBatch> {
        let (pieces_tx, pieces) = mpsc::channel();
        let (reply, result) = oneshot::channel();
        if self
            .jobs
            .send(Job::StreamBatch {
                mode,
                pieces,
                reply,
            })
            .is_err()
        {
            self.healthy.store(false, Ordering::Release);
            return None;
        }
        Some((pieces_tx, result))
    }

    /// Waits for a job's answer, polling for up to `spin` before parking.
    pub(crate) async fn answer(&self, mut result: oneshot::Receiver<Reply>) -> Reply {
        let quick = spin_for(self.spin, || match result.try_recv() {
            Ok(answer) => Some(Some(answer)),
            Err(oneshot::error::TryRecvError::Closed) => Some(None),
            Err(oneshot::error::TryRecvError::Empty) => None,
        });
        let mut answer = match quick {
            Some(Some(answer)) => answer,
            Some(None) => return (Err(self.lost().into()), false),
            None => match result.await {
                Ok(answer) => answer,
                Err(_) => return (Err(self.lost().into()), false),
            },
        };
        if let Ok(done) = answer.0.as_mut() {
            crate::rehome::batch(done);
        }
        answer
    }

    pub(crate) fn lost_error(&self) -> BatchFailure {
        self.lost().into()
    }

    /// Runs a query, handing chunks of rows to `sink` as they arrive; returns the outcome (or
    /// the first error, the sink's included) and whether the connection is in autocommit mode
    /// afterwards (`false` if unknown).
    pub(crate) async fn stream(
        &self,
        statement: coherent_core::Statement,
        chunk_rows: usize,
        sink: &mut coherent_core::RowSink<'_>,
    ) -> (Result<coherent_core::Outcome, Error>, bool) {
        let (out, mut inbox) = tokio::sync::mpsc::unbounded_channel();
        let job = Job::Stream {
            statement,
            chunk_rows,
            out: Box::new(move |message| out.send(message).is_ok()),
        };
        if self.jobs.send(job).is_err() {
            return (Err(self.lost()), false);
        }
        loop {
            let message = match self.poll_briefly(&mut inbox) {
                Some(m) => Some(m),
                None => inbox.recv().await,
            };
            match message {
                Some(Streamed::Chunk(mut rows)) => {
                    crate::rehome::rows(&mut rows);
                    if let Err(e) = sink(rows) {
                        // Dropping the receiver stops the worker at its next chunk.
                        return (Err(e), false);
                    }
                }
                Some(Streamed::Done(result, autocommit)) => return (result, autocommit),
                None => return (Err(self.lost()), false),
            }
        }
    }

    /// Starts a query whose rows come back in chunks over a channel of [`STREAM_AHEAD`]
    /// messages: once that many wait unread, the connection thread waits too
    /// (`blocking_send` on its own thread), so a slow reader bounds the memory. Returns the
    /// receiving end and the count of chunks sent so far. Dropping the receiver stops the
    /// query at the thread's next chunk (its send fails, also while it waits for room).
    pub(crate) fn open_stream(
        &self,
        statement: coherent_core::Statement,
        chunk_rows: usize,
    ) -> Result<(tokio::sync::mpsc::Receiver<Streamed>, Arc<AtomicU64>), Error> {
        let (out, inbox) = tokio::sync::mpsc::channel(STREAM_AHEAD);
        let sent = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&sent);
        let job = Job::Stream {
            statement,
            chunk_rows,
            out: Box::new(move |message| {
                let chunk = matches!(message, Streamed::Chunk(_));
                let delivered = out.blocking_send(message).is_ok();
                if delivered && chunk {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                delivered
            }),
        };
        if self.jobs.send(job).is_err() {
            return Err(self.lost());
        }
        Ok((inbox, sent))
    }

    /// Receives a streamed query's next message, polling for up to `spin` first (see
    /// [`Worker::run`]); `Ready(None)` when the thread is gone.
    pub(crate) fn poll_streamed(
        &self,
        inbox: &mut tokio::sync::mpsc::Receiver<Streamed>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Streamed>> {
        let quick = spin_for(self.spin, || match inbox.try_recv() {
            Ok(m) => Some(Some(m)),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => Some(None),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => None,
        });
        match quick {
            Some(message) => std::task::Poll::Ready(message),
            None => inbox.poll_recv(cx),
        }
    }

    /// Polls `inbox` for up to `spin` (see [`Worker::run`]).
    fn poll_briefly(
        &self,
        inbox: &mut tokio::sync::mpsc::UnboundedReceiver<Streamed>,
    ) -> Option<Streamed> {
        spin_for(self.spin, || match inbox.try_recv() {
            Ok(m) => Some(Some(m)),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => Some(None),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => None,
        })
        .flatten()
    }

    pub(crate) fn release(&self) {
        if self.jobs.send(Job::Release).is_err() {
            self.healthy.store(false, Ordering::Release);
        }
    }

    /// Whether the worker may be handed out again.
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Whether the worker may be kept for reuse: healthy, and not past the pool's
    /// `max_lifetime`.
    pub(crate) fn is_reusable(&self) -> bool {
        self.is_healthy() && !self.life.retired.load(Ordering::Relaxed)
    }

    /// The error of a connection whose thread is gone (and marks it unhealthy).
    pub(crate) fn lost(&self) -> Error {
        self.healthy.store(false, Ordering::Release);
        Error::connection_lost("the SQLite connection thread has stopped")
    }
}

/// Receives the next piece of a streamed batch, polling for up to `spin` before blocking;
/// `None` when the sender is gone.
fn receive(pieces: &mpsc::Receiver<Piece>, spin: Duration) -> Option<Piece> {
    match spin_for(spin, || try_take(pieces)) {
        Some(piece) => piece,
        None => pieces.recv().ok(),
    }
}

/// A non-blocking receive: `Some(Some(_))` a message, `Some(None)` the sender is gone,
/// `None` nothing yet.
fn try_take<M>(inbox: &mpsc::Receiver<M>) -> Option<Option<M>> {
    match inbox.try_recv() {
        Ok(m) => Some(Some(m)),
        Err(mpsc::TryRecvError::Disconnected) => Some(None),
        Err(mpsc::TryRecvError::Empty) => None,
    }
}

/// Polls `attempt` until it yields something or `spin` has passed (`None`: park now). Waking
/// a parked thread costs 5 to 60 µs on a virtual machine, more than most statements take, so
/// both sides of a hop poll for a bounded while before parking.
fn spin_for<T>(spin: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(found) = attempt() {
            return Some(found);
        }
        if start.elapsed() >= spin {
            return None;
        }
        std::hint::spin_loop();
    }
}

/// The thread's loop: runs jobs until every sender is gone.
fn serve(conn: &Connection, inbox: &mpsc::Receiver<Job>, healthy: &AtomicBool, spin: Duration) {
    // Why SQLite rolled back the transaction the holder still believes open (module docs).
    let lost: RefCell<Option<String>> = RefCell::new(None);
    // After a job: notes a transaction SQLite rolled back by itself, and answers whether the
    // connection is back in autocommit mode (not while a lost transaction awaits its end, so
    // the pool sends a release if the holder lets go before ending it).
    let settle = |in_transaction: bool, error: Option<&Error>| {
        if let Some(error) = error
            && in_transaction
            && conn.is_autocommit()
            && lost.borrow().is_none()
        {
            lost.replace(Some(format!(
                "SQLite rolled the transaction back when a statement failed: {error}"
            )));
        }
        conn.is_autocommit() && lost.borrow().is_none()
    };
    let handle = |job: Job| {
        let in_transaction = !conn.is_autocommit();
        let refused = lost.borrow().clone();
        match job {
            Job::Run { batch, reply } => {
                let result = match refused {
                    Some(message) => answer_lost(&batch, message, &lost),
                    None => run_batch_until(conn, &batch, || !reply.is_closed()),
                };
                let autocommit = settle(in_transaction, result.as_ref().err().map(|f| &f.error));
                // The caller may have stopped waiting; the work is done either way.
                let _ = reply.send((result, autocommit));
            }
            Job::StreamBatch {
                mode,
                pieces,
                reply,
            } => {
                let mut run = BatchRun::new(conn, mode, 0);
                let complete = loop {
                    match receive(&pieces, spin) {
                        Some(Piece::Statements(statements)) if refused.is_none() => {
                            run.feed(&statements)
                        }
                        Some(Piece::Statements(_)) => {}
                        Some(Piece::End) => break true,
                        None => break false, // the writer was dropped: abandoned
                    }
                };
                let result = match refused {
                    Some(message) => Err(refusal(message).into()),
                    None => run.end(complete && !reply.is_closed()),
                };
                let autocommit = settle(in_transaction, result.as_ref().err().map(|f| &f.error));
                let _ = reply.send((result, autocommit));
            }
            Job::Stream {
                statement,
                chunk_rows,
                mut out,
            } => {
                let result = match refused {
                    Some(message) => Err(refusal(message)),
                    None => crate::execute::stream_query(conn, &statement, chunk_rows, |rows| {
                        out(Streamed::Chunk(rows))
                    }),
                };
                let autocommit = settle(in_transaction, result.as_ref().err());
                let _ = out(Streamed::Done(result, autocommit));
            }
            Job::Release => {
                lost.replace(None);
                if !rollback_if_open(conn) {
                    healthy.store(false, Ordering::Release);
                }
            }
        }
    };
    while let Ok(job) = inbox.recv() {
        handle(job);
        // Stay awake for `spin` after each job: the next one (the flush after a find) usually
        // follows within microseconds, and waking a parked thread costs far more.
        loop {
            match spin_for(spin, || try_take(inbox)) {
                Some(Some(job)) => handle(job),
                Some(None) => return,
                None => break,
            }
        }
    }
}

/// Answers a batch sent while the transaction its holder believes open is gone (module
/// docs): a rollback succeeds (and ends the refusal), anything else is refused.
#[allow(clippy::result_large_err)]
fn answer_lost(
    batch: &Batch,
    message: String,
    lost: &RefCell<Option<String>>,
) -> Result<BatchResult, BatchFailure> {
    let sql = match &batch.statements[..] {
        [only] => only.sql.trim().to_ascii_uppercase(),
        _ => String::new(),
    };
    let done = || {
        Ok(BatchResult {
            outcomes: vec![coherent_core::Outcome::default()],
            ..BatchResult::default()
        })
    };
    if sql.starts_with("ROLLBACK TO") || sql.starts_with("RELEASE") {
        return done();
    }
    if sql == "ROLLBACK" || sql.starts_with("COMMIT") || sql.starts_with("END") {
        lost.replace(None);
        if sql == "ROLLBACK" {
            return done();
        }
    }
    Err(refusal(message).into())
}

/// The error a statement of a transaction SQLite rolled back by itself gets.
fn refusal(message: String) -> Error {
    Error::TransactionAborted {
        source: DatabaseError::new(message),
    }
}
