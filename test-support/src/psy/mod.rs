//! The Psy truth model: the records of the chain's ground-truth lines, the telemetry a test
//! posts and the registrations it makes, folded here alone — never by the projector's or the
//! query service's code — into one [`Psy`] that every test reads from:
//!
//! - [`Psy::state`]: the projections' documents ([`ExpectedPsy`], the family field names);
//! - the `answers` methods: each read endpoint's answer in the document's form;
//! - [`rewards::RewardTruth`]: the reward rule's outcome.
//!
//! Records fold in log order (the chain's in chain order, then the posted ones in post order); a
//! record's position stands for its log seq and decides ties. The rules, written once:
//!
//! - user and worker events: one per record;
//! - jobs: per job id string, the job's event with the newest timestamp, then the one folded
//!   last; `first_us` is the earliest event's timestamp;
//! - checkpoints: per checkpoint, the leaf with the newest timestamp, then the one folded last,
//!   with the earliest leaf's timestamp as `created_us`;
//! - contracts: per UUID, the report with the newest timestamp, then the one folded last,
//!   `state_tree_height` and `functions` read from its metadata; listed by their first report;
//! - users: only from registrations ([`Psy::register`]); the chain never creates one.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shared::control::UserRegistration;
use shared::psy::{
    metadata_value, CheckpointLeafReported, ContractReported, PsyEvent, UserEventReported, WorkerEventReported,
};
use shared::psy_model::UserEventTxType;

use fixtures::generator::psy::post_events;
use fixtures::generator::psy_real::TelemetryPost;

mod answers;
pub mod rewards;
mod state;
#[cfg(test)]
mod tests;

pub use answers::{bucket_start, doc_status, doc_tx_type, time, wire, without_ids};
pub use state::ExpectedPsy;

/// Microseconds in an hour.
pub const HOUR: i64 = 3_600_000_000;
/// Microseconds in a day.
pub const DAY: i64 = 24 * HOUR;

/// One worker event record.
#[derive(Debug, Clone)]
pub struct W {
    /// Position in the log.
    pub order: usize,
    /// Realm, if any.
    pub realm_id: Option<i64>,
    /// Worker key as stored, if any.
    pub public_key: Option<String>,
    /// Status, real spelling.
    pub status: String,
    /// Source, real spelling.
    pub source: String,
    /// Job id string.
    pub job_id: String,
    /// Job topic number.
    pub topic: u8,
    /// Circuit type number.
    pub circuit: u8,
    /// Slot of the job id.
    pub slot_id: u64,
    /// Checkpoint.
    pub checkpoint_id: i64,
    /// Duration (ms), if any.
    pub duration: Option<i64>,
    /// Metadata as its stored JSON text.
    pub metadata: String,
    /// Timestamp (unix µs).
    pub ts: i64,
}

/// One user event record.
#[derive(Debug, Clone)]
pub struct U {
    /// Position in the log.
    pub order: usize,
    /// User id.
    pub user_id: String,
    /// Public key as stored.
    pub public_key: String,
    /// Tx type, real spelling.
    pub tx_type: String,
    /// `metadata.checkpoint_id`, if an integer.
    pub checkpoint_id: Option<i64>,
    /// Metadata as its stored JSON text.
    pub metadata: String,
    /// Timestamp (unix µs).
    pub ts: i64,
}

/// A checkpoint's kept leaf.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The leaf with the newest timestamp (then folded last).
    pub leaf: CheckpointLeafReported,
    /// The earliest leaf's timestamp.
    pub created_us: i64,
}

/// A contract's kept report.
#[derive(Debug, Clone)]
pub struct Contract {
    /// Position of its first report.
    pub first: usize,
    /// The report with the newest timestamp (then folded last).
    pub report: ContractReported,
}

/// The Psy records, folded (see the module doc for the rules).
#[derive(Debug, Default, Clone)]
pub struct Psy {
    /// Worker events in log order.
    pub worker: Vec<W>,
    /// User events in log order.
    pub user: Vec<U>,
    /// Users by user id: `{public_key, twitter_handle, label, created_us}`.
    pub users: BTreeMap<String, Value>,
    /// Checkpoints some leaf reported, by id.
    pub leaves: BTreeMap<i64, Leaf>,
    /// Contracts by UUID.
    pub contracts: BTreeMap<String, Contract>,
    /// Records folded so far (the next record's position).
    records: usize,
}

