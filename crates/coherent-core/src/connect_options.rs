//! [`ConnectOptions`]: where the database is, how its connections are pooled, and how long a
//! statement may run or wait for a lock, for every backend, built in code or read from the URL.
//!
//! Policy:
//! - **One struct for every backend.** A field a backend cannot honour is ignored there, and
//!   its documentation says so (the SQLite-only fields: [`ConnectOptions::journal_mode`],
//!   [`ConnectOptions::synchronous`], [`ConnectOptions::spin`], [`ConnectOptions::create`];
//!   the servers-only [`ConnectOptions::idle_check`]).
//! - **Every URL parameter is a field.** [`ConnectOptions::from_url`] (and
//!   [`ConnectOptions::resolve`], which the drivers call) move Coherent's parameters out of the
//!   URL onto the fields, over what the fields held:
//!
//!   | parameter | field |
//!   |---|---|
//!   | `max_connections`, `min_connections` | [`ConnectOptions::max_connections`], [`ConnectOptions::min_connections`] |
//!   | `acquire_timeout_ms` | [`ConnectOptions::acquire_timeout`] |
//!   | `idle_timeout_ms` (0: never) | [`ConnectOptions::idle_timeout`] |
//!   | `idle_check_ms` (0: ping at every checkout) | [`ConnectOptions::idle_check`] |
//!   | `max_lifetime_ms` (0: unlimited) | [`ConnectOptions::max_lifetime`] |
//!   | `statement_timeout_ms` (0: none) | [`ConnectOptions::statement_timeout`] |
//!   | `lock_timeout_ms`, or its SQLite name `busy_timeout_ms` | [`ConnectOptions::lock_timeout`] |
//!   | `journal_mode` (`wal`, `delete`, ..) | [`ConnectOptions::journal_mode`] |
//!   | `synchronous` (`off`, `normal`, `full`, `extra`) | [`ConnectOptions::synchronous`] |
//!   | `spin_us` | [`ConnectOptions::spin`] |
//!   | `create` (`true`/`false`) | [`ConnectOptions::create`] |
//!
//!   A value that does not parse (or an `acquire_timeout_ms` of 0) is [`Error::Config`]
//!   naming the parameter. On a server URL the other parameters stay in the URL for sqlx
//!   (`sslmode`, ..), except one spelled like Coherent's (ending in `_ms` or `_us`, or one
//!   of its names without the unit, such as `statement_timeout`), which is [`Error::Config`]:
//!   sqlx ignores what it does not know. On a `sqlite:` URL every unknown parameter is
//!   [`Error::Config`] naming it: a typo must not be silently ignored.
//! - **Defaults** are sqlx's where sqlx has one (so a server pool behaves as before): at most
//!   10 connections on a server and 4 on SQLite, none kept open, 30 s to acquire, idle ones
//!   closed after 10 min, every one replaced after 30 min; no statement timeout; the server's
//!   own lock wait (PostgreSQL: none, MariaDB: 50 s) and 5 s on SQLite.

use crate::error::{Error, Result};
use std::time::Duration;

/// The default of [`ConnectOptions::max_connections`] on PostgreSQL and MySQL/MariaDB.
pub const DEFAULT_MAX_CONNECTIONS_SERVER: u32 = 10;
/// The default of [`ConnectOptions::max_connections`] on SQLite.
pub const DEFAULT_MAX_CONNECTIONS_SQLITE: u32 = 4;

