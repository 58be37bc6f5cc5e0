//! [`ServerDriver`]: a pool of connections to one PostgreSQL or MySQL/MariaDB server.

use crate::backend::{Backend, ServerFacts};
use crate::connection::ServerConnection;
use crate::options::ServerOptions;
use coherent_core::{BoxFuture, Capabilities, Connection, Dialect, Driver, Error, Result};
use sqlx::pool::{Pool, PoolOptions};

/// A [`Driver`] for a server backend `B`.
pub struct ServerDriver<B: Backend> {
    pool: Pool<B::Db>,
    facts: ServerFacts,
    options: ServerOptions,
}

impl<B: Backend> std::fmt::Debug for ServerDriver<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerDriver")
            .field("dialect", &B::DIALECT)
            .field("max_connections", &self.options.max_connections)
            .finish()
    }
}

impl<B: Backend> ServerDriver<B> {
    pub(crate) fn from_parts(
        pool: Pool<B::Db>,
        facts: ServerFacts,
        options: ServerOptions,
    ) -> Self {
        ServerDriver {
            pool,
            facts,
            options,
        }
    }

    /// Pool options from Coherent's settings.
    pub(crate) fn pool_options(options: &ServerOptions) -> PoolOptions<B::Db> {
        PoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(false)
    }

    /// The options the driver was opened with.
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// The underlying sqlx pool (for hand-written SQL beside the ORM).
    pub fn pool(&self) -> &Pool<B::Db> {
        &self.pool
    }

    /// Checks out a connection.
    pub async fn connect(&self) -> Result<ServerConnection<B>> {
        let conn = self.pool.acquire().await.map_err(|e| match e {
            sqlx::Error::PoolTimedOut => Error::Connection(format!(
                "no free connection within {:?} (all {} are in use)",
                self.options.acquire_timeout, self.options.max_connections
            )),
            other => Error::Connection(other.to_string()),
        })?;
        Ok(ServerConnection::new(conn, self.facts))
    }
}

impl<B: Backend> Driver for ServerDriver<B> {
    fn dialect(&self) -> Dialect {
        B::DIALECT
    }

    fn capabilities(&self) -> Capabilities {
        B::CAPABILITIES
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Connection>>> {
        Box::pin(async move { Ok(Box::new(self.connect().await?) as Box<dyn Connection>) })
    }
}
