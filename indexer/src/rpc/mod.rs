//! The indexer's view of a Solana node: the RPC calls it needs, each retried with exponential
//! backoff and jitter on failure. HTTP 429 with `Retry-After` is honored by the client itself;
//! what still fails after that is retried here and counted.
//!
//! Backfill fetches transactions several per JSON-RPC batch request (`getTransaction` × N in one
//! HTTP request, as Agave's RPC accepts): one request, one answer and one parse instead of N
//! round trips. A node that refuses batches (some providers do) is asked one transaction at a
//! time from then on.
//!
//! Nothing a node answers is trusted blindly: every answer is read within a byte bound
//! ([`sender`]), and a transaction answer must be of the signature asked (a batch answer under
//! another request's id, or another transaction's body, is refused and asked again).

pub mod blocks;
mod sender;
mod transactions;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use solana_commitment_config::CommitmentConfig;
use solana_pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_api::client_error::ErrorKind;
use solana_rpc_client_api::request::RpcError;
use solana_rpc_client_api::response::RpcConfirmedTransactionStatusWithSignature;
use solana_signature::Signature;

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use sender::BoundedSender;
pub use sender::DEFAULT_MAX_ANSWER_BYTES;

/// Attempts per call before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// First backoff delay; doubled per attempt, capped at [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Largest page `getSignaturesForAddress` returns.
pub const SIGNATURE_PAGE: usize = 1_000;
/// Transactions asked for in one batch request unless configured otherwise.
pub const DEFAULT_BATCH: usize = 16;
/// Recent blocks whose transaction positions [`Rpc::position`] remembers: the live path asks
/// about many transactions of the same few slots.
const RECENT_BLOCKS: usize = 32;
/// A block's transaction positions by signature.
type BlockPositions = Arc<HashMap<String, u32>>;

/// Recent slots with their blocks' positions (`None`: the node did not serve the block), oldest
/// first.
type RecentBlocks = VecDeque<(u64, Option<BlockPositions>)>;

/// A Solana RPC endpoint with retries, a per-slot block-time cache and the positions of recent
/// blocks.
#[derive(Clone)]
pub struct Rpc {
    client: Arc<RpcClient>,
    http: reqwest::Client,
    url: String,
    batch: usize,
    batches_refused: Arc<AtomicBool>,
    batch_rate_limited: Arc<Mutex<Duration>>,
    commitment: CommitmentConfig,
    metrics: Arc<Metrics>,
    max_answer_bytes: usize,
    block_times: Arc<Mutex<BTreeMap<u64, i64>>>,
    recent_blocks: Arc<Mutex<RecentBlocks>>,
}

/// The delay before retry number `attempt` (1-based): exponential with full jitter.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = FIRST_BACKOFF.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF);
    let millis = rand::thread_rng().gen_range(ceiling.as_millis() as u64 / 2..=ceiling.as_millis() as u64);
    Duration::from_millis(millis)
}

impl Rpc {
    /// A client of `url` reading at `commitment`.
    pub fn new(url: &str, commitment: CommitmentConfig, metrics: Arc<Metrics>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client without custom TLS builds");
        Self {
            client: Arc::new(client(&http, url, commitment, DEFAULT_MAX_ANSWER_BYTES, &metrics)),
            http,
            url: url.to_owned(),
            batch: DEFAULT_BATCH,
            batches_refused: Arc::new(AtomicBool::new(false)),
            batch_rate_limited: Arc::new(Mutex::new(Duration::ZERO)),
            commitment,
            metrics,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            block_times: Arc::new(Mutex::new(BTreeMap::new())),
            recent_blocks: Arc::new(Mutex::new(VecDeque::with_capacity(RECENT_BLOCKS))),
        }
    }

    /// The same endpoint refusing answers larger than `bytes` (each refusal is retried).
    pub fn with_max_answer_bytes(mut self, bytes: usize) -> Self {
        self.max_answer_bytes = bytes.max(1024);
        self.client = Arc::new(client(&self.http, &self.url, self.commitment, self.max_answer_bytes, &self.metrics));
        self
    }

