//! The indexer's configuration: every default as a named constant, and the validated [`Config`]
//! (shared by every subcommand) with [`RunConfig`] and [`FollowOptions`] for `run` and `follow`.
//! The command line (`cli.rs`) only turns flags into these.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use shared::ProgramSet;
use solana_commitment_config::CommitmentConfig;

use crate::error::{Error, Result};
use crate::stream::NatsConfig;

pub use projection::{projections_dir, DEFAULT_DATA_DIR};
/// Solana JSON-RPC URL unless configured.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8899";
/// Solana PubSub URL unless configured.
pub const DEFAULT_WS_URL: &str = "ws://127.0.0.1:8899";
/// Commitment of subscriptions and reads unless configured.
pub const DEFAULT_COMMITMENT: &str = "confirmed";
/// RPC requests in flight during backfill unless configured.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Transactions per `getTransaction` batch request unless configured.
pub const DEFAULT_RPC_BATCH: usize = crate::rpc::DEFAULT_BATCH;
/// Largest RPC answer read unless configured.
pub const DEFAULT_MAX_RPC_ANSWER_BYTES: usize = crate::rpc::DEFAULT_MAX_ANSWER_BYTES;
/// sled page cache in MiB unless configured.
pub const DEFAULT_CACHE_MB: u64 = 64;
/// Seconds between reconciliation passes of `run` unless configured.
pub const DEFAULT_RECONCILE_SECS: u64 = 10;
/// Seconds between telemetry polls of `run` unless configured.
pub const DEFAULT_TELEMETRY_SECS: u64 = 12;
/// Milliseconds between projection commits unless configured.
pub const DEFAULT_COMMIT_INTERVAL_MS: u64 = 250;
/// Milliseconds between projection commits during an offline backfill: nobody queries, so fewer,
/// larger segments are cheaper than fresh ones.
pub const BACKFILL_COMMIT_INTERVAL_MS: u64 = 2_000;
/// Address of `run`'s `/metrics` endpoint unless configured.
pub const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9464";
/// Address of `follow`'s `/metrics` endpoint unless configured.
pub const DEFAULT_FOLLOW_METRICS_BIND: &str = "127.0.0.1:9467";
/// Address of the control endpoint unless configured.
pub const DEFAULT_CONTROL_BIND: &str = "127.0.0.1:9466";

/// What every subcommand is configured with, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory: the event log in `log/`, the projections in `projections/`.
    pub data_dir: PathBuf,
    /// Solana JSON-RPC URL.
    pub rpc_url: String,
    /// Solana PubSub URL.
    pub ws_url: String,
    /// The configured programs.
    pub programs: ProgramSet,
    /// Commitment of subscriptions and reads.
    pub commitment: CommitmentConfig,
    /// RPC requests in flight during backfill.
    pub concurrency: usize,
    /// Transactions per `getTransaction` batch request.
    pub rpc_batch: usize,
    /// Largest RPC answer read, in bytes.
    pub max_rpc_answer_bytes: usize,
    /// sled page cache, in bytes.
    pub cache_bytes: u64,
}

impl Config {
    /// Every default, over `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            rpc_url: DEFAULT_RPC_URL.into(),
            ws_url: DEFAULT_WS_URL.into(),
            programs: ProgramSet::defaults(),
            commitment: parse_commitment(DEFAULT_COMMITMENT).expect("the default commitment is valid"),
            concurrency: DEFAULT_CONCURRENCY,
            rpc_batch: DEFAULT_RPC_BATCH,
            max_rpc_answer_bytes: DEFAULT_MAX_RPC_ANSWER_BYTES,
            cache_bytes: DEFAULT_CACHE_MB << 20,
        }
    }

    /// Where the event log lives.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("log")
    }

    /// Where the projections live.
    pub fn projections_dir(&self) -> PathBuf {
        projections_dir(&self.data_dir)
    }
}

/// A commitment by name: processed, confirmed or finalized.
pub fn parse_commitment(name: &str) -> Result<CommitmentConfig> {
    match name {
        "processed" => Ok(CommitmentConfig::processed()),
        "confirmed" => Ok(CommitmentConfig::confirmed()),
        "finalized" => Ok(CommitmentConfig::finalized()),
        other => Err(Error::Config(format!("--commitment takes processed, confirmed or finalized, not {other:?}"))),
    }
}

/// A commit interval in milliseconds, at least 10 ms.
pub fn commit_interval(millis: u64) -> Duration {
    Duration::from_millis(millis.max(10))
}

/// What `run` is configured with besides [`Config`].
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Time between reconciliation passes (at least 1 s).
    pub reconcile_interval: Duration,
    /// Address of `/metrics` and `/health`.
    pub metrics_bind: SocketAddr,
    /// Time between telemetry polls (at least 1 s).
    pub telemetry_interval: Duration,
    /// Time between projection commits (at least 10 ms).
    pub commit_interval: Duration,
    /// Loopback address of the control endpoint.
    pub control_bind: SocketAddr,
    /// Token of the control endpoint; without it the endpoint is off.
    pub control_token: Option<String>,
    /// The log on NATS JetStream, when configured.
    pub nats: Option<NatsConfig>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            reconcile_interval: Duration::from_secs(DEFAULT_RECONCILE_SECS),
            metrics_bind: DEFAULT_METRICS_BIND.parse().expect("the default metrics address is valid"),
            telemetry_interval: Duration::from_secs(DEFAULT_TELEMETRY_SECS),
            commit_interval: commit_interval(DEFAULT_COMMIT_INTERVAL_MS),
            control_bind: DEFAULT_CONTROL_BIND.parse().expect("the default control address is valid"),
            control_token: None,
            nats: None,
        }
    }
}

/// What `follow` is configured with besides [`Config`].
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// The stream.
    pub nats: NatsConfig,
    /// Address of the replica's `/metrics`.
    pub metrics_bind: SocketAddr,
    /// Time between projection commits (at least 10 ms).
    pub commit_interval: Duration,
}
