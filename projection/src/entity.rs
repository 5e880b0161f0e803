//! The DFPN API objects (what the query service answers) and the worker history the fold keeps.
//!
//! The projections store the entities of `schema::dfpn` (with what the fold needs); the query
//! service answers with the API objects here, whose field names and JSON types are exactly the
//! DFPN document's Request, Worker and Model objects.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::schema::dfpn::{Model, Request, Worker};
use shared::enums::{ModelStatus, RequestStatus, WorkerStatus};
use shared::event::dfpn as chain;

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

/// A change of a worker's stake, modalities or status, as its event states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum WorkerChange {
    /// `WorkerRegistered`: absolute stake and modalities, status Active.
    Registered {
        /// Stake.
        stake: u64,
        /// Modalities.
        modalities: u8,
    },
    /// `WorkerUpdated`: absolute stake and modalities.
    Updated {
        /// Stake.
        stake: u64,
        /// Modalities.
        modalities: u8,
    },
    /// `WorkerStatusChanged`.
    StatusChanged {
        /// Active or Inactive.
        active: bool,
    },
    /// `WorkerUnbondingStarted`: Unbonding iff the stake left would be below the minimum.
    UnbondingStarted {
        /// Amount to unstake.
        amount: u64,
        /// Unlock slot.
        unlock_slot: u64,
    },
    /// `WorkerWithdrawn`: the stake shrinks; Active again unless it reached zero.
    Withdrawn {
        /// Amount withdrawn.
        amount: u64,
        /// Stake reached zero.
        closed: bool,
    },
    /// `WorkerSlashed`: absolute remaining stake; Slashed below the minimum.
    Slashed {
        /// Stake left.
        remaining_stake: u64,
    },
}

/// A worker's stake and status changes with their chain-order versions, kept sorted: the status
/// after an unstake or slash depends on the stake at that point, so they are replayed in chain
/// order whatever order they reached the log in. Workers change stake and status rarely
/// (reputation updates are not in it), so the history stays short.
#[derive(Debug, Clone, PartialEq, Eq, Default, BorshSerialize, BorshDeserialize)]
pub struct WorkerHistory(pub Vec<(u64, WorkerChange)>);

/// What replaying a [`WorkerHistory`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerState {
    /// Stake.
    pub stake: u64,
    /// Modalities.
    pub modalities: u8,
    /// On-chain status.
    pub status: chain::WorkerStatus,
}

impl WorkerHistory {
    /// Inserts a change at its version (a change already present is not added again).
    pub fn insert(&mut self, version: u64, change: WorkerChange) {
        match self.0.binary_search_by_key(&version, |(v, _)| *v) {
            Ok(_) => {}
            Err(position) => self.0.insert(position, (version, change)),
        }
    }

    /// The stake, modalities and status after every change, applied in chain order with the
    /// worker-registry's rules.
    pub fn replay(&self) -> WorkerState {
        use chain::WorkerStatus::*;
        let mut state = WorkerState { stake: 0, modalities: 0, status: Active };
        for (_, change) in &self.0 {
            match *change {
                WorkerChange::Registered { stake, modalities } => {
                    state = WorkerState { stake, modalities, status: Active };
                }
                WorkerChange::Updated { stake, modalities } => {
                    state.stake = stake;
                    state.modalities = modalities;
                }
                WorkerChange::StatusChanged { active } => state.status = if active { Active } else { Inactive },
                WorkerChange::UnbondingStarted { amount, unlock_slot } => {
                    if state.stake.saturating_sub(amount) < chain::MIN_WORKER_STAKE {
                        state.status = Unbonding { unlock_slot };
                    }
                }
                WorkerChange::Withdrawn { amount, closed } => {
                    state.stake = state.stake.saturating_sub(amount);
                    if !closed {
                        state.status = Active;
                    }
                }
                WorkerChange::Slashed { remaining_stake } => {
                    state.stake = remaining_stake;
                    if remaining_stake < chain::MIN_WORKER_STAKE {
                        state.status = Slashed;
                    }
                }
            }
        }
        state
    }
}

/// A document that does not hold a field its schema requires.
#[derive(Debug, thiserror::Error)]
#[error("projection document lacks a valid `{0}` field")]
pub struct MissingField(pub &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_history_replays_in_chain_order_whatever_the_insertion_order() {
        let min = chain::MIN_WORKER_STAKE;
        let changes = [
            (10, WorkerChange::Registered { stake: min + 100, modalities: 9 }),
            (20, WorkerChange::UnbondingStarted { amount: 50, unlock_slot: 900 }),
            (30, WorkerChange::UnbondingStarted { amount: 200, unlock_slot: 990 }),
            (40, WorkerChange::Withdrawn { amount: 200, closed: false }),
            (50, WorkerChange::Slashed { remaining_stake: min - 1 }),
        ];
        let mut forward = WorkerHistory::default();
        changes.iter().for_each(|(v, c)| forward.insert(*v, *c));
        let mut backward = WorkerHistory::default();
        changes.iter().rev().for_each(|(v, c)| backward.insert(*v, *c));
        backward.insert(30, WorkerChange::StatusChanged { active: false });
        assert_eq!(forward, backward);
        let state = forward.replay();
        assert_eq!((state.stake, state.status), (min - 1, chain::WorkerStatus::Slashed));
        let partial = WorkerHistory(changes[..2].to_vec()).replay();
        assert_eq!(partial.status, chain::WorkerStatus::Active, "a partial unstake keeps the worker active");
        let full = WorkerHistory(changes[..3].to_vec()).replay();
        assert_eq!(full.status, chain::WorkerStatus::Unbonding { unlock_slot: 990 });
        assert_eq!(WorkerHistory(changes[..4].to_vec()).replay().status, chain::WorkerStatus::Active);
    }
}
