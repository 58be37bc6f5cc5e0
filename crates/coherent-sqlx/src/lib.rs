//! # coherent-sqlx
//!
//! Coherent's server drivers, on sqlx 0.9: PostgreSQL ([`postgres::PgDriver`], feature
//! `postgres`) and MySQL/MariaDB ([`mysql::MySqlDriver`], feature `mysql`). SQLite is not
//! here: it has its own driver on bundled rusqlite (`coherent-sqlite`), and sqlx's SQLite
//! would link a second SQLite library.
//!
//! Policy:
//! - **One batch protocol** for both servers ([`connection`]): atomic batches in a
//!   transaction or a savepoint, affected-row checks inside it, transaction state tracked
//!   from the ORM's control statements, aborted transactions refused until rolled back.
//! - **Per backend**, only what differs ([`backend::Backend`]): binding, decoding, error
//!   classification, reading back generated keys.
//! - **A bounded pool** ([`options`], a [`coherent_core::ConnectOptions`]): acquiring waits at
//!   most a configured time; sizes, lifetimes and session timeouts as configured.
//! - **No round trip to give a connection back** (`warm.rs`): the connection released last
//!   is kept for the next checkout, where sqlx's pool would ping it on its way back.
//! - **Session settings come back** ([`session`]): a connection released with a changed lock
//!   wait is restored to the server's default before it is reused.
//!
//! ```no_run
//! use coherent_core::{Batch, Connection, Driver, Statement, TxMode};
//! # async fn demo() -> coherent_core::Result<()> {
//! let driver = coherent_sqlx::postgres::PgDriver::open("postgres://postgres@127.0.0.1/coherent").await?;
//! let mut conn = driver.acquire().await?;
//! let result = conn
//!     .run(Batch { statements: vec![Statement::query("SELECT 1 AS one", vec![])], mode: TxMode::Plain })
//!     .await
//!     .map_err(|f| f.error)?;
//! assert_eq!(result.outcomes[0].affected, 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod backend;
pub mod connection;
pub mod driver;
pub mod error;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod options;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod session;
pub mod tx_state;
mod warm;

pub use connection::ServerConnection;
pub use driver::ServerDriver;
/// The sqlx this driver runs on: the native error of a
/// [`DatabaseError`](coherent_core::DatabaseError) from these backends is a `sqlx::Error`.
pub use sqlx;
