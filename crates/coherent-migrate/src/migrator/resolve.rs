//! [`Resolution`]: how a migration that started and did not finish (MariaDB) was resolved
//! by hand, for `Migrator::resolve`.

use crate::error::{Error, Result};
use crate::migration::Migrations;
use crate::migrator::history::{self, Record, RecordState};
use crate::migrator::session::Session;

/// What the schema is like after a half-applied migration was fixed by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The migration's changes are all in the schema (finished by hand): it is recorded as
    /// applied, with the checksum of its files now (they may have been fixed too).
    Applied,
    /// None of its changes are in the schema (undone by hand): its record is removed, so a
    /// started migration is pending again and a half-reverted one is reverted.
    RolledBack,
}

/// Marks the half-applied migration `name` as `resolution` says, in the step's
/// transaction; a migration not half-applied is [`Error::NotHalfApplied`].
pub(crate) async fn resolve(
    s: &mut Session,
    migrations: &Migrations,
    history: &[Record],
    name: &str,
    resolution: Resolution,
) -> Result<()> {
    let Some(record) = history
        .iter()
        .find(|r| r.name == name && r.state != RecordState::Applied)
    else {
        return Err(Error::NotHalfApplied {
            migration: name.to_owned(),
        });
    };
    let dialect = s.dialect();
    match resolution {
        Resolution::Applied => {
            let record = Record {
                checksum: migrations
                    .get(name)
                    .map_or(record.checksum.clone(), |m| m.checksum().to_owned()),
                state: RecordState::Applied,
                ..record.clone()
            };
            s.run(history::update(dialect, &record)).await?;
        }
        Resolution::RolledBack => {
            s.run(history::delete(dialect, name)).await?;
        }
    }
    tracing::warn!(
        target: crate::migrator::LOG_TARGET,
        migration = %name,
        resolution = ?resolution,
        "half-applied migration resolved by hand"
    );
    Ok(())
}
