//! `schema diff` and `schema dump`.

use crate::{CliError, DiffArgs};
use coherent_migrate::diff::{MigrationPlan, PlanOptions, plan};
use coherent_migrate::model::{Schema, from_entities};
use coherent_migrate::{Snapshot, introspect};
use coherent_orm::Orm;
use std::io::Write;
use std::path::Path;

/// The migration from where a diff starts (the snapshot in `dir`, or the live database) to
/// the schema the entities ask for, as `args` say.
pub(crate) async fn plan_to_entities(
    orm: &Orm,
    dir: &Path,
    args: &DiffArgs,
) -> Result<MigrationPlan, CliError> {
    let from = if args.from_snapshot {
        Snapshot::load(dir, orm.dialect())?.schema
    } else {
        introspect::live(orm).await?
    };
    Ok(plan(
        &from,
        &from_entities::schema(&orm.entity_metas(), orm.dialect()),
        orm.dialect(),
        PlanOptions::default().allow_destructive(args.allow_destructive),
    ))
}

/// `schema diff`: prints the SQL that would bring the schema to the entities; with `check`,
/// fails if there is any.
pub(crate) async fn diff(
    orm: &Orm,
    dir: &Path,
    args: &DiffArgs,
    check: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let p = plan_to_entities(orm, dir, args).await?;
    if p.is_empty() {
        writeln!(out, "-- The schema matches the entities: nothing to do.")?;
    } else {
        write!(out, "{}", p.up)?;
        if check {
            return Err(CliError::SchemaDrift {
                changes: p.changes.len() + p.skipped.len(),
            });
        }
    }
    Ok(())
}

/// `schema dump`: prints the live schema, as the SQL that creates it or as JSON.
pub(crate) async fn dump(orm: &Orm, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let live = introspect::live(orm).await?;
    if json {
        write!(out, "{}", Snapshot::new(orm.dialect(), live).to_json())?;
    } else if live.tables.is_empty() {
        writeln!(out, "-- The database has no tables.")?;
    } else {
        let p = plan(
            &Schema::default(),
            &live,
            orm.dialect(),
            PlanOptions::default(),
        );
        write!(out, "{}", p.up)?;
    }
    Ok(())
}
