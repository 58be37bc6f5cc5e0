//! MySQL and MariaDB.
//!
//! Policy:
//! - **utf8mb4 on every connection** (sqlx sends `SET NAMES utf8mb4`), whatever the server's
//!   or the client locale's default, and the session time zone is UTC.
//! - **No RETURNING**: MySQL has none, so keys the database generates are read back from
//!   `LAST_INSERT_ID()`, which for one multi-row INSERT is the first row's key, the others
//!   following at the server's `auto_increment_increment` (read once, when the driver opens).
//!   InnoDB hands one multi-row INSERT consecutive keys in every lock mode, since the number
//!   of rows is known in advance ("simple inserts").
//! - Affected rows are *matched* rows (sqlx sets `CLIENT_FOUND_ROWS`), so an UPDATE that
//!   writes the values a row already has still counts as hitting it.
//! - Errors are classified by the server's error number ([`error`]); MariaDB reports a
//!   failed `NOWAIT` as 1205, like a lock wait timeout, so a 1205 from a statement that asked
//!   for `NOWAIT` is [`coherent_core::Error::LockNotAvailable`].

pub mod bind;
pub mod decode;
pub mod error;

use crate::backend::{Backend, CommitStatus, RowChunks, ServerFacts, TxToken};
use crate::driver::ServerDriver;
use coherent_core::{
    Capabilities, ConnectOptions, Dialect, Error, Outcome, Result, Rows, Statement, Value,
};
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions};
use sqlx::pool::{Pool, PoolConnection};
use sqlx::{AssertSqlSafe, Column, Executor, Row};
use std::str::FromStr;
use std::sync::Arc;

/// The MySQL/MariaDB backend.
#[derive(Debug, Clone, Copy)]
pub struct MySql;

/// A MySQL/MariaDB driver.
pub type MySqlDriver = ServerDriver<MySql>;

impl MySqlDriver {
    /// Opens a pool for `mysql://user@host:port/db[?max_connections=N&acquire_timeout_ms=N]`
    /// (`mariadb://` is accepted too; the parameters: [`coherent_core::connect_options`]).
    pub async fn open(url: &str) -> Result<MySqlDriver> {
        Self::open_with(&ConnectOptions::new(url)).await
    }

    /// Opens a pool as `options` say. A configured statement or lock timeout is set on every
    /// connection right after it opens ([`crate::session`]; the statement timeout is MariaDB's
    /// `max_statement_time`, which MySQL lacks: there the connection fails).
    ///
    /// ```no_run
    /// use coherent_core::ConnectOptions;
    /// use coherent_sqlx::mysql::MySqlDriver;
    /// use std::time::Duration;
    /// # async fn demo() -> coherent_core::Result<()> {
    /// let options = ConnectOptions::new("mariadb://root@127.0.0.1/app").lock_timeout(Duration::from_secs(5));
    /// let driver = MySqlDriver::open_with(&options).await?;
    /// # let _ = driver; Ok(()) }
    /// ```
    pub async fn open_with(options: &ConnectOptions) -> Result<MySqlDriver> {
        let mut options = options.clone();
        if let Some(rest) = options.url.strip_prefix("mariadb:") {
            options.url = format!("mysql:{rest}");
        }
        let options = crate::options::resolve(&options)?;
        let connect = MySqlConnectOptions::from_str(&options.url)
            .map_err(|e| Error::Config(format!("invalid MySQL URL: {e}")))?
            .charset("utf8mb4");
        let mut pool_options = Self::pool_options(&options);
        if let Some(settings) = crate::session::mysql_settings(&options) {
            let settings: Arc<str> = settings.into();
            pool_options = pool_options.after_connect(move |conn, _| {
                let settings = Arc::clone(&settings);
                Box::pin(async move {
                    conn.execute(sqlx::raw_sql(AssertSqlSafe(settings)))
                        .await
                        .map(drop)
                })
            });
        }
        let pool = pool_options
            .connect_with(connect)
            .await
            .map_err(|e| error::classify(e, ""))?;
        let step: i64 = sqlx::query_scalar::<_, u64>("SELECT @@auto_increment_increment")
            .fetch_one(&pool)
            .await
            .map_err(|e| error::classify(e, ""))?
            .try_into()
            .unwrap_or(1);
        Ok(ServerDriver::from_parts(
            pool,
            ServerFacts { key_step: step },
            options,
        ))
    }
}

impl Backend for MySql {
    type Db = sqlx::MySql;
    const DIALECT: Dialect = Dialect::MySql;
    const CAPABILITIES: Capabilities = Capabilities {
        returning: false,
        max_params: 65_535,
        concurrent_writers: true,
        batch_updates: true,
        columnar: false,
        default_batch_size: 1_000,
        logs_statements: true,
    };
    const ERROR_ABORTS_TRANSACTION: bool = false;
    const LOCK_WAIT_VARIABLE: &'static str = "innodb_lock_wait_timeout";