/// How to connect: the URL and the typed options beside it. Every field has a chainable
/// setter of the same name, and a struct literal with `..Default::default()` works too.
///
/// ```
/// use coherent_core::{ConnectOptions, JournalMode};
/// use std::time::Duration;
///
/// let built = ConnectOptions::new("postgres://app@db/app")
///     .max_connections(20)
///     .min_connections(2)
///     .statement_timeout(Duration::from_secs(5))
///     .lock_timeout(Duration::from_secs(2));
/// let literal = ConnectOptions {
///     url: "sqlite://app.db".into(),
///     journal_mode: JournalMode::Delete,
///     ..Default::default()
/// };
/// let parsed = ConnectOptions::from_url(
///     "postgres://app@db/app?max_connections=20&min_connections=2&statement_timeout_ms=5000&lock_timeout_ms=2000",
/// )?;
/// assert_eq!(parsed, built);
/// assert_eq!(literal.max_connections, None); // the backend's: 4 on SQLite
/// # Ok::<(), coherent_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The database: `sqlite://path.db`, `sqlite::memory:`, `postgres://user@host/db`,
    /// `mysql://` or `mariadb://`. Coherent's parameters in it are applied over the fields
    /// when connecting ([`ConnectOptions::resolve`]).
    pub url: String,
    /// The most connections the pool opens (`None`: 10 on a server, 4 on SQLite, each a
    /// thread there).
    pub max_connections: Option<u32>,
    /// How many connections the pool opens at once and keeps open, idle or not (default 0;
    /// SQLite opens at least one at once, to check the database). At most `max_connections`.
    pub min_connections: u32,
    /// How long taking a connection waits while all are in use, before
    /// [`Error::Connection`] with nothing sent (retryable; default 30 s).
    pub acquire_timeout: Duration,
    /// A connection idle in the pool this long is closed, as long as
    /// [`ConnectOptions::min_connections`] stay open (default 10 min; `None`: never).
    pub idle_timeout: Option<Duration>,
    /// A server connection idle in the pool longer than this is pinged before it is handed
    /// out (default 5 s): the server or a proxy may have closed it meanwhile. SQLite
    /// connections cannot go stale: ignored there.
    pub idle_check: Duration,
    /// A connection open this long is closed instead of reused (default 30 min; `None`: no
    /// limit). On the servers the connection kept for the next checkout goes back to the pool
    /// at least this often, where it is checked too.
    pub max_lifetime: Option<Duration>,
    /// A statement running longer is cancelled with [`Error::StatementTimeout`] (default
    /// `None`: no limit): PostgreSQL's `statement_timeout`, MariaDB's `max_statement_time`
    /// (MySQL has no such variable: a set timeout fails there when connecting), SQLite's
    /// progress handler.
    pub statement_timeout: Option<Duration>,
    /// A statement waiting this long for a lock fails with [`Error::LockTimeout`]
    /// (retryable): PostgreSQL's `lock_timeout` (milliseconds, at least 1), MySQL's
    /// `innodb_lock_wait_timeout` (whole seconds, rounded up, at least 1), SQLite's busy
    /// timeout. `None`: the server's own (PostgreSQL: no limit; MariaDB: 50 s) and 5 s on
    /// SQLite.
    pub lock_timeout: Option<Duration>,
    /// SQLite only: the journal mode of a database file (default [`JournalMode::Wal`]). An
    /// in-memory database keeps its own.
    pub journal_mode: JournalMode,
    /// SQLite only: how often SQLite waits for the disk (default [`Synchronous::Normal`]). An
    /// in-memory database never does: it keeps its own.
    pub synchronous: Synchronous,
    /// SQLite only: how long a caller polls for a batch's answer, and a connection thread for
    /// its next batch, before parking (default 50 µs; zero disables it).
    pub spin: Duration,
    /// SQLite only: create the database file if it is missing (default true).
    pub create: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            url: String::new(),
            max_connections: None,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            idle_check: Duration::from_secs(5),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            statement_timeout: None,
            lock_timeout: None,
            journal_mode: JournalMode::Wal,
            synchronous: Synchronous::Normal,
            spin: Duration::from_micros(50),
            create: true,
        }
    }
}

