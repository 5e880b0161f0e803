//! Folds Psy records — the Psy program's chain events and the telemetry records a Psy
//! deployment's nodes post, which are the same events (`shared::psy`) — into the Psy families:
//! jobs (the real `latest_job_status`), checkpoints (the newest leaf), contracts (the newest
//! report), users (registrations through the API), and the append-only user-event, worker-event
//! and reward documents.
//!
//! Every "newest" is by the record's own timestamp, then its chain order (`version`; a telemetry
//! record's version is below every chain record's, in log order among telemetry records), so the
//! fold is order-independent and idempotent whichever feed a record came by and whatever order
//! records reach the log in.

use projection::schema::psy::{Checkpoint, Contract, Job, RewardDistribution, RewardRun, User, UserEvent, WorkerEvent};
use serde_json::Value;
use shared::control::{CheckpointSettlement, JobReward, UserRegistration};
use shared::psy::{
    metadata_value, CheckpointLeafReported, ContractReported, PsyEvent, UserEventReported, WorkerEventReported,
};
use shared::psy_model::UserEventTxType;

/// A Psy entity snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum PsyEntity {
    /// A registered user.
    User(User),
    /// A job's latest status.
    Job(Job),
    /// A checkpoint's newest leaf.
    Checkpoint(Checkpoint),
    /// A contract's newest report.
    Contract(Contract),
}

/// The mutable Psy families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PsyKind {
    /// Users.
    User,
    /// Jobs.
    Job,
    /// Checkpoints.
    Checkpoint,
    /// Contracts.
    Contract,
}

/// Which mutable entity an event changes: its family and document id.
pub fn entity_of(event: &PsyEvent) -> Option<(PsyKind, String)> {
    Some(match event {
        PsyEvent::WorkerEventReported(e) => (PsyKind::Job, e.job_id.to_string()),
        PsyEvent::CheckpointLeafReported(e) => (PsyKind::Checkpoint, e.checkpoint_id.to_string()),
        PsyEvent::ContractReported(e) => (PsyKind::Contract, e.contract_uuid.clone()),
        PsyEvent::UserEventReported(_) => return None,
    })
}

/// Creates the entity an event describes (every entity event creates one when none exists).
pub fn create(event: &PsyEvent, seq: u64, version: u64) -> Option<PsyEntity> {
    Some(match event {
        PsyEvent::WorkerEventReported(e) => PsyEntity::Job(job(e, seq, version)),
        PsyEvent::CheckpointLeafReported(e) => PsyEntity::Checkpoint(checkpoint(e, seq, version)),
        PsyEvent::ContractReported(e) => PsyEntity::Contract(contract(e, seq, version)),
        PsyEvent::UserEventReported(_) => return None,
    })
}

/// Applies an event to an existing entity: the newest record (timestamp, then version) sets the
/// values; creation times and seqs keep their earliest.
pub fn apply(entity: &mut PsyEntity, event: &PsyEvent, seq: u64, version: u64) {
    match (entity, event) {
        (PsyEntity::Job(current), PsyEvent::WorkerEventReported(e)) => {
            let first_us = current.first_us.min(e.timestamp);
            let first_seq = current.seq.min(seq);
            if (e.timestamp, version) > (current.timestamp_us, current.latest_version) {
                *current = job(e, first_seq, version);
            }
            current.first_us = first_us;
            current.seq = first_seq;
        }
        (PsyEntity::Checkpoint(current), PsyEvent::CheckpointLeafReported(e)) => {
            let created_us = current.created_us.min(e.timestamp);
            let first_seq = current.seq.min(seq);
            if (e.timestamp, version) > (current.timestamp_us, current.leaf_version) {
                *current = checkpoint(e, first_seq, version);
            }
            current.created_us = created_us;
            current.seq = first_seq;
        }
        (PsyEntity::Contract(current), PsyEvent::ContractReported(e)) => {
            let first_seq = current.seq.min(seq);
            if (e.timestamp, version) > (current.deployed_us, current.report_version) {
                *current = contract(e, first_seq, version);
            }
            current.seq = first_seq;
        }
        _ => {}
    }
}

fn job(e: &WorkerEventReported, seq: u64, version: u64) -> Job {
    Job {
        id: e.job_id.to_string(),
        realm_id: e.realm_id,
        public_key: e.public_key.clone(),
        status: e.status,
        source: e.source,
        topic: u64::from(e.job_id.topic.value()),
        circuit_type: u64::from(e.job_id.circuit_type.value()),
        checkpoint_id: e.checkpoint_id,
        duration: e.duration,
        timestamp_us: e.timestamp,
        latest_version: version,
        first_us: e.timestamp,
        seq,
    }
}

