//! The projections read back in the shape of the truth models' states, and assertions that
//! name only what differs. Reading documents back is the one place tests use the projection
//! crate's document types; what they are compared with is folded independently.

use std::path::Path;

/// Reads every document of the DFPN projections back as API objects, keyed by id.
pub fn projected(dir: &Path) -> crate::dfpn::ExpectedDfpn {
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
    let mut out = crate::dfpn::ExpectedDfpn::default();
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

/// Reads the Psy projections back in the shape of [`crate::psy::ExpectedPsy`] (without
/// the log-dependent fields: per-record ids, seqs, version tie-breakers).
pub fn projected_psy(dir: &Path) -> crate::psy::ExpectedPsy {
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
    let mut out = crate::psy::ExpectedPsy::default();
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
pub fn assert_psy(got: &crate::psy::ExpectedPsy, want: &crate::psy::ExpectedPsy) {
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
pub fn assert_dfpn(got: &crate::dfpn::ExpectedDfpn, want: &crate::dfpn::ExpectedDfpn) {
    assert_same("requests", &got.requests, &want.requests);
    assert_same("workers", &got.workers, &want.workers);
    assert_same("models", &got.models, &want.models);
    assert_same("on-chain statuses", &got.chain_status, &want.chain_status);
}
