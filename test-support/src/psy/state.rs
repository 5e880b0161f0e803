//! The Psy projections' documents as the truth model states them ([`Psy::state`]).
//!
//! Objects carry the family's field names (`projection::schema::psy`), without the
//! log-dependent ones (`id` of per-record documents, `seq`, the `*_version` tie-breakers), which
//! ground truth cannot know. Enums are in the real spelling (`COMPLETED`, `REALM`,
//! `REGISTER_USER`), topic and circuit type as numbers, the job id in its string form, metadata
//! as its stored JSON text.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shared::psy::metadata_value;

use super::{contract_functions, Psy};

/// The expected Psy projections (see [`super`] for each family's rule).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExpectedPsy {
    /// Users by user id: `{public_key, twitter_handle, label, created_us}`.
    pub users: BTreeMap<String, Value>,
    /// User events, one per record: `{user_id, public_key, tx_type, checkpoint_id, metadata,
    /// timestamp_us}`, in the order of [`ExpectedPsy::sort_events`].
    pub user_events: Vec<Value>,
    /// Worker events, one per record: `{realm_id, public_key, status, source, job_id, topic,
    /// circuit_type, slot_id, checkpoint_id, duration, metadata, timestamp_us}`, in the order
    /// of [`ExpectedPsy::sort_events`].
    pub worker_events: Vec<Value>,
    /// Jobs by job id string: `{realm_id, public_key, status, source, topic, circuit_type,
    /// checkpoint_id, duration, timestamp_us, first_us}`.
    pub jobs: BTreeMap<String, Value>,
    /// Checkpoints by decimal id: `{checkpoint_id, fees_collected, user_ops_processed,
    /// total_transactions, slots_modified, metadata, timestamp_us, created_us}`.
    pub checkpoints: BTreeMap<String, Value>,
    /// Contracts by UUID: `{contract_id, checkpoint_id, deployer, function_whitelist_root,
    /// state_tree_height, functions (a JSON array), function_count, metadata, deployed_us}`.
    pub contracts: BTreeMap<String, Value>,
}

impl ExpectedPsy {
    /// Sorts the per-record lists by each object's JSON text, so that two states compare equal
    /// whatever order their records were folded or read in. Call it after pushing objects read
    /// back from a projection.
    pub fn sort_events(&mut self) {
        self.user_events.sort_by_cached_key(Value::to_string);
        self.worker_events.sort_by_cached_key(Value::to_string);
    }
}

impl Psy {
    /// The projections' documents.
    pub fn state(&self) -> ExpectedPsy {
        let mut state = ExpectedPsy { users: self.users.clone(), ..ExpectedPsy::default() };
        state.worker_events = self
            .worker
            .iter()
            .map(|w| {
                json!({
                    "realm_id": w.realm_id, "public_key": w.public_key, "status": w.status, "source": w.source,
                    "job_id": w.job_id, "topic": w.topic, "circuit_type": w.circuit, "slot_id": w.slot_id,
                    "checkpoint_id": w.checkpoint_id, "duration": w.duration, "metadata": w.metadata,
                    "timestamp_us": w.ts,
                })
            })
            .collect();
        state.user_events = self
            .user
            .iter()
            .map(|u| {
                json!({
                    "user_id": u.user_id, "public_key": u.public_key, "tx_type": u.tx_type,
                    "checkpoint_id": u.checkpoint_id, "metadata": u.metadata, "timestamp_us": u.ts,
                })
            })
            .collect();
        let first = self.job_first_us();
        for (id, w) in self.jobs() {
            let job = json!({
                "realm_id": w.realm_id, "public_key": w.public_key, "status": w.status, "source": w.source,
                "topic": w.topic, "circuit_type": w.circuit, "checkpoint_id": w.checkpoint_id, "duration": w.duration,
                "timestamp_us": w.ts, "first_us": first[id],
            });
            state.jobs.insert(id.to_owned(), job);
        }
        for (id, kept) in &self.leaves {
            let e = &kept.leaf;
            let checkpoint = json!({
                "checkpoint_id": e.checkpoint_id, "fees_collected": e.fees_collected,
                "user_ops_processed": e.user_ops_processed, "total_transactions": e.total_transactions,
                "slots_modified": e.slots_modified, "metadata": e.metadata, "timestamp_us": e.timestamp,
                "created_us": kept.created_us,
            });
            state.checkpoints.insert(id.to_string(), checkpoint);
        }
        for (uuid, kept) in &self.contracts {
            let e = &kept.report;
            let metadata = metadata_value(&e.metadata);
            let functions = contract_functions(&metadata);
            let contract = json!({
                "contract_id": e.contract_id, "checkpoint_id": e.checkpoint_id, "deployer": e.deployer,
                "function_whitelist_root": e.function_whitelist_root,
                "state_tree_height": metadata.get("state_tree_height").and_then(Value::as_u64).unwrap_or(0),
                "function_count": functions.len(), "functions": functions, "metadata": e.metadata,
                "deployed_us": e.timestamp,
            });
            state.contracts.insert(uuid.clone(), contract);
        }
        state.sort_events();
        state
    }
}
