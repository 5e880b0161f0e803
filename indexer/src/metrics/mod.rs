//! The indexer's Prometheus metrics, shared by every task and served at `/metrics`.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use shared::decoder::SkipReason;

mod server;
pub use server::serve;

/// Every metric of the indexer, registered in one registry.
pub struct Metrics {
    registry: Registry,
    /// Events appended to the log.
    pub events_appended: IntCounter,
    /// Events skipped because the log already had them.
    pub duplicates_skipped: IntCounter,
    /// Payloads skipped by the decoder, by reason.
    pub decode_failures: IntCounterVec,
    /// Transactions re-fetched because their notification's log was truncated.
    pub truncated_refetches: IntCounter,
    /// Failed transactions seen (ignored).
    pub failed_transactions: IntCounter,
    /// PubSub reconnections.
    pub reconnects: IntCounter,
    /// RPC errors that were retried, by call.
    pub rpc_retries: IntCounterVec,
    /// Retractions appended for transactions dropped from the chain.
    pub retractions: IntCounter,
    /// Transactions fetched with `getTransaction`.
    pub transactions_fetched: IntCounter,
    /// Blocks fetched with `getBlock` for their transactions' positions.
    pub blocks_fetched: IntCounter,
    /// Transactions logged without a block position (the node did not serve the block).
    pub positions_unknown: IntCounter,
    /// `getTransaction` answers that could not be decoded (the transaction is set aside).
    pub unusable_transactions: IntCounter,
    /// Transactions set aside that still cannot be decoded, after the last retry.
    pub set_aside_transactions: IntGauge,
    /// Listed transactions `getTransaction` answered `null` for (set aside for a retry).
    pub missing_transactions: IntCounter,
    /// Set-aside transactions proven gone (finalized block without them) and dropped.
    pub dropped_transactions: IntCounter,
    /// RPC answers refused for being larger than `--max-rpc-answer-bytes` (then retried).
    pub oversized_answers: IntCounter,
    /// `getTransaction` answers holding another transaction than the one asked (swapped batch
    /// ids, a wrong backend): refused and asked again.
    pub mismatched_answers: IntCounter,
    /// Pending transactions whose status the node did not know at a finality check (a lagging
    /// backend, or a fork whose block is not finalized yet): kept pending, asked again.
    pub unknown_statuses: IntCounter,
    /// Signature pages that did not move past `before` (a node ignoring it): asked again.
    pub stuck_pages: IntCounter,
    /// Seconds spent waiting on HTTP 429 `Retry-After`.
    pub rate_limited_seconds: IntGauge,
    /// Newest seq in the log.
    pub log_seq: IntGauge,
    /// Seq up to which every record is folded and committed: what a restart resumes after. An
    /// update waiting for its entity's creation holds it back (up to the 3,000-slot orphan horizon)
    /// although newer records are projected.
    pub projection_seq: IntGauge,
    /// Slots between the node's tip and the newest slot seen in a notification.
    pub slot_lag: IntGauge,
    /// Newest slot seen in a notification.
    pub newest_notified_slot: IntGauge,
    /// Duration of projection commits.
    pub commit_seconds: Histogram,
    /// Newest seq in the NATS stream (as the publisher or the replica last saw it).
    pub stream_seq: IntGauge,
    /// Records in the log not yet in the stream (log seq minus stream seq; the publisher).
    pub publish_lag: IntGauge,
    /// Records in the stream not yet projected (stream seq minus projected seq; a replica).
    pub follow_lag: IntGauge,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry.register(Box::new(metric.clone())).expect("metric names are unique");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new_custom(Some("indexer".into()), None).expect("valid prefix");
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help).expect("valid metric"));
        let gauge = |name: &str, help: &str| register(&registry, IntGauge::new(name, help).expect("valid metric"));
        let decode_failures = register(
            &registry,
            IntCounterVec::new(
                Opts::new("decode_failures_total", "Payloads skipped by the decoder, by reason"),
                &["reason"],
            )
            .expect("valid metric"),
        );
        for reason in SkipReason::ALL {
            decode_failures.with_label_values(&[reason.as_str()]);
        }
        Self {
            events_appended: counter("events_appended_total", "Events appended to the log"),
            duplicates_skipped: counter("duplicates_skipped_total", "Events skipped because the log already had them"),
            decode_failures,
            truncated_refetches: counter("truncated_refetches_total", "Transactions re-fetched after a truncated log"),
            failed_transactions: counter("failed_transactions_total", "Failed transactions seen and ignored"),
            reconnects: counter("reconnects_total", "PubSub reconnections"),
            rpc_retries: register(
                &registry,
                IntCounterVec::new(Opts::new("rpc_retries_total", "RPC errors retried, by call"), &["call"])
                    .expect("valid metric"),
            ),
            retractions: counter("retractions_total", "Transactions retracted after being dropped from the chain"),
            transactions_fetched: counter("transactions_fetched_total", "Transactions fetched with getTransaction"),
            blocks_fetched: counter("blocks_fetched_total", "Blocks fetched with getBlock for transaction positions"),
            positions_unknown: counter(
                "positions_unknown_total",
                "Transactions logged without a block position (block not served)",
            ),
            unusable_transactions: counter(
                "unusable_transactions_total",
                "getTransaction answers that could not be decoded (set aside for a retry)",
            ),
            missing_transactions: counter(
                "missing_transactions_total",
                "Listed transactions getTransaction answered null for (set aside for a retry)",
            ),
            dropped_transactions: counter(
                "dropped_transactions_total",
                "Set-aside transactions proven gone by the finalized block and dropped",
            ),
            set_aside_transactions: gauge(
                "set_aside_transactions",
                "Transactions set aside that still cannot be decoded after the last retry",
            ),
            oversized_answers: counter(
                "oversized_answers_total",
                "RPC answers refused for being larger than the answer bound (retried)",
            ),
            mismatched_answers: counter(
                "mismatched_answers_total",
                "getTransaction answers holding another transaction than the one asked (retried)",
            ),
            unknown_statuses: counter(
                "unknown_statuses_total",
                "Pending transactions whose status the node did not know at a finality check (kept pending)",
            ),
            stuck_pages: counter("stuck_pages_total", "Signature pages that did not move past before (retried)"),
            rate_limited_seconds: gauge("rate_limited_seconds", "Seconds spent waiting on HTTP 429 Retry-After"),
            log_seq: gauge("log_seq", "Newest seq in the event log"),
            projection_seq: gauge(
                "projection_seq",
                "Seq up to which every record is folded and committed (held before an update waiting for its entity)",
            ),
            slot_lag: gauge("slot_lag", "Slots between the node tip and the newest notified slot"),
            newest_notified_slot: gauge("newest_notified_slot", "Newest slot seen in a log notification"),
            commit_seconds: register(
                &registry,
                Histogram::with_opts(HistogramOpts::new("commit_seconds", "Duration of projection commits"))
                    .expect("valid metric"),
            ),
            stream_seq: gauge("stream_seq", "Newest seq in the NATS stream"),
            publish_lag: gauge("publish_lag", "Log records not yet in the NATS stream (log seq minus stream seq)"),
            follow_lag: gauge(
                "follow_lag",
                "Stream records not yet projected by this replica (stream seq minus projected seq)",
            ),
            registry,
        }
    }
}

impl Metrics {
    /// Counts one decoder skip.
    pub fn decode_failure(&self, reason: SkipReason) {
        self.decode_failures.with_label_values(&[reason.as_str()]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("exposition is UTF-8")
    }
}
