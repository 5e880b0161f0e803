//! Helpers of the indexer integration tests: a context over a fixture node, and the log read
//! back as ground-truth lines.

#![allow(dead_code)]

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use fixtures::node::NodeHandle;
use indexer::backfill::Context;
use indexer::log::{EventLog, LogRecord};
use indexer::metrics::Metrics;
use indexer::rpc::Rpc;
use shared::ProgramSet;
use solana_commitment_config::CommitmentConfig;

/// A context reading `handle` at `confirmed` into a log in `dir`.
pub fn context(handle: &NodeHandle, dir: &Path) -> Arc<Context> {
    let metrics = Arc::new(Metrics::default());
    Arc::new(Context {
        rpc: Rpc::new(&handle.http_url(), CommitmentConfig::confirmed(), metrics.clone()),
        log: Arc::new(EventLog::open(dir, 8 << 20).expect("log opens")),
        programs: ProgramSet::defaults(),
        metrics,
        concurrency: 8,
    })
}

/// The log's events as ground-truth lines, without retracted transactions; also returns how
/// many event records there were (to detect duplicates) and the retracted signatures.
pub struct LogContents {
    /// Lines of events that still count.
    pub lines: BTreeSet<String>,
    /// Event records in the log, retracted or not.
    pub event_records: usize,
    /// Retracted signatures.
    pub retracted: HashSet<[u8; 64]>,
}

/// Reads the whole log.
pub fn read_log(log: &EventLog) -> LogContents {
    let mut events = Vec::new();
    let mut retracted = HashSet::new();
    for entry in log.read_from(1) {
        let (seq, record) = entry.expect("log reads");
        match record {
            LogRecord::Event(stored) => {
                events.push((stored.signature, stored.to_envelope(seq).expect("event decodes")))
            }
            LogRecord::Retraction { signature, .. } => {
                retracted.insert(signature);
            }
        }
    }
    let event_records = events.len();
    let lines = events
        .iter()
        .filter(|(signature, _)| !retracted.contains(signature))
        .map(|(_, envelope)| fixtures::testing::truth_line(envelope))
        .collect();
    LogContents { lines, event_records, retracted }
}