crate::setters!(ConnectOptions {
    /// Sets the database URL.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// assert_eq!(ConnectOptions::default().url("sqlite::memory:").url, "sqlite::memory:");
    /// ```
    url: impl Into<String> => url.into(),
    /// Sets the most connections the pool opens.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// assert_eq!(ConnectOptions::default().max_connections(20).max_connections, Some(20));
    /// ```
    max_connections: u32 => Some(max_connections),
    /// Sets how many connections the pool keeps open.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// assert_eq!(ConnectOptions::default().min_connections(2).min_connections, 2);
    /// ```
    min_connections: u32 => min_connections,
    /// Sets how long taking a connection waits while all are in use.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// let o = ConnectOptions::default().acquire_timeout(Duration::from_secs(1));
    /// assert_eq!(o.acquire_timeout, Duration::from_secs(1));
    /// ```
    acquire_timeout: Duration => acquire_timeout,
    /// Sets how long a connection may sit idle before it is closed (`None`: never).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// assert_eq!(ConnectOptions::default().idle_timeout(None).idle_timeout, None);
    /// let o = ConnectOptions::default().idle_timeout(Duration::from_secs(60));
    /// assert_eq!(o.idle_timeout, Some(Duration::from_secs(60)));
    /// ```
    idle_timeout: impl Into<Option<Duration>> => idle_timeout.into(),
    /// Sets after how long idle a server connection is pinged before it is handed out.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// let o = ConnectOptions::default().idle_check(Duration::from_secs(1));
    /// assert_eq!(o.idle_check, Duration::from_secs(1));
    /// ```
    idle_check: Duration => idle_check,
    /// Sets how long a connection may live (`None`: no limit).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// let o = ConnectOptions::default().max_lifetime(Duration::from_secs(3600));
    /// assert_eq!(o.max_lifetime, Some(Duration::from_secs(3600)));
    /// ```
    max_lifetime: impl Into<Option<Duration>> => max_lifetime.into(),
    /// Sets how long a statement may run (`None`: no limit).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// let o = ConnectOptions::default().statement_timeout(Duration::from_secs(5));
    /// assert_eq!(o.statement_timeout, Some(Duration::from_secs(5)));
    /// ```
    statement_timeout: impl Into<Option<Duration>> => statement_timeout.into(),
    /// Sets how long a statement may wait for a lock (`None`: the backend's own).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// let o = ConnectOptions::default().lock_timeout(Duration::from_millis(500));
    /// assert_eq!(o.lock_timeout, Some(Duration::from_millis(500)));
    /// ```
    lock_timeout: impl Into<Option<Duration>> => lock_timeout.into(),
    /// Sets the journal mode of a SQLite database file.
    ///
    /// ```
    /// use coherent_core::{ConnectOptions, JournalMode};
    /// let o = ConnectOptions::new("sqlite://app.db").journal_mode(JournalMode::Truncate);
    /// assert_eq!(o.journal_mode, JournalMode::Truncate);
    /// ```
    journal_mode: JournalMode => journal_mode,
    /// Sets SQLite's synchronous level.
    ///
    /// ```
    /// use coherent_core::{ConnectOptions, Synchronous};
    /// let o = ConnectOptions::new("sqlite://app.db").synchronous(Synchronous::Full);
    /// assert_eq!(o.synchronous, Synchronous::Full);
    /// ```
    synchronous: Synchronous => synchronous,
    /// Sets how long either side of a SQLite connection polls before parking.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// use std::time::Duration;
    /// assert_eq!(ConnectOptions::default().spin(Duration::ZERO).spin, Duration::ZERO);
    /// ```
    spin: Duration => spin,
    /// Sets whether a missing SQLite database file is created.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// assert!(!ConnectOptions::new("sqlite://app.db").create(false).create);
    /// ```
    create: bool => create,
});

impl ConnectOptions {
    /// Options for `url`, with the defaults (its parameters are applied when connecting).
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// let o = ConnectOptions::new("sqlite::memory:");
    /// assert_eq!(o.url, "sqlite::memory:");
    /// assert_eq!(o.min_connections, 0);
    /// ```
    pub fn new(url: impl Into<String>) -> ConnectOptions {
        ConnectOptions {
            url: url.into(),
            ..ConnectOptions::default()
        }
    }

