//! Events of the DFPN program: analysis requests, workers and detection models.
//!
//! Counters (`commit_count`, `tasks_completed`, `total_uses`, ...) carry the account's value after
//! the instruction, as the program stores it, so a projection stays exact even if it folds the
//! events of one commit window out of order.

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;

use crate::enums::{ModelStatus, WorkerStatus};
use crate::field::IdlDefinedType;

super::define_events! {
    /// Any DFPN program event.
    DfpnEvent {
        /// A client submitted media for analysis and deposited the fee.
        RequestCreated {
            /// Request account public key.
            request: Pubkey,
            /// The client who submitted the request.
            requester: Pubkey,
            /// SHA-256 of the submitted media.
            content_hash: [u8; 32],
            /// Location of the media file (Arweave, IPFS, ...).
            storage_uri: String,
            /// Bitfield of requested detection modalities.
            modalities: u32,
            /// Fee deposited in DFPN token base units.
            fee_amount: u64,
            /// Unix timestamp of the reveal deadline.
            deadline: i64,
            /// Unix timestamp of the commit deadline.
            commit_deadline: i64,
            /// Unix timestamp of creation.
            created_at: i64,
        }
        /// A worker committed the hash of its result.
        RequestCommitted {
            /// Request account public key.
            request: Pubkey,
            /// Worker account public key.
            worker: Pubkey,
            /// Hash of the worker's result and salt.
            commitment: [u8; 32],
            /// Commits received so far, including this one.
            commit_count: u32,
        }
        /// A worker revealed the result behind its commitment.
        RequestRevealed {
            /// Request account public key.
            request: Pubkey,
            /// Worker account public key.
            worker: Pubkey,
            /// Revealed authenticity score, 0-10000.
            verdict: u16,
            /// Reveals received so far, including this one.
            reveal_count: u32,
        }
        /// Consensus was reached and the result is final.
        RequestFinalized {
            /// Request account public key.
            request: Pubkey,
            /// Consensus authenticity score, 0-10000.
            consensus_verdict: u16,
            /// Unix timestamp of finalization.
            finalized_at: i64,
        }
        /// The requester cancelled the request before any commit.
        RequestCancelled {
            /// Request account public key.
            request: Pubkey,
            /// Unix timestamp of cancellation.
            cancelled_at: i64,
        }
        /// The deadline passed without enough reveals.
        RequestExpired {
            /// Request account public key.
            request: Pubkey,
            /// Unix timestamp of expiry.
            expired_at: i64,
        }
        /// A finalized result was disputed.
        RequestDisputed {
            /// Request account public key.
            request: Pubkey,
            /// Who opened the dispute.
            disputer: Pubkey,
            /// Unix timestamp of the dispute.
            disputed_at: i64,
        }
        /// An operator registered a worker and bonded its stake.
        WorkerRegistered {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// Initial stake in base units (9 decimals).
            stake: u64,
            /// Initial reputation, 0-10000.
            reputation: u16,
            /// Bitfield of supported modalities.
            modalities: u32,
            /// Initial status.
            status: WorkerStatus,
            /// Slot of registration.
            slot: u64,
        }
        /// A worker's stake changed (bond, unbond, slash).
        WorkerStakeChanged {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// Stake after the change.
            stake: u64,
        }
        /// A worker's status changed.
        WorkerStatusChanged {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// Status after the change.
            status: WorkerStatus,
        }
        /// A worker's reputation was recomputed.
        WorkerReputationUpdated {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// Reputation after the update, 0-10000.
            reputation: u16,
        }
        /// A worker's result was accepted for a finalized request.
        WorkerTaskCompleted {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// The request the task belonged to.
            request: Pubkey,
            /// Lifetime successful tasks after this one.
            tasks_completed: u64,
        }
        /// A worker failed a task (no reveal, or outvoted).
        WorkerTaskFailed {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// The request the task belonged to.
            request: Pubkey,
            /// Lifetime failed tasks after this one.
            tasks_failed: u64,
        }
        /// A worker sent its heartbeat.
        WorkerActive {
            /// Worker account public key.
            worker: Pubkey,
            /// Operator's public key.
            operator: Pubkey,
            /// Slot of the heartbeat.
            slot: u64,
        }
        /// A developer registered a detection model.
        ModelRegistered {
            /// Model account public key.
            model: Pubkey,
            /// Developer's public key.
            developer: Pubkey,
            /// Human-readable model name.
            name: String,
            /// Semantic version string.
            version: String,
            /// Bitfield of supported modalities.
            modalities: u32,
            /// URL of the model weights/code.
            model_uri: String,
            /// Initial status.
            status: ModelStatus,
            /// Unix timestamp of registration.
            created_at: i64,
        }
        /// A model's status changed.
        ModelStatusChanged {
            /// Model account public key.
            model: Pubkey,
            /// Status after the change.
            status: ModelStatus,
        }
        /// A model's performance score was recomputed.
        ModelScoreUpdated {
            /// Model account public key.
            model: Pubkey,
            /// Score after the update, 0-10000.
            score: u16,
        }
        /// A model was used for an analysis.
        ModelUsed {
            /// Model account public key.
            model: Pubkey,
            /// The request it analysed.
            request: Pubkey,
            /// Lifetime uses after this one.
            total_uses: u64,
        }
    }
}

/// The IDL `types` entries of the enums DFPN events use.
pub fn idl_enum_types() -> Vec<serde_json::Value> {
    vec![WorkerStatus::idl_definition(), ModelStatus::idl_definition()]
}
