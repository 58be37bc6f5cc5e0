//! [`SqliteOptions`]: where the database is and how the pool treats it, parsed from a URL.
//!
//! Policy:
//! - **URL forms.** `sqlite://path.db` and `sqlite:path.db` name a path relative to the
//!   working directory (or absolute, if it starts with `/`); `sqlite:///abs/path.db` names an
//!   absolute path; `sqlite::memory:` (or `sqlite://:memory:`) names a private in-memory
//!   database shared by all connections of one driver.
//! - **Query parameters**: `busy_timeout_ms` (default 5000), `spin_us` (default 50),
//!   `max_connections` (default 4), `acquire_timeout_ms` (default 30 000: how long taking a
//!   connection from the pool waits while all are checked out; then
//!   [`Error::Connection`] with nothing sent, retryable, as on the server backends),
//!   `create` (`true`/`false`, default `true`: create the file if it is missing). Anything
//!   else, or a value that does not parse, is an [`Error::Config`] naming the culprit: a typo
//!   in a URL must not be silently ignored.
//! - Everything the URL can say can also be set with the builder methods.

use coherent_core::Error;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The default busy timeout: how long a statement waits for a lock before
/// [`Error::LockTimeout`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The default pool size.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4;

/// The default acquire timeout: how long taking a connection waits while all are checked out
/// (the server backends' default too).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a driver opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteTarget {
    /// A database file.
    File(PathBuf),
    /// An in-memory database, private to one driver and shared by its connections.
    Memory,
}

/// How to open a SQLite database.
///
/// ```
/// use coherent_sqlite::{SqliteOptions, SqliteTarget};
/// use std::time::Duration;
///
/// let o = SqliteOptions::from_url("sqlite:///var/db/app.db?busy_timeout_ms=250&max_connections=2")?;
/// assert_eq!(o.target, SqliteTarget::File("/var/db/app.db".into()));
/// assert_eq!(o.busy_timeout, Duration::from_millis(250));
/// assert_eq!(o.max_connections, 2);
/// assert_eq!(o.acquire_timeout, Duration::from_secs(30));
/// assert!(o.create);
///
/// let m = SqliteOptions::memory().with_max_connections(8);
/// assert_eq!(m.target, SqliteTarget::Memory);
/// assert_eq!(m.max_connections, 8);
/// # Ok::<(), coherent_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database.
    pub target: SqliteTarget,
    /// How long a statement waits for a lock before failing with [`Error::LockTimeout`].
    pub busy_timeout: Duration,
    /// The most connections (worker threads) the driver opens; at least 1.
    pub max_connections: usize,
    /// How long taking a connection waits while all [`SqliteOptions::max_connections`] are
    /// checked out, before [`Error::Connection`] with nothing sent (retryable): a pool
    /// exhausted by pinned transactions is reported, never waited on forever.
    pub acquire_timeout: Duration,
    /// Whether to create the database file if it is missing.
    pub create: bool,
    /// How long a caller polls for a batch's answer, and a connection thread for its next
    /// batch, before parking (`spin_us`, default 50 µs; 0 disables). Waking a parked thread
    /// costs 5 to 60 µs on a virtual machine, more than most statements take, so a short
    /// bounded spin keeps a find-then-flush request off the scheduler's slow path.
    pub spin: Duration,
}

/// Default of [`SqliteOptions::spin`].
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

