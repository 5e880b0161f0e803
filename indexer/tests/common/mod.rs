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
use indexer::metrics::Metrics;
use indexer::rpc::Rpc;
use shared::ProgramSet;
use solana_commitment_config::CommitmentConfig;

/// A context reading `handle` at `confirmed` into a log in `dir`.
pub fn context(handle: &NodeHandle, dir: &Path) -> Arc<Context> {
    context_with(handle, dir, |rpc| rpc)
}

/// A context like [`context`] whose RPC client `configure` adjusts.
pub fn context_with(handle: &NodeHandle, dir: &Path, configure: impl FnOnce(Rpc) -> Rpc) -> Arc<Context> {
    let metrics = Arc::new(Metrics::default());
    Arc::new(Context {
        rpc: configure(Rpc::new(&handle.http_url(), CommitmentConfig::confirmed(), metrics.clone())),
        log: Arc::new(EventLog::open(dir, 8 << 20).expect("log opens")),
        programs: ProgramSet::defaults(),
        metrics,
        concurrency: 8,
    })
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
        .map(|(_, envelope)| fixtures::testing::truth_line(envelope))
        .collect();
    LogContents { lines, event_records, retracted }
}

/// Reads every document of the DFPN projections back as API objects, keyed by id.
pub fn projected(dir: &Path) -> fixtures::testing::ExpectedDfpn {
    use shared::entity::{ModelObject, RequestObject, WorkerObject};
    use shared::schema::dfpn::{Model, ModelFields, Request, RequestFields, Worker, WorkerFields};
    use shared::schema::Family;
    use tantivy::collector::DocSetCollector;
    use tantivy::query::AllQuery;

    fn all_docs(dir: &Path, family: Family) -> (tantivy::schema::Schema, Vec<tantivy::TantivyDocument>) {
        let index = tantivy::Index::open_in_dir(dir.join(family.dir_name())).expect("projection exists");
        shared::schema::register_tokenizers(&index);
        let searcher = index.reader().expect("reader").searcher();
        let addresses = searcher.search(&AllQuery, &DocSetCollector).expect("search");
        let docs = addresses.into_iter().map(|address| searcher.doc(address).expect("stored doc")).collect();
        (index.schema(), docs)
    }
    let mut out = fixtures::testing::ExpectedDfpn::default();
    let (schema, docs) = all_docs(dir, Family::Requests);
    let fields = RequestFields::resolve(&schema);
    for doc in docs {
        let request = Request::from_document(&doc, &fields).expect("request doc");
        out.chain_status.insert(request.id.clone(), request.chain_status.as_str().to_owned());
        assert!(
            out.requests
                .insert(request.id.clone(), serde_json::to_value(RequestObject::from(&request)).unwrap())
                .is_none(),
            "one doc per request"
        );
    }
    let (schema, docs) = all_docs(dir, Family::Workers);
    let fields = WorkerFields::resolve(&schema);
    for doc in docs {
        let worker = Worker::from_document(&doc, &fields).expect("worker doc");
        out.chain_status.insert(worker.id.clone(), worker.status.as_str().to_owned());
        assert!(
            out.workers.insert(worker.id.clone(), serde_json::to_value(WorkerObject::from(&worker)).unwrap()).is_none(),
            "one doc per worker"
        );
    }
    let (schema, docs) = all_docs(dir, Family::Models);
    let fields = ModelFields::resolve(&schema);
    for doc in docs {
        let model = Model::from_document(&doc, &fields).expect("model doc");
        out.chain_status.insert(model.id.clone(), model.chain_status.as_str().to_owned());
        assert!(
            out.models.insert(model.id.clone(), serde_json::to_value(ModelObject::from(&model)).unwrap()).is_none(),
            "one doc per model"
        );
    }
    out
}

