//! [`SqliteOptions`]: where the database is and how the pool treats it: the SQLite driver's
//! resolved form of a [`ConnectOptions`].
//!
//! Policy:
//! - **URL forms.** `sqlite://path.db` and `sqlite:path.db` name a path relative to the
//!   working directory (or absolute, if it starts with `/`); `sqlite:///abs/path.db` names an
//!   absolute path; `sqlite::memory:` (or `sqlite://:memory:`) names a private in-memory
//!   database shared by all connections of one driver.
//! - **Query parameters** are [`ConnectOptions`]'s (see its module documentation):
//!   `max_connections` (default 4), `min_connections`, `acquire_timeout_ms` (default 30 000:
//!   how long taking a connection from the pool waits while all are checked out; then
//!   [`Error::Connection`] with nothing sent, retryable, as on the server backends),
//!   `idle_timeout_ms`, `max_lifetime_ms`, `statement_timeout_ms`, `lock_timeout_ms` or its
//!   old name `busy_timeout_ms` (default 5000), `journal_mode`, `synchronous`, `spin_us`
//!   (default 50), `create` (`true`/`false`, default `true`: create the file if it is
//!   missing). Anything else, or a value that does not parse, is an [`Error::Config`] naming
//!   the culprit: a typo in a URL must not be silently ignored.
//! - **The lock timeout is the busy timeout.** SQLite has one way to wait for a lock, its
//!   busy handler, so [`ConnectOptions::lock_timeout`] sets it; there is no separate
//!   `busy_timeout` option.
//! - Everything the URL can say can also be set with the chainable setters, one per field.

use coherent_core::{ConnectOptions, Error, JournalMode, Synchronous};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The default busy timeout: how long a statement waits for a lock before
/// [`Error::LockTimeout`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The default pool size.
pub const DEFAULT_MAX_CONNECTIONS: usize =
    coherent_core::connect_options::DEFAULT_MAX_CONNECTIONS_SQLITE as usize;

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
/// let m = SqliteOptions::memory().max_connections(8);
/// assert_eq!(m.target, SqliteTarget::Memory);
/// assert_eq!(m.max_connections, 8);
/// # Ok::<(), coherent_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database.
    pub target: SqliteTarget,
    /// How long a statement waits for a lock before failing with [`Error::LockTimeout`]
    /// ([`ConnectOptions::lock_timeout`]).
    pub busy_timeout: Duration,
    /// The most connections (worker threads) the driver opens; at least 1.
    pub max_connections: usize,
    /// How many connections the driver opens at once (at least one) and keeps open; at most
    /// `max_connections`.
    pub min_connections: usize,
    /// How long taking a connection waits while all [`SqliteOptions::max_connections`] are
    /// checked out, before [`Error::Connection`] with nothing sent (retryable): a pool
    /// exhausted by pinned transactions is reported, never waited on forever.
    pub acquire_timeout: Duration,
    /// An idle connection is closed after this long, while more than `min_connections` are
    /// open (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// A connection open this long is closed when it comes back instead of being reused
    /// (`None`: never).
    pub max_lifetime: Option<Duration>,
    /// A statement running longer is interrupted ([`Error::StatementTimeout`]; `None`: never).
    pub statement_timeout: Option<Duration>,
    /// The journal mode of a database file (an in-memory database keeps its own).
    pub journal_mode: JournalMode,
    /// The synchronous level of a database file.
    pub synchronous: Synchronous,
    /// Whether to create the database file if it is missing.
    pub create: bool,
    /// How long a caller polls for a batch's answer, and a connection thread for its next
    /// batch, before parking (`spin_us`, default 50 µs; 0 disables). Waking a parked thread
    /// costs 5 to 60 µs on a virtual machine, more than most statements take, so a short
    /// bounded spin keeps a find-then-flush request off the scheduler's slow path.
    pub spin: Duration,
}

