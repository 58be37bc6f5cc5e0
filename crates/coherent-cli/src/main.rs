//! The standalone `coherent` binary: migrations and the schema, without the application's
//! entities (`migration generate` and `schema diff` need them: see `coherent_cli::run`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    coherent_cli::run_standalone().await
}
