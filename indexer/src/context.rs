//! What the indexer's tasks share ([`Context`]: the node, the log, the programs, the metrics)
//! and the one place that builds it ([`ContextBuilder`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use shared::ProgramSet;
use solana_commitment_config::CommitmentConfig;

use crate::config::Config;
use crate::error::Result;
use crate::log::EventLog;
use crate::metrics::Metrics;
use crate::rpc::Rpc;

/// What the indexer's tasks share.
pub struct Context {
    /// The node.
    pub rpc: Rpc,
    /// The event log.
    pub log: Arc<EventLog>,
    /// The configured programs.
    pub programs: ProgramSet,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Transactions fetched at once.
    pub concurrency: usize,
}

impl Context {
    /// Opens the log of `config` and its RPC client, counting into `metrics`.
    pub fn open(config: &Config, metrics: Arc<Metrics>) -> Result<Self> {
        ContextBuilder::from_config(config).metrics(metrics).build()
    }

    /// A builder reading `rpc_url` into a log in `log_dir`, every other setting at its default.
    pub fn builder(rpc_url: &str, log_dir: &Path) -> ContextBuilder {
        let mut config = Config::new(PathBuf::new());
        config.rpc_url = rpc_url.to_owned();
        let mut builder = ContextBuilder::from_config(&config);
        builder.log_dir = log_dir.to_path_buf();
        builder
    }

    /// The metrics as Prometheus text, the gauges read from the log and the RPC client first.
    pub fn render_metrics(&self) -> String {
        self.metrics.log_seq.set(self.log.last_seq() as i64);
        self.metrics.rate_limited_seconds.set(self.rpc.rate_limited_time().as_secs() as i64);
        self.metrics.render()
    }
}

/// Builds a [`Context`]: opens the log, makes the RPC client.
pub struct ContextBuilder {
    rpc_url: String,
    log_dir: PathBuf,
    cache_bytes: u64,
    programs: ProgramSet,
    commitment: CommitmentConfig,
    concurrency: usize,
    rpc_batch: usize,
    max_answer_bytes: usize,
    metrics: Option<Arc<Metrics>>,
    configure_rpc: Option<Box<dyn FnOnce(Rpc) -> Rpc>>,
}

impl ContextBuilder {
    /// The settings of `config` (its log in `<data-dir>/log`).
    pub fn from_config(config: &Config) -> Self {
        Self {
            rpc_url: config.rpc_url.clone(),
            log_dir: config.log_dir(),
            cache_bytes: config.cache_bytes,
            programs: config.programs.clone(),
            commitment: config.commitment,
            concurrency: config.concurrency,
            rpc_batch: config.rpc_batch,
            max_answer_bytes: config.max_rpc_answer_bytes,
            metrics: None,
            configure_rpc: None,
        }
    }

    /// The sled page cache, in bytes.
    pub fn cache_bytes(mut self, bytes: u64) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// The configured programs.
    pub fn programs(mut self, programs: ProgramSet) -> Self {
        self.programs = programs;
        self
    }

    /// The commitment of reads.
    pub fn commitment(mut self, commitment: CommitmentConfig) -> Self {
        self.commitment = commitment;
        self
    }

    /// RPC requests in flight during backfill.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Transactions per `getTransaction` batch request.
    pub fn rpc_batch(mut self, batch: usize) -> Self {
        self.rpc_batch = batch;
        self
    }

    /// Largest RPC answer read, in bytes.
    pub fn max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    /// The metrics to count into (fresh ones unless given).
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Adjusts the RPC client once it is configured (tests: limits, retries).
    pub fn configure_rpc(mut self, configure: impl FnOnce(Rpc) -> Rpc + 'static) -> Self {
        self.configure_rpc = Some(Box::new(configure));
        self
    }

    /// Opens the log and makes the RPC client.
    pub fn build(self) -> Result<Context> {
        let metrics = self.metrics.unwrap_or_default();
        let log = EventLog::open(&self.log_dir, self.cache_bytes)?;
        let rpc = Rpc::new(&self.rpc_url, self.commitment, metrics.clone())
            .with_batch(self.rpc_batch)
            .with_max_answer_bytes(self.max_answer_bytes);
        let rpc = match self.configure_rpc {
            Some(configure) => configure(rpc),
            None => rpc,
        };
        Ok(Context { rpc, log: Arc::new(log), programs: self.programs, metrics, concurrency: self.concurrency })
    }
}
