//! Folds DFPN events into request, worker and model snapshots.

use shared::dfpn::DfpnEvent;
use shared::entity::{Model, Request, Worker};
use shared::enums::RequestStatus;
use shared::field::hex;

/// Which entity an event changes, by family and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityKey {
    /// A request account.
    Request(String),
    /// A worker account.
    Worker(String),
    /// A model account.
    Model(String),
}

/// The entity a DFPN event belongs to.
pub fn entity_of(event: &DfpnEvent) -> EntityKey {
    use DfpnEvent::*;
    match event {
        RequestCreated(e) => EntityKey::Request(e.request.to_string()),
        RequestCommitted(e) => EntityKey::Request(e.request.to_string()),
        RequestRevealed(e) => EntityKey::Request(e.request.to_string()),
        RequestFinalized(e) => EntityKey::Request(e.request.to_string()),
        RequestCancelled(e) => EntityKey::Request(e.request.to_string()),
        RequestExpired(e) => EntityKey::Request(e.request.to_string()),
        RequestDisputed(e) => EntityKey::Request(e.request.to_string()),
        WorkerRegistered(e) => EntityKey::Worker(e.worker.to_string()),
        WorkerStakeChanged(e) => EntityKey::Worker(e.worker.to_string()),
        WorkerStatusChanged(e) => EntityKey::Worker(e.worker.to_string()),
        WorkerReputationUpdated(e) => EntityKey::Worker(e.worker.to_string()),
        WorkerTaskCompleted(e) => EntityKey::Worker(e.worker.to_string()),
        WorkerTaskFailed(e) => EntityKey::Worker(e.worker.to_string()),
        WorkerActive(e) => EntityKey::Worker(e.worker.to_string()),
        ModelRegistered(e) => EntityKey::Model(e.model.to_string()),
        ModelStatusChanged(e) => EntityKey::Model(e.model.to_string()),
        ModelScoreUpdated(e) => EntityKey::Model(e.model.to_string()),
        ModelUsed(e) => EntityKey::Model(e.model.to_string()),
    }
}

/// Whether the event creates its entity.
pub fn is_creation(event: &DfpnEvent) -> bool {
    matches!(event, DfpnEvent::RequestCreated(_) | DfpnEvent::WorkerRegistered(_) | DfpnEvent::ModelRegistered(_))
}

/// Creates the entity a creation event describes (`None` for other events).
pub fn create(event: &DfpnEvent, seq: u64, version: u64) -> Option<Entity> {
    Some(match event {
        DfpnEvent::RequestCreated(e) => Entity::Request(Request {
            id: e.request.to_string(),
            requester: e.requester.to_string(),
            content_hash: hex(&e.content_hash),
            storage_uri: e.storage_uri.clone(),
            modalities: e.modalities,
            status: RequestStatus::Created,
            fee_amount: e.fee_amount,
            deadline: e.deadline,
            commit_deadline: e.commit_deadline,
            created_at: e.created_at,
            commit_count: 0,
            reveal_count: 0,
            seq,
        }),
        DfpnEvent::WorkerRegistered(e) => Entity::Worker(Worker {
            id: e.worker.to_string(),
            operator: e.operator.to_string(),
            stake: e.stake,
            reputation: e.reputation,
            modalities: e.modalities,
            status: e.status,
            tasks_completed: 0,
            tasks_failed: 0,
            last_active_slot: e.slot,
            seq,
            stake_version: version,
            status_version: version,
            reputation_version: version,
        }),
        DfpnEvent::ModelRegistered(e) => Entity::Model(Model {
            id: e.model.to_string(),
            developer: e.developer.to_string(),
            name: e.name.clone(),
            version: e.version.clone(),
            modalities: e.modalities,
            model_uri: e.model_uri.clone(),
            status: e.status,
            score: 0,
            total_uses: 0,
            created_at: e.created_at,
            seq,
            status_version: version,
            score_version: version,
        }),
        _ => return None,
    })
}

/// A DFPN entity snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// A request.
    Request(Request),
    /// A worker.
    Worker(Worker),
    /// A model.
    Model(Model),
}

/// Orders request statuses along the lifecycle, so that the furthest one wins whatever order
/// the events reach the log in.
fn lifecycle_rank(status: RequestStatus) -> u8 {
    match status {
        RequestStatus::Created => 0,
        RequestStatus::Committed => 1,
        RequestStatus::Revealed => 2,
        RequestStatus::Finalized | RequestStatus::Cancelled | RequestStatus::Expired => 3,
        RequestStatus::Disputed => 4,
    }
}

fn advance(request: &mut Request, status: RequestStatus) {
    if lifecycle_rank(status) > lifecycle_rank(request.status) {
        request.status = status;
    }
}

/// Sets a field if the update is at least as new as the one that set it last.
fn set<T>(field: &mut T, field_version: &mut u64, value: T, version: u64) {
    if version >= *field_version {
        *field = value;
        *field_version = version;
    }
}

/// Applies a non-creation event to its entity, in any order: counters keep the largest
/// post-instruction value, request statuses the furthest lifecycle step, and other fields the
/// value of the newest update by [`shared::entity::version`]. Applying an event twice changes
/// nothing.
pub fn apply(entity: &mut Entity, event: &DfpnEvent, version: u64) {
    use DfpnEvent::*;
    match (entity, event) {
        (Entity::Request(r), RequestCommitted(e)) => {
            r.commit_count = r.commit_count.max(e.commit_count);
            advance(r, RequestStatus::Committed);
        }
        (Entity::Request(r), RequestRevealed(e)) => {
            r.reveal_count = r.reveal_count.max(e.reveal_count);
            advance(r, RequestStatus::Revealed);
        }
        (Entity::Request(r), RequestFinalized(_)) => advance(r, RequestStatus::Finalized),
        (Entity::Request(r), RequestCancelled(_)) => advance(r, RequestStatus::Cancelled),
        (Entity::Request(r), RequestExpired(_)) => advance(r, RequestStatus::Expired),
        (Entity::Request(r), RequestDisputed(_)) => advance(r, RequestStatus::Disputed),
        (Entity::Worker(w), WorkerStakeChanged(e)) => set(&mut w.stake, &mut w.stake_version, e.stake, version),
        (Entity::Worker(w), WorkerStatusChanged(e)) => set(&mut w.status, &mut w.status_version, e.status, version),
        (Entity::Worker(w), WorkerReputationUpdated(e)) => {
            set(&mut w.reputation, &mut w.reputation_version, e.reputation, version)
        }
        (Entity::Worker(w), WorkerTaskCompleted(e)) => w.tasks_completed = w.tasks_completed.max(e.tasks_completed),
        (Entity::Worker(w), WorkerTaskFailed(e)) => w.tasks_failed = w.tasks_failed.max(e.tasks_failed),
        (Entity::Worker(w), WorkerActive(e)) => w.last_active_slot = w.last_active_slot.max(e.slot),
        (Entity::Model(m), ModelStatusChanged(e)) => set(&mut m.status, &mut m.status_version, e.status, version),
        (Entity::Model(m), ModelScoreUpdated(e)) => set(&mut m.score, &mut m.score_version, e.score, version),
        (Entity::Model(m), ModelUsed(e)) => m.total_uses = m.total_uses.max(e.total_uses),
        _ => {}
    }
}
