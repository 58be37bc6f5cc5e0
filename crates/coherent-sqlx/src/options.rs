//! [`ServerOptions`]: the pool settings Coherent reads from a server URL's query string.
//!
//! Policy: Coherent's own parameters (`max_connections`, `acquire_timeout_ms`) are taken
//! out of the URL and the rest is handed to sqlx unchanged. Acquiring a connection waits at
//! most `acquire_timeout_ms` (default 30 s) and then fails with
//! [`coherent_core::Error::Connection`]: a pool exhausted by pinned transactions is reported,
//! never waited on forever. Connections are not pinged before each use (a round trip per
//! acquire), only when they sat idle in the pool for longer than `idle_check_ms` (default
//! 5 s): the server, a proxy or a firewall may have closed them meanwhile. A connection the
//! server closed more recently is found by the first statement of the next unit of work, and
//! replaced transparently where that statement cannot have had an effect
//! ([`crate::connection`]); otherwise it is reported as [`coherent_core::Error::Connection`].

use coherent_core::{Error, Result};
use std::time::Duration;

/// Pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// The URL without Coherent's parameters, for sqlx.
    pub url: String,
    /// The most connections the pool opens (default 10).
    pub max_connections: u32,
    /// How long `acquire` waits for a free connection (default 30 s).
    pub acquire_timeout: Duration,
    /// A connection idle in the pool for longer than this is pinged before it is handed out
    /// (default 5 s).
    pub idle_check: Duration,
}

impl ServerOptions {
    /// Parses `url`.
    ///
    /// ```
    /// use coherent_sqlx::ServerOptions;
    /// let o = ServerOptions::from_url("postgres://u@127.0.0.1/db?max_connections=40&sslmode=disable").unwrap();
    /// assert_eq!(o.max_connections, 40);
    /// assert_eq!(o.idle_check, std::time::Duration::from_secs(5));
    /// assert_eq!(o.url, "postgres://u@127.0.0.1/db?sslmode=disable");
    /// assert!(ServerOptions::from_url("postgres://h/db?max_connections=lots").is_err());
    /// ```
    pub fn from_url(url: &str) -> Result<ServerOptions> {
        let mut options = ServerOptions {
            url: String::new(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            idle_check: Duration::from_secs(5),
        };
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let number = |key: &str, value: &str| {
            value.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Config(format!("{key} must be a positive integer, got {value:?}"))
            })
        };
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "max_connections" => {
                    options.max_connections = u32::try_from(number(key, value)?)
                        .map_err(|_| Error::Config(format!("{key} is too large")))?
                }
                "acquire_timeout_ms" => {
                    options.acquire_timeout = Duration::from_millis(number(key, value)?)
                }
                "idle_check_ms" => options.idle_check = Duration::from_millis(number(key, value)?),
                _ => rest.push(pair),
            }
        }
        options.url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok(options)
    }
}
