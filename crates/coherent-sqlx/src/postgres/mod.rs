//! PostgreSQL.
//!
//! Policy:
//! - **The server types the parameters.** Every statement is prepared without declared
//!   parameter types (sqlx caches the prepared statement per connection), PostgreSQL infers
//!   them from the SQL, and each [`coherent_core::Value`] is converted to exactly that type
//!   ([`bind`]): an `i64` bound into an `INTEGER` column is range-checked into an `int4`, and
//!   a NULL needs no type of its own. A value that cannot become the inferred type is an
//!   [`coherent_core::Error::InvalidArgument`] naming both, before anything is sent.
//! - Rows are decoded by column type into the widest natural [`coherent_core::Value`]
//!   ([`decode`]); errors are classified by SQLSTATE ([`error`]).
//! - **A lost COMMIT is resolved.** The round trip that opens a flush's transaction (or the
//!   first flush's savepoint in an open one) also reads `txid_current()` (one simple-query
//!   message, no extra round trip; the transaction id is assigned at BEGIN instead of at its
//!   first write, which every flush transaction makes anyway). If the connection is lost
//!   during COMMIT, a new connection asks `txid_status`: `committed` or `aborted` is the
//!   answer; `in progress` means the old session has not noticed yet: after a second the
//!   session still running that transaction (found by `pg_stat_activity.backend_xid`) is
//!   terminated and asked again, for at most [`RESOLVE_FOR`]. The backend's pid is not read
//!   up front: one column less in every flush's first round trip (measured: about 5 µs of a
//!   200 µs transaction on loopback).

pub mod bind;
pub mod decode;
pub mod error;

use crate::backend::{Backend, CommitStatus, RowChunks, ServerFacts, TxToken};
use crate::driver::ServerDriver;
use coherent_core::{
    Capabilities, ConnectOptions, DatabaseError, Dialect, Error, Outcome, Result, Rows, Statement,
};
use sqlx::pool::{Pool, PoolConnection};
use sqlx::postgres::{PgArguments, PgConnectOptions};
use sqlx::{AssertSqlSafe, Executor, Row as _, Statement as _};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the outcome of a lost COMMIT is looked for before it is reported unknown.
pub const RESOLVE_FOR: Duration = Duration::from_secs(5);

/// How long a lost COMMIT's session may stay in progress before it is terminated.
const GRACE: Duration = Duration::from_secs(1);

/// Read in the round trip that opens a tracked transaction.
const TRACK: &str = "SELECT txid_current()";

/// The PostgreSQL backend.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

/// A PostgreSQL driver.
pub type PgDriver = ServerDriver<Postgres>;

impl PgDriver {
    /// Opens a pool for `postgres://user@host:port/db[?max_connections=N&acquire_timeout_ms=N]`
    /// (the parameters: [`coherent_core::connect_options`]). No connection is opened until
    /// the first is needed, except one that checks the URL (and `min_connections`).
    pub async fn open(url: &str) -> Result<PgDriver> {
        Self::open_with(&ConnectOptions::new(url)).await
    }

    /// Opens a pool as `options` say. The statement and lock timeouts are startup options of
    /// every connection ([`crate::session`]).
    ///
    /// ```no_run
    /// use coherent_core::ConnectOptions;
    /// use coherent_sqlx::postgres::PgDriver;
    /// use std::time::Duration;
    /// # async fn demo() -> coherent_core::Result<()> {
    /// let options = ConnectOptions::new("postgres://postgres@127.0.0.1/app")
    ///     .min_connections(2)
    ///     .statement_timeout(Duration::from_secs(30));
    /// let driver = PgDriver::open_with(&options).await?;
    /// # let _ = driver; Ok(()) }
    /// ```
    pub async fn open_with(options: &ConnectOptions) -> Result<PgDriver> {
        let options = crate::options::resolve(options)?;
        let mut connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| Error::Config(format!("invalid PostgreSQL URL: {e}")))?;
        let settings = crate::session::pg_settings(&options);
        if !settings.is_empty() {
            connect = connect.options(settings);
        }
        let pool = Self::pool_options(&options)
            .connect_with(connect)
            .await
            .map_err(error::classify)?;
        Ok(ServerDriver::from_parts(
            pool,
            ServerFacts::default(),
            options,
        ))
    }
}