/// The Psy events of ground-truth lines, in chain order (slot, transaction index, event index;
/// lines without a transaction index keep their given order within their slot). Other
/// programs' lines are skipped.
pub fn chain_events<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<PsyEvent> {
    let mut events: Vec<((u64, u64, u64), PsyEvent)> = lines
        .into_iter()
        .filter_map(|line| {
            let entry: Value = serde_json::from_str(line).expect("ground-truth line is JSON");
            let event = psy_event_of(&entry)?;
            let slot = entry["slot"].as_u64().expect("ground-truth line has a slot");
            let place = entry["tx_index"].as_u64().map(|tx| (tx, entry["event_index"].as_u64().unwrap_or(0)));
            Some(((slot, place.map_or(0, |p| p.0), place.map_or(0, |p| p.1)), event))
        })
        .collect();
    events.sort_by_key(|(place, _)| *place);
    events.into_iter().map(|(_, event)| event).collect()
}

/// The projections' Psy state of ground-truth lines (in any order: they fold in chain order).
pub fn expected_psy<'a>(lines: impl IntoIterator<Item = &'a str>) -> ExpectedPsy {
    Psy::of(lines, std::iter::empty()).state()
}

/// The projections' Psy state of ground-truth lines (as [`expected_psy`]) and then telemetry
/// records in the order given: what a deployment fed by the chain and over HTTP holds.
pub fn expected_psy_with<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    telemetry: impl IntoIterator<Item = PsyEvent>,
) -> ExpectedPsy {
    Psy::of(lines, telemetry).state()
}

/// The Psy events a telemetry post is stored as, in the post's order.
pub fn telemetry_events(post: &TelemetryPost) -> Vec<PsyEvent> {
    post_events(post)
}

/// The Psy event a ground-truth line states, read from its `fields` (`None` for other programs'
/// lines). Panics on a Psy line that does not have the event's fields.
pub fn psy_event_of(entry: &Value) -> Option<PsyEvent> {
    if entry["program"] != "psy" {
        return None;
    }
    let name = entry["name"].as_str().expect("name");
    let f = &entry["fields"];
    let text = |key: &str| f[key].as_str().unwrap_or_else(|| panic!("{name}.{key} is a string")).to_owned();
    let int = |key: &str| f[key].as_i64().unwrap_or_else(|| panic!("{name}.{key} is an integer"));
    let uint = |key: &str| f[key].as_u64().unwrap_or_else(|| panic!("{name}.{key} is an unsigned integer"));
    let parse = |key: &str| f[key].clone();
    let event = match name {
        "WorkerEventReported" => PsyEvent::from(WorkerEventReported {
            realm_id: f["realm_id"].as_i64(),
            public_key: f["public_key"].as_str().map(str::to_owned),
            status: serde_json::from_value(parse("status")).expect("worker event status"),
            source: serde_json::from_value(parse("source")).expect("worker event source"),
            job_id: serde_json::from_value(parse("job_id")).expect("worker event job id"),
            checkpoint_id: int("checkpoint_id"),
            duration: f["duration"].as_i64(),
            metadata: text("metadata"),
            timestamp: int("timestamp"),
        }),
        "UserEventReported" => PsyEvent::from(UserEventReported {
            user_id: text("user_id"),
            public_key: text("public_key"),
            tx_type: serde_json::from_value(parse("tx_type")).expect("user event tx type"),
            metadata: text("metadata"),
            timestamp: int("timestamp"),
        }),
        "CheckpointLeafReported" => PsyEvent::from(CheckpointLeafReported {
            checkpoint_id: int("checkpoint_id"),
            fees_collected: int("fees_collected"),
            user_ops_processed: int("user_ops_processed"),
            total_transactions: int("total_transactions"),
            slots_modified: int("slots_modified"),
            metadata: text("metadata"),
            timestamp: int("timestamp"),
        }),
        "ContractReported" => PsyEvent::from(ContractReported {
            contract_uuid: text("contract_uuid"),
            checkpoint_id: uint("checkpoint_id"),
            contract_id: uint("contract_id"),
            deployer: text("deployer"),
            function_whitelist_root: text("function_whitelist_root"),
            metadata: text("metadata"),
            timestamp: int("timestamp"),
        }),
        other => panic!("unknown Psy event {other}"),
    };
    Some(event)
}

/// A contract's functions as the Contracts family keeps them: `metadata.functions`' objects as
/// `{name, method_id, description}` (absent keys null), `[]` when it is not an array.
pub fn contract_functions(metadata: &Value) -> Vec<Value> {
    let Some(functions) = metadata.get("functions").and_then(Value::as_array) else { return Vec::new() };
    functions
        .iter()
        .filter(|f| f.is_object())
        .map(|f| json!({"name": f["name"], "method_id": f["method_id"], "description": f["description"]}))
        .collect()
}

