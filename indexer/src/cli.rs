//! The `indexer` command line: `run`, `backfill`, `replay`, `status`, `export`, `follow`, turned
//! into a [`Config`] and a [`Command`] (what they do is in `commands.rs`). Every flag has an
//! environment fallback; every default is a named constant of `config.rs`.
//!
//! sled lets one process open a data directory, so `backfill` runs offline (stop `run` first);
//! a second process gets a clear "data directory in use" error, never a panic.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use shared::program::ProgramIdArgs;

use crate::backfill::BackfillFrom;
use crate::config::*;
use crate::error::{Error, Result};
use crate::stream::NatsArgs;

/// Command-line interface of `indexer`.
#[derive(Debug, Parser)]
#[command(name = "indexer", version, about = "Event-sourced indexer of the DFPN and Psy Solana programs")]
pub struct Cli {
    /// Options every subcommand shares.
    #[command(flatten)]
    pub common: CommonArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Directory of the event log.
    #[arg(long, global = true, env = "INDEXER_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Solana JSON-RPC URL.
    #[arg(long, global = true, env = "RPC_URL", default_value = DEFAULT_RPC_URL)]
    pub rpc_url: String,
    /// Solana PubSub (WebSocket) URL.
    #[arg(long, global = true, env = "RPC_WS_URL", default_value = DEFAULT_WS_URL)]
    pub ws_url: String,
    /// The ids of the five DFPN programs and of Psy (defaults: the real DFPN ids).
    #[command(flatten)]
    pub programs: ProgramIdArgs,
    /// Commitment of subscriptions and reads: processed, confirmed or finalized.
    #[arg(long, global = true, env = "COMMITMENT", default_value = DEFAULT_COMMITMENT)]
    pub commitment: String,
    /// RPC requests in flight during backfill (each fetches up to `--rpc-batch` transactions).
    #[arg(long, global = true, env = "FETCH_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Transactions per `getTransaction` JSON-RPC batch request during backfill (1: no batches;
    /// a node that refuses batches is asked one at a time anyway).
    #[arg(long, global = true, env = "RPC_BATCH", default_value_t = DEFAULT_RPC_BATCH)]
    pub rpc_batch: usize,
    /// Largest RPC answer read, in bytes; a larger one is refused and asked again (a broken or
    /// hostile provider cannot make the indexer buffer more).
    #[arg(long, global = true, env = "MAX_RPC_ANSWER_BYTES", default_value_t = DEFAULT_MAX_RPC_ANSWER_BYTES)]
    pub max_rpc_answer_bytes: usize,
    /// sled page cache in MiB (sled's own default is 1 GiB).
    #[arg(long, global = true, env = "LOG_CACHE_MB", default_value_t = DEFAULT_CACHE_MB)]
    pub cache_mb: u64,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Follow the chain live: gap backfill, subscriptions, reconciliation, finality checks.
    Run {
        /// Seconds between reconciliation passes.
        #[arg(long, env = "RECONCILE_SECS", default_value_t = DEFAULT_RECONCILE_SECS)]
        reconcile_secs: u64,
        /// Address of the Prometheus `/metrics` endpoint (loopback by default).
        #[arg(long, env = "METRICS_BIND", default_value = DEFAULT_METRICS_BIND)]
        metrics_bind: std::net::SocketAddr,
        /// Seconds between telemetry polls (performance samples, slot, block height).
        #[arg(long, env = "TELEMETRY_SECS", default_value_t = DEFAULT_TELEMETRY_SECS)]
        telemetry_secs: u64,
        /// Milliseconds between projection commits.
        #[arg(long, env = "COMMIT_INTERVAL_MS", default_value_t = DEFAULT_COMMIT_INTERVAL_MS)]
        commit_interval_ms: u64,
        /// Loopback address of the control endpoint through which the query service submits the
        /// Psy API's writes (registrations, reward calculations).
        #[arg(long, env = "CONTROL_BIND", default_value = DEFAULT_CONTROL_BIND)]
        control_bind: std::net::SocketAddr,
        /// Shared token the query service presents to the control endpoint; without it the
        /// control endpoint is off and the API's writes answer 503.
        #[arg(long, env = "CONTROL_TOKEN", hide_env_values = true)]
        control_token: Option<String>,
        /// Publishing the log to NATS JetStream (and the API's writes over NATS), when a URL is given.
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Backfill every program from genesis, the cursor, or a slot, projecting as it goes, then
    /// exit (run it offline).
    Backfill {
        /// `genesis`, `cursor` or a slot number.
        #[arg(long, default_value = "cursor")]
        from: String,
    },
    /// Drop every projection and rebuild it from the log's first event, then exit (run it offline).
    Replay,
    /// Print the log length, cursors and projection progress as JSON (with `--nats-url`, the
    /// stream's last seq, the publish lag and the follow lag too).
    Status {
        /// The stream to compare the log and the projections with.
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// A query replica: build the projections in `--data-dir` from the NATS stream (a mirror of
    /// the stream's records in `DIR/log`, the projections in `DIR/projections` for a `query-api
    /// serve` beside it), resuming after the projections' payload seq.
    Follow {
        /// The stream (`--nats-url` required).
        #[command(flatten)]
        nats: NatsArgs,
        /// Address of the replica's Prometheus `/metrics` endpoint.
        #[arg(long, env = "METRICS_BIND", default_value = DEFAULT_FOLLOW_METRICS_BIND)]
        metrics_bind: std::net::SocketAddr,
        /// Milliseconds between projection commits.
        #[arg(long, env = "COMMIT_INTERVAL_MS", default_value_t = DEFAULT_COMMIT_INTERVAL_MS)]
        commit_interval_ms: u64,
    },
    /// Print the log's events (and retractions) as JSON lines in log order, then exit (run it
    /// offline).
    Export {
        /// Also print telemetry and off-chain (API) records, as `{"kind", "seq"}` lines.
        #[arg(long)]
        all: bool,
    },
}

impl CommonArgs {
    /// The validated configuration these flags give.
    pub fn config(&self) -> Result<Config> {
        Ok(Config {
            data_dir: self.data_dir.clone(),
            rpc_url: self.rpc_url.clone(),
            ws_url: self.ws_url.clone(),
            programs: self.programs.program_set().map_err(|err| Error::Config(err.to_string()))?,
            commitment: parse_commitment(&self.commitment)?,
            concurrency: self.concurrency,
            rpc_batch: self.rpc_batch,
            max_rpc_answer_bytes: self.max_rpc_answer_bytes,
            cache_bytes: self.cache_mb << 20,
        })
    }
}

impl Command {
    /// The validated subcommand.
    pub fn config(self) -> Result<crate::commands::Command> {
        Ok(match self {
            Command::Run {
                reconcile_secs,
                metrics_bind,
                telemetry_secs,
                commit_interval_ms,
                control_bind,
                control_token,
                nats,
            } => crate::commands::Command::Run(RunConfig {
                reconcile_interval: Duration::from_secs(reconcile_secs.max(1)),
                metrics_bind,
                telemetry_interval: Duration::from_secs(telemetry_secs.max(1)),
                commit_interval: commit_interval(commit_interval_ms),
                control_bind,
                control_token,
                nats: nats.config()?,
            }),
            Command::Backfill { from } => crate::commands::Command::Backfill(from.parse::<BackfillFrom>()?),
            Command::Replay => crate::commands::Command::Replay,
            Command::Status { nats } => crate::commands::Command::Status(nats.config()?),
            Command::Follow { nats, metrics_bind, commit_interval_ms } => {
                let Some(nats) = nats.config()? else {
                    return Err(Error::Config("indexer follow needs --nats-url (env NATS_URL)".into()));
                };
                crate::commands::Command::Follow(FollowOptions {
                    nats,
                    metrics_bind,
                    commit_interval: commit_interval(commit_interval_ms),
                })
            }
            Command::Export { all } => crate::commands::Command::Export { all },
        })
    }
}

impl Cli {
    /// The validated configuration and subcommand.
    pub fn config(self) -> Result<(Config, crate::commands::Command)> {
        // The subcommand's own flags first: `run` and `follow` refused a bad NATS setting before
        // anything else.
        let command = self.command.config()?;
        Ok((self.common.config()?, command))
    }
}
