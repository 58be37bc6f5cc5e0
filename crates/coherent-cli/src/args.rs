//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Coherent's schema tool: generate, apply and inspect migrations; diff and dump the schema.
#[derive(Debug, Parser)]
#[command(name = "coherent", version, about)]
pub struct Cli {
    /// The database URL (`sqlite://app.db`, `postgres://..`, `mysql://..`); overrides the
    /// application's own.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// The migrations directory.
    #[arg(long, default_value = "migrations", global = true)]
    pub migrations: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Versioned migrations.
    #[command(subcommand)]
    Migration(MigrationCommand),
    /// The schema itself.
    #[command(subcommand)]
    Schema(SchemaCommand),
}

/// `coherent migration ..`.
#[derive(Debug, Subcommand)]
pub enum MigrationCommand {
    /// Writes a new migration from the difference between the entities and the schema.
    Generate {
        /// The migration's name (`add_users`).
        name: String,
        /// Where the diff starts and what it may include.
        #[command(flatten)]
        diff: DiffArgs,
    },
    /// Applies every pending migration.
    Up,
    /// Reverts the last `n` applied migrations.
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Lists the migrations, applied and pending.
    Status,
    /// Marks a half-applied migration (MariaDB) as applied or as rolled back, after the
    /// schema was fixed by hand.
    Resolve {
        /// The migration.
        name: String,
        /// The migration's changes are all in place: record it as applied.
        #[arg(
            long,
            conflicts_with = "rolled_back",
            required_unless_present = "rolled_back"
        )]
        applied: bool,
        /// None of its changes are in place: forget it, so `up` runs it again.
        #[arg(long)]
        rolled_back: bool,
    },
}

/// `coherent schema ..`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Prints the SQL that would bring the schema to the entities (runs nothing).
    Diff {
        /// Where the diff starts and what it may include.
        #[command(flatten)]
        diff: DiffArgs,
        /// Fail (exit code 1) if there is anything to do: a CI check that no migration is
        /// missing (with `--from-snapshot`, without a database).
        #[arg(long)]
        check: bool,
    },
    /// Prints the live schema.
    Dump {
        /// As JSON (the snapshot format) instead of SQL.
        #[arg(long)]
        json: bool,
    },
}

/// Where a diff starts and what it may include.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Include destructive changes (drop a table or column, narrow a type) instead of
    /// leaving them out as comments.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Diff against the snapshot in the migrations directory instead of the database (no
    /// database needed).
    #[arg(long)]
    pub from_snapshot: bool,
}
