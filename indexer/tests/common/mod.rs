//! Helpers of the indexer integration tests: a context over a fixture node, and the log read
//! back as ground-truth lines.

#![allow(dead_code)]

pub mod nats;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use fixtures::node::NodeHandle;
use indexer::backfill::Context;
use indexer::log::{EventLog, LogRecord};
use indexer::rpc::Rpc;
use shared::ProgramSet;
use solana_commitment_config::CommitmentConfig;

/// A context reading `handle` at `confirmed` into a log in `dir`.
pub fn context(handle: &NodeHandle, dir: &Path) -> Arc<Context> {
    context_with(handle, dir, |rpc| rpc)
}

/// A context like [`context`] whose RPC client `configure` adjusts.
pub fn context_with(handle: &NodeHandle, dir: &Path, configure: impl FnOnce(Rpc) -> Rpc + 'static) -> Arc<Context> {
    Arc::new(
        Context::builder(&handle.http_url(), dir)
            .cache_bytes(8 << 20)
            .concurrency(8)
            .configure_rpc(configure)
            .build()
            .expect("log opens"),
    )
}

/// The real `indexer` binary with `args`, on `data_dir`, reading `node`; output captured.
pub fn indexer(node: &NodeHandle, data_dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_indexer"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--rpc-url", &node.http_url(), "--ws-url", &node.ws_url()])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

/// Waits for a child process to end, off the async runtime's threads.
pub async fn finish(child: std::process::Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap()
}

/// A free loopback address (`127.0.0.1:port`) for a process the test starts.
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

/// Live following of `node` at `confirmed`, reconciling every `reconcile_interval`.
pub fn live_config(node: &NodeHandle, reconcile_interval: std::time::Duration) -> indexer::live::LiveConfig {
    indexer::live::LiveConfig { ws_url: node.ws_url(), commitment: CommitmentConfig::confirmed(), reconcile_interval }
}

/// Projects the whole log into `dir` (a fresh projection), committed and closed.
pub fn project(log: &EventLog, dir: &Path) {
    let mut projector = indexer::projector::Projector::open(dir, &ProgramSet::defaults()).expect("projections open");
    projector.catch_up(log, usize::MAX).expect("projector catches up");
    projector.commit().expect("projections commit");
    projector.finish().expect("projector finishes");
}

/// The log's events as ground-truth lines, without retracted records; also returns how many
/// records count (to detect duplicates) and the retracted signatures.
pub struct LogContents {
    /// Lines of events that still count.
    pub lines: BTreeSet<String>,
    /// Event records in the log that count (not retracted).
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
                let counts = !log.is_retracted(&stored.signature, seq).expect("log reads");
                events.push((counts, stored.to_envelope(seq).expect("event decodes")))
            }
            LogRecord::Retraction { signature, .. } => {
                retracted.insert(signature);
            }
            LogRecord::Telemetry(_) | LogRecord::Api(_) => {}
        }
    }
    let event_records = events.iter().filter(|(counts, _)| *counts).count();
    let lines = events
        .iter()
        .filter(|(counts, _)| *counts)
        .map(|(_, envelope)| test_support::node::truth_line(envelope))
        .collect();
    LogContents { lines, event_records, retracted }
}
