//! What the history must say before the Migrator changes anything, and what is left to do.
//!
//! Policy, in this order: a migration started and not finished (MariaDB) stops everything
//! ([`Error::HalfApplied`]); so do applied migrations no file describes (the database is
//! ahead of this build: [`Error::UnknownApplied`], naming all of them) and an applied
//! migration whose `up.sql` changed ([`Error::ChecksumMismatch`]).

use crate::error::{Error, Result};
use crate::migration::{Migration, Migrations};
use crate::migrator::history::{Record, RecordState};
use std::collections::HashSet;

/// Checks that the history allows migrating (see the module docs).
pub(crate) fn usable(migrations: &Migrations, history: &[Record]) -> Result<()> {
    if let Some(record) = history.iter().find(|r| r.state != RecordState::Applied) {
        return Err(Error::HalfApplied {
            migration: record.name.clone(),
        });
    }
    let unknown: Vec<String> = history
        .iter()
        .filter(|r| migrations.get(&r.name).is_none())
        .map(|r| r.name.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownApplied {
            migrations: unknown,
        });
    }
    for record in history {
        if let Some(m) = migrations.get(&record.name)
            && m.checksum() != record.checksum
        {
            return Err(Error::ChecksumMismatch {
                migration: record.name.clone(),
                applied: record.checksum.clone(),
                found: m.checksum().to_owned(),
            });
        }
    }
    Ok(())
}

/// The migrations not in the history, by name.
pub(crate) fn pending<'m>(migrations: &'m Migrations, history: &[Record]) -> Vec<&'m Migration> {
    let recorded: HashSet<&str> = history.iter().map(|r| r.name.as_str()).collect();
    migrations
        .iter()
        .filter(|m| !recorded.contains(m.name()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Migrations {
        ["20260101000000_a", "20260201000000_b", "20260301000000_c"]
            .into_iter()
            .try_fold(Migrations::new(), |set, name| {
                set.with(Migration::sql(
                    name,
                    "up.sql",
                    &format!("SELECT '{name}';"),
                )?)
            })
            .unwrap()
    }

    fn record(set: &Migrations, name: &str, state: RecordState) -> Record {
        Record {
            name: name.into(),
            checksum: set.get(name).map_or("x".into(), |m| m.checksum().into()),
            applied_at: "2026-01-01T00:00:00Z".into(),
            execution_ms: 1,
            state,
        }
    }

    #[test]
    fn pending_are_the_unrecorded_in_order() {
        let set = set();
        let history = [record(&set, "20260201000000_b", RecordState::Applied)];
        usable(&set, &history).unwrap();
        let names: Vec<&str> = pending(&set, &history).iter().map(|m| m.name()).collect();
        assert_eq!(names, ["20260101000000_a", "20260301000000_c"]);
    }

    #[test]
    fn refusals() {
        let set = set();
        let half = [
            record(&set, "20260101000000_a", RecordState::Applied),
            record(&set, "20260201000000_b", RecordState::Started),
        ];
        assert!(
            matches!(usable(&set, &half), Err(Error::HalfApplied { migration }) if migration == "20260201000000_b")
        );
        let ahead = [
            record(&set, "20260101000000_a", RecordState::Applied),
            record(&set, "20270101000000_x", RecordState::Applied),
            record(&set, "20270101000000_y", RecordState::Applied),
        ];
        assert!(
            matches!(usable(&set, &ahead), Err(Error::UnknownApplied { migrations }) if migrations == ["20270101000000_x", "20270101000000_y"])
        );
        let mut changed = record(&set, "20260101000000_a", RecordState::Applied);
        changed.checksum = "old".into();
        assert!(
            matches!(usable(&set, &[changed]), Err(Error::ChecksumMismatch { migration, applied, .. }) if migration == "20260101000000_a" && applied == "old")
        );
    }
}
