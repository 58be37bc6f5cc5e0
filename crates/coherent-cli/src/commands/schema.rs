//! `schema diff` and `schema dump`.

use crate::{CliError, DiffArgs};
use coherent_migrate::diff::{PlanOptions, plan};
use coherent_migrate::model::{Schema, from_entities};
use coherent_migrate::{Snapshot, introspect};
use coherent_orm::Orm;
use std::io::Write;
use std::path::Path;

/// Where a diff starts: the snapshot in `dir`, or the live database.
pub(crate) async fn starting_point(
    orm: &Orm,
    dir: &Path,
    args: &DiffArgs,
) -> Result<Schema, CliError> {
    Ok(if args.from_snapshot {
        Snapshot::load(dir, orm.dialect())?.schema
    } else {
        introspect::live(orm).await?
    })
}

/// The schema the entities ask for.
pub(crate) fn entities(orm: &Orm) -> Schema {
    from_entities::schema(&orm.entity_metas(), orm.dialect())
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
    let from = starting_point(orm, dir, args).await?;
    let p = plan(
        &from,
        &entities(orm),
        orm.dialect(),
        PlanOptions::default().allow_destructive(args.allow_destructive),
    );
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