    /// Parses `url`: Coherent's parameters become fields (see the module documentation),
    /// the rest stays in [`ConnectOptions::url`].
    ///
    /// ```
    /// use coherent_core::{ConnectOptions, Error, Synchronous};
    /// use std::time::Duration;
    /// let o = ConnectOptions::from_url("sqlite://app.db?busy_timeout_ms=250&synchronous=full")?;
    /// assert_eq!(o.url, "sqlite://app.db");
    /// assert_eq!(o.lock_timeout, Some(Duration::from_millis(250)));
    /// assert_eq!(o.synchronous, Synchronous::Full);
    /// let o = ConnectOptions::from_url("postgres://h/db?sslmode=disable&idle_timeout_ms=0")?;
    /// assert_eq!((o.url.as_str(), o.idle_timeout), ("postgres://h/db?sslmode=disable", None));
    /// let err = ConnectOptions::from_url("sqlite://app.db?journal_mode=fast").unwrap_err();
    /// assert!(matches!(err, Error::Config(m) if m.contains("journal_mode")));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_url(url: &str) -> Result<ConnectOptions> {
        ConnectOptions::new(url).resolve()
    }

    /// Applies the Coherent parameters left in [`ConnectOptions::url`] over the fields, takes
    /// them out of the URL and checks the result: what every driver does before it connects.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// let o = ConnectOptions::new("mysql://h/db?max_connections=3").min_connections(1).resolve()?;
    /// assert_eq!((o.url.as_str(), o.max_connections, o.min_connections), ("mysql://h/db", Some(3), 1));
    /// assert!(ConnectOptions::new("mysql://h/db").min_connections(11).resolve().is_err());
    /// # Ok::<(), coherent_core::Error>(())
    /// ```
    pub fn resolve(mut self) -> Result<ConnectOptions> {
        let url = std::mem::take(&mut self.url);
        let sqlite = url.starts_with("sqlite:");
        let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.split_once('=') {
                Some(kv) => kv,
                None if sqlite || is_known(pair) => {
                    return Err(Error::Config(format!(
                        "URL parameter {pair:?} has no value (expected {pair}=..)"
                    )));
                }
                None => (pair, ""),
            };
            if !self.apply(key, value)? {
                if sqlite {
                    return Err(Error::Config(format!(
                        "unknown SQLite URL parameter {key:?} (known: {})",
                        KNOWN.join(", ")
                    )));
                }
                if spelled_like_ours(key) {
                    return Err(Error::Config(format!(
                        "unknown URL parameter {key:?}: it is spelled like one of Coherent's ({}), and sqlx would ignore it",
                        KNOWN.join(", ")
                    )));
                }
                rest.push(pair);
            }
        }
        self.url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        self.validate()?;
        Ok(self)
    }

    /// The most connections, with the backend's default filled in.
    ///
    /// ```
    /// use coherent_core::ConnectOptions;
    /// assert_eq!(ConnectOptions::new("sqlite::memory:").pool_max(), 4);
    /// assert_eq!(ConnectOptions::new("postgres://h/db").pool_max(), 10);
    /// ```
    pub fn pool_max(&self) -> u32 {
        self.max_connections
            .unwrap_or(if self.url.starts_with("sqlite:") {
                DEFAULT_MAX_CONNECTIONS_SQLITE
            } else {
                DEFAULT_MAX_CONNECTIONS_SERVER
            })
    }

    /// Checks the fields: at least one connection, `min_connections` at most the maximum.
    fn validate(&self) -> Result<()> {
        if self.max_connections == Some(0) {
            return Err(Error::Config("max_connections must be at least 1".into()));
        }
        if self.acquire_timeout.is_zero() {
            return Err(Error::Config(
                "acquire_timeout (acquire_timeout_ms) must be more than 0: with 0 every checkout that has to wait for a connection fails"
                    .into(),
            ));
        }
        if self.min_connections > self.pool_max() {
            return Err(Error::Config(format!(
                "min_connections ({}) must be at most max_connections ({})",
                self.min_connections,
                self.pool_max()
            )));
        }
        Ok(())
    }

    /// Applies one URL parameter; false if it is not one of Coherent's.
    fn apply(&mut self, key: &str, value: &str) -> Result<bool> {
        let millis = || number(key, value).map(Duration::from_millis);
        let optional = || millis().map(|d| (!d.is_zero()).then_some(d));
        match key {
            "max_connections" => self.max_connections = Some(count(key, value)?),
            "min_connections" => self.min_connections = count(key, value)?,
            "acquire_timeout_ms" => self.acquire_timeout = millis()?,
            "idle_timeout_ms" => self.idle_timeout = optional()?,
            "idle_check_ms" => self.idle_check = millis()?,
            "max_lifetime_ms" => self.max_lifetime = optional()?,
            "statement_timeout_ms" => self.statement_timeout = optional()?,
            "lock_timeout_ms" | "busy_timeout_ms" => self.lock_timeout = Some(millis()?),
            "journal_mode" => self.journal_mode = named(key, value, JournalMode::ALL)?,
            "synchronous" => self.synchronous = named(key, value, Synchronous::ALL)?,
            "spin_us" => self.spin = Duration::from_micros(number(key, value)?),
            "create" => {
                self.create = match value {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(Error::Config(format!(
                            "URL parameter create={value:?} is not a boolean (expected true or false)"
                        )));
                    }
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A timeout in PostgreSQL's milliseconds (`lock_timeout`, `statement_timeout`): rounded up,
/// at least 1, since 0 means "no limit" there. The ORM's per-transaction lock wait and the
/// driver's configured one are stated alike.
///
/// ```
/// use coherent_core::connect_options::postgres_millis;
/// use std::time::Duration;
/// assert_eq!(postgres_millis(Duration::from_micros(1500)), 2);
/// assert_eq!(postgres_millis(Duration::ZERO), 1);
/// ```
pub fn postgres_millis(timeout: Duration) -> u128 {
    timeout.as_nanos().div_ceil(1_000_000).max(1)
}

/// A timeout in MySQL's whole seconds (`innodb_lock_wait_timeout`): rounded up, at least 1
/// (a sub-second lock timeout waits a second there).
///
/// ```
/// use coherent_core::connect_options::mysql_seconds;
/// use std::time::Duration;
/// assert_eq!(mysql_seconds(Duration::from_millis(200)), 1);
/// assert_eq!(mysql_seconds(Duration::from_millis(2001)), 3);
/// ```
pub fn mysql_seconds(timeout: Duration) -> u128 {
    timeout.as_nanos().div_ceil(1_000_000_000).max(1)
}

/// Coherent's URL parameters.
const KNOWN: &[&str] = &[
    "max_connections",
    "min_connections",
    "acquire_timeout_ms",
    "idle_timeout_ms",
    "idle_check_ms",
    "max_lifetime_ms",
    "statement_timeout_ms",
    "lock_timeout_ms",
    "busy_timeout_ms",
    "journal_mode",
    "synchronous",
    "spin_us",
    "create",
];

fn is_known(key: &str) -> bool {
    KNOWN.contains(&key)
}

/// A server URL parameter Coherent does not know but that looks like one of its own (a
/// duration in `_ms` or `_us`, or a parameter's name without its unit): the rest go to sqlx,
/// which ignores what it does not know (MySQL) or only logs it (PostgreSQL), so a misspelt
/// `statement_timeout=5000` would set no timeout without a word. sqlx's own parameters carry
/// no such suffix.
fn spelled_like_ours(key: &str) -> bool {
    key.ends_with("_ms")
        || key.ends_with("_us")
        || KNOWN
            .iter()
            .any(|known| known.trim_end_matches("_ms").trim_end_matches("_us") == key)
}

fn number(key: &str, value: &str) -> Result<u64> {
    value.parse().map_err(|_| {
        Error::Config(format!(
            "URL parameter {key}={value:?} is not a non-negative integer"
        ))
    })
}

fn count(key: &str, value: &str) -> Result<u32> {
    u32::try_from(number(key, value)?)
        .map_err(|_| Error::Config(format!("URL parameter {key}={value} is too large")))
}

/// One of `all`, by its name in any case.
fn named<T: Copy + Named>(key: &str, value: &str, all: &[T]) -> Result<T> {
    all.iter()
        .copied()
        .find(|v| v.name().eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            let names: Vec<String> = all.iter().map(|v| v.name().to_ascii_lowercase()).collect();
            Error::Config(format!(
                "URL parameter {key}={value:?} is not one of {}",
                names.join(", ")
            ))
        })
}

/// An option's SQL name.
trait Named {
    fn name(self) -> &'static str;
}

/// SQLite's journal mode (`PRAGMA journal_mode`) for a database file: how it keeps a write
/// transaction undoable.
///
/// ```
/// use coherent_core::JournalMode;
/// assert_eq!(JournalMode::default(), JournalMode::Wal);
/// assert_eq!(JournalMode::Truncate.as_sql(), "TRUNCATE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JournalMode {
    /// A rollback journal, deleted at the end of each transaction (SQLite's own default).
    Delete,
    /// A rollback journal, truncated instead of deleted.
    Truncate,
    /// A rollback journal, its header zeroed instead.
    Persist,
    /// The rollback journal in memory: a crash mid-transaction may corrupt the file.
    Memory,
    /// Write-ahead log (the default): readers do not block the writer nor it them.
    #[default]
    Wal,
    /// No journal: no rollback, a crash may corrupt the file.
    Off,
}

impl JournalMode {
    const ALL: &'static [JournalMode] = &[
        JournalMode::Delete,
        JournalMode::Truncate,
        JournalMode::Persist,
        JournalMode::Memory,
        JournalMode::Wal,
        JournalMode::Off,
    ];

    /// The name `PRAGMA journal_mode` takes and answers (in upper case).
    pub fn as_sql(self) -> &'static str {
        match self {
            JournalMode::Delete => "DELETE",
            JournalMode::Truncate => "TRUNCATE",
            JournalMode::Persist => "PERSIST",
            JournalMode::Memory => "MEMORY",
            JournalMode::Wal => "WAL",
            JournalMode::Off => "OFF",
        }
    }
}

