//! `query-api`: parses arguments, sets up logging and signals, and runs `query_api::cli`.

use clap::Parser;

#[tokio::main]
async fn main() {
    shared::process::init_logging();
    if let Err(err) = query_api::cli::run(query_api::cli::Cli::parse(), shared::process::shutdown_signal()).await {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
