//! [`Migrations`]: the migrations a Migrator knows, from a directory, embedded in the
//! binary, or written in Rust, sorted by name.

use crate::error::{Error, Result};
use crate::migration::{Embedded, Migration, RustMigration, dir};
use std::path::Path;

/// A set of migrations, sorted by name (so by timestamp); names are unique.
///
/// ```
/// use coherent_migrate::migration::{Migration, Migrations};
/// let set = Migrations::new()
///     .with(Migration::sql("20260201000000_b", "b/up.sql", "SELECT 1;")?)?
///     .with(Migration::sql("20260101000000_a", "a/up.sql", "SELECT 1;")?)?;
/// assert_eq!(set.names().collect::<Vec<_>>(), ["20260101000000_a", "20260201000000_b"]);
/// assert!(set.clone().with(Migration::sql("20260101000000_a", "a/up.sql", "")?).is_err());
/// # Ok::<(), coherent_migrate::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Migrations {
    list: Vec<Migration>,
}

impl Migrations {
    /// No migration.
    pub fn new() -> Migrations {
        Migrations::default()
    }

    /// The migrations in the directory `dir` ([`dir`](crate::migration::dir) says what it
    /// holds); a malformed one is [`Error::Malformed`] naming its path.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrations> {
        Migrations::new().extend(dir::read(dir.as_ref())?)
    }

    /// The migrations [`embed_migrations!`](crate::embed_migrations) put into the binary.
    pub fn embedded(files: &[Embedded]) -> Result<Migrations> {
        Migrations::new().extend(
            files
                .iter()
                .map(Embedded::migration)
                .collect::<Result<Vec<_>>>()?,
        )
    }

    /// Adds a migration; a second one of the same name is [`Error::Malformed`].
    pub fn with(mut self, migration: Migration) -> Result<Migrations> {
        match self
            .list
            .binary_search_by(|m| m.name().cmp(migration.name()))
        {
            Ok(_) => Err(Error::Malformed {
                path: migration.name().into(),
                reason: format!("two migrations are named {}", migration.name()),
            }),
            Err(at) => {
                self.list.insert(at, migration);
                Ok(self)
            }
        }
    }

    /// Adds a migration written in Rust.
    pub fn rust(self, migration: impl RustMigration) -> Result<Migrations> {
        self.with(Migration::rust(migration)?)
    }

    /// Adds every migration of `other` (the SQL files and the Rust migrations of an
    /// application, say).
    pub fn merge(self, other: Migrations) -> Result<Migrations> {
        self.extend(other.list)
    }

    fn extend(self, migrations: impl IntoIterator<Item = Migration>) -> Result<Migrations> {
        migrations.into_iter().try_fold(self, Migrations::with)
    }

    /// The migration named `name`.
    pub fn get(&self, name: &str) -> Option<&Migration> {
        self.list
            .binary_search_by(|m| m.name().cmp(name))
            .ok()
            .map(|i| &self.list[i])
    }

    /// The migrations, by name.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.list.iter()
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(Migration::name)
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl<'a> IntoIterator for &'a Migrations {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
