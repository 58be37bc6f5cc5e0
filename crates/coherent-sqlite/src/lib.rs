//! # coherent-sqlite
//!
//! Coherent's SQLite driver, on bundled `rusqlite`.
//!
//! Policy:
//! - **One OS thread per connection.** Each pooled connection is an actor (the private
//!   `worker` module): a dedicated `std::thread` owning one `rusqlite::Connection`, fed through a
//!   channel. SQLite calls block, so they never run on an async executor thread.
//! - **One hop per batch.** A whole [`coherent_core::Batch`] (a whole flush, or one query) is
//!   one job crossing the async boundary, and its result (every row of every statement, in
//!   flat [`coherent_core::Rows`]) comes back in one reply. Nothing is sent per row or per
//!   statement (landscape reference 3.3: the hop costs a few microseconds, rows cost nothing).
//! - **Streamed queries read ahead by at most two chunks**
//!   ([`coherent_core::Connection::query_stream`]): the connection thread waits for a slow
//!   reader, so a result of any size takes bounded memory; a stream dropped early stops the
//!   query at the thread's next chunk, and the connection's next job runs after it.
//! - **Files run in WAL mode** with `synchronous=NORMAL`, `foreign_keys=ON` and a busy
//!   timeout, so readers never block the single writer (the journal mode and synchronous
//!   level are options: [`coherent_core::ConnectOptions`]).
//! - **A statement timeout interrupts a statement** running longer
//!   ([`coherent_core::Error::StatementTimeout`]), through SQLite's progress handler,
//!   installed only when a timeout is set.
//! - **`sqlite::memory:` is one shared database per driver**, on SQLite's `memdb` VFS: every
//!   connection of one [`SqliteDriver`] sees the same data and real locking applies between
//!   them, while two drivers get two databases.
//! - **Atomic batches take the write lock up front** (`BEGIN IMMEDIATE`), so a flush never
//!   dead-ends on a lock upgrade; inside an open transaction they use a savepoint.
//! - **A lock wait longer than the busy timeout is [`coherent_core::Error::LockTimeout`]**,
//!   which callers may retry; all other SQLite errors are classified too ([`error`]).
//! - **Dropping a connection never leaves a transaction open**: the worker rolls back before
//!   it serves anyone else, so a cancelled future cannot poison the pool.
//!
//! ```
//! use coherent_core::{Batch, Connection, Driver, Statement, TxMode, Value};
//! use coherent_sqlite::{SqliteDriver, SqliteOptions};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let driver = SqliteDriver::open(SqliteOptions::from_url("sqlite::memory:")?).await?;
//! let mut conn = driver.acquire().await?;
//! let result = conn
//!     .run(Batch {
//!         statements: vec![
//!             Statement::execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", vec![]),
//!             Statement::query("INSERT INTO t (name) VALUES (?) RETURNING id", vec!["a".into()]),
//!         ],
//!         mode: TxMode::Atomic,
//!     })
//!     .await
//!     .map_err(|f| f.error)?;
//! let rows = result.outcomes[1].rows.as_ref().unwrap();
//! assert_eq!(rows.values, vec![Value::I64(1)]);
//! # Ok::<(), coherent_core::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod error;
pub mod execute;
mod interrupt;
pub mod options;
pub mod pool;
mod rehome;
pub mod value;
mod worker;

pub use options::{SqliteOptions, SqliteTarget};
pub use pool::{SqliteConnection, SqliteDriver};
/// The bundled rusqlite this driver is built on, for tests that open a raw connection beside
/// it. Not public API.
#[doc(hidden)]
pub use rusqlite;
