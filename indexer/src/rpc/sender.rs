//! The HTTP transport under every single RPC call: Agave's `HttpSender` behaviour (JSON-RPC over
//! POST, HTTP 429 honoured with its `Retry-After`) with one difference that matters against a
//! hostile or broken provider: an answer is read in chunks up to a byte bound and refused past
//! it, so no answer can make the indexer buffer more than the bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use solana_rpc_client::rpc_sender::{RpcSender, RpcTransportStats};
use solana_rpc_client_api::client_error::{Error as ClientError, ErrorKind, Result as ClientResult};
use solana_rpc_client_api::request::{RpcError, RpcRequest, RpcResponseErrorData};

use crate::metrics::Metrics;

/// Largest RPC answer read unless configured otherwise. The largest honest answers the indexer
/// asks for, a batch of transactions (each a packet of at most 1,232 bytes, its meta and its
/// logs, which Agave truncates at 10 KB) and a page of 1,000 signatures, are a few MiB at most.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 << 20;

/// Times a 429 is waited out before it is returned as an error (then retried by the caller).
const TOO_MANY_REQUESTS_RETRIES: u32 = 5;
/// Wait after a 429 without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_millis(500);

/// Why an answer body could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The transport failed mid-body.
    Transport(reqwest::Error),
    /// The body is larger than the bound.
    TooLarge {
        /// The bound that was passed.
        limit: usize,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Transport(err) => write!(f, "{err}"),
            ReadError::TooLarge { limit } => write!(f, "answer larger than {limit} bytes; refused"),
        }
    }
}

/// Reads an answer's body, refusing it as soon as it passes `limit` bytes (by its declared
/// length or while reading): memory per answer is bounded by `limit` whatever the node sends.
pub async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(ReadError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(response.content_length().map_or(0, |length| length as usize));
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A JSON-RPC POST of `body` to `url`.
pub fn post_json(http: &reqwest::Client, url: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    http.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body)
}

/// The `Retry-After` of a 429 answer, in seconds (at most a minute).
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}

/// An [`RpcSender`] that reads every answer within a byte bound.
pub struct BoundedSender {
    http: reqwest::Client,
    url: String,
    max_answer_bytes: usize,
    request_id: AtomicU64,
    stats: RwLock<RpcTransportStats>,
    metrics: Arc<Metrics>,
}

impl BoundedSender {
    /// A sender posting to `url` through `http`, refusing answers above `max_answer_bytes`.
    pub fn new(http: reqwest::Client, url: &str, max_answer_bytes: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            http,
            url: url.to_owned(),
            max_answer_bytes,
            request_id: AtomicU64::new(0),
            stats: RwLock::new(RpcTransportStats::default()),
            metrics,
        }
    }

    fn add_stats(&self, started: Instant, rate_limited: Duration) {
        let mut stats = self.stats.write().unwrap_or_else(|p| p.into_inner());
        stats.request_count += 1;
        stats.elapsed_time += started.elapsed();
        stats.rate_limited_time += rate_limited;
    }
}

/// A transport-level error the client retries like any other failed call.
fn custom(message: String) -> ClientError {
    ClientError::from(ErrorKind::Custom(message))
}

/// The `result` of a JSON-RPC answer, or its `error` as the client's error type.
fn answer_result(bytes: &[u8]) -> ClientResult<serde_json::Value> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        result: serde_json::Value,
        error: Option<ErrorObject>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorObject {
        code: i64,
        #[serde(default)]
        message: String,
    }
    let answer: Answer = serde_json::from_slice(bytes)?;
    match answer.error {
        Some(error) => Err(RpcError::RpcResponseError {
            code: error.code,
            message: error.message,
            data: RpcResponseErrorData::Empty,
        }
        .into()),
        None => Ok(answer.result),
    }
}

#[async_trait::async_trait]
impl RpcSender for BoundedSender {
    async fn send(&self, request: RpcRequest, params: serde_json::Value) -> ClientResult<serde_json::Value> {
        let started = Instant::now();
        let id = self.request_id.fetch_add(1, Ordering::Relaxed);
        let body = request.build_request_json(id, params).to_string();
        let mut rate_limited = Duration::ZERO;
        let mut throttled = 0;
        let outcome = loop {
            let sent = post_json(&self.http, &self.url, body.clone()).send().await;
            let response = match sent {
                Ok(response) => response,
                Err(err) => break Err(err.into()),
            };
            if response.status() == StatusCode::TOO_MANY_REQUESTS && throttled < TOO_MANY_REQUESTS_RETRIES {
                throttled += 1;
                let wait = retry_after(&response).unwrap_or(DEFAULT_RETRY_AFTER);
                tokio::time::sleep(wait).await;
                rate_limited += wait;
                continue;
            }
            if let Err(err) = response.error_for_status_ref() {
                break Err(err.into());
            }
            break match read_bounded(response, self.max_answer_bytes).await {
                Ok(bytes) => answer_result(&bytes),
                Err(ReadError::Transport(err)) => Err(err.into()),
                Err(err @ ReadError::TooLarge { .. }) => {
                    self.metrics.oversized_answers.inc();
                    tracing::warn!(call = %request, error = %err, "rpc answer refused");
                    Err(custom(format!("{request}: {err}")))
                }
            };
        };
        self.add_stats(started, rate_limited);
        outcome
    }

    fn get_transport_stats(&self) -> RpcTransportStats {
        self.stats.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn url(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_keeps_its_code_and_a_result_is_returned_whole() {
        let error = answer_result(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32004,"message":"not available"}}"#)
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::RpcError(RpcError::RpcResponseError { code: -32004, .. })),
            "{error}"
        );
        let result = answer_result(br#"{"jsonrpc":"2.0","id":1,"result":{"slot":7}}"#).unwrap();
        assert_eq!(result, serde_json::json!({"slot": 7}));
        assert!(answer_result(b"{not json").is_err());
    }
}
