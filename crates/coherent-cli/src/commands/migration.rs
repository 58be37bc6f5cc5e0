//! `migration generate | up | down | status | resolve`.

use super::schema::plan_to_entities;
use crate::{CliError, DiffArgs};
use coherent_migrate::migration::write;
use coherent_migrate::migrator::{MigrationState, Resolution};
use coherent_migrate::{Migrations, Migrator, Snapshot};
use coherent_orm::Orm;
use std::io::Write;
use std::path::Path;

/// The Migrator over the migrations in `dir`.
fn migrator(orm: &Orm, dir: &Path) -> Result<Migrator, CliError> {
    Ok(Migrator::new(orm, Migrations::from_dir(dir)?))
}

/// `migration generate <name>`: writes `<dir>/<timestamp>_<name>/{up,down}.sql` for the
/// difference between the starting point and the entities, and the snapshot after it.
pub(crate) async fn generate(
    orm: &Orm,
    dir: &Path,
    name: &str,
    args: &DiffArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if !args.from_snapshot && dir.exists() {
        // Against the database, the migrations not applied yet would be generated again.
        let pending = migrator(orm, dir)?.pending().await?;
        if !pending.is_empty() {
            return Err(CliError::PendingMigrations { pending });
        }
    }
    let p = plan_to_entities(orm, dir, args).await?;
    for (change, why) in &p.skipped {
        writeln!(
            out,
            "left out: {} ({why}); generate with --allow-destructive to include it",
            change.describe()
        )?;
    }
    if p.changes.is_empty() {
        let why = if p.skipped.is_empty() {
            "The schema matches the entities"
        } else {
            "Nothing but what was left out"
        };
        writeln!(out, "{why}: no migration written.")?;
        return Ok(());
    }
    let path = write(dir, name, &p.up, Some(&p.down))?;
    let snapshot = Snapshot::new(orm.dialect(), p.after).save(dir)?;
    writeln!(out, "wrote {}", path.display())?;
    for change in &p.changes {
        writeln!(out, "  {}", change.describe())?;
    }
    writeln!(out, "updated {}", snapshot.display())?;
    Ok(())
}

/// `migration up`.
pub(crate) async fn up(orm: &Orm, dir: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let applied = migrator(orm, dir)?.up().await?;
    if applied.is_empty() {
        writeln!(out, "Nothing to apply: the database is up to date.")?;
    }
    for name in applied {
        writeln!(out, "applied {name}")?;
    }
    Ok(())
}

/// `migration down [n]`.
pub(crate) async fn down(
    orm: &Orm,
    dir: &Path,
    n: usize,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    for name in migrator(orm, dir)?.down(n).await? {
        writeln!(out, "reverted {name}")?;
    }
    Ok(())
}

/// `migration status`: one line per migration, oldest first.
pub(crate) async fn status(orm: &Orm, dir: &Path, out: &mut dyn Write) -> Result<(), CliError> {
    let report = migrator(orm, dir)?.status().await?;
    if report.is_empty() {
        writeln!(out, "No migrations.")?;
    }
    for m in report {
        let state = match m.state {
            MigrationState::Pending => "pending",
            MigrationState::Applied => "applied",
            MigrationState::Changed => "applied, but up.sql changed since",
            MigrationState::HalfApplied => "HALF-APPLIED: resolve it",
            MigrationState::Unknown => "applied, but no file describes it",
        };
        match &m.record {
            Some(r) if m.state != MigrationState::Pending => writeln!(
                out,
                "{:<48} {state} ({}, {} ms)",
                m.name, r.applied_at, r.execution_ms
            )?,
            _ => writeln!(out, "{:<48} {state}", m.name)?,
        }
    }
    Ok(())
}

/// `migration resolve <name> --applied | --rolled-back`.
pub(crate) async fn resolve(
    orm: &Orm,
    dir: &Path,
    name: &str,
    applied: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let resolution = if applied {
        Resolution::Applied
    } else {
        Resolution::RolledBack
    };
    migrator(orm, dir)?.resolve(name, resolution).await?;
    writeln!(out, "resolved {name}")?;
    Ok(())
}
