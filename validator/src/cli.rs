//! Command line of `validator-harness`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{send, serve, DEFAULT_DFPN_PROGRAM_ID, DEFAULT_PSY_PROGRAM_ID};

/// Command-line interface.
#[derive(Debug, Parser)]
#[command(name = "validator-harness", about = "solana-test-validator with the event emitter, and a fixture sender")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the test validator on loopback with the emitter at both program ids; print
    /// `ready rpc=<url> ws=<url> payer=<file>` and run until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Submit fixture events (lines of `fixture-node events`) as emitter transactions and write
    /// one JSON line per transaction: signature, status, events.
    Send(SendArgs),
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The emitter ELF (`fixtures/programs/build.sh` writes it).
    #[arg(long, env = "EMITTER_SO")]
    pub emitter: PathBuf,
    /// JSON-RPC port (PubSub on the next one); 0 picks free ports.
    #[arg(long, env = "VALIDATOR_RPC_PORT", default_value_t = 0)]
    pub rpc_port: u16,
    /// DFPN program id.
    #[arg(long, env = "DFPN_PROGRAM_ID", default_value = DEFAULT_DFPN_PROGRAM_ID)]
    pub dfpn_program: String,
    /// Psy program id.
    #[arg(long, env = "PSY_PROGRAM_ID", default_value = DEFAULT_PSY_PROGRAM_ID)]
    pub psy_program: String,
    /// Ledger directory (default: a temporary one, removed at exit).
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Where to write the funded payer keypair (JSON byte array, as the Solana CLI writes).
    #[arg(long, default_value = "validator-payer.json")]
    pub payer_out: PathBuf,
}

/// Arguments of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// JSON-RPC URL of the validator.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8899")]
    pub rpc_url: String,
    /// Event lines (`fixture-node events` output).
    #[arg(long)]
    pub events: PathBuf,
    /// Payer keypair file (`serve --payer-out`).
    #[arg(long)]
    pub payer: PathBuf,
    /// Where to write the record of sent transactions (JSON lines).
    #[arg(long)]
    pub out: PathBuf,
    /// Send only events with `n` in [from, from + count).
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Number of events to send (0: all from `--from`).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Target events per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Most events in one transaction (events of one fixture transaction travel together).
    #[arg(long, default_value_t = 4)]
    pub events_per_tx: usize,
    /// Make every k-th transaction fail after emitting its events (0: none fail).
    #[arg(long, default_value_t = 10)]
    pub fail_every: u64,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds to wait for every transaction to reach `confirmed` after the last send.
    #[arg(long, default_value_t = 90)]
    pub confirm_timeout_secs: u64,
}

/// Runs a parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Send(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            let summary = runtime.block_on(send::run(args))?;
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
    }
}
