//! # coherent-migrate
//!
//! Schema evolution for Coherent: the live schema read back from the catalog
//! ([`introspect`]), compared with what the entities ask for ([`model::from_entities`]) or
//! with a snapshot file, into an ordered list of changes ([`diff`]) rendered as reviewable
//! `up` and `down` SQL per dialect; versioned migration files and Rust migrations
//! ([`migration`], embedded in the binary by [`embed_migrations!`]) and a [`Migrator`]
//! ([`migrator`]) that applies them exactly once even when many instances start at the same
//! time.
//!
//! Layering: above `coherent-orm` (it takes an [`Orm`](coherent_orm::Orm)'s entities and
//! driver), below `coherent-cli` and the facade's `migrate` feature.
#![forbid(unsafe_code)]

pub mod diff;
pub mod error;
pub mod introspect;
pub mod migration;
pub mod migrator;
pub mod model;
pub mod snapshot;

pub use error::{Error, Result};
pub use migration::{Migration, Migrations, RustMigration};
pub use migrator::Migrator;
pub use snapshot::Snapshot;

/// Not public API: what [`embed_migrations!`] expands to.
#[doc(hidden)]
pub mod __private {
    pub use coherent_macros::embed_migrations;
}

/// Embeds the migrations of a directory in the binary: `embed_migrations!("migrations")`
/// reads the directory (relative to the crate's `Cargo.toml`) at compile time and expands
/// to a `Result<`[`Migrations`]`>` whose files are `include_str!`-ed, so editing a migration
/// rebuilds the binary. A missing directory, a malformed directory name or a missing
/// `up.sql` is a compile error; a malformed SQL file is
/// [`Error::Malformed`] when the expression runs.
///
/// A new migration directory is only seen when the crate is compiled again: add a build
/// script with `println!("cargo:rerun-if-changed=migrations");` so that adding one
/// rebuilds.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // An application embeds "migrations"; this example embeds the crate's test fixtures.
/// let migrations = coherent_migrate::embed_migrations!("tests/fixtures/migrations")?;
/// assert_eq!(migrations.names().collect::<Vec<_>>(), ["20260101000000_create_notes"]);
/// let orm = coherent_orm::Orm::connect("sqlite::memory:").await?;
/// coherent_migrate::Migrator::new(&orm, migrations).up().await?;
/// # Ok::<(), coherent_migrate::Error>(())
/// # }).unwrap();
/// ```
#[macro_export]
macro_rules! embed_migrations {
    ($dir:literal) => {
        $crate::__private::embed_migrations!($crate, $dir)
    };
}

/// The table the [`Migrator`](migrator) records applied migrations in; introspection and
/// diffs leave it out.
pub const HISTORY_TABLE: &str = "coherent_migrations";
