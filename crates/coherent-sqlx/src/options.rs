//! [`ServerOptions`]: the server drivers' resolved form of a [`ConnectOptions`]: the pool
//! settings, the session's timeouts, and the URL left for sqlx.
//!
//! Policy: Coherent's own parameters (see [`coherent_core::connect_options`]) are taken out of
//! the URL and the rest is handed to sqlx unchanged. Acquiring a connection waits at most
//! `acquire_timeout_ms` (default 30 s) and then fails with
//! [`coherent_core::Error::Connection`]: a pool exhausted by pinned transactions is reported,
//! never waited on forever. Connections are not pinged before each use (a round trip per
//! acquire), only when they sat idle in the pool for longer than `idle_check_ms` (default
//! 5 s): the server, a proxy or a firewall may have closed them meanwhile. A connection the
//! server closed more recently is found by the first statement of the next unit of work, and
//! replaced transparently where that statement cannot have had an effect
//! ([`crate::connection`]); otherwise it is reported as [`coherent_core::Error::Connection`].
//! `min_connections`, `idle_timeout` and `max_lifetime` are sqlx's pool's own; a connection
//! past its lifetime is also not handed out of the pool. The statement and lock timeouts are
//! session settings every connection gets when it opens ([`crate::session`]).

use coherent_core::{ConnectOptions, Result};
use std::time::Duration;

/// Pool and session settings of a server driver.
///
/// ```
/// use coherent_sqlx::ServerOptions;
/// use std::time::Duration;
/// let o = ServerOptions::from_url("postgres://u@127.0.0.1/db?max_connections=40&min_connections=2&sslmode=disable")?;
/// assert_eq!((o.max_connections, o.min_connections), (40, 2));
/// assert_eq!(o.idle_check, Duration::from_secs(5));
/// assert_eq!(o.url, "postgres://u@127.0.0.1/db?sslmode=disable");
/// let o = o.statement_timeout(Duration::from_secs(3));
/// assert_eq!(o.statement_timeout, Some(Duration::from_secs(3)));
/// # Ok::<(), coherent_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// The URL without Coherent's parameters, for sqlx.
    pub url: String,
    /// The most connections the pool opens (default 10).
    pub max_connections: u32,
    /// How many connections the pool opens at once and keeps open (default 0).
    pub min_connections: u32,
    /// How long `acquire` waits for a free connection (default 30 s).
    pub acquire_timeout: Duration,
    /// A connection idle in the pool this long is closed, above `min_connections` (default
    /// 10 min; `None`: never).
    pub idle_timeout: Option<Duration>,
    /// A connection idle in the pool for longer than this is pinged before it is handed out
    /// (default 5 s).
    pub idle_check: Duration,
    /// A connection open this long is closed instead of reused (default 30 min; `None`: no
    /// limit).
    pub max_lifetime: Option<Duration>,
    /// The session's statement timeout (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`; `None`: the server's).
    pub statement_timeout: Option<Duration>,
    /// The session's lock wait (PostgreSQL `lock_timeout`, MySQL `innodb_lock_wait_timeout`;
    /// `None`: the server's).
    pub lock_timeout: Option<Duration>,
}

coherent_core::setters!(ServerOptions {
    /// Sets the URL handed to sqlx.
    url: impl Into<String> => url.into(),
    /// Sets the most connections the pool opens.
    ///
    /// ```
    /// use coherent_sqlx::ServerOptions;
    /// let o = ServerOptions::from_url("mysql://h/db")?.max_connections(3).min_connections(1);
    /// assert_eq!((o.max_connections, o.min_connections), (3, 1));
    /// # Ok::<(), coherent_core::Error>(())
    /// ```
    max_connections: u32 => max_connections,
    /// Sets how many connections the pool keeps open.
    min_connections: u32 => min_connections,
    /// Sets how long `acquire` waits for a free connection.
    acquire_timeout: Duration => acquire_timeout,
    /// Sets after how long idle a connection is closed.
    idle_timeout: impl Into<Option<Duration>> => idle_timeout.into(),
    /// Sets after how long idle a connection is pinged before it is handed out.
    idle_check: Duration => idle_check,
    /// Sets how long a connection may live.
    max_lifetime: impl Into<Option<Duration>> => max_lifetime.into(),
    /// Sets the session's statement timeout.
    statement_timeout: impl Into<Option<Duration>> => statement_timeout.into(),
    /// Sets the session's lock wait.
    lock_timeout: impl Into<Option<Duration>> => lock_timeout.into(),
});

impl ServerOptions {
    /// Parses `url` (see [`ConnectOptions::from_url`]).
    ///
    /// ```
    /// use coherent_sqlx::ServerOptions;
    /// assert!(ServerOptions::from_url("postgres://h/db?max_connections=lots").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<ServerOptions> {
        ServerOptions::from_connect(&ConnectOptions::new(url))
    }

    /// The server drivers' form of `options` (its URL's parameters applied first, see
    /// [`ConnectOptions::resolve`]).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use coherent_sqlx::ServerOptions;
    /// use std::time::Duration;
    /// let o = ServerOptions::from_connect(&ConnectOptions::new("postgres://h/db?lock_timeout_ms=1500"))?;
    /// assert_eq!((o.url.as_str(), o.max_connections), ("postgres://h/db", 10));
    /// assert_eq!(o.lock_timeout, Some(Duration::from_millis(1500)));
    /// # Ok::<(), coherent_core::Error>(())
    /// ```
    pub fn from_connect(options: &ConnectOptions) -> Result<ServerOptions> {
        let o = options.clone().resolve()?;
        Ok(ServerOptions {
            max_connections: o.pool_max(),
            url: o.url,
            min_connections: o.min_connections,
            acquire_timeout: o.acquire_timeout,
            idle_timeout: o.idle_timeout,
            idle_check: o.idle_check,
            max_lifetime: o.max_lifetime,
            statement_timeout: o.statement_timeout,
            lock_timeout: o.lock_timeout,
        })
    }
}