impl Backend for Postgres {
    type Db = sqlx::Postgres;
    const DIALECT: Dialect = Dialect::Postgres;
    const CAPABILITIES: Capabilities = Capabilities {
        returning: true,
        max_params: 65_535,
        concurrent_writers: true,
        batch_updates: true,
        columnar: true,
        default_batch_size: 1_000,
        logs_statements: true,
    };
    const ERROR_ABORTS_TRANSACTION: bool = true;
    const LOCK_WAIT_VARIABLE: &'static str = "lock_timeout";

    fn configured_lock_wait(_options: &ConnectOptions) -> Option<String> {
        // `DEFAULT` is the startup option's value, if one was given.
        None
    }

    async fn execute<'a>(
        conn: &'a mut PoolConnection<sqlx::Postgres>,
        statement: &'a Statement,
        _facts: ServerFacts,
    ) -> Result<Outcome> {
        let (prepared, args) = prepare_bound(conn, statement).await?;
        run(conn, statement, prepared, args).await
    }

    async fn fetch_chunks<'a>(
        conn: &'a mut PoolConnection<sqlx::Postgres>,
        statement: &'a Statement,
        chunks: &'a mut RowChunks,
    ) -> Result<()> {
        let (prepared, args) = prepare_bound(conn, statement).await?;
        let columns: Arc<[String]> = prepared
            .columns()
            .iter()
            .map(|c| sqlx::Column::name(c).to_owned())
            .collect();
        let kinds = decode::kinds(prepared.columns())?;
        let size = chunks.chunk_rows * columns.len();
        let mut rows = prepared.query_with(args).fetch(&mut **conn);
        let mut values = Vec::with_capacity(size);
        let mut in_chunk = 0;
        let failure = loop {
            let row = match coherent_core::stream::next(&mut rows).await {
                None => break None,
                Some(Err(e)) => break Some(error::classify(e)),
                Some(Ok(row)) => row,
            };
            if let Err(e) = decode::row(&row, &kinds, &mut values) {
                values.truncate(in_chunk * columns.len()); // the failed row's cells
                break Some(e);
            }
            in_chunk += 1;
            if in_chunk == chunks.chunk_rows {
                in_chunk = 0;
                let values = std::mem::replace(&mut values, Vec::with_capacity(size));
                let columns = Arc::clone(&columns);
                chunks.give(Rows { columns, values }).await;
            }
        };
        // The rows before the end, or before a failure, go out first.
        if in_chunk > 0 {
            chunks.give(Rows { columns, values }).await;
        }
        failure.map_or(Ok(()), Err)
    }

    async fn simple<'a>(conn: &'a mut PoolConnection<sqlx::Postgres>, sql: &'a str) -> Result<()> {
        (&mut **conn)
            .execute(sqlx::raw_sql(AssertSqlSafe(sql)))
            .await
            .map(drop)
            .map_err(error::classify)
    }

    fn ends_transaction(_error: &Error) -> bool {
        false
    }

    async fn open_tracked<'a>(
        conn: &'a mut PoolConnection<sqlx::Postgres>,
        sql: &'a str,
    ) -> Result<Option<TxToken>> {
        let sql = format!("{sql}; {TRACK}");
        let rows = (&mut **conn)
            .fetch_all(sqlx::raw_sql(AssertSqlSafe(sql)))
            .await
            .map_err(error::classify)?;
        let row = rows.last().ok_or_else(|| Error::Database {
            source: DatabaseError::new("txid_current() returned no row"),
        })?;
        let xid = row.try_get::<i64, _>(0).map_err(|e| Error::Decode {
            column: "txid_current()".into(),
            message: e.to_string(),
        })?;
        Ok(Some(TxToken { xid }))
    }

    async fn commit_status(pool: &Pool<sqlx::Postgres>, token: Option<TxToken>) -> CommitStatus {
        let Some(token) = token else {
            return CommitStatus::Unknown(
                "its transaction id was not taken (no flush wrote in the transaction)".into(),
            );
        };
        let started = Instant::now();
        let deadline = started + RESOLVE_FOR;
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => return CommitStatus::Unknown(format!("cannot reconnect to ask: {e}")),
        };
        let mut terminated = false;
        loop {
            let status = sqlx::query_scalar::<_, Option<String>>("SELECT txid_status($1)")
                .bind(token.xid)
                .fetch_one(&mut *conn)
                .await;
            match status.as_ref().map(Option::as_deref) {
                Ok(Some("committed")) => return CommitStatus::Committed,
                Ok(Some("aborted")) => return CommitStatus::RolledBack,
                Ok(Some(_)) if Instant::now() < deadline => {
                    // In progress: the old session has not ended yet (a COMMIT it received
                    // may still be waiting to run). Give it [`GRACE`] to end by itself, then
                    // end the session that still runs this transaction, if any (a COMMIT
                    // already under way finishes first). `backend_xid` is the 32-bit form of
                    // the 64-bit `txid_current()`; no two running transactions share it.
                    if !terminated && started.elapsed() >= GRACE {
                        terminated = true;
                        let _ = sqlx::query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE backend_xid::text = ($1 % 4294967296)::text",
                        )
                        .bind(token.xid)
                        .execute(&mut *conn)
                        .await;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Ok(Some(s)) => {
                    return CommitStatus::Unknown(format!(
                        "transaction {} still {s} after {RESOLVE_FOR:?}",
                        token.xid
                    ));
                }
                Ok(None) => {
                    return CommitStatus::Unknown(format!(
                        "transaction {} is too old for txid_status",
                        token.xid
                    ));
                }
                Err(e) => return CommitStatus::Unknown(format!("cannot ask txid_status: {e}")),
            }
        }
    }
}

