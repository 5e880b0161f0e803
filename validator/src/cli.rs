//! Command line of `validator-harness`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{
    send, serve, DEFAULT_CONTENT_REGISTRY_PROGRAM_ID, DEFAULT_MARKETPLACE_PROGRAM_ID,
    DEFAULT_MODEL_REGISTRY_PROGRAM_ID, DEFAULT_PSY_PROGRAM_ID, DEFAULT_REWARDS_PROGRAM_ID,
    DEFAULT_WORKER_REGISTRY_PROGRAM_ID,
};

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
    /// Start the test validator on loopback with the emitter at the six program ids; print
    /// `ready rpc=<url> ws=<url> payer=<file>` and run until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Submit fixture entries (lines of `fixture-node events`) as emitter transactions and write
    /// one JSON line per transaction: signature, status, slot, block time, entries.
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
    /// DFPN `analysis_marketplace` program id.
    #[arg(long, env = "DFPN_MARKETPLACE_PROGRAM_ID", default_value = DEFAULT_MARKETPLACE_PROGRAM_ID)]
    pub marketplace_program: String,
    /// DFPN `worker_registry` program id.
    #[arg(long, env = "DFPN_WORKER_REGISTRY_PROGRAM_ID", default_value = DEFAULT_WORKER_REGISTRY_PROGRAM_ID)]
    pub worker_registry_program: String,
    /// DFPN `model_registry` program id.
    #[arg(long, env = "DFPN_MODEL_REGISTRY_PROGRAM_ID", default_value = DEFAULT_MODEL_REGISTRY_PROGRAM_ID)]
    pub model_registry_program: String,
    /// DFPN `content_registry` program id.
    #[arg(long, env = "DFPN_CONTENT_REGISTRY_PROGRAM_ID", default_value = DEFAULT_CONTENT_REGISTRY_PROGRAM_ID)]
    pub content_registry_program: String,
    /// DFPN `rewards` program id.
    #[arg(long, env = "DFPN_REWARDS_PROGRAM_ID", default_value = DEFAULT_REWARDS_PROGRAM_ID)]
    pub rewards_program: String,
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
    /// Ground-truth lines (`fixture-node events` output).
    #[arg(long)]
    pub events: PathBuf,
    /// Payer keypair file (`serve --payer-out`).
    #[arg(long)]
    pub payer: PathBuf,
    /// Where to write the record of sent transactions (JSON lines).
    #[arg(long)]
    pub out: PathBuf,
    /// Send only entries with `n` in [from, from + count).
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Number of entries to send (0: all from `--from`).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Target entries per second.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Most entries in one transaction, 0 for no limit but the 1,232-byte size (a fixture
    /// transaction with more is split; entries of different fixture transactions never share one).
    #[arg(long, default_value_t = 0)]
    pub events_per_tx: usize,
    /// Make every k-th transaction fail after logging its entries (0: none fail).
    #[arg(long, default_value_t = 10)]
    pub fail_every: u64,
    /// Send every k-th transaction (1-based) as a version-0 transaction compiled against address
    /// lookup tables created first, holding the program ids and its instruction entries'
    /// accounts (0: all legacy; a v0 form over 1,232 bytes goes legacy).
    #[arg(long, env = "V0_EVERY", default_value_t = 3)]
    pub v0_every: u64,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds to wait for every transaction to reach `confirmed` after the last send (and
    /// again for the block times of their slots).
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