fn checkpoint(e: &CheckpointLeafReported, seq: u64, version: u64) -> Checkpoint {
    Checkpoint {
        id: e.checkpoint_id.to_string(),
        checkpoint_id: e.checkpoint_id,
        fees_collected: e.fees_collected,
        user_ops_processed: e.user_ops_processed,
        total_transactions: e.total_transactions,
        slots_modified: e.slots_modified,
        metadata: e.metadata.clone(),
        timestamp_us: e.timestamp,
        created_us: e.timestamp,
        leaf_version: version,
        seq,
    }
}

fn contract(e: &ContractReported, seq: u64, version: u64) -> Contract {
    let metadata = metadata_value(&e.metadata);
    // Each function as the document's `{name, method_id, description}` (absent keys null).
    let functions: Vec<Value> = match metadata.get("functions") {
        Some(Value::Array(functions)) => functions
            .iter()
            .filter(|f| f.is_object())
            .map(|f| serde_json::json!({"name": f["name"], "method_id": f["method_id"], "description": f["description"]}))
            .collect(),
        _ => Vec::new(),
    };
    Contract {
        id: e.contract_uuid.clone(),
        contract_id: e.contract_id,
        checkpoint_id: e.checkpoint_id,
        deployer: e.deployer.clone(),
        function_whitelist_root: e.function_whitelist_root.clone(),
        state_tree_height: metadata.get("state_tree_height").and_then(Value::as_u64).unwrap_or(0),
        function_count: functions.len() as u64,
        functions: Value::Array(functions).to_string(),
        metadata: e.metadata.clone(),
        deployed_us: e.timestamp,
        report_version: version,
        seq,
    }
}

/// The append-only documents of a record: a user event or a worker event.
pub enum Appended {
    /// A user event.
    User(UserEvent),
    /// A worker event.
    Worker(WorkerEvent),
}

/// The append-only document of an event stored at `seq`, if it has one.
pub fn appended(event: &PsyEvent, seq: u64) -> Option<Appended> {
    Some(match event {
        PsyEvent::UserEventReported(e) => Appended::User(user_event(e, seq)),
        PsyEvent::WorkerEventReported(e) => Appended::Worker(WorkerEvent {
            id: seq.to_string(),
            seq,
            realm_id: e.realm_id,
            public_key: e.public_key.clone(),
            status: e.status,
            source: e.source,
            job_id: e.job_id.to_string(),
            topic: u64::from(e.job_id.topic.value()),
            circuit_type: u64::from(e.job_id.circuit_type.value()),
            slot_id: e.to_record().slot_id(),
            checkpoint_id: e.checkpoint_id,
            duration: e.duration,
            metadata: e.metadata.clone(),
            timestamp_us: e.timestamp,
        }),
        _ => return None,
    })
}

fn user_event(e: &UserEventReported, seq: u64) -> UserEvent {
    UserEvent {
        id: seq.to_string(),
        seq,
        user_id: e.user_id.clone(),
        public_key: e.public_key.clone(),
        tx_type: e.tx_type,
        checkpoint_id: metadata_value(&e.metadata).get("checkpoint_id").and_then(Value::as_i64),
        metadata: e.metadata.clone(),
        timestamp_us: e.timestamp,
    }
}

/// `0x`-hex form of a registered public key, as the API writes it.
pub fn key_hex(key: &[u8; 32]) -> String {
    shared::field::hex_0x(key)
}

/// The user an API registration stored at `seq` creates, and its `REGISTER_USER` user event
/// (the real `/register` writes both).
pub fn api_user(registration: &UserRegistration, seq: u64) -> (User, UserEvent) {
    let user_id = shared::control::api_user_id(seq).to_string();
    let created_us = registration.registered_at.saturating_mul(1_000_000);
    let user = User {
        id: user_id.clone(),
        public_key: key_hex(&registration.public_key),
        twitter_handle: registration.twitter_handle.clone(),
        label: registration.label.clone(),
        created_us,
        seq,
    };
    let event = UserEventReported {
        user_id,
        public_key: user.public_key.clone(),
        tx_type: UserEventTxType::RegisterUser,
        metadata: "{}".to_owned(),
        timestamp: created_us,
    };
    (user, user_event(&event, seq))
}

