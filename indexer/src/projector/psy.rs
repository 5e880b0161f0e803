//! Folds Psy events into users, jobs, realms, checkpoints and contracts, and turns them into
//! the append-only user-event and worker-event documents.
//!
//! A job is the fold of its worker events (the document's "worker event → job event"
//! conversion): its latest status, its start (the `InProgress` event's start), its end and
//! duration once it ended.

use shared::control::{CheckpointRewards, RewardDistribution as Distribution, UserRegistration};
use shared::enums::{UserEventTxType, WorkerEventStatus};
use shared::field::hex;
use shared::psy::{ContractFunction, PsyEvent, WorkerJobUpdated};
use shared::schema::psy::{
    Checkpoint, Contract, Job, Realm, RewardDistribution, RewardRun, User, UserEvent, WorkerEvent,
};

/// `0x`-hex form of a Psy public key, as the API writes it.
pub fn key_hex(key: &[u8; 32]) -> String {
    format!("0x{}", hex(key))
}

/// A Psy entity snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum PsyEntity {
    /// A user.
    User(User),
    /// A proving job.
    Job(Job),
    /// A realm.
    Realm(Realm),
    /// A checkpoint.
    Checkpoint(Checkpoint),
    /// A contract.
    Contract(Contract),
}

/// Which mutable entity an event changes: family name and document id.
pub fn entity_of(event: &PsyEvent) -> Option<(PsyKind, String)> {
    Some(match event {
        PsyEvent::RealmCreated(e) => (PsyKind::Realm, e.realm_id.to_string()),
        PsyEvent::RealmStatusChanged(e) => (PsyKind::Realm, e.realm_id.to_string()),
        PsyEvent::UserRegistered(e) => (PsyKind::User, e.user_id.to_string()),
        PsyEvent::ContractDeployed(e) => (PsyKind::Contract, e.uuid.clone()),
        PsyEvent::UserTransactionExecuted(_) => return None,
        PsyEvent::WorkerJobUpdated(e) => (PsyKind::Job, e.job_id.to_string()),
        PsyEvent::CheckpointCreated(e) => (PsyKind::Checkpoint, e.checkpoint_id.to_string()),
        PsyEvent::CheckpointFinalized(e) => (PsyKind::Checkpoint, e.checkpoint_id.to_string()),
    })
}

/// The mutable Psy families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PsyKind {
    /// Users.
    User,
    /// Jobs.
    Job,
    /// Realms.
    Realm,
    /// Checkpoints.
    Checkpoint,
    /// Contracts.
    Contract,
}

fn job_end(e: &WorkerJobUpdated) -> (Option<i64>, Option<i64>) {
    let duration = e.end_time.map(|end| (end - e.start_time).max(0) * 1_000);
    (e.end_time, duration)
}

/// Creates the entity an event describes when none exists yet.
pub fn create(event: &PsyEvent, seq: u64, time: i64, version: u64) -> Option<PsyEntity> {
    Some(match event {
        PsyEvent::RealmCreated(e) => PsyEntity::Realm(Realm {
            id: e.realm_id.to_string(),
            realm_id: e.realm_id,
            name: e.name.clone(),
            active: true,
            active_version: version,
            created_at: e.created_at,
            seq,
        }),
        PsyEvent::UserRegistered(e) => PsyEntity::User(User {
            id: e.user_id.to_string(),
            user_id: e.user_id,
            public_key: key_hex(&e.public_key),
            twitter_handle: e.twitter_handle.clone(),
            label: e.label.clone(),
            checkpoint_id: e.checkpoint_id,
            created_at: e.registered_at,
            seq,
        }),
        PsyEvent::ContractDeployed(e) => PsyEntity::Contract(Contract {
            id: e.uuid.clone(),
            deployer: key_hex(&e.deployer),
            user_id: e.user_id,
            state_tree_height: u64::from(e.state_tree_height),
            functions: functions_json(&e.functions),
            function_count: e.functions.len() as u64,
            checkpoint_id: e.checkpoint_id,
            deployed_at: e.deployed_at,
            seq,
        }),
        PsyEvent::WorkerJobUpdated(e) => {
            let (end_time, duration_ms) = job_end(e);
            PsyEntity::Job(Job {
                id: e.job_id.to_string(),
                job_id: e.job_id,
                realm_id: e.realm_id,
                worker_public_key: key_hex(&e.worker_public_key),
                topic: e.topic,
                circuit_type: e.circuit_type,
                category: e.circuit_type.category(),
                status: e.status,
                start_time: e.start_time,
                end_time,
                duration_ms,
                checkpoint_id: e.checkpoint_id,
                updated_at: time,
                seq,
            })
        }
        PsyEvent::CheckpointCreated(e) => PsyEntity::Checkpoint(Checkpoint {
            id: e.checkpoint_id.to_string(),
            checkpoint_id: e.checkpoint_id,
            block_height: e.block_height,
            created_at: e.created_at,
            finalized_at: None,
            seq,
        }),
        _ => return None,
    })
}

