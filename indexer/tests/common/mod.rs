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

/// Reads every document of the DFPN projections back as API objects, keyed by id.
pub fn projected(dir: &Path) -> fixtures::testing::ExpectedDfpn {
    use shared::entity::{Model, Request, Worker};
    use shared::schema::{Family, ModelFields, RequestFields, WorkerFields};
    use tantivy::collector::DocSetCollector;
    use tantivy::query::AllQuery;

    fn all_docs(dir: &Path, family: Family) -> (tantivy::schema::Schema, Vec<tantivy::TantivyDocument>) {
        let index = tantivy::Index::open_in_dir(dir.join(family.dir_name())).expect("projection exists");
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
        assert!(
            out.requests.insert(request.id.clone(), serde_json::to_value(&request).unwrap()).is_none(),
            "one doc per request"
        );
    }
    let (schema, docs) = all_docs(dir, Family::Workers);
    let fields = WorkerFields::resolve(&schema);
    for doc in docs {
        let worker = Worker::from_document(&doc, &fields).expect("worker doc");
        assert!(
            out.workers.insert(worker.id.clone(), serde_json::to_value(&worker).unwrap()).is_none(),
            "one doc per worker"
        );
    }
    let (schema, docs) = all_docs(dir, Family::Models);
    let fields = ModelFields::resolve(&schema);
    for doc in docs {
        let model = Model::from_document(&doc, &fields).expect("model doc");
        assert!(
            out.models.insert(model.id.clone(), serde_json::to_value(&model).unwrap()).is_none(),
            "one doc per model"
        );
    }
    out
}
