//! `indexer`: parses arguments into a `Config`, sets up logging and signals, and runs the
//! subcommand (`indexer::execute`).

use clap::Parser;

/// mimalloc: the projector and the decoder allocate many small, short-lived objects, where it
/// measured faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    shared::process::init_logging();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let signal = shared::process::shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
    let outcome = match indexer::cli::Cli::parse().config() {
        Ok((config, command)) => indexer::execute(config, command, shutdown).await,
        Err(err) => Err(err),
    };
    if let Err(err) = outcome {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
