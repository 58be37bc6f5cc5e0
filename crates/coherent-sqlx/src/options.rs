//! The server drivers' options: a [`ConnectOptions`], resolved when the driver opens.
//!
//! Policy: Coherent's own parameters (see [`coherent_core::connect_options`]) are taken out of
//! the URL and the rest is handed to sqlx unchanged. Acquiring a connection waits at most
//! `acquire_timeout` (default 30 s) and then fails with
//! [`coherent_core::Error::Connection`]: a pool exhausted by pinned transactions is reported,
//! never waited on forever. Connections are not pinged before each use (a round trip per
//! acquire), only when they sat idle in the pool for longer than `idle_check` (default 5 s):
//! the server, a proxy or a firewall may have closed them meanwhile. A connection the server
//! closed more recently is found by the first statement of the next unit of work, and
//! replaced transparently where that statement cannot have had an effect
//! ([`crate::connection`]); otherwise it is reported as [`coherent_core::Error::Connection`].
//! `min_connections`, `idle_timeout` and `max_lifetime` are sqlx's pool's own; a connection
//! past its lifetime is also not handed out of the pool. The statement and lock timeouts are
//! session settings every connection gets when it opens ([`crate::session`]).
//!
//! ```
//! use coherent_core::ConnectOptions;
//! use std::time::Duration;
//! let o = ConnectOptions::from_url("postgres://u@127.0.0.1/db?max_connections=40&sslmode=disable")?;
//! assert_eq!(o.max_connections, Some(40));
//! assert_eq!(o.idle_check, Duration::from_secs(5));
//! assert_eq!(o.url, "postgres://u@127.0.0.1/db?sslmode=disable");
//! assert!(ConnectOptions::from_url("postgres://h/db?max_connections=lots").is_err());
//! # Ok::<(), coherent_core::Error>(())
//! ```

use coherent_core::{ConnectOptions, Result};

/// `options` resolved ([`ConnectOptions::resolve`]), with the servers' default pool size
/// filled in, so [`ConnectOptions::pool_max`] is the pool's size.
pub(crate) fn resolve(options: &ConnectOptions) -> Result<ConnectOptions> {
    let mut resolved = options.clone().resolve()?;
    resolved.max_connections = Some(resolved.pool_max());
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_is_filled_in() {
        let o = resolve(&ConnectOptions::new("mysql://h/db?lock_timeout_ms=1500")).unwrap();
        assert_eq!(
            (o.url.as_str(), o.max_connections),
            ("mysql://h/db", Some(10))
        );
        assert_eq!(o.lock_timeout, Some(std::time::Duration::from_millis(1500)));
    }
}
