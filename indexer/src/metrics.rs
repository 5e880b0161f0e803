//! Counters of what the indexer did, shared by every task (exposed over HTTP in a later step).

use std::sync::atomic::{AtomicU64, Ordering};

use shared::decoder::SkipReason;

/// Monotonic counters; cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Events appended to the log.
    pub events_appended: AtomicU64,
    /// Events skipped because the log already had them.
    pub duplicates_skipped: AtomicU64,
    /// Payloads skipped by the decoder, indexed like [`SkipReason::ALL`].
    pub decode_failures: [AtomicU64; SkipReason::ALL.len()],
    /// Transactions re-fetched because their notification's log was truncated.
    pub truncated_refetches: AtomicU64,
    /// Failed transactions seen (ignored).
    pub failed_transactions: AtomicU64,
    /// PubSub (re)connections after the first.
    pub reconnects: AtomicU64,
    /// RPC calls that failed and were retried.
    pub rpc_retries: AtomicU64,
    /// Retractions appended for transactions dropped from the chain.
    pub retractions: AtomicU64,
    /// Transactions fetched with `getTransaction`.
    pub transactions_fetched: AtomicU64,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Counts one decoder skip.
    pub fn decode_failure(&self, reason: SkipReason) {
        let index = SkipReason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        Self::add(&self.decode_failures[index], 1);
    }
}
