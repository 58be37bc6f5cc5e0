//! [`ServerDriver`]: a pool of connections to one PostgreSQL or MySQL/MariaDB server.

use crate::backend::{Backend, ServerFacts};
use crate::connection::ServerConnection;
use crate::warm::Warm;
use coherent_core::ConnectOptions;
use coherent_core::{BoxFuture, Capabilities, Connection, Dialect, Driver, Result};
use sqlx::pool::{Pool, PoolConnection, PoolOptions};
use std::sync::Arc;

/// A [`Driver`] for a server backend `B`.
pub struct ServerDriver<B: Backend> {
    pool: Pool<B::Db>,
    facts: ServerFacts,
    options: Arc<ConnectOptions>,
    /// The connection released last, for the next checkout (`warm.rs`).
    warm: Arc<Warm<B>>,
}

impl<B: Backend> std::fmt::Debug for ServerDriver<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerDriver")
            .field("dialect", &B::DIALECT)
            .field("max_connections", &self.options.pool_max())
            .finish()
    }
}

impl<B: Backend> ServerDriver<B> {
    pub(crate) fn from_parts(
        pool: Pool<B::Db>,
        facts: ServerFacts,
        options: ConnectOptions,
    ) -> Self {
        ServerDriver {
            pool,
            facts,
            options: Arc::new(options),
            warm: Arc::default(),
        }
    }

    /// Pool options from Coherent's settings: sizes, timeouts and lifetimes as configured; no
    /// ping before every acquire, only for a connection idle longer than
    /// [`ConnectOptions::idle_check`] (one that fails it is closed and the pool hands out
    /// another); a connection past [`ConnectOptions::max_lifetime`] is closed instead of
    /// handed out.
    pub(crate) fn pool_options(options: &ConnectOptions) -> PoolOptions<B::Db> {
        let idle_check = options.idle_check;
        let max_lifetime = options.max_lifetime;
        PoolOptions::new()
            .max_connections(options.pool_max())
            .min_connections(options.min_connections)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(options.idle_timeout)
            .max_lifetime(options.max_lifetime)
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if max_lifetime.is_some_and(|max| meta.age >= max) {
                        return Ok(false);
                    }
                    if meta.idle_for >= idle_check {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
    }

    /// The options the driver was opened with.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// The underlying sqlx pool (for hand-written SQL beside the ORM).
    pub fn pool(&self) -> &Pool<B::Db> {
        &self.pool
    }

    /// Checks out a connection. Failing to get one is [`Error::Connection`] with nothing
    /// sent.
    pub async fn connect(&self) -> Result<ServerConnection<B>> {
        let (conn, warm_since) = match self.warm.take(&self.options).await {
            Some((conn, since)) => (conn, Some(since)),
            None => (checkout::<B>(&self.pool, &self.options).await?, None),
        };
        Ok(ServerConnection::new(
            conn,
            warm_since,
            self.pool.clone(),
            self.facts,
            Arc::clone(&self.options),
            Arc::clone(&self.warm),
        ))
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

    fn max_connections(&self) -> Option<usize> {
        usize::try_from(self.options.pool_max()).ok()
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // The kept connection first: the pool waits for every connection to come back.
            self.warm.clear();
            self.pool.close().await;
        })
    }
}

/// Takes a connection from `pool`; a failure is a connection error with nothing sent.
pub(crate) async fn checkout<B: Backend>(
    pool: &Pool<B::Db>,
    options: &ConnectOptions,
) -> Result<PoolConnection<B::Db>> {
    pool.acquire().await.map_err(|e| match e {
        sqlx::Error::PoolClosed => coherent_core::Error::Closed,
        sqlx::Error::PoolTimedOut => crate::error::unavailable(
            format!(
                "no free connection within {:?} (all {} are in use)",
                options.acquire_timeout,
                options.pool_max()
            ),
            e,
        ),
        other => crate::error::unavailable(other.to_string(), other),
    })
}