coherent_core::setters!(SqliteOptions {
    /// Sets the database.
    ///
    /// ```
    /// use coherent_sqlite::{SqliteOptions, SqliteTarget};
    /// assert_eq!(SqliteOptions::file("a.db").target(SqliteTarget::Memory).target, SqliteTarget::Memory);
    /// ```
    target: SqliteTarget => target,
    /// Sets how long a statement waits for a lock before [`Error::LockTimeout`].
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// use std::time::Duration;
    /// let o = SqliteOptions::memory().busy_timeout(Duration::from_millis(7));
    /// assert_eq!(o.busy_timeout, Duration::from_millis(7));
    /// ```
    busy_timeout: Duration => busy_timeout,
    /// Sets the most connections the driver opens (at least 1).
    max_connections: usize => max_connections,
    /// Sets how many connections the driver keeps open.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// assert_eq!(SqliteOptions::memory().min_connections(2).min_connections, 2);
    /// ```
    min_connections: usize => min_connections,
    /// Sets how long taking a connection waits while all are checked out (see
    /// [`SqliteOptions::acquire_timeout`]).
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// use std::time::Duration;
    /// let o = SqliteOptions::memory().acquire_timeout(Duration::from_millis(200));
    /// assert_eq!(o.acquire_timeout, Duration::from_millis(200));
    /// ```
    acquire_timeout: Duration => acquire_timeout,
    /// Sets after how long idle a connection above `min_connections` is closed.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// assert_eq!(SqliteOptions::memory().idle_timeout(None).idle_timeout, None);
    /// ```
    idle_timeout: impl Into<Option<Duration>> => idle_timeout.into(),
    /// Sets how long a connection may live.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// use std::time::Duration;
    /// let o = SqliteOptions::memory().max_lifetime(Duration::from_secs(60));
    /// assert_eq!(o.max_lifetime, Some(Duration::from_secs(60)));
    /// ```
    max_lifetime: impl Into<Option<Duration>> => max_lifetime.into(),
    /// Sets how long a statement may run.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// use std::time::Duration;
    /// let o = SqliteOptions::memory().statement_timeout(Duration::from_secs(1));
    /// assert_eq!(o.statement_timeout, Some(Duration::from_secs(1)));
    /// ```
    statement_timeout: impl Into<Option<Duration>> => statement_timeout.into(),
    /// Sets the journal mode of a database file.
    ///
    /// ```
    /// use coherent_core::JournalMode;
    /// use coherent_sqlite::SqliteOptions;
    /// let o = SqliteOptions::file("a.db").journal_mode(JournalMode::Delete);
    /// assert_eq!(o.journal_mode, JournalMode::Delete);
    /// ```
    journal_mode: JournalMode => journal_mode,
    /// Sets the synchronous level.
    ///
    /// ```
    /// use coherent_core::Synchronous;
    /// use coherent_sqlite::SqliteOptions;
    /// assert_eq!(SqliteOptions::file("a.db").synchronous(Synchronous::Off).synchronous, Synchronous::Off);
    /// ```
    synchronous: Synchronous => synchronous,
    /// Sets whether a missing database file is created.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// assert!(!SqliteOptions::file("app.db").create(false).create);
    /// ```
    create: bool => create,
    /// Sets how long either side polls before parking.
    ///
    /// ```
    /// use coherent_sqlite::SqliteOptions;
    /// use std::time::Duration;
    /// assert_eq!(SqliteOptions::memory().spin(Duration::ZERO).spin, Duration::ZERO);
    /// ```
    spin: Duration => spin,
});

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
        SqliteOptions::resolved(SqliteTarget::File(path.into()), &ConnectOptions::default())
    }

    /// Options for a fresh in-memory database, with the defaults.
    pub fn memory() -> SqliteOptions {
        SqliteOptions::resolved(SqliteTarget::Memory, &ConnectOptions::default())
    }

    /// The options for `target` from resolved connect options.
    fn resolved(target: SqliteTarget, o: &ConnectOptions) -> SqliteOptions {
        let max_connections = o
            .max_connections
            .map_or(DEFAULT_MAX_CONNECTIONS, |n| n as usize);
        SqliteOptions {
            target,
            busy_timeout: o.lock_timeout.unwrap_or(DEFAULT_BUSY_TIMEOUT),
            max_connections,
            min_connections: o.min_connections as usize,
            acquire_timeout: o.acquire_timeout,
            idle_timeout: o.idle_timeout,
            max_lifetime: o.max_lifetime,
            statement_timeout: o.statement_timeout,
            journal_mode: o.journal_mode,
            synchronous: o.synchronous,
            create: o.create,
            spin: o.spin,
        }
    }

    /// The SQLite driver's form of `options` (whose URL must be a `sqlite:` one; its
    /// parameters are applied first, see [`ConnectOptions::resolve`]).
    ///
    /// ```
    /// use coherent_core::{ConnectOptions, Synchronous};
    /// use coherent_sqlite::{SqliteOptions, SqliteTarget};
    /// use std::time::Duration;
    /// let o = SqliteOptions::from_connect(
    ///     &ConnectOptions::new("sqlite:app.db").lock_timeout(Duration::from_secs(1)).synchronous(Synchronous::Full),
    /// )?;
    /// assert_eq!(o.target, SqliteTarget::File("app.db".into()));
    /// assert_eq!((o.busy_timeout, o.synchronous), (Duration::from_secs(1), Synchronous::Full));
    /// # Ok::<(), coherent_core::Error>(())
    /// ```
    pub fn from_connect(options: &ConnectOptions) -> Result<SqliteOptions, Error> {
        let url = options.url.as_str();
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(Error::Config(format!(
                "not a SQLite URL: {url:?} (expected sqlite://path.db, sqlite:path.db, sqlite:///abs/path.db or sqlite::memory:)"
            )));
        };
        let location = rest.split_once('?').map_or(rest, |(location, _)| location);
        let location = location.strip_prefix("//").unwrap_or(location);
        let target = match location {
            ":memory:" => SqliteTarget::Memory,
            "" => {
                return Err(Error::Config(format!(
                    "SQLite URL {url:?} names no database file (use sqlite::memory: for an in-memory database)"
                )));
            }
            path => SqliteTarget::File(path.into()),
        };
        let options = SqliteOptions::resolved(target, &options.clone().resolve()?);
        options.validate()?;
        Ok(options)
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
        SqliteOptions::from_connect(&ConnectOptions::new(url))
    }

    /// Checks that the options are usable.
    pub fn validate(&self) -> Result<(), Error> {
        if self.max_connections == 0 {
            return Err(Error::Config(
                "SQLite max_connections must be at least 1".into(),
            ));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::Config(format!(
                "SQLite min_connections ({}) must be at most max_connections ({})",
                self.min_connections, self.max_connections
            )));
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
            .busy_timeout(Duration::from_millis(7))
            .max_connections(3)
            .acquire_timeout(Duration::from_millis(9))
            .create(false);
        assert_eq!(o.busy_timeout, Duration::from_millis(7));
        assert_eq!(o.acquire_timeout, Duration::from_millis(9));
        assert_eq!(o.max_connections, 3);
        assert!(!o.create);
        assert!(
            SqliteOptions::memory()
                .max_connections(0)
                .validate()
                .is_err()
        );
        assert!(SqliteOptions::file("").validate().is_err());
    }
}
