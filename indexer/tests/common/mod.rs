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
        .map(|(_, envelope)| fixtures::testing::truth_line(envelope))
        .collect();
    LogContents { lines, event_records, retracted }
}

/// Reads every document of the DFPN projections back as API objects, keyed by id.
pub fn projected(dir: &Path) -> fixtures::testing::ExpectedDfpn {
    use projection::entity::{ModelObject, RequestObject, WorkerObject};
    use projection::schema::dfpn::{Model, ModelFields, Request, RequestFields, Worker, WorkerFields};
    use projection::schema::Family;
    use tantivy::collector::DocSetCollector;
    use tantivy::query::AllQuery;

    fn all_docs(dir: &Path, family: Family) -> (tantivy::schema::Schema, Vec<tantivy::TantivyDocument>) {
        let index = tantivy::Index::open_in_dir(dir.join(family.dir_name())).expect("projection exists");
        projection::schema::register_tokenizers(&index);
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

/// Reads the Psy projections back in the shape of [`fixtures::testing::ExpectedPsy`] (without
/// the log-dependent fields: per-record ids, seqs, version tie-breakers).
pub fn projected_psy(dir: &Path) -> fixtures::testing::ExpectedPsy {
    use projection::schema::psy::*;
    use projection::schema::Family;
    use serde_json::json;
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
        let user = json!({"public_key": u.public_key, "twitter_handle": u.twitter_handle, "label": u.label, "created_us": u.created_us});
        out.users.insert(u.id, user);
    }
    let (schema, docs) = all_docs(dir, Family::Jobs);
    for doc in docs {
        let j = Job::from_document(&doc, &JobFields::resolve(&schema)).unwrap();
        let job = json!({
            "realm_id": j.realm_id, "public_key": j.public_key, "status": j.status.as_str(), "source": j.source.as_str(),
            "topic": j.topic, "circuit_type": j.circuit_type, "checkpoint_id": j.checkpoint_id, "duration": j.duration,
            "timestamp_us": j.timestamp_us, "first_us": j.first_us,
        });
        out.jobs.insert(j.id, job);
    }
    let (schema, docs) = all_docs(dir, Family::Checkpoints);
    for doc in docs {
        let c = Checkpoint::from_document(&doc, &CheckpointFields::resolve(&schema)).unwrap();
        let checkpoint = json!({
            "checkpoint_id": c.checkpoint_id, "fees_collected": c.fees_collected, "user_ops_processed": c.user_ops_processed,
            "total_transactions": c.total_transactions, "slots_modified": c.slots_modified, "metadata": c.metadata,
            "timestamp_us": c.timestamp_us, "created_us": c.created_us,
        });
        out.checkpoints.insert(c.id, checkpoint);
    }
    let (schema, docs) = all_docs(dir, Family::Contracts);
    for doc in docs {
        let c = Contract::from_document(&doc, &ContractFields::resolve(&schema)).unwrap();
        let functions: serde_json::Value = serde_json::from_str(&c.functions).unwrap();
        let contract = json!({
            "contract_id": c.contract_id, "checkpoint_id": c.checkpoint_id, "deployer": c.deployer,
            "function_whitelist_root": c.function_whitelist_root, "state_tree_height": c.state_tree_height,
            "function_count": c.function_count, "functions": functions, "metadata": c.metadata, "deployed_us": c.deployed_us,
        });
        out.contracts.insert(c.id, contract);
    }
    let (schema, docs) = all_docs(dir, Family::UserEvents);
    for doc in docs {
        let e = UserEvent::from_document(&doc, &UserEventFields::resolve(&schema)).unwrap();
        out.user_events.push(json!({
            "user_id": e.user_id, "public_key": e.public_key, "tx_type": e.tx_type.as_str(),
            "checkpoint_id": e.checkpoint_id, "metadata": e.metadata, "timestamp_us": e.timestamp_us,
        }));
    }
    let (schema, docs) = all_docs(dir, Family::WorkerEvents);
    for doc in docs {
        let e = WorkerEvent::from_document(&doc, &WorkerEventFields::resolve(&schema)).unwrap();
        out.worker_events.push(json!({
            "realm_id": e.realm_id, "public_key": e.public_key, "status": e.status.as_str(), "source": e.source.as_str(),
            "job_id": e.job_id, "topic": e.topic, "circuit_type": e.circuit_type, "slot_id": e.slot_id,
            "checkpoint_id": e.checkpoint_id, "duration": e.duration, "metadata": e.metadata, "timestamp_us": e.timestamp_us,
        }));
    }
    out.sort_events();
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
    assert_same("checkpoints", &got.checkpoints, &want.checkpoints);
    assert_same("contracts", &got.contracts, &want.contracts);
    let texts = |values: &[serde_json::Value]| {
        let mut texts: Vec<String> = values.iter().map(serde_json::Value::to_string).collect();
        texts.sort();
        texts
    };
    assert_same_list("user events", &texts(&got.user_events), &texts(&want.user_events));
    assert_same_list("worker events", &texts(&got.worker_events), &texts(&want.worker_events));
}

/// Asserts the projected DFPN state equals the expected one, part by part.
pub fn assert_dfpn(got: &fixtures::testing::ExpectedDfpn, want: &fixtures::testing::ExpectedDfpn) {
    assert_same("requests", &got.requests, &want.requests);
    assert_same("workers", &got.workers, &want.workers);
    assert_same("models", &got.models, &want.models);
    assert_same("on-chain statuses", &got.chain_status, &want.chain_status);
}