impl Psy {
    /// Ground-truth lines (folded in chain order, as [`chain_events`]) and then telemetry
    /// records, in the order given.
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a str>, telemetry: impl IntoIterator<Item = PsyEvent>) -> Self {
        Self::folded(chain_events(lines).into_iter().chain(telemetry))
    }

    /// Events folded in the order given (log order).
    pub fn folded(events: impl IntoIterator<Item = PsyEvent>) -> Self {
        let mut psy = Psy::default();
        events.into_iter().for_each(|event| psy.fold(&event));
        psy
    }

    /// Folds one Psy event (the next in log order).
    pub fn fold(&mut self, event: &PsyEvent) {
        let order = self.records;
        self.records += 1;
        match event {
            PsyEvent::WorkerEventReported(e) => self.worker.push(W {
                order,
                realm_id: e.realm_id,
                public_key: e.public_key.clone(),
                status: e.status.as_str().to_owned(),
                source: e.source.as_str().to_owned(),
                job_id: e.job_id.to_string(),
                topic: e.job_id.topic.value(),
                circuit: e.job_id.circuit_type.value(),
                slot_id: e.to_record().slot_id(),
                checkpoint_id: e.checkpoint_id,
                duration: e.duration,
                metadata: e.metadata.clone(),
                ts: e.timestamp,
            }),
            PsyEvent::UserEventReported(e) => self.user.push(U {
                order,
                user_id: e.user_id.clone(),
                public_key: e.public_key.clone(),
                tx_type: e.tx_type.as_str().to_owned(),
                checkpoint_id: metadata_value(&e.metadata).get("checkpoint_id").and_then(Value::as_i64),
                metadata: e.metadata.clone(),
                ts: e.timestamp,
            }),
            PsyEvent::CheckpointLeafReported(e) => {
                let known = self.leaves.get(&e.checkpoint_id);
                let created_us = known.map_or(e.timestamp, |k| k.created_us.min(e.timestamp));
                let leaf = match known {
                    Some(k) if k.leaf.timestamp > e.timestamp => k.leaf.clone(),
                    _ => e.clone(),
                };
                self.leaves.insert(e.checkpoint_id, Leaf { leaf, created_us });
            }
            PsyEvent::ContractReported(e) => {
                let known = self.contracts.get(&e.contract_uuid);
                let first = known.map_or(order, |k| k.first);
                let report = match known {
                    Some(k) if k.report.timestamp > e.timestamp => k.report.clone(),
                    _ => e.clone(),
                };
                self.contracts.insert(e.contract_uuid.clone(), Contract { first, report });
            }
        }
    }

    /// Folds every record of a telemetry post, in the post's order.
    pub fn fold_post(&mut self, post: &TelemetryPost) {
        for event in post_events(post) {
            self.fold(&event);
        }
    }

    /// Folds a `/register` write stored as user `user_id` (the decimal
    /// `shared::control::api_user_id` of its seq): the user and its `REGISTER_USER` user event
    /// (metadata `{}`, timestamp the registration time).
    pub fn register(&mut self, user_id: &str, registration: &UserRegistration) {
        let public_key = format!("0x{}", shared::field::hex(&registration.public_key));
        let created_us = registration.registered_at.saturating_mul(1_000_000);
        self.users.insert(
            user_id.to_owned(),
            json!({"public_key": public_key, "twitter_handle": registration.twitter_handle,
                   "label": registration.label, "created_us": created_us}),
        );
        self.fold(&PsyEvent::from(UserEventReported {
            user_id: user_id.to_owned(),
            public_key,
            tx_type: UserEventTxType::RegisterUser,
            metadata: "{}".into(),
            timestamp: created_us,
        }));
    }

    /// Jobs: per job id, its event with the newest time, then the newest in log order.
    pub fn jobs(&self) -> BTreeMap<&str, &W> {
        let mut jobs: BTreeMap<&str, &W> = BTreeMap::new();
        for w in &self.worker {
            let entry = jobs.entry(&w.job_id).or_insert(w);
            if (w.ts, w.order) >= (entry.ts, entry.order) {
                *entry = w;
            }
        }
        jobs
    }

    /// The earliest event time of each job.
    pub fn job_first_us(&self) -> BTreeMap<&str, i64> {
        let mut first: BTreeMap<&str, i64> = BTreeMap::new();
        for w in &self.worker {
            let at = first.entry(&w.job_id).or_insert(w.ts);
            *at = (*at).min(w.ts);
        }
        first
    }
}
