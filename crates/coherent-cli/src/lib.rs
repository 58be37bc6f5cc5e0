//! # coherent-cli
//!
//! The `coherent` command line, on clap: `migration generate <name>`, `migration up`,
//! `migration down [n]`, `migration status`, `migration resolve`, `schema diff`,
//! `schema dump`.
//!
//! **How it learns the entities.** A schema diff needs the application's entities, which
//! only the application's own binary knows. So the application adds a binary of two lines
//! that hands its [`OrmBuilder`] (entities registered, URL optional) to [`run`]:
//!
//! ```no_run
//! # use coherent_orm::doc_support::User;
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     coherent_cli::run(coherent_orm::Orm::builder().entity::<User>()).await
//! }
//! ```
//!
//! and runs `cargo run --bin <it> -- migration generate add_users`. The installable
//! `coherent` binary ([`run_standalone`]) knows no entities: it applies, reverts and lists
//! migrations and dumps the schema, for deployments that ship migration files without the
//! application.
//!
//! The database URL comes from `--database-url`, else `DATABASE_URL`, else the builder.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod error;

pub use args::{Cli, Command, DiffArgs, MigrationCommand, SchemaCommand};
pub use error::CliError;

use clap::Parser;
use coherent_orm::OrmBuilder;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Runs the command line of the process with the application's entities (see the crate
/// docs), printing to stdout and errors to stderr.
pub async fn run(builder: OrmBuilder) -> ExitCode {
    report(run_from(Some(builder), std::env::args_os(), &mut std::io::stdout()).await)
}

/// Runs the command line of the process without entities (the `coherent` binary).
pub async fn run_standalone() -> ExitCode {
    report(run_from(None, std::env::args_os(), &mut std::io::stdout()).await)
}

fn report(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(e)) => {
            let _ = e.print();
            if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs the command line `args` (the program name first) with `builder`'s entities (None:
/// none), writing its output to `out`.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("coherent-cli-doc-{}", std::process::id()));
/// let url = format!("sqlite://{}/app.db", dir.display());
/// std::fs::create_dir_all(&dir).unwrap();
/// let mut out = Vec::new();
/// let args = ["coherent", "--database-url", url.as_str(), "schema", "dump"];
/// coherent_cli::run_from(None, args, &mut out).await.unwrap();
/// assert!(String::from_utf8(out).unwrap().contains("has no tables"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
pub async fn run_from<I, T>(
    builder: Option<OrmBuilder>,
    args: I,
    out: &mut dyn Write,
) -> Result<(), CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    let has_entities = builder.is_some();
    let mut builder = builder.unwrap_or_default();
    if let Some(url) = &cli.database_url {
        builder = builder.url(url);
    }
    let orm = builder.build().await.map_err(CliError::Connect)?;
    let result = commands::run(&cli, &orm, has_entities, out).await;
    orm.close().await;
    result
}