/// Reads the Psy projections back in the shape of [`fixtures::testing::ExpectedPsy`].
pub fn projected_psy(dir: &Path) -> fixtures::testing::ExpectedPsy {
    use serde_json::json;
    use shared::schema::psy::*;
    use shared::schema::Family;
    use tantivy::collector::DocSetCollector;
    use tantivy::query::AllQuery;

    fn all_docs(dir: &Path, family: Family) -> (tantivy::schema::Schema, Vec<tantivy::TantivyDocument>) {
        let index = tantivy::Index::open_in_dir(dir.join(family.dir_name())).expect("projection exists");
        let searcher = index.reader().expect("reader").searcher();
        let addresses = searcher.search(&AllQuery, &DocSetCollector).expect("search");
        (index.schema(), addresses.into_iter().map(|a| searcher.doc(a).expect("stored doc")).collect())
    }
    let mut out = fixtures::testing::ExpectedPsy::default();
    let (schema, docs) = all_docs(dir, Family::Users);
    for doc in docs {
        let u = User::from_document(&doc, &UserFields::resolve(&schema)).unwrap();
        out.users.insert(u.id.clone(), json!({"user_id": u.user_id, "public_key": u.public_key, "twitter_handle": u.twitter_handle, "label": u.label, "checkpoint_id": u.checkpoint_id, "created_at": u.created_at}));
    }
    let (schema, docs) = all_docs(dir, Family::Jobs);
    for doc in docs {
        let j = Job::from_document(&doc, &JobFields::resolve(&schema)).unwrap();
        assert_eq!(j.category, j.circuit_type.category());
        out.jobs.insert(j.id.clone(), json!({"job_id": j.job_id, "realm_id": j.realm_id, "worker_public_key": j.worker_public_key, "topic": j.topic, "circuit_type": j.circuit_type, "status": j.status, "start_time": j.start_time, "end_time": j.end_time, "duration_ms": j.duration_ms, "checkpoint_id": j.checkpoint_id}));
    }
    let (schema, docs) = all_docs(dir, Family::Realms);
    for doc in docs {
        let r = Realm::from_document(&doc, &RealmFields::resolve(&schema)).unwrap();
        out.realms.insert(
            r.id.clone(),
            json!({"realm_id": r.realm_id, "name": r.name, "active": r.active, "created_at": r.created_at}),
        );
    }
    let (schema, docs) = all_docs(dir, Family::Checkpoints);
    for doc in docs {
        let c = Checkpoint::from_document(&doc, &CheckpointFields::resolve(&schema)).unwrap();
        out.checkpoints.insert(c.id.clone(), json!({"checkpoint_id": c.checkpoint_id, "block_height": c.block_height, "created_at": c.created_at, "finalized_at": c.finalized_at}));
    }
    let (schema, docs) = all_docs(dir, Family::Contracts);
    for doc in docs {
        let c = Contract::from_document(&doc, &ContractFields::resolve(&schema)).unwrap();
        let functions: serde_json::Value = serde_json::from_str(&c.functions).unwrap();
        out.contracts.insert(c.id.clone(), json!({"deployer": c.deployer, "user_id": c.user_id, "state_tree_height": c.state_tree_height, "function_count": c.function_count, "functions": functions, "checkpoint_id": c.checkpoint_id, "deployed_at": c.deployed_at}));
    }
    let (schema, docs) = all_docs(dir, Family::UserEvents);
    for doc in docs {
        let e = UserEvent::from_document(&doc, &UserEventFields::resolve(&schema)).unwrap();
        out.user_events.push((e.user_id, e.tx_type.to_string(), e.checkpoint_id, e.timestamp));
    }
    let (schema, docs) = all_docs(dir, Family::WorkerEvents);
    for doc in docs {
        let e = WorkerEvent::from_document(&doc, &WorkerEventFields::resolve(&schema)).unwrap();
        out.worker_events.push((e.job_id, e.status.to_string(), e.worker_public_key, e.timestamp));
    }
    out.user_events.sort();
    out.worker_events.sort();
    out
}

/// Asserts two DFPN or Psy states are equal, naming only the entries that differ.
pub fn assert_same<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    what: &str,
    got: &std::collections::BTreeMap<K, V>,
    want: &std::collections::BTreeMap<K, V>,
) {
    let differing: Vec<String> = want
        .iter()
        .filter(|(key, value)| got.get(key) != Some(value))
        .map(|(key, value)| format!("{key:?}: got {:?}, want {value:?}", got.get(key)))
        .chain(got.keys().filter(|key| !want.contains_key(key)).map(|key| format!("{key:?}: unexpected")))
        .take(5)
        .collect();
    assert!(differing.is_empty(), "{what} differ:\n{}", differing.join("\n"));
}

/// Asserts two sorted lists are equal, naming what one has and the other lacks.
pub fn assert_same_list<T: Ord + std::fmt::Debug>(what: &str, got: &[T], want: &[T]) {
    let extra: Vec<&T> = got.iter().filter(|item| want.binary_search(item).is_err()).take(5).collect();
    let missing: Vec<&T> = want.iter().filter(|item| got.binary_search(item).is_err()).take(5).collect();
    assert!(
        got.len() == want.len() && extra.is_empty() && missing.is_empty(),
        "{what}: {} vs {} expected; unexpected {extra:?}; missing {missing:?}",
        got.len(),
        want.len()
    );
}

/// Asserts the projected Psy state equals the expected one, part by part.
pub fn assert_psy(got: &fixtures::testing::ExpectedPsy, want: &fixtures::testing::ExpectedPsy) {
    assert_same("users", &got.users, &want.users);
    assert_same("jobs", &got.jobs, &want.jobs);
    assert_same("realms", &got.realms, &want.realms);
    assert_same("checkpoints", &got.checkpoints, &want.checkpoints);
    assert_same("contracts", &got.contracts, &want.contracts);
    assert_same_list("user events", &got.user_events, &want.user_events);
    assert_same_list("worker events", &got.worker_events, &want.worker_events);
}

/// Asserts the projected DFPN state equals the expected one, part by part.
pub fn assert_dfpn(got: &fixtures::testing::ExpectedDfpn, want: &fixtures::testing::ExpectedDfpn) {
    assert_same("requests", &got.requests, &want.requests);
    assert_same("workers", &got.workers, &want.workers);
    assert_same("models", &got.models, &want.models);
    assert_same("on-chain statuses", &got.chain_status, &want.chain_status);
}
