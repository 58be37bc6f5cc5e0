//! [`Embedded`]: a migration's files as `embed_migrations!` puts them into the binary.

use crate::error::Result;
use crate::migration::Migration;

/// One migration directory embedded at compile time by
/// [`embed_migrations!`](crate::embed_migrations): its name and its files' paths and texts
/// (through `include_str!`, so editing a file rebuilds the binary). Built by the macro; read
/// with [`Migrations::embedded`](crate::migration::Migrations::embedded).
///
/// ```
/// use coherent_migrate::migration::{Embedded, Migrations};
/// let files = [Embedded {
///     name: "20260101000000_users",
///     up: ("migrations/20260101000000_users/up.sql", "CREATE TABLE users (id INT);"),
///     down: Some(("migrations/20260101000000_users/down.sql", "DROP TABLE users;")),
/// }];
/// assert_eq!(Migrations::embedded(&files)?.len(), 1);
/// # Ok::<(), coherent_migrate::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedded {
    /// The directory's name, `<timestamp>_<label>`.
    pub name: &'static str,
    /// The `up.sql`: its path (relative to the crate that embedded it) and its text.
    pub up: (&'static str, &'static str),
    /// The `down.sql`, if there is one.
    pub down: Option<(&'static str, &'static str)>,
}

impl Embedded {
    /// The migration; a malformed file is [`Error::Malformed`](crate::Error::Malformed).
    pub fn migration(&self) -> Result<Migration> {
        let migration = Migration::sql(self.name, self.up.0, self.up.1)?;
        match self.down {
            Some((path, text)) => migration.with_down(path, text),
            None => Ok(migration),
        }
    }
}
