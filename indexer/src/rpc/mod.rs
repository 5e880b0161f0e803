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

mod sender;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use serde_json::value::RawValue;
use solana_commitment_config::CommitmentConfig;
use solana_pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::client_error::ErrorKind;
use solana_rpc_client_api::config::RpcBlockConfig;
use solana_rpc_client_api::request::{RpcError, RpcRequest};
use solana_rpc_client_api::response::RpcConfirmedTransactionStatusWithSignature;
use solana_signature::Signature;
use solana_transaction_status_client_types::{EncodedConfirmedTransactionWithStatusMeta, TransactionDetails};

use crate::error::{Error, Result};
use crate::metrics::Metrics;
pub use sender::DEFAULT_MAX_ANSWER_BYTES;
use sender::{post_json, read_bounded, retry_after, BoundedSender, ReadError};

/// Attempts per call before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// First backoff delay; doubled per attempt, capped at [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Largest page `getSignaturesForAddress` returns.
pub const SIGNATURE_PAGE: usize = 1_000;
/// Transactions asked for in one batch request unless configured otherwise.
pub const DEFAULT_BATCH: usize = 16;
/// `getBlock` attempts while the node answers "block not available" (a block just confirmed).
const BLOCK_NOT_AVAILABLE_ATTEMPTS: u32 = 4;
/// The JSON-RPC error code of "block not available for slot".
const BLOCK_NOT_AVAILABLE: i64 = -32004;
/// Error codes that mean the node will not serve a block: cleaned up (-32001), slot skipped
/// (-32007, -32009), no transaction history (-32011), method not found or unsupported
/// parameters (-32601, -32602).
const BLOCK_NOT_SERVED: [i64; 6] = [-32001, -32007, -32009, -32011, -32601, -32602];