/// Orders job statuses: a job only moves forward, whatever order its events reach the log in.
fn job_rank(status: WorkerEventStatus) -> u8 {
    match status {
        WorkerEventStatus::Pending => 0,
        WorkerEventStatus::InProgress => 1,
        WorkerEventStatus::Completed | WorkerEventStatus::Failed | WorkerEventStatus::Cancelled => 2,
    }
}

/// Applies an event to an existing entity, in any order and idempotently (see `dfpn::apply`).
pub fn apply(entity: &mut PsyEntity, event: &PsyEvent, time: i64, version: u64) {
    match (entity, event) {
        (PsyEntity::Realm(realm), PsyEvent::RealmStatusChanged(e)) if version >= realm.active_version => {
            realm.active = e.active;
            realm.active_version = version;
        }
        (PsyEntity::Job(job), PsyEvent::WorkerJobUpdated(e)) if job_rank(e.status) >= job_rank(job.status) => {
            let (end_time, duration_ms) = job_end(e);
            job.status = e.status;
            job.worker_public_key = key_hex(&e.worker_public_key);
            job.start_time = e.start_time;
            job.end_time = end_time;
            job.duration_ms = duration_ms;
            job.updated_at = time;
        }
        (PsyEntity::Checkpoint(checkpoint), PsyEvent::CheckpointFinalized(e)) => {
            checkpoint.block_height = e.block_height;
            checkpoint.finalized_at = Some(e.finalized_at);
        }
        _ => {}
    }
}

fn functions_json(functions: &[ContractFunction]) -> String {
    let values: Vec<serde_json::Value> = functions
        .iter()
        .map(|f| serde_json::json!({ "name": f.name, "method_id": f.method_id, "description": f.description }))
        .collect();
    serde_json::Value::Array(values).to_string()
}

/// The append-only documents of an event: a user event and/or a worker event.
pub enum Appended {
    /// A user event.
    User(UserEvent),
    /// A worker event.
    Worker(WorkerEvent),
}

/// The append-only record of an event, if it has one.
pub fn appended(event: &PsyEvent, seq: u64, time: i64) -> Option<Appended> {
    let user = |user_id: u64, public_key: &[u8; 32], tx_type, checkpoint_id, timestamp| {
        Appended::User(UserEvent {
            id: seq.to_string(),
            seq,
            sort_key: shared::entity::time_order(timestamp, seq),
            user_id,
            public_key: key_hex(public_key),
            tx_type,
            checkpoint_id,
            timestamp,
        })
    };
    Some(match event {
        PsyEvent::UserRegistered(e) => {
            user(e.user_id, &e.public_key, UserEventTxType::RegisterUser, e.checkpoint_id, e.registered_at)
        }
        PsyEvent::ContractDeployed(e) => {
            user(e.user_id, &e.deployer, UserEventTxType::DeployContract, e.checkpoint_id, e.deployed_at)
        }
        PsyEvent::UserTransactionExecuted(e) => {
            user(e.user_id, &e.public_key, UserEventTxType::UserTransaction, e.checkpoint_id, e.executed_at)
        }
        PsyEvent::WorkerJobUpdated(e) => Appended::Worker(WorkerEvent {
            id: seq.to_string(),
            seq,
            sort_key: shared::entity::time_order(time, seq),
            realm_id: e.realm_id,
            worker_public_key: key_hex(&e.worker_public_key),
            status: e.status,
            job_id: e.job_id,
            topic: e.topic,
            circuit_type: e.circuit_type,
            category: e.circuit_type.category(),
            start_time: e.start_time,
            end_time: e.end_time,
            checkpoint_id: e.checkpoint_id,
            timestamp: time,
        }),
        _ => return None,
    })
}

/// The user an API registration stored at `seq` creates. It is not part of a checkpoint (0).
pub fn api_user(registration: &UserRegistration, seq: u64) -> User {
    let user_id = shared::control::api_user_id(seq);
    User {
        id: user_id.to_string(),
        user_id,
        public_key: key_hex(&registration.public_key),
        twitter_handle: registration.twitter_handle.clone(),
        label: registration.label.clone(),
        checkpoint_id: 0,
        created_at: registration.registered_at,
        seq,
    }
}

/// The document of a reward distribution stored at `seq`.
pub fn distribution(distribution: &Distribution, seq: u64) -> RewardDistribution {
    RewardDistribution {
        id: seq.to_string(),
        seq,
        checkpoint_id: distribution.checkpoint_id,
        worker_public_key: key_hex(&distribution.worker_public_key),
        circuit_type: distribution.circuit_type,
        job_count: distribution.job_count,
        total_rewards: distribution.total_rewards,
        created_at: distribution.created_at,
    }
}

/// The document of a checkpoint's completed reward calculation stored at `seq`.
pub fn reward_run(run: &CheckpointRewards, seq: u64) -> RewardRun {
    RewardRun {
        id: run.checkpoint_id.to_string(),
        checkpoint_id: run.checkpoint_id,
        distributions: u64::from(run.distributions),
        total_rewards: run.total_rewards,
        processed_at: run.processed_at,
        seq,
    }
}