impl Named for JournalMode {
    fn name(self) -> &'static str {
        self.as_sql()
    }
}

/// SQLite's synchronous level (`PRAGMA synchronous`): how often it waits for the disk.
///
/// ```
/// use coherent_core::Synchronous;
/// assert_eq!(Synchronous::default(), Synchronous::Normal);
/// assert_eq!((Synchronous::Full.as_sql(), Synchronous::Full.level()), ("FULL", 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Synchronous {
    /// Never: fastest; a power loss may corrupt the database.
    Off,
    /// At the critical moments (the default): with WAL, a power loss may lose the last
    /// commits, never consistency.
    #[default]
    Normal,
    /// At every commit.
    Full,
    /// At every commit, and the directory after a journal is unlinked.
    Extra,
}

impl Synchronous {
    const ALL: &'static [Synchronous] = &[
        Synchronous::Off,
        Synchronous::Normal,
        Synchronous::Full,
        Synchronous::Extra,
    ];

    /// The name `PRAGMA synchronous` takes.
    pub fn as_sql(self) -> &'static str {
        match self {
            Synchronous::Off => "OFF",
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
            Synchronous::Extra => "EXTRA",
        }
    }

    /// The number `PRAGMA synchronous` answers (0 to 3).
    pub fn level(self) -> i64 {
        match self {
            Synchronous::Off => 0,
            Synchronous::Normal => 1,
            Synchronous::Full => 2,
            Synchronous::Extra => 3,
        }
    }
}

