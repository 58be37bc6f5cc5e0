//! The commands, one file per group.

mod migration;
mod schema;

use crate::{Cli, CliError, Command, MigrationCommand, SchemaCommand};
use coherent_orm::Orm;
use std::io::Write;

/// Runs `cli`'s command on `orm`.
pub(crate) async fn run(
    cli: &Cli,
    orm: &Orm,
    has_entities: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let needs_entities = |command: &'static str| {
        if has_entities {
            Ok(())
        } else {
            Err(CliError::NoEntities { command })
        }
    };
    let dir = cli.migrations.as_path();
    match &cli.command {
        Command::Schema(SchemaCommand::Diff { diff, check }) => {
            needs_entities("schema diff")?;
            schema::diff(orm, dir, diff, *check, out).await
        }
        Command::Schema(SchemaCommand::Dump { json }) => schema::dump(orm, *json, out).await,
        Command::Migration(MigrationCommand::Generate { name, diff }) => {
            needs_entities("migration generate")?;
            migration::generate(orm, dir, name, diff, out).await
        }
        Command::Migration(MigrationCommand::Up) => migration::up(orm, dir, out).await,
        Command::Migration(MigrationCommand::Down { n }) => {
            migration::down(orm, dir, *n, out).await
        }
        Command::Migration(MigrationCommand::Status) => migration::status(orm, dir, out).await,
        Command::Migration(MigrationCommand::Resolve { name, applied, .. }) => {
            migration::resolve(orm, dir, name, *applied, out).await
        }
    }
}
