//! # coherent-migrate
//!
//! Schema evolution for Coherent: the live schema read back from the catalog
//! ([`introspect`]), compared with what the entities ask for ([`model::from_entities`]) or
//! with a snapshot file, into an ordered list of changes ([`diff`]) rendered as reviewable
//! `up` and `down` SQL per dialect; versioned migration files ([`migration`]) and a
//! [`Migrator`](migrator) that applies them exactly once even when many instances start
//! at the same time.
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
pub use snapshot::Snapshot;

/// The table the [`Migrator`](migrator) records applied migrations in; introspection and
/// diffs leave it out.
pub const HISTORY_TABLE: &str = "coherent_migrations";
