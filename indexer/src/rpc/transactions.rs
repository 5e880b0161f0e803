//! Transactions: `getTransaction` one at a time or in JSON-RPC batches, each answer checked
//! against the signature asked.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use serde_json::value::RawValue;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::request::RpcRequest;
use solana_signature::Signature;
use solana_transaction_status_client_types::EncodedConfirmedTransactionWithStatusMeta;

use super::sender::{post_json, read_bounded, retry_after, ReadError};
use super::{backoff, Rpc, MAX_ATTEMPTS};
use crate::error::{Error, Result};

impl Rpc {
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

#[cfg(test)]
mod tests {
    use super::*;

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
