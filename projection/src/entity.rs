//! The DFPN API objects (what the query service answers), built from the stored entities.
//!
//! The projections store the entities of `schema::dfpn` (with what the fold needs); the query
//! service answers with the API objects here, whose field names and JSON types are exactly the
//! DFPN document's Request, Worker and Model objects.

use serde::{Deserialize, Serialize};

use crate::schema::dfpn::{Model, Request, Worker};
use shared::enums::{ModelStatus, RequestStatus, WorkerStatus};

/// The API's Request object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestObject {
    /// Request account public key.
    pub id: String,
    /// Requester public key.
    pub requester: String,
    /// SHA-256 of the media, lowercase hex.
    pub content_hash: String,
    /// Media location.
    pub storage_uri: String,
    /// Requested modality bitfield.
    pub modalities: u64,
    /// Current status.
    pub status: RequestStatus,
    /// Fee in base units.
    pub fee_amount: u64,
    /// Reveal deadline (unix seconds).
    pub deadline: i64,
    /// Commit deadline (unix seconds).
    pub commit_deadline: i64,
    /// Creation time (unix seconds).
    pub created_at: i64,
    /// Commits received.
    pub commit_count: u64,
    /// Reveals received.
    pub reveal_count: u64,
}

impl From<&Request> for RequestObject {
    fn from(r: &Request) -> Self {
        Self {
            id: r.id.clone(),
            requester: r.requester.clone(),
            content_hash: r.content_hash.clone(),
            storage_uri: r.storage_uri.clone(),
            modalities: u64::from(r.modalities.0),
            status: r.status,
            fee_amount: r.fee_amount,
            deadline: r.deadline,
            commit_deadline: r.commit_deadline,
            created_at: r.created_at,
            commit_count: r.commit_count,
            reveal_count: r.reveal_count,
        }
    }
}

/// The API's Worker object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerObject {
    /// Worker account public key.
    pub id: String,
    /// Operator public key.
    pub operator: String,
    /// Stake in base units.
    pub stake: u64,
    /// Reputation 0-10000.
    pub reputation: u64,
    /// Supported modality bitfield.
    pub modalities: u64,
    /// Current status.
    pub status: WorkerStatus,
    /// Lifetime successful tasks.
    pub tasks_completed: u64,
    /// Lifetime failed tasks.
    pub tasks_failed: u64,
    /// Slot of last activity.
    pub last_active_slot: u64,
}

impl From<&Worker> for WorkerObject {
    fn from(w: &Worker) -> Self {
        Self {
            id: w.id.clone(),
            operator: w.operator.clone(),
            stake: w.stake,
            reputation: w.reputation,
            modalities: u64::from(w.modalities.0),
            status: w.status,
            tasks_completed: w.tasks_completed,
            tasks_failed: w.tasks_failed,
            last_active_slot: w.last_active_slot,
        }
    }
}

/// The API's Model object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelObject {
    /// Model account public key.
    pub id: String,
    /// Developer public key.
    pub developer: String,
    /// Model name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Supported modality bitfield.
    pub modalities: u64,
    /// Weights/code URL.
    pub model_uri: String,
    /// Current status.
    pub status: ModelStatus,
    /// Score 0-10000.
    pub score: u64,
    /// Lifetime uses.
    pub total_uses: u64,
    /// Registration time (unix seconds).
    pub created_at: i64,
}

impl From<&Model> for ModelObject {
    fn from(m: &Model) -> Self {
        Self {
            id: m.id.clone(),
            developer: m.developer.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            modalities: u64::from(m.modalities.0),
            model_uri: m.model_uri.clone(),
            status: m.status,
            score: m.score,
            total_uses: m.total_uses,
            created_at: m.created_at,
        }
    }
}
