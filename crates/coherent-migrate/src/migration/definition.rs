//! [`Migration`]: one migration, from SQL files or written in Rust.

use crate::error::{Error, Result};
use crate::migration::{RustMigration, SqlFile, checksum, name};
use std::path::Path;
use std::sync::Arc;

/// One migration: its name, its checksum and what it runs.
///
/// ```
/// use coherent_migrate::migration::Migration;
/// let m = Migration::sql("20260101000000_users", "migrations/20260101000000_users/up.sql", "CREATE TABLE users (id INT);")?
///     .with_down("migrations/20260101000000_users/down.sql", "DROP TABLE users;")?;
/// assert_eq!(m.name(), "20260101000000_users");
/// assert!(m.is_reversible());
/// assert!(Migration::sql("users", "users/up.sql", "").is_err()); // no timestamp
/// # Ok::<(), coherent_migrate::Error>(())
/// ```
#[derive(Clone)]
pub struct Migration {
    name: String,
    checksum: String,
    kind: Kind,
}

/// What a migration runs.
#[derive(Clone)]
pub(crate) enum Kind {
    /// `up.sql` and, if the migration can be reverted, `down.sql`.
    Sql { up: SqlFile, down: Option<SqlFile> },
    /// A migration written in Rust.
    Rust(Arc<dyn RustMigration>),
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Migration");
        d.field("name", &self.name)
            .field("checksum", &self.checksum);
        match &self.kind {
            Kind::Sql { up, down } => d.field("up", up).field("down", down),
            Kind::Rust(m) => d.field("rust", &m.source()),
        }
        .finish()
    }
}

impl Migration {
    /// An SQL migration named `name` whose `up.sql`, read from `up_path`, is `up_sql`. A
    /// malformed name or file is [`Error::Malformed`] (naming the migration's directory or
    /// the file).
    pub fn sql(name: &str, up_path: &str, up_sql: &str) -> Result<Migration> {
        name::check(name).map_err(|reason| Error::Malformed {
            path: Path::new(up_path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(name))
                .to_path_buf(),
            reason,
        })?;
        Ok(Migration {
            name: name.to_owned(),
            checksum: checksum::of_sql(up_sql),
            kind: Kind::Sql {
                up: SqlFile::parse(up_path, up_sql)?,
                down: None,
            },
        })
    }

    /// Adds the `down.sql` (read from `down_path`) that reverts an SQL migration; a
    /// malformed file is [`Error::Malformed`]. A Rust migration keeps its own `down`.
    pub fn with_down(mut self, down_path: &str, down_sql: &str) -> Result<Migration> {
        if let Kind::Sql { down, .. } = &mut self.kind {
            *down = Some(SqlFile::parse(down_path, down_sql)?);
        }
        Ok(self)
    }

    /// A migration written in Rust; a malformed name is [`Error::Malformed`].
    pub fn rust(migration: impl RustMigration) -> Result<Migration> {
        Migration::rust_shared(Arc::new(migration))
    }

    /// A migration written in Rust, shared.
    pub fn rust_shared(migration: Arc<dyn RustMigration>) -> Result<Migration> {
        let name = migration.name().to_owned();
        name::check(&name).map_err(|reason| Error::Malformed {
            path: migration.source().into(),
            reason,
        })?;
        Ok(Migration {
            checksum: checksum::of_rust(&name),
            name,
            kind: Kind::Rust(migration),
        })
    }

    /// The name, `<timestamp>_<label>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The checksum ([`checksum`](crate::migration::checksum)).
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// Whether the migration can be reverted: a Rust migration, or an SQL one with a
    /// `down.sql`.
    pub fn is_reversible(&self) -> bool {
        match &self.kind {
            Kind::Sql { down, .. } => down.is_some(),
            Kind::Rust(_) => true,
        }
    }

    /// The `up.sql` of an SQL migration.
    pub fn up_file(&self) -> Option<&SqlFile> {
        match &self.kind {
            Kind::Sql { up, .. } => Some(up),
            Kind::Rust(_) => None,
        }
    }

    /// The `down.sql` of an SQL migration that has one.
    pub fn down_file(&self) -> Option<&SqlFile> {
        match &self.kind {
            Kind::Sql { down, .. } => down.as_ref(),
            Kind::Rust(_) => None,
        }
    }

    /// What the migration runs.
    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }
}