/// Prepares `statement` (sqlx caches it per connection) and binds its values to the types
/// the server inferred; a value that cannot become its type, or a count that does not match,
/// is [`Error::InvalidArgument`] before anything runs.
async fn prepare_bound(
    conn: &mut PoolConnection<sqlx::Postgres>,
    statement: &Statement,
) -> Result<(sqlx::postgres::PgStatement, PgArguments)> {
    let sql = sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(Arc::clone(&statement.sql)));
    let prepared = (&mut **conn)
        .prepare_with(sql, &[])
        .await
        .map_err(error::classify)?;
    let types = match prepared.parameters() {
        Some(sqlx::Either::Left(types)) => types,
        _ => &[],
    };
    let mut args = PgArguments::default();
    if let Some(width) = statement.columnar {
        if types.len() != width || width == 0 || !statement.params.len().is_multiple_of(width) {
            return Err(Error::InvalidArgument(format!(
                "a columnar statement of {} column(s) got {} value(s) for {} parameter(s)",
                width,
                statement.params.len(),
                types.len()
            )));
        }
        for (column, ty) in types.iter().enumerate() {
            bind::add_array(
                &mut args,
                statement.params.iter().skip(column).step_by(width),
                ty,
            )?;
        }
        return Ok((prepared, args));
    }
    if types.len() != statement.params.len() {
        return Err(Error::InvalidArgument(format!(
            "statement has {} parameter(s) but {} value(s) were bound",
            types.len(),
            statement.params.len()
        )));
    }
    for (value, ty) in statement.params.iter().zip(types) {
        bind::add(&mut args, value, ty)?;
    }
    Ok((prepared, args))
}

/// Runs a prepared statement with its bound arguments.
async fn run(
    conn: &mut PoolConnection<sqlx::Postgres>,
    statement: &Statement,
    prepared: sqlx::postgres::PgStatement,
    args: PgArguments,
) -> Result<Outcome> {
    let query = prepared.query_with(args);
    {
        if statement.returns_rows {
            let rows = query
                .fetch_all(&mut **conn)
                .await
                .map_err(error::classify)?;
            let columns: Arc<[String]> = prepared
                .columns()
                .iter()
                .map(|c| sqlx::Column::name(c).to_owned())
                .collect();
            let kinds = decode::kinds(prepared.columns())?;
            let mut values = Vec::with_capacity(rows.len() * columns.len());
            for row in &rows {
                decode::row(row, &kinds, &mut values)?;
            }
            Ok(Outcome {
                affected: rows.len() as u64,
                rows: Some(Rows { columns, values }),
                elapsed: Default::default(),
            })
        } else {
            let done = query.execute(&mut **conn).await.map_err(error::classify)?;
            Ok(Outcome {
                affected: done.rows_affected(),
                rows: None,
                elapsed: Default::default(),
            })
        }
    }
}
