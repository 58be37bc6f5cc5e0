//! Quoting identifiers in the SQL text Coherent writes by hand (where sea-query does not
//! render the statement).
//!
//! Policy: every identifier is quoted, the quote character doubled inside: `"name"` on
//! SQLite and PostgreSQL, `` `name` `` on MySQL/MariaDB.

use coherent_core::Dialect;

/// `name` quoted for `dialect`.
///
/// ```
/// use coherent_core::Dialect;
/// use coherent_sql::ident::quote;
/// assert_eq!(quote(Dialect::Postgres, r#"a"b"#), r#""a""b""#);
/// assert_eq!(quote(Dialect::MySql, "users"), "`users`");
/// ```
pub fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}
