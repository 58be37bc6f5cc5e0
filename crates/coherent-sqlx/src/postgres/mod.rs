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

pub mod bind;
pub mod decode;
pub mod error;

use crate::backend::{Backend, ServerFacts};
use crate::driver::ServerDriver;
use crate::options::ServerOptions;
use coherent_core::{Capabilities, Dialect, Error, Outcome, Result, Rows, Statement};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions};
use sqlx::{AssertSqlSafe, Executor, Statement as _};
use std::str::FromStr;
use std::sync::Arc;

/// The PostgreSQL backend.
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

/// A PostgreSQL driver.
pub type PgDriver = ServerDriver<Postgres>;

impl PgDriver {
    /// Opens a pool for `postgres://user@host:port/db[?max_connections=N&acquire_timeout_ms=N]`.
    /// No connection is opened until the first is needed, except one that checks the URL.
    pub async fn open(url: &str) -> Result<PgDriver> {
        let options = ServerOptions::from_url(url)?;
        let connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| Error::Config(format!("invalid PostgreSQL URL: {e}")))?;
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
    };
    const ERROR_ABORTS_TRANSACTION: bool = true;

    async fn execute<'a>(
        conn: &'a mut PoolConnection<sqlx::Postgres>,
        statement: &'a Statement,
        _facts: ServerFacts,
    ) -> Result<Outcome> {
        let sql = sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(Arc::clone(&statement.sql)));
        let prepared = (&mut **conn)
            .prepare_with(sql, &[])
            .await
            .map_err(error::classify)?;
        let types = prepared.parameters();
        let types = match types {
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
            return run(conn, statement, prepared, args).await;
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
        run(conn, statement, prepared, args).await
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
