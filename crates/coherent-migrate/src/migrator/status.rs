//! [`MigrationStatus`]: what `Migrator::status` reports for each migration, known to the
//! files, the history, or both.

use crate::migration::Migrations;
use crate::migrator::history::{Record, RecordState};

/// One migration as the files and the history table see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's name.
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
    /// Its row in the history table, if it has one.
    pub record: Option<Record>,
}

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    /// Not applied yet.
    Pending,
    /// Applied, and its `up.sql` is as it was then.
    Applied,
    /// Applied, but its `up.sql` changed since ([`Error::ChecksumMismatch`](crate::Error::ChecksumMismatch)).
    Changed,
    /// Started or being reverted and not finished ([`Error::HalfApplied`](crate::Error::HalfApplied)).
    HalfApplied,
    /// Applied, but no file describes it ([`Error::UnknownApplied`](crate::Error::UnknownApplied)).
    Unknown,
}

/// Every migration of `migrations` and of `history`, by name.
pub(crate) fn report(migrations: &Migrations, history: &[Record]) -> Vec<MigrationStatus> {
    let mut out: Vec<MigrationStatus> = history
        .iter()
        .map(|record| {
            let state = match (migrations.get(&record.name), record.state) {
                (_, RecordState::Started | RecordState::Reverting) => MigrationState::HalfApplied,
                (None, RecordState::Applied) => MigrationState::Unknown,
                (Some(m), RecordState::Applied) if m.checksum() != record.checksum => {
                    MigrationState::Changed
                }
                (Some(_), RecordState::Applied) => MigrationState::Applied,
            };
            MigrationStatus {
                name: record.name.clone(),
                state,
                record: Some(record.clone()),
            }
        })
        .collect();
    out.extend(
        crate::migrator::check::pending(migrations, history)
            .into_iter()
            .map(|m| MigrationStatus {
                name: m.name().to_owned(),
                state: MigrationState::Pending,
                record: None,
            }),
    );
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