impl Named for Synchronous {
    fn name(self) -> &'static str {
        self.as_sql()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_message(url: &str) -> String {
        match ConnectOptions::from_url(url) {
            Err(Error::Config(message)) => message,
            other => panic!("{url}: expected Error::Config, got {other:?}"),
        }
    }

    #[test]
    fn every_parameter_maps_onto_its_field() {
        let o = ConnectOptions::from_url(
            "sqlite://app.db?max_connections=8&min_connections=2&acquire_timeout_ms=100\
             &idle_timeout_ms=200&idle_check_ms=300&max_lifetime_ms=400&statement_timeout_ms=500\
             &lock_timeout_ms=600&journal_mode=truncate&synchronous=EXTRA&spin_us=7&create=false",
        )
        .unwrap();
        let expected = ConnectOptions::new("sqlite://app.db")
            .max_connections(8)
            .min_connections(2)
            .acquire_timeout(Duration::from_millis(100))
            .idle_timeout(Duration::from_millis(200))
            .idle_check(Duration::from_millis(300))
            .max_lifetime(Duration::from_millis(400))
            .statement_timeout(Duration::from_millis(500))
            .lock_timeout(Duration::from_millis(600))
            .journal_mode(JournalMode::Truncate)
            .synchronous(Synchronous::Extra)
            .spin(Duration::from_micros(7))
            .create(false);
        assert_eq!(o, expected);
        let busy = ConnectOptions::from_url("sqlite::memory:?busy_timeout_ms=0").unwrap();
        assert_eq!(busy.lock_timeout, Some(Duration::ZERO));
        assert_eq!(busy.url, "sqlite::memory:");
    }

    #[test]
    fn zero_turns_the_optional_limits_off() {
        let o = ConnectOptions::from_url(
            "postgres://h/db?idle_timeout_ms=0&max_lifetime_ms=0&statement_timeout_ms=0",
        )
        .unwrap();
        assert_eq!(
            (o.idle_timeout, o.max_lifetime, o.statement_timeout),
            (None, None, None)
        );
    }

