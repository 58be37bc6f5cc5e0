//! [`CliError`]: why a command failed.

/// Why a `coherent` command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line is wrong (or `--help` / `--version` was asked for: clap's text).
    #[error("{0}")]
    Usage(#[from] clap::Error),
    /// Connecting failed.
    #[error("cannot connect: {0}")]
    Connect(#[source] coherent_core::Error),
    /// The command needs the application's entities, which this binary does not know.
    #[error(
        "`{command}` compares the schema with your entities, which the standalone `coherent` binary does not know: run it through your application's own CLI binary (a `main` that hands its OrmBuilder to `coherent_cli::run`; see the README)"
    )]
    NoEntities {
        /// The command.
        command: &'static str,
    },
    /// `migration generate` against a database with pending migrations.
    #[error("the database has pending migrations ({}): apply them first (`coherent migration up`), or generate from the snapshot (`--from-snapshot`)", pending.join(", "))]
    PendingMigrations {
        /// The pending migrations.
        pending: Vec<String>,
    },
    /// `schema diff --check` found changes no migration makes yet.
    #[error(
        "the entities differ from the schema by {changes} change(s): generate a migration (`coherent migration generate <name>`)"
    )]
    SchemaDrift {
        /// How many changes (destructive ones included).
        changes: usize,
    },
    /// Schema evolution refused.
    #[error(transparent)]
    Migrate(#[from] coherent_migrate::Error),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}