    async fn retry<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, solana_rpc_client_api::client_error::Error>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call().await {
                Ok(value) => return Ok(value),
                Err(err) if attempt < MAX_ATTEMPTS => {
                    self.metrics.rpc_retries.with_label_values(&[what]).inc();
                    tracing::debug!(call = what, attempt, error = %err, "rpc call failed, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(err) => return Err(Error::Rpc(format!("{what}: {err}"))),
            }
        }
    }

    /// The same endpoint asking for at most `batch` transactions per request (1: no batches).
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Transactions [`Rpc::transactions`] asks for per request: 1 once the node refused a batch.
    pub fn batch_size(&self) -> usize {
        if self.batches_refused.load(Ordering::Relaxed) {
            1
        } else {
            self.batch
        }
    }

    /// Time spent waiting on HTTP 429 `Retry-After` answers.
    pub fn rate_limited_time(&self) -> Duration {
        self.client.get_transport_stats().rate_limited_time
            + *self.batch_rate_limited.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest slot at the configured commitment.
    pub async fn tip_slot(&self) -> Result<u64> {
        self.retry("getSlot", || self.client.get_slot_with_commitment(self.commitment)).await
    }

    /// Block height at the configured commitment.
    pub async fn block_height(&self) -> Result<u64> {
        self.retry("getBlockHeight", || self.client.get_block_height_with_commitment(self.commitment)).await
    }

    /// The newest performance sample, if the node has one.
    pub async fn newest_performance_sample(&self) -> Result<Option<solana_rpc_client_api::response::RpcPerfSample>> {
        let samples =
            self.retry("getRecentPerformanceSamples", || self.client.get_recent_performance_samples(Some(1))).await?;
        Ok(samples.into_iter().next())
    }

    /// The newest slot at `finalized`.
    pub async fn finalized_slot(&self) -> Result<u64> {
        self.retry("getSlot", || self.client.get_slot_with_commitment(CommitmentConfig::finalized())).await
    }

    /// One page of signatures, newest first, strictly older than `before`.
    pub async fn signatures(
        &self,
        program: &Pubkey,
        before: Option<Signature>,
        until: Option<Signature>,
    ) -> Result<Vec<RpcConfirmedTransactionStatusWithSignature>> {
        self.retry("getSignaturesForAddress", || {
            let config = GetConfirmedSignaturesForAddress2Config {
                before,
                until,
                limit: Some(SIGNATURE_PAGE),
                commitment: Some(self.commitment),
            };
            self.client.get_signatures_for_address_with_config(program, config)
        })
        .await
    }

    /// Statuses of up to 256 signatures (`None`: unknown to the node).
    pub async fn statuses(&self, signatures: &[Signature]) -> Result<Vec<Option<u64>>> {
        let answer =
            self.retry("getSignatureStatuses", || self.client.get_signature_statuses_with_history(signatures)).await?;
        Ok(answer.value.into_iter().map(|status| status.map(|s| s.slot)).collect())
    }
}

/// The RPC client of `url`, its answers read within `max_answer_bytes`.
fn client(
    http: &reqwest::Client,
    url: &str,
    commitment: CommitmentConfig,
    max_answer_bytes: usize,
    metrics: &Arc<Metrics>,
) -> RpcClient {
    RpcClient::new_sender(
        BoundedSender::new(http.clone(), url, max_answer_bytes, metrics.clone()),
        solana_rpc_client::rpc_client::RpcClientConfig::with_commitment(commitment),
    )
}

/// The JSON-RPC error code of a node's error answer (`None` for transport and decoding errors).
fn response_error_code(err: &solana_rpc_client_api::client_error::Error) -> Option<i64> {
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => Some(*code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn backoff_doubles_up_to_its_ceiling_with_full_jitter_in_the_upper_half() {
        for attempt in 1..=12u32 {
            let ceiling = FIRST_BACKOFF.saturating_mul(1 << attempt).min(MAX_BACKOFF);
            let draws: Vec<Duration> = (0..200).map(|_| backoff(attempt)).collect();
            assert!(draws.iter().all(|d| *d >= ceiling / 2 && *d <= ceiling), "attempt {attempt}: {draws:?}");
            let distinct: HashSet<Duration> = draws.iter().copied().collect();
            assert!(distinct.len() > 20, "attempt {attempt} is jittered: {} distinct delays", distinct.len());
        }
        assert!((0..50).all(|_| backoff(40) <= MAX_BACKOFF), "capped");
    }
}