impl SqliteOptions {
    /// Options for the database file at `path`, with the defaults.
    ///
    /// ```
    /// use coherent_sqlite::{SqliteOptions, SqliteTarget};
    /// let o = SqliteOptions::file("app.db");
    /// assert_eq!(o.target, SqliteTarget::File("app.db".into()));
    /// assert_eq!(o.max_connections, 4);
    /// ```
    pub fn file(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            target: SqliteTarget::File(path.into()),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            create: true,
            spin: DEFAULT_SPIN,
        }
    }

    /// Options for a fresh in-memory database, with the defaults.
    pub fn memory() -> SqliteOptions {
        SqliteOptions {
            target: SqliteTarget::Memory,
            ..SqliteOptions::file("")
        }
    }

    /// Parses a `sqlite:` URL (see the module docs for the forms and parameters).
    ///
    /// ```
    /// use coherent_sqlite::{SqliteOptions, SqliteTarget};
    /// assert_eq!(SqliteOptions::from_url("sqlite::memory:")?.target, SqliteTarget::Memory);
    /// assert_eq!(SqliteOptions::from_url("sqlite:data/app.db")?.target, SqliteTarget::File("data/app.db".into()));
    /// assert!(SqliteOptions::from_url("postgres://localhost/db").is_err());
    /// assert!(SqliteOptions::from_url("sqlite:app.db?busy_timeout=5").is_err());
    /// # Ok::<(), coherent_core::Error>(())
    /// ```
    pub fn from_url(url: &str) -> Result<SqliteOptions, Error> {
        let rest = url.strip_prefix("sqlite:").ok_or_else(|| {
            Error::Config(format!(
                "not a SQLite URL: {url:?} (expected sqlite://path.db, sqlite:path.db, sqlite:///abs/path.db or sqlite::memory:)"
            ))
        })?;
        let (location, query) = match rest.split_once('?') {
            Some((location, query)) => (location, Some(query)),
            None => (rest, None),
        };
        let location = location.strip_prefix("//").unwrap_or(location);
        let mut options = match location {
            ":memory:" => SqliteOptions::memory(),
            "" => {
                return Err(Error::Config(format!(
                    "SQLite URL {url:?} names no database file (use sqlite::memory: for an in-memory database)"
                )));
            }
            path => SqliteOptions::file(path),
        };
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                Error::Config(format!(
                    "SQLite URL parameter {pair:?} has no value (expected key=value)"
                ))
            })?;
            match key {
                "spin_us" => {
                    options.spin = Duration::from_micros(parse_number(key, value)?);
                }
                "busy_timeout_ms" => {
                    options.busy_timeout = Duration::from_millis(parse_number(key, value)?);
                }
                "acquire_timeout_ms" => {
                    options.acquire_timeout = Duration::from_millis(parse_number(key, value)?);
                }
                "max_connections" => {
                    let n = parse_number(key, value)?;
                    options.max_connections = usize::try_from(n).map_err(|_| {
                        Error::Config(format!(
                            "SQLite URL parameter max_connections={value} is too large"
                        ))
                    })?;
                }
                "create" => {
                    options.create = match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(Error::Config(format!(
                                "SQLite URL parameter create={value:?} is not a boolean (expected true or false)"
                            )));
                        }
                    };
                }
                _ => {
                    return Err(Error::Config(format!(
                        "unknown SQLite URL parameter {key:?} (known: busy_timeout_ms, max_connections, acquire_timeout_ms, create, spin_us)"
                    )));
                }
            }
        }
        options.validate()?;
        Ok(options)
    }

    /// Sets how long a statement waits for a lock before [`Error::LockTimeout`].
    pub fn with_busy_timeout(mut self, timeout: Duration) -> SqliteOptions {
        self.busy_timeout = timeout;
        self
    }

    /// Sets the most connections the driver opens (at least 1).
    pub fn with_max_connections(mut self, max: usize) -> SqliteOptions {
        self.max_connections = max;
        self
    }

    /// Sets how long taking a connection waits while all are checked out (see
    /// [`SqliteOptions::acquire_timeout`]).
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// use std::time::Duration;
    /// let o = SqliteOptions::memory().with_acquire_timeout(Duration::from_millis(200));
    /// assert_eq!(o.acquire_timeout, Duration::from_millis(200));
    /// ```
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> SqliteOptions {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets whether a missing database file is created.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// assert!(!SqliteOptions::file("app.db").with_create(false).create);
    /// ```
    pub fn with_create(mut self, create: bool) -> SqliteOptions {
        self.create = create;
        self
    }

    /// Checks that the options are usable.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_connections == 0 {
            return Err(Error::Config(
                "SQLite max_connections must be at least 1".into(),
            ));
        }
        if self.target == SqliteTarget::File(PathBuf::new()) {
            return Err(Error::Config("SQLite database path is empty".into()));
        }
        Ok(())
    }
}

impl FromStr for SqliteOptions {
    type Err = Error;