/// Recent blocks whose transaction positions [`Rpc::position`] remembers: the live path asks
/// about many transactions of the same few slots.
const RECENT_BLOCKS: usize = 32;
/// Block times remembered; past it the oldest slots are forgotten (a backfill asks about slots
/// in increasing order, the live path about the newest ones).
const BLOCK_TIMES: usize = 100_000;

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

    fn remember_block_time(&self, slot: u64, time: i64) {
        let mut cache = self.block_times.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(slot, time);
        while cache.len() > BLOCK_TIMES {
            cache.pop_first();
        }
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

    /// A transaction in JSON encoding, or `None` when the node does not have it (or no longer:
    /// dropped with its fork). An answer that is neither is an error (retried), never "not found".
    pub async fn transaction(&self, signature: &str) -> Result<Option<EncodedConfirmedTransactionWithStatusMeta>> {
        Signature::from_str(signature).map_err(|_| Error::InvalidSignature(signature.to_owned()))?;
        let params = serde_json::json!([signature, self.transaction_config()]);
        let answer = self
            .retry("getTransaction", || async {
                let answer: Option<EncodedConfirmedTransactionWithStatusMeta> =
                    self.client.send(RpcRequest::GetTransaction, params.clone()).await?;
                match &answer {
                    Some(fetched) if !self.is_answer_for(signature, fetched) => {
                        Err(ClientError::from(solana_rpc_client_api::client_error::ErrorKind::Custom(format!(
                            "getTransaction {signature} answered another transaction"
                        ))))
                    }
                    _ => Ok(answer),
                }
            })
            .await?;
        self.note_fetched(&answer);
        Ok(answer)
    }

    fn transaction_config(&self) -> serde_json::Value {
        serde_json::json!({
            "encoding": "json",
            "commitment": self.commitment.commitment,
            "maxSupportedTransactionVersion": 0,
        })
    }

    /// Whether an answer is of the transaction asked for; counts and logs one that is not.
    fn is_answer_for(&self, signature: &str, fetched: &EncodedConfirmedTransactionWithStatusMeta) -> bool {
        let answered = shared::rpc::answered_signature(fetched);
        if answered.as_deref() == Some(signature) {
            return true;
        }
        self.metrics.mismatched_answers.inc();
        tracing::warn!(signature, answered = ?answered, "getTransaction answered another transaction; refused");
        false
    }

    fn note_fetched(&self, answer: &Option<EncodedConfirmedTransactionWithStatusMeta>) {
        self.metrics.transactions_fetched.inc();
        if let Some((slot, time)) = answer.as_ref().and_then(|tx| tx.block_time.map(|time| (tx.slot, time))) {
            self.remember_block_time(slot, time);
        }
    }

    /// Transactions in JSON encoding, in the order asked (`None`: the node does not have it),
    /// with one batch request when there are several and the node accepts batches. What the
    /// batch did not answer usably (an error, a missing or malformed item) is asked on its own.
    pub async fn transactions(
        &self,
        signatures: &[String],
    ) -> Result<Vec<Option<EncodedConfirmedTransactionWithStatusMeta>>> {
        let mut answers: Vec<Option<Option<EncodedConfirmedTransactionWithStatusMeta>>> =
            std::iter::repeat_with(|| None).take(signatures.len()).collect();
        if signatures.len() > 1 && self.batch_size() > 1 {
            match self.batch_transactions(signatures).await? {
                Some(batch) => answers = batch,
                None => {
                    tracing::warn!(url = %self.url, "the node refuses JSON-RPC batches; fetching one transaction per request");
                    self.batches_refused.store(true, Ordering::Relaxed);
                }
            }
        }
        let mut out = Vec::with_capacity(signatures.len());
        for (signature, answer) in signatures.iter().zip(answers) {
            out.push(match answer {
                Some(answer) => {
                    self.note_fetched(&answer);
                    answer
                }
                None => self.transaction(signature).await?,
            });
        }
        Ok(out)
    }

    /// One batch of `getTransaction` requests: per signature, its answer when the batch gave a
    /// usable one (`Some(None)`: not found). `None` when the node refuses batches. A batch whose
    /// answer is too large, or holds an answer of another signature than its id's (ids swapped
    /// by a proxy), gives no usable answer at all: each is then asked on its own.
    async fn batch_transactions(
        &self,
        signatures: &[String],
    ) -> Result<Option<Vec<Option<Option<EncodedConfirmedTransactionWithStatusMeta>>>>> {
        let config = self.transaction_config();
        let body: Vec<serde_json::Value> = signatures
            .iter()
            .enumerate()
            .map(|(id, signature)| {
                serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "getTransaction", "params": [signature, config]})
            })
            .collect();
        let body = serde_json::to_vec(&body).map_err(|err| Error::Rpc(format!("batch request: {err}")))?;
        let mut attempt = 0;
        let bytes = loop {
            attempt += 1;
            let sent = post_json(&self.http, &self.url, body.clone()).send().await;
            let throttled = matches!(&sent, Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS);
            let (wait, failure) = match sent {
                Err(err) => (backoff(attempt), err.to_string()),
                Ok(response) => match response.status() {
                    StatusCode::TOO_MANY_REQUESTS => {
                        (retry_after(&response).unwrap_or_else(|| backoff(attempt)), "HTTP 429".to_owned())
                    }
                    status if status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() => {
                        (backoff(attempt), format!("HTTP {status}"))
                    }
                    status if !status.is_success() => {
                        tracing::debug!(%status, "batch request refused");
                        return Ok(None);
                    }
                    _ => match read_bounded(response, self.max_answer_bytes).await {
                        Err(ReadError::Transport(err)) => (backoff(attempt), err.to_string()),
                        Err(err @ ReadError::TooLarge { .. }) => {
                            self.metrics.oversized_answers.inc();
                            tracing::warn!(error = %err, "getTransaction batch answer refused; asking one by one");
                            return Ok(Some(unanswered(signatures.len())));
                        }
                        Ok(bytes) => match batch_error_code(&bytes) {
                            None => break bytes,
                            // Invalid request, method not found: batches are not taken here.
                            Some(-32600 | -32601) => return Ok(None),
                            Some(code) => (backoff(attempt), format!("error {code} for the whole batch")),
                        },
                    },
                },
            };
            self.metrics.rpc_retries.with_label_values(&["getTransaction"]).inc();
            if attempt >= MAX_ATTEMPTS {
                return Err(Error::Rpc(format!("getTransaction batch: {failure}")));
            }
            tracing::debug!(attempt, error = %failure, ?wait, "batch request failed, retrying");
            if throttled {
                *self.batch_rate_limited.lock().unwrap_or_else(|p| p.into_inner()) += wait;
            }
            tokio::time::sleep(wait).await;
        };
        let mut answers = unanswered(signatures.len());
        let items: Vec<HashMap<&str, &RawValue>> = serde_json::from_slice(&bytes).unwrap_or_default();
        for item in items {
            let index = item.get("id").and_then(|id| id.get().parse::<usize>().ok());
            let (Some(index), Some(result), false) =
                (index.filter(|i| *i < signatures.len()), item.get("result"), item.contains_key("error"))
            else {
                continue;
            };
            if result.get() == "null" {
                answers[index] = Some(None);
            } else if let Ok(transaction) = serde_json::from_str(result.get()) {
                if !self.is_answer_for(&signatures[index], &transaction) {
                    tracing::warn!("a batch answer is of another signature than its id's; asking one by one");
                    return Ok(Some(unanswered(signatures.len())));
                }
                answers[index] = Some(Some(transaction));
            }
        }
        Ok(Some(answers))
    }

    /// The block time of a slot, cached.
    pub async fn block_time(&self, slot: u64) -> Result<Option<i64>> {
        if let Some(time) = self.block_times.lock().unwrap_or_else(|p| p.into_inner()).get(&slot) {
            return Ok(Some(*time));
        }
        let time = match self.client.get_block_time(slot).await {
            Ok(time) => Some(time),
            Err(err) => {
                tracing::debug!(slot, error = %err, "block time unavailable");
                None
            }
        };
        if let Some(time) = time {
            self.remember_block_time(slot, time);
        }
        Ok(time)
    }

    /// The signatures of a block's transactions in block order, or why there are none. A block
    /// just confirmed may briefly be "not available": that is retried a few times. Transport
    /// errors and other error answers are retried like every other call.
    pub async fn block_signatures(&self, slot: u64) -> Result<BlockAnswer> {
        let commitment =
            if self.commitment.is_at_least_confirmed() { self.commitment } else { CommitmentConfig::confirmed() };
        self.block_signatures_at(slot, commitment).await
    }

    /// Whether the finalized block of `slot` is known and does not hold `signature`: the
    /// evidence that a transaction of that slot is not in the finalized chain. A block the node
    /// does not serve or has not got proves nothing (`false`).
    pub async fn finalized_block_lacks(&self, slot: u64, signature: &str) -> Result<bool> {
        Ok(match self.block_signatures_at(slot, CommitmentConfig::finalized()).await? {
            BlockAnswer::Signatures(signatures) => !signatures.iter().any(|s| s == signature),
            BlockAnswer::NotServed | BlockAnswer::NotYetAvailable => false,
        })
    }

    async fn block_signatures_at(&self, slot: u64, commitment: CommitmentConfig) -> Result<BlockAnswer> {
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::Signatures),
            rewards: Some(false),
            commitment: Some(commitment),
            max_supported_transaction_version: Some(0),
        };
        let not_available = std::sync::atomic::AtomicU32::new(0);
        let answer = self
            .retry("getBlock", || async {
                match self.client.get_block_with_config(slot, config).await {
                    Ok(block) => {
                        if let Some(time) = block.block_time {
                            self.remember_block_time(slot, time);
                        }
                        Ok(block.signatures.map_or(BlockAnswer::NotServed, BlockAnswer::Signatures))
                    }
                    Err(err) => match response_error_code(&err) {
                        Some(BLOCK_NOT_AVAILABLE) => {
                            if not_available.fetch_add(1, Ordering::Relaxed) + 1 < BLOCK_NOT_AVAILABLE_ATTEMPTS {
                                Err(err)
                            } else {
                                Ok(BlockAnswer::NotYetAvailable)
                            }
                        }
                        Some(code) if BLOCK_NOT_SERVED.contains(&code) => {
                            tracing::debug!(slot, code, error = %err, "block not served");
                            Ok(BlockAnswer::NotServed)
                        }
                        _ => Err(err),
                    },
                }
            })
            .await?;
        self.metrics.blocks_fetched.inc();
        Ok(answer)
    }

    /// The position of a transaction in the block of `slot`, from a cache of recent blocks;
    /// `None` when the node does not serve the block (remembered), has not got it yet (asked
    /// again next time), or the block does not hold the transaction (it was on another fork).
    pub async fn position(&self, slot: u64, signature: &str) -> Result<Option<u32>> {
        let cached = |recent: &RecentBlocks| {
            recent.iter().find(|(cached, _)| *cached == slot).map(|(_, positions)| positions.clone())
        };
        let known = cached(&self.recent_blocks.lock().unwrap_or_else(|p| p.into_inner()));
        let positions = match known {
            Some(positions) => positions,
            None => {
                let positions = match self.block_signatures(slot).await? {
                    BlockAnswer::Signatures(signatures) => {
                        Some(Arc::new(signatures.into_iter().enumerate().map(|(index, s)| (s, index as u32)).collect()))
                    }
                    BlockAnswer::NotServed => None,
                    BlockAnswer::NotYetAvailable => return Ok(None),
                };
                let mut recent = self.recent_blocks.lock().unwrap_or_else(|p| p.into_inner());
                if cached(&recent).is_none() {
                    if recent.len() == RECENT_BLOCKS {
                        recent.pop_front();
                    }
                    recent.push_back((slot, positions.clone()));
                }
                positions
            }
        };
        Ok(positions.and_then(|positions| positions.get(signature).copied()))
    }

    /// Statuses of up to 256 signatures (`None`: unknown to the node).
    pub async fn statuses(&self, signatures: &[Signature]) -> Result<Vec<Option<u64>>> {
        let answer =
            self.retry("getSignatureStatuses", || self.client.get_signature_statuses_with_history(signatures)).await?;
        Ok(answer.value.into_iter().map(|status| status.map(|s| s.slot)).collect())
    }
}

