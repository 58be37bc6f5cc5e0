//! [`Error`]: everything schema evolution can refuse, each naming the migration, file and
//! statement it is about.
//!
//! Policy: a refused migration leaves the database as the last successful migration left it
//! and records nothing for the failed one (on MariaDB, whose DDL commits as it goes, the
//! failed migration is marked as not finished: see [`Error::HalfApplied`]). Database
//! refusals keep the ORM's typed [`coherent_core::Error`] as their source.

use std::path::PathBuf;

/// What a schema-evolution call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database refused something outside a migration's statements (reading the
    /// history, taking the lock, introspecting).
    #[error(transparent)]
    Database(#[from] coherent_core::Error),

    /// A migration file or directory could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A migration file or directory is malformed (a bad directory name, a missing
    /// `up.sql`, an unterminated quote or comment).
    #[error("malformed migration {}: {reason}", path.display())]
    Malformed {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A statement of a migration failed: the migration was rolled back (where the backend
    /// has transactional DDL) and is not recorded as applied.
    #[error("migration {migration} failed at statement {} of {file}: {source}\n    {sql}", statement + 1)]
    Failed {
        /// The migration's name (`20261207120000_add_users`).
        migration: String,
        /// The file the statement comes from (`up.sql`, `down.sql`, or the Rust migration).
        file: String,
        /// The statement's index in the file (0-based).
        statement: usize,
        /// The statement.
        sql: String,
        /// The database's refusal (or the Rust migration's error), boxed to keep this error
        /// small.
        #[source]
        source: Box<coherent_core::Error>,
    },

    /// After a migration's statements, some rows reference rows that do not exist (SQLite,
    /// where the Migrator runs with foreign keys off so a table can be rebuilt, and checks
    /// them all before it commits): the migration was rolled back.
    #[error("migration {migration} leaves rows with dangling references: {}", violations.join("; "))]
    ForeignKeysViolated {
        /// The migration.
        migration: String,
        /// One line per violating row.
        violations: Vec<String>,
    },

    /// An applied migration's file changed since it was applied.
    #[error(
        "migration {migration} was applied with checksum {applied} but its files now have checksum {found}; applied migrations must not change (add a new migration instead)"
    )]
    ChecksumMismatch {
        /// The migration.
        migration: String,
        /// The checksum recorded when it was applied.
        applied: String,
        /// The checksum of the files now.
        found: String,
    },

    /// `down` was asked for a migration that is not applied.
    #[error("migration {migration} is not applied")]
    NotApplied {
        /// The migration.
        migration: String,
    },

    /// `down(n)` was asked for more migrations than are applied; nothing was reverted.
    #[error("cannot revert {requested} migrations: only {applied} are applied")]
    NotEnoughApplied {
        /// How many were to be reverted.
        requested: usize,
        /// How many are applied.
        applied: usize,
    },

    /// A migration to revert has no `down.sql`; nothing was reverted.
    #[error("migration {migration} cannot be reverted: it has no down.sql")]
    Irreversible {
        /// The migration.
        migration: String,
    },

    /// `resolve` was asked for a migration that is not half-applied.
    #[error("migration {migration} is not half-applied: there is nothing to resolve")]
    NotHalfApplied {
        /// The migration.
        migration: String,
    },

    /// A migration started but did not finish (MariaDB, whose DDL commits statement by
    /// statement, or a process that died during it): the schema may be half-changed, so
    /// nothing more runs until it is resolved by hand and marked with
    /// `Migrator::resolve`.
    #[error(
        "migration {migration} started but did not finish: its changes may be half-applied; fix the schema by hand, then resolve it (coherent migration resolve {migration} --applied | --rolled-back)"
    )]
    HalfApplied {
        /// The migration.
        migration: String,
    },

    /// The database has applied migrations that no file describes (it is ahead of the
    /// files: an older build is running against a newer schema).
    #[error("the database has applied migrations this build does not know: {}", migrations.join(", "))]
    UnknownApplied {
        /// The applied migrations without files.
        migrations: Vec<String>,
    },

    /// A snapshot file could not be read or is not a schema snapshot.
    #[error("bad schema snapshot {}: {reason}", path.display())]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// A `Result` of [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
