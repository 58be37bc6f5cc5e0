//! The connection actor: one OS thread owning one `rusqlite::Connection`.
//!
//! Policy:
//! - **One thread per connection, fed by a channel.** SQLite blocks; the thread does the
//!   blocking, async callers only wait on a `tokio::sync::oneshot` reply.
//! - **One message per batch.** A job carries a whole [`Batch`] and its reply carries the whole
//!   [`BatchResult`] (all rows, flat): the hop costs a few microseconds per flush, nothing per
//!   row or statement.
//! - **Jobs run in order, to completion.** A caller that stops waiting (a dropped future) does
//!   not stop its job; jobs sent after it wait their turn. So a *release* sent when a
//!   connection is dropped runs after everything the holder sent, and rolls back any
//!   transaction they left open before the next holder's first job.
//! - **A worker that cannot get back to autocommit mode, or whose thread is gone, is marked
//!   unhealthy** and the pool drops it instead of handing it out.
//! - The thread ends when the last sender to it is dropped, closing the connection.

use crate::execute::{BatchRun, STATEMENT_CACHE_CAPACITY, rollback_if_open, run_batch_until};
use crate::options::{SqliteOptions, SqliteTarget};
use coherent_core::{Batch, BatchFailure, BatchResult, Error};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

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
            },
        }
    }

    /// Opens and sets up a connection (blocking).
    pub(crate) fn open(&self) -> Result<Connection, Error> {
        let describe = |e: rusqlite::Error| match crate::error::classify(e) {
            e @ Error::LockTimeout { .. } => e,
            e => Error::Connection {
                message: format!("cannot open SQLite database {}: {e}", self.path.display()),
                sent: false,
                source: Some(Box::new(e)),
            },
        };
        let conn = Connection::open_with_flags(&self.path, self.flags).map_err(describe)?;
        conn.busy_timeout(self.busy_timeout).map_err(describe)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let setup = if self.file {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
        } else {
            "PRAGMA foreign_keys = ON;"
        };
        conn.execute_batch(setup).map_err(describe)?;
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
    /// A query whose rows go out in chunks as they are read.
    Stream {
        statement: coherent_core::Statement,
        chunk_rows: usize,
        out: tokio::sync::mpsc::UnboundedSender<Streamed>,
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
            .spawn(move || match spec.open() {
                Ok(conn) => {
                    if ready.send(Ok(())).is_ok() {
                        serve(&conn, &inbox, &flag, spin);
                    }
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| Error::Connection {
                message: format!("cannot start a SQLite connection thread: {e}"),
                sent: false,
                source: Some(Box::new(e)),
            })?;
        opened.await.map_err(|_| {
            Error::connection_unavailable("the SQLite connection thread stopped while opening")
        })??;
        Ok((
            Worker {
                jobs,
                healthy,
                spin,
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
            out,
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

    fn lost(&self) -> Error {
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
    let handle = |job: Job| match job {
        Job::Run { batch, reply } => {
            let result = run_batch_until(conn, &batch, || !reply.is_closed());
            // The caller may have stopped waiting; the work is done either way.
            let _ = reply.send((result, conn.is_autocommit()));
        }
        Job::StreamBatch {
            mode,
            pieces,
            reply,
        } => {
            let mut run = BatchRun::new(conn, mode, 0);
            let complete = loop {
                match receive(&pieces, spin) {
                    Some(Piece::Statements(statements)) => run.feed(&statements),
                    Some(Piece::End) => break true,
                    None => break false, // the writer was dropped: abandoned
                }
            };
            let result = run.end(complete && !reply.is_closed());
            let _ = reply.send((result, conn.is_autocommit()));
        }
        Job::Stream {
            statement,
            chunk_rows,
            out,
        } => {
            let result = crate::execute::stream_query(conn, &statement, chunk_rows, |rows| {
                out.send(Streamed::Chunk(rows)).is_ok()
            });
            let _ = out.send(Streamed::Done(result, conn.is_autocommit()));
        }
        Job::Release => {
            if !rollback_if_open(conn) {
                healthy.store(false, Ordering::Release);
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