    fn configured_lock_wait(options: &ConnectOptions) -> Option<String> {
        options
            .lock_timeout
            .map(|t| coherent_core::connect_options::mysql_seconds(t).to_string())
    }

    async fn execute<'a>(
        conn: &'a mut PoolConnection<sqlx::MySql>,
        statement: &'a Statement,
        facts: ServerFacts,
    ) -> Result<Outcome> {
        let mut args = MySqlArguments::default();
        for value in &statement.params {
            bind::add(&mut args, value)?;
        }
        let sql = AssertSqlSafe(Arc::clone(&statement.sql));
        let query = sqlx::query_with(sql, args);
        let classify = |e| error::classify(e, &statement.sql);
        if statement.returns_rows {
            let rows = query.fetch_all(&mut **conn).await.map_err(classify)?;
            let columns: Arc<[String]> = match rows.first() {
                Some(r) => r.columns().iter().map(|c| c.name().to_owned()).collect(),
                None => Arc::from(Vec::new()),
            };
            let kinds = rows
                .first()
                .map(|r| decode::kinds(r.columns()))
                .unwrap_or_default();
            let mut values = Vec::with_capacity(rows.len() * columns.len());
            for row in &rows {
                decode::row(row, &kinds, &mut values)?;
            }
            return Ok(Outcome {
                affected: rows.len() as u64,
                rows: Some(Rows { columns, values }),
                elapsed: Default::default(),
            });
        }
        let done = query.execute(&mut **conn).await.map_err(classify)?;
        let affected = done.rows_affected();
        let rows = statement.generated_keys.then(|| {
            let first = done.last_insert_id() as i64;
            Rows {
                columns: Arc::from(vec![String::from("id")]),
                values: (0..affected as i64)
                    .map(|i| Value::I64(first + i * facts.key_step))
                    .collect(),
            }
        });
        Ok(Outcome {
            affected,
            rows,
            elapsed: Default::default(),
        })
    }

    async fn fetch_chunks<'a>(
        conn: &'a mut PoolConnection<sqlx::MySql>,
        statement: &'a Statement,
        chunks: &'a mut RowChunks,
    ) -> Result<()> {
        let mut args = MySqlArguments::default();
        for value in &statement.params {
            bind::add(&mut args, value)?;
        }
        let sql = AssertSqlSafe(Arc::clone(&statement.sql));
        let mut rows = sqlx::query_with(sql, args).fetch(&mut **conn);
        // The columns and their kinds come with the first row.
        let mut shape: Option<(Arc<[String]>, Vec<decode::Kind>)> = None;
        let mut values = Vec::new();
        let mut in_chunk = 0;
        let failure = loop {
            let row = match coherent_core::stream::next(&mut rows).await {
                None => break None,
                Some(Err(e)) => break Some(error::classify(e, &statement.sql)),
                Some(Ok(row)) => row,
            };
            let (columns, kinds) = shape.get_or_insert_with(|| {
                let columns: Arc<[String]> =
                    row.columns().iter().map(|c| c.name().to_owned()).collect();
                (columns, decode::kinds(row.columns()))
            });
            if values.capacity() == 0 {
                values.reserve(chunks.chunk_rows * columns.len());
            }
            if let Err(e) = decode::row(&row, kinds, &mut values) {
                values.truncate(in_chunk * columns.len()); // the failed row's cells
                break Some(e);
            }
            in_chunk += 1;
            if in_chunk == chunks.chunk_rows {
                in_chunk = 0;
                let values = std::mem::take(&mut values);
                let columns = Arc::clone(columns);
                chunks.give(Rows { columns, values }).await;
            }
        };
        // The rows before the end, or before a failure, go out first.
        if let (Some((columns, _)), true) = (shape, in_chunk > 0) {
            chunks.give(Rows { columns, values }).await;
        }
        failure.map_or(Ok(()), Err)
    }

    async fn simple<'a>(conn: &'a mut PoolConnection<sqlx::MySql>, sql: &'a str) -> Result<()> {
        (&mut **conn)
            .execute(sqlx::raw_sql(AssertSqlSafe(sql)))
            .await
            .map(drop)
            .map_err(|e| error::classify(e, sql))
    }

    fn ends_transaction(error: &Error) -> bool {
        matches!(error, Error::Deadlock { .. })
    }

    async fn open_tracked<'a>(
        conn: &'a mut PoolConnection<sqlx::MySql>,
        sql: &'a str,
    ) -> Result<Option<TxToken>> {
        Self::simple(conn, sql).await.map(|()| None)
    }

    async fn commit_status(_pool: &Pool<sqlx::MySql>, _token: Option<TxToken>) -> CommitStatus {
        CommitStatus::Unknown(
            "MySQL cannot tell what became of another connection's transaction".into(),
        )
    }
}
