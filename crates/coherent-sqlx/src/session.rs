//! Session settings the ORM changes for as long as it holds a connection: the lock wait
//! (`SET SESSION lock_timeout` on PostgreSQL, `SET SESSION innodb_lock_wait_timeout` on
//! MySQL), which bounds how long the statements of a scope beside a suspended transaction
//! wait for a row lock.
//!
//! Policy: the driver recognises the statement that changes the setting, and the one that
//! restores it (`= DEFAULT`). When a connection still holding a changed setting is released,
//! the driver restores the server's default (after rolling back a transaction left open)
//! before anyone else gets the connection, and closes it if that fails: a pooled connection
//! never carries one unit of work's lock wait into the next.

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

/// The statement that gives the session's `variable` back its default.
pub fn restore(variable: &str) -> String {
    format!("SET SESSION {variable} = DEFAULT")
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}