    fn from_str(url: &str) -> Result<SqliteOptions, Error> {
        SqliteOptions::from_url(url)
    }
}

fn parse_number(key: &str, value: &str) -> Result<u64, Error> {
    value.parse().map_err(|_| {
        Error::Config(format!(
            "SQLite URL parameter {key}={value:?} is not a non-negative integer"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_message(url: &str) -> String {
        match SqliteOptions::from_url(url) {
            Err(Error::Config(message)) => message,
            other => panic!("{url}: expected Error::Config, got {other:?}"),
        }
    }

    #[test]
    fn path_forms() {
        let file = |url: &str| SqliteOptions::from_url(url).unwrap().target;
        assert_eq!(
            file("sqlite://rel/app.db"),
            SqliteTarget::File("rel/app.db".into())
        );
        assert_eq!(file("sqlite:app.db"), SqliteTarget::File("app.db".into()));
        assert_eq!(
            file("sqlite:///abs/app.db"),
            SqliteTarget::File("/abs/app.db".into())
        );
        assert_eq!(
            file("sqlite:/abs/app.db"),
            SqliteTarget::File("/abs/app.db".into())
        );
        assert_eq!(file("sqlite::memory:"), SqliteTarget::Memory);
        assert_eq!(file("sqlite://:memory:"), SqliteTarget::Memory);
    }

    #[test]
    fn defaults() {
        for url in ["sqlite:app.db", "sqlite::memory:"] {
            let o = SqliteOptions::from_url(url).unwrap();
            assert_eq!(o.busy_timeout, Duration::from_millis(5000), "{url}");
            assert_eq!(o.max_connections, 4, "{url}");
            assert_eq!(o.acquire_timeout, Duration::from_secs(30), "{url}");
            assert!(o.create, "{url}");
        }
    }

    #[test]
    fn parameters() {
        let o = SqliteOptions::from_url(
            "sqlite://app.db?busy_timeout_ms=100&max_connections=1&create=false&acquire_timeout_ms=250",
        )
        .unwrap();
        assert_eq!(o.acquire_timeout, Duration::from_millis(250));
        assert_eq!(o.target, SqliteTarget::File("app.db".into()));
        assert_eq!(o.busy_timeout, Duration::from_millis(100));
        assert_eq!(o.max_connections, 1);
        assert!(!o.create);
        let m = SqliteOptions::from_url("sqlite::memory:?max_connections=2").unwrap();
        assert_eq!(m.target, SqliteTarget::Memory);
        assert_eq!(m.max_connections, 2);
    }

    #[test]
    fn bad_urls_are_config_errors() {
        assert!(config_message("mysql://x").contains("not a SQLite URL"));
        assert!(config_message("sqlite://").contains("names no database file"));
        assert!(config_message("sqlite:").contains("names no database file"));
        assert!(
            config_message("sqlite:a.db?timeout=1")
                .contains("unknown SQLite URL parameter \"timeout\"")
        );
        assert!(config_message("sqlite:a.db?busy_timeout_ms=-1").contains("busy_timeout_ms"));
        assert!(config_message("sqlite:a.db?max_connections=0").contains("at least 1"));
        assert!(
            config_message("sqlite:a.db?acquire_timeout_ms=soon").contains("acquire_timeout_ms")
        );
        assert!(config_message("sqlite:a.db?create=maybe").contains("not a boolean"));
        assert!(config_message("sqlite:a.db?create").contains("has no value"));
    }

    #[test]
    fn builder_and_from_str() {
        let o: SqliteOptions = "sqlite:x.db".parse().unwrap();
        let o = o
            .with_busy_timeout(Duration::from_millis(7))
            .with_max_connections(3)
            .with_acquire_timeout(Duration::from_millis(9))
            .with_create(false);
        assert_eq!(o.busy_timeout, Duration::from_millis(7));
        assert_eq!(o.acquire_timeout, Duration::from_millis(9));
        assert_eq!(o.max_connections, 3);
        assert!(!o.create);
        assert!(
            SqliteOptions::memory()
                .with_max_connections(0)
                .validate()
                .is_err()
        );
        assert!(SqliteOptions::file("").validate().is_err());
    }
}
