//! [`MigrationContext`]: what a Rust migration runs its statements and queries on (the
//! migration's transaction, on the Migrator's connection).
//!
//! Policy: statements run one at a time, in the order the migration sends them, and are
//! counted: when one fails, the Migrator's [`Error::Failed`](crate::Error::Failed) names it
//! by its index and SQL. Values are bound, never spliced. Every statement is logged by the
//! query log ([`coherent_core::query_log`]), as the ORM's are.

use coherent_core::{
    Batch, Connection, Dialect, Outcome, Result, Row, Statement, TxMode, Value, query_log,
};

/// The migration's transaction: a Rust migration runs its statements and queries here, so
/// they commit or roll back with the migration (and its history row).
///
/// ```
/// use coherent_migrate::migration::MigrationContext;
/// async fn backfill(tx: &mut MigrationContext<'_>) -> coherent_core::Result<()> {
///     let rows = tx.query("SELECT id, email FROM users", vec![]).await?;
///     for row in rows {
///         let id: i64 = row.get("id")?;
///         let email: String = row.get("email")?;
///         let sql = tx.placeholders("UPDATE users SET email = ? WHERE id = ?");
///         tx.execute(&sql, vec![email.to_lowercase().into(), id.into()]).await?;
///     }
///     Ok(())
/// }
/// ```
pub struct MigrationContext<'c> {
    conn: &'c mut dyn Connection,
    dialect: Dialect,
    logs_statements: bool,
    ran: usize,
    failed: Option<(usize, String)>,
}

impl std::fmt::Debug for MigrationContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationContext")
            .field("dialect", &self.dialect)
            .field("ran", &self.ran)
            .finish_non_exhaustive()
    }
}

impl<'c> MigrationContext<'c> {
    /// A context on `conn`; `logs_statements` is the driver's
    /// [`Capabilities::logs_statements`](coherent_core::Capabilities::logs_statements).
    pub(crate) fn new(
        conn: &'c mut dyn Connection,
        dialect: Dialect,
        logs_statements: bool,
    ) -> MigrationContext<'c> {
        MigrationContext {
            conn,
            dialect,
            logs_statements,
            ran: 0,
            failed: None,
        }
    }

    /// The SQL dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `sql` written with `?` placeholders, as this dialect takes it: `$1, $2, ..` on
    /// PostgreSQL (a `?` inside a quoted string or identifier is left alone).
    ///
    /// ```
    /// use coherent_core::Dialect;
    /// use coherent_migrate::migration::context::placeholders;
    /// assert_eq!(placeholders(Dialect::Postgres, "SELECT '?', a FROM t WHERE b = ? AND c = ?"), "SELECT '?', a FROM t WHERE b = $1 AND c = $2");
    /// assert_eq!(placeholders(Dialect::MySql, "SELECT ? "), "SELECT ? ");
    /// ```
    pub fn placeholders(&self, sql: &str) -> String {
        placeholders(self.dialect, sql)
    }

    /// Runs a statement; returns the rows it affected.
    pub async fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        Ok(self.run(Statement::execute(sql, params)).await?.affected)
    }

    /// Runs a query; returns its rows.
    pub async fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>> {
        let outcome = self.run(Statement::query(sql, params)).await?;
        Ok(outcome.rows.unwrap_or_default().into_rows())
    }

    /// Runs a statement of the migration, counting it; a failure is remembered for
    /// [`Error::Failed`](crate::Error::Failed).
    pub(crate) async fn run(&mut self, statement: Statement) -> Result<Outcome> {
        let index = self.ran;
        self.ran += 1;
        let sql = statement.sql.clone();
        run_statement(self.conn, self.logs_statements, statement)
            .await
            .inspect_err(|_| self.failed = Some((index, sql.to_string())))
    }

    /// The failed statement's index and SQL, if a statement failed.
    pub(crate) fn failure(&self) -> Option<(usize, String)> {
        self.failed.clone()
    }

    /// How many statements ran (or were tried).
    pub(crate) fn statements_run(&self) -> usize {
        self.ran
    }
}

/// Runs one statement on `conn` as a batch of its own, outside any batch transaction (inside
/// the transaction the connection has open, if any), and logs it where the driver does not.
pub(crate) async fn run_statement(
    conn: &mut dyn Connection,
    logs_statements: bool,
    statement: Statement,
) -> Result<Outcome> {
    let (sql, params) = (statement.sql.clone(), statement.params.len());
    let batch = Batch {
        statements: vec![statement],
        mode: TxMode::Plain,
    };
    match conn.run(batch).await {
        Ok(mut result) => {
            let outcome = result.outcomes.pop().unwrap_or_default();
            if !logs_statements {
                query_log::ran(&sql, params, outcome.affected, outcome.elapsed);
            }
            Ok(outcome)
        }
        Err(failure) => {
            if !logs_statements {
                query_log::failed(&sql, params, &failure.error);
            }
            Err(failure.error)
        }
    }
}

/// `sql` with `?` placeholders rendered for `dialect` (see
/// [`MigrationContext::placeholders`]): the project's one raw-SQL convention,
/// [`coherent_sql::raw::statement`] (`??` is a literal `?`; quoted text is left alone).
pub fn placeholders(dialect: Dialect, sql: &str) -> String {
    coherent_sql::raw::statement(dialect, sql).0
}
