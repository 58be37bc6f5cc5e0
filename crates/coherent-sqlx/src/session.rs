//! Session settings: those every connection gets when it opens (the configured statement and
//! lock timeouts, [`ConnectOptions`]), and the one the ORM changes for as long as it
//! holds a connection: the lock wait (`SET SESSION lock_timeout` on PostgreSQL, `SET SESSION
//! innodb_lock_wait_timeout` on MySQL), which bounds how long the statements of a scope
//! beside a suspended transaction wait for a row lock.
//!
//! Policy:
//! - **At connect.** PostgreSQL gets `statement_timeout` and `lock_timeout` as startup
//!   options (`-c name=value`: no round trip, and they become the session's defaults);
//!   MySQL/MariaDB one `SET SESSION max_statement_time = .., innodb_lock_wait_timeout = ..`
//!   right after connecting, only when one is configured. Units: PostgreSQL milliseconds,
//!   rounded up, at least 1 (0 would mean no limit); MariaDB's `max_statement_time` seconds
//!   with microseconds, at least 1 µs; `innodb_lock_wait_timeout` whole seconds, rounded up,
//!   at least 1 (a sub-second lock timeout waits a second there).
//! - **Back to the configured value.** The driver recognises the statement that changes the
//!   lock wait, and the one that restores it (`= DEFAULT`). When a connection still holding a
//!   changed setting is released, the driver restores the connection's configured value
//!   (PostgreSQL: `= DEFAULT`, which is the startup option's value; MySQL: the configured
//!   seconds, or `= DEFAULT` without one) after rolling back a transaction left open, before
//!   anyone else gets the connection, and closes it if that fails: a pooled connection never
//!   carries one unit of work's lock wait into the next.

use coherent_core::ConnectOptions;
use coherent_core::connect_options::{mysql_seconds, postgres_millis};
use std::time::Duration;

/// The longest setting statement recognised, with room to spare.
const MAX_SETTING_LEN: usize = 80;

/// Whether `sql` sets the session's `variable`: `Some(true)` to a value, `Some(false)` back to
/// its default (`= DEFAULT`), `None` for any other statement. Cheap for other statements: a
/// length check and a prefix comparison.
///
/// ```
/// use coherent_sqlx::session::lock_wait_change;
/// assert_eq!(lock_wait_change("SET SESSION lock_timeout = '1500ms'", "lock_timeout"), Some(true));
/// assert_eq!(lock_wait_change("set session lock_timeout = default", "lock_timeout"), Some(false));
/// assert_eq!(lock_wait_change("SET SESSION lock_timeout_x = 1", "lock_timeout"), None);
/// assert_eq!(lock_wait_change("SELECT 1", "lock_timeout"), None);
/// ```
pub fn lock_wait_change(sql: &str, variable: &str) -> Option<bool> {
    const PREFIX: &str = "SET SESSION ";
    let sql = sql.trim();
    if sql.len() > MAX_SETTING_LEN || !starts_with_ignore_case(sql, PREFIX) {
        return None;
    }
    let rest = sql[PREFIX.len()..].trim_start();
    if !starts_with_ignore_case(rest, variable) {
        return None;
    }
    let value = rest[variable.len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim();
    Some(!value.eq_ignore_ascii_case("DEFAULT"))
}

/// The statement that gives the session's `variable` back its configured `value`, or its
/// default.
///
/// ```
/// use coherent_sqlx::session::restore;
/// assert_eq!(restore("lock_timeout", None), "SET SESSION lock_timeout = DEFAULT");
/// assert_eq!(restore("innodb_lock_wait_timeout", Some("3".into())), "SET SESSION innodb_lock_wait_timeout = 3");
/// ```
pub fn restore(variable: &str, value: Option<String>) -> String {
    format!(
        "SET SESSION {variable} = {}",
        value.as_deref().unwrap_or("DEFAULT")
    )
}

/// MariaDB's `max_statement_time`: seconds with microseconds, rounded up, at least 1 µs.
///
/// ```
/// use coherent_sqlx::session::fractional_seconds;
/// use std::time::Duration;
/// assert_eq!(fractional_seconds(Duration::from_millis(1500)), "1.500000");
/// assert_eq!(fractional_seconds(Duration::ZERO), "0.000001");
/// ```
pub fn fractional_seconds(timeout: Duration) -> String {
    let micros = timeout.as_nanos().div_ceil(1_000).max(1);
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// The startup options that give a PostgreSQL session the configured timeouts.
///
/// ```
/// use coherent_core::ConnectOptions;
/// use coherent_sqlx::session::pg_settings;
/// let o = ConnectOptions::from_url("postgres://h/db?statement_timeout_ms=2500&lock_timeout_ms=100")?;
/// assert_eq!(pg_settings(&o), [("statement_timeout", "2500ms".to_string()), ("lock_timeout", "100ms".to_string())]);
/// # Ok::<(), coherent_core::Error>(())
/// ```
pub fn pg_settings(options: &ConnectOptions) -> Vec<(&'static str, String)> {
    [
        ("statement_timeout", options.statement_timeout),
        ("lock_timeout", options.lock_timeout),
    ]
    .into_iter()
    .filter_map(|(name, timeout)| Some((name, format!("{}ms", postgres_millis(timeout?)))))
    .collect()
}

/// The statement that gives a MySQL/MariaDB session the configured timeouts, if any is.
///
/// ```
/// use coherent_core::ConnectOptions;
/// use coherent_sqlx::session::mysql_settings;
/// let o = ConnectOptions::from_url("mysql://h/db?statement_timeout_ms=2500&lock_timeout_ms=100")?;
/// assert_eq!(
///     mysql_settings(&o).unwrap(),
///     "SET SESSION max_statement_time = 2.500000, innodb_lock_wait_timeout = 1"
/// );
/// assert_eq!(mysql_settings(&ConnectOptions::from_url("mysql://h/db")?), None);
/// # Ok::<(), coherent_core::Error>(())
/// ```
pub fn mysql_settings(options: &ConnectOptions) -> Option<String> {
    let settings: Vec<String> = [
        options
            .statement_timeout
            .map(|t| format!("max_statement_time = {}", fractional_seconds(t))),
        options
            .lock_timeout
            .map(|t| format!("innodb_lock_wait_timeout = {}", mysql_seconds(t))),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!settings.is_empty()).then(|| format!("SET SESSION {}", settings.join(", ")))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}