/// The document of a job reward stored at `seq`.
pub fn distribution(reward: &JobReward, seq: u64) -> RewardDistribution {
    RewardDistribution {
        id: seq.to_string(),
        seq,
        checkpoint_id: reward.checkpoint_id,
        worker_public_key: reward.worker_public_key.clone(),
        job_id: reward.job_id.to_string(),
        circuit_type: u64::from(reward.job_id.circuit_type.value()),
        reward_amount: reward.reward_amount,
        total_fees_at_checkpoint: reward.total_fees_at_checkpoint,
        total_jobs_at_checkpoint: reward.total_jobs_at_checkpoint,
        timestamp_us: reward.timestamp_us,
    }
}

/// The document of a checkpoint's settlement stored at `seq`, with the rewards written before it.
pub fn reward_run(settled: &CheckpointSettlement, seq: u64) -> RewardRun {
    RewardRun {
        id: settled.checkpoint_id.to_string(),
        checkpoint_id: settled.checkpoint_id,
        fees_collected: settled.fees_collected,
        jobs: settled.jobs,
        reward_per_job: settled.reward_per_job,
        remainder: settled.remainder,
        distributions: if settled.reward_per_job > 0 { settled.jobs } else { 0 },
        total_rewards: if settled.reward_per_job > 0 { settled.reward_per_job.saturating_mul(settled.jobs) } else { 0 },
        processed_us: settled.processed_us,
        seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::psy_model::{QProvingJobDataID, WorkerEventSource, WorkerEventStatus};

    fn report(status: WorkerEventStatus, timestamp: i64) -> PsyEvent {
        let job_id: QProvingJobDataID = "0-7-0-7-1-0-3-8-0".parse().expect("job id");
        PsyEvent::WorkerEventReported(WorkerEventReported {
            realm_id: Some(16384),
            public_key: Some(format!("0x{timestamp:040x}")),
            status,
            source: WorkerEventSource::Realm,
            job_id,
            checkpoint_id: 7,
            duration: Some(1_500),
            metadata: "{}".into(),
            timestamp,
        })
    }

    fn folded(events: &[(PsyEvent, u64, u64)]) -> Job {
        let mut entity: Option<PsyEntity> = None;
        for (event, seq, version) in events {
            match entity.as_mut() {
                Some(entity) => apply(entity, event, *seq, *version),
                None => entity = create(event, *seq, *version),
            }
        }
        match entity {
            Some(PsyEntity::Job(job)) => job,
            other => panic!("not a job: {other:?}"),
        }
    }

    #[test]
    fn a_job_is_its_newest_event_in_any_order() {
        let events = [
            (report(WorkerEventStatus::Pending, 1_000), 1, 10),
            (report(WorkerEventStatus::Processing, 2_000), 2, 11),
            (report(WorkerEventStatus::Completed, 3_000), 3, 12),
        ];
        let forward = folded(&events);
        assert_eq!(forward.status, WorkerEventStatus::Completed);
        assert_eq!((forward.first_us, forward.timestamp_us, forward.seq), (1_000, 3_000, 1));
        let mut reversed = events.clone();
        reversed.reverse();
        assert_eq!(folded(&reversed), forward);
        let twice: Vec<_> = events.iter().chain(events.iter()).cloned().collect();
        assert_eq!(folded(&twice), forward);
    }

    #[test]
    fn equal_timestamps_resolve_by_chain_order() {
        let early = (report(WorkerEventStatus::Failed, 5_000), 9, 100);
        let late = (report(WorkerEventStatus::Completed, 5_000), 4, 200);
        assert_eq!(folded(&[early.clone(), late.clone()]).status, WorkerEventStatus::Completed);
        assert_eq!(folded(&[late, early]).status, WorkerEventStatus::Completed);
    }

    #[test]
    fn contracts_read_height_and_functions_from_metadata() {
        let report = ContractReported {
            contract_uuid: "c".into(),
            checkpoint_id: 3,
            contract_id: 9,
            deployer: "0xab".into(),
            function_whitelist_root: "0x00".into(),
            metadata: r#"{"state_tree_height":12,"functions":[{"name":"f","method_id":1,"description":"d"}]}"#.into(),
            timestamp: 7,
        };
        let Some(PsyEntity::Contract(contract)) = create(&PsyEvent::ContractReported(report), 1, 1) else {
            panic!("a report creates a contract")
        };
        assert_eq!((contract.state_tree_height, contract.function_count), (12, 1));
        assert_eq!(contract.functions, r#"[{"description":"d","method_id":1,"name":"f"}]"#);
    }
}