/// What a node answered about a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockAnswer {
    /// The signatures of its transactions, in block order.
    Signatures(Vec<String>),
    /// The node does not serve it: a skipped slot, pruned history, `getBlock` unsupported.
    NotServed,
    /// Still "not available" after a few tries (not confirmed yet).
    NotYetAvailable,
}

/// The error code of a batch request answered with one error object instead of an array.
fn batch_error_code(bytes: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct ErrorAnswer {
        error: ErrorObject,
    }
    #[derive(serde::Deserialize)]
    struct ErrorObject {
        code: i64,
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return None;
    }
    Some(serde_json::from_slice::<ErrorAnswer>(bytes).map_or(-32700, |answer| answer.error.code))
}

/// A batch's answers before any is read: none usable.
fn unanswered(count: usize) -> Vec<Option<Option<EncodedConfirmedTransactionWithStatusMeta>>> {
    std::iter::repeat_with(|| None).take(count).collect()
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

    #[test]
    fn a_batch_error_answer_is_told_from_a_batch_of_answers() {
        assert_eq!(batch_error_code(br#"[{"jsonrpc":"2.0","id":0,"result":null}]"#), None);
        assert_eq!(
            batch_error_code(br#"  {"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}"#),
            Some(-32600)
        );
        assert_eq!(batch_error_code(b"<html>"), Some(-32700));
    }
}