    #[test]
    fn url_parameters_win_over_fields() {
        let o = ConnectOptions::new("postgres://h/db?max_connections=3&application_name=x")
            .max_connections(30)
            .min_connections(1)
            .resolve()
            .unwrap();
        assert_eq!(o.max_connections, Some(3));
        assert_eq!(o.min_connections, 1);
        assert_eq!(o.url, "postgres://h/db?application_name=x");
    }

    #[test]
    fn defaults() {
        let o = ConnectOptions::from_url("mysql://h/db").unwrap();
        assert_eq!(o, ConnectOptions::new("mysql://h/db"));
        assert_eq!(o.acquire_timeout, Duration::from_secs(30));
        assert_eq!(o.idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(o.max_lifetime, Some(Duration::from_secs(1800)));
        assert_eq!(o.idle_check, Duration::from_secs(5));
        assert_eq!((o.statement_timeout, o.lock_timeout), (None, None));
        assert_eq!(o.pool_max(), 10);
        assert_eq!(
            ConnectOptions::from_url("sqlite:a.db").unwrap().pool_max(),
            4
        );
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (url, names) in [
            ("postgres://h/db?max_connections=lots", "max_connections"),
            ("postgres://h/db?min_connections=-1", "min_connections"),
            ("mysql://h/db?acquire_timeout_ms=soon", "acquire_timeout_ms"),
            ("mysql://h/db?idle_timeout_ms=1.5", "idle_timeout_ms"),
            ("mysql://h/db?idle_check_ms=", "idle_check_ms"),
            ("mysql://h/db?max_lifetime_ms=x", "max_lifetime_ms"),
            (
                "mysql://h/db?statement_timeout_ms=2s",
                "statement_timeout_ms",
            ),
            ("mysql://h/db?lock_timeout_ms=-5", "lock_timeout_ms"),
            ("sqlite:a.db?busy_timeout_ms=-1", "busy_timeout_ms"),
            ("sqlite:a.db?journal_mode=fast", "journal_mode"),
            ("sqlite:a.db?synchronous=sometimes", "synchronous"),
            ("sqlite:a.db?spin_us=x", "spin_us"),
            ("sqlite:a.db?create=maybe", "create"),
            ("sqlite:a.db?create", "create"),
            (
                "postgres://h/db?max_connections=99999999999",
                "max_connections",
            ),
        ] {
            assert!(
                config_message(url).contains(names),
                "{url}: {}",
                config_message(url)
            );
        }
        assert!(config_message("sqlite:a.db?max_connections=0").contains("at least 1"));
        assert!(config_message("sqlite:a.db?min_connections=5").contains("at most"));
        assert!(config_message("postgres://h/db?min_connections=11").contains("at most"));
        assert!(config_message("postgres://h/db?acquire_timeout_ms=0").contains("more than 0"));
        assert!(config_message("sqlite:a.db?acquire_timeout_ms=0").contains("more than 0"));
        assert!(config_message("sqlite:a.db?journal_mode=fast").contains("wal"));
    }

    #[test]
    fn unknown_parameters_are_refused_on_sqlite_and_passed_on_servers() {
        assert!(
            config_message("sqlite:a.db?timeout=1")
                .contains("unknown SQLite URL parameter \"timeout\"")
        );
        let o = ConnectOptions::from_url("postgres://h/db?sslmode=disable&flag").unwrap();
        assert_eq!(o.url, "postgres://h/db?sslmode=disable&flag");
        // Spelled like Coherent's, so a typo of one: refused rather than handed to sqlx.
        for url in [
            "mysql://h/db?statement_timeout=5000",
            "postgres://h/db?lock_timeout_secs_ms=1",
            "postgres://h/db?idle_timeout=60000",
            "mysql://h/db?spin=5",
        ] {
            let key = url.split_once('?').unwrap().1.split('=').next().unwrap();
            let message = config_message(url);
            assert!(
                message.contains(&format!("unknown URL parameter {key:?}")),
                "{message}"
            );
            assert!(message.contains("statement_timeout_ms"), "{message}");
        }
    }
}
