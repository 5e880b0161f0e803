//! The DFPN families: the API document's Request, Worker and Model objects with what the fold
//! needs to keep them exact whatever order events reach the log in (`last_seq`: the newest log
//! record folded in, so a restart never counts one twice; `*_version`: the chain order of the
//! update that set a field, see `shared::order::version`).

use super::{key, number, stored, stored_bytes, words_text};
use crate::doc_value::{Modalities, Stored};
use crate::worker_history::WorkerHistory;
use shared::enums::{ModelStatus, RequestStatus, WorkerStatus};
use shared::event::dfpn as chain;
use tantivy::schema::{Field, Schema, SchemaBuilder};

family! {
    /// An analysis request.
    Request / RequestFields {
        /// Request account (base58), the document key.
        id: String => text(key()),
        /// Requester public key.
        requester: String => text(key()),
        /// SHA-256 of the media, lowercase hex.
        content_hash: String => text(key()),
        /// Media location, tokenized by [`super::WORDS_TOKENIZER`].
        storage_uri: String => text(words_text()),
        /// Required modality bits.
        modalities: Modalities => u64(super::bits()),
        /// API status (`RequestStatus::from_chain`).
        status: RequestStatus => text(key()),
        /// On-chain status (the filter aliases `Open`, `CommitClosed` match it).
        chain_status: chain::RequestStatus => text(key()),
        /// Status set by the newest closing event (finalize, expire, cancel, dispute).
        closing_status: Option<chain::RequestStatus> => text(key()),
        /// Version of that event (0: none yet).
        closing_version: u64 => u64(stored()),
        /// Reveals the request needs.
        min_workers: u64 => u64(stored()),
        /// Fee in base units.
        fee_amount: u64 => u64(number()),
        /// Reveal deadline (unix seconds).
        deadline: i64 => i64(number()),
        /// Commit deadline (unix seconds).
        commit_deadline: i64 => i64(number()),
        /// Block time of the creation.
        created_at: i64 => i64(number()),
        /// `ResultCommitted` events (the account's u8 counter saturates at 255).
        commit_count: u64 => u64(number()),
        /// `ResultRevealed` events (saturating at 255).
        reveal_count: u64 => u64(number()),
        /// Log seq of the creation.
        seq: u64 => u64(number()),
        /// Chain order of the creation (`shared::order::version`): list order, the same live and
        /// backfilled.
        created_version: u64 => u64(number()),
        /// Newest log seq folded in.
        last_seq: u64 => u64(stored()),
    }
}

family! {
    /// A worker.
    Worker / WorkerFields {
        /// Worker account, the PDA `["worker", operator]` (base58).
        id: String => text(key()),
        /// Operator public key, the document key.
        operator: String => text(key()),
        /// Stake in base units (a pending unstake counts until withdrawn).
        stake: u64 => u64(number()),
        /// Reputation 0-10000.
        reputation: u64 => u64(number()),
        /// Supported modality bits.
        modalities: Modalities => u64(super::bits()),
        /// Status (the on-chain name).
        status: WorkerStatus => text(key()),
        /// Unlock slot of an unbonding worker.
        unlock_slot: Option<u64> => u64(stored()),
        /// Lifetime successful tasks.
        tasks_completed: u64 => u64(number()),
        /// Lifetime failed tasks.
        tasks_failed: u64 => u64(number()),
        /// Slot of the newest registration or reputation update.
        last_active_slot: u64 => u64(number()),
        /// Version of the reputation update that set reputation and tasks.
        reputation_version: u64 => u64(stored()),
        /// Stake and status changes in chain order, replayed to derive stake and status.
        history: Stored<WorkerHistory> => bytes(stored_bytes()),
        /// Log seq of the registration.
        seq: u64 => u64(number()),
        /// Chain order of the registration: list order.
        created_version: u64 => u64(number()),
        /// Newest log seq folded in.
        last_seq: u64 => u64(stored()),
    }
}

family! {
    /// A detection model.
    Model / ModelFields {
        /// Model account, the PDA `["model", developer, model_id]` (base58), the document key.
        id: String => text(key()),
        /// Developer public key.
        developer: String => text(key()),
        /// The 32-byte model id, lowercase hex.
        model_id: String => text(key()),
        /// Name, tokenized by [`super::WORDS_TOKENIZER`].
        name: String => text(words_text()),
        /// Semantic version.
        version: String => text(key()),
        /// Supported modality bits.
        modalities: Modalities => u64(super::bits()),
        /// Weights/code URL, tokenized by [`super::WORDS_TOKENIZER`].
        model_uri: String => text(words_text()),
        /// API status (`ModelStatus::from_chain`).
        status: ModelStatus => text(key()),
        /// On-chain status (the filter aliases `Pending`, `Retired`, `Suspended` match it).
        chain_status: chain::ModelStatus => text(key()),
        /// Version of the event that set the status.
        status_version: u64 => u64(stored()),
        /// Score 0-10000.
        score: u64 => u64(number()),
        /// Version of the event that set the score.
        score_version: u64 => u64(stored()),
        /// Version of the event that set version and URI.
        release_version: u64 => u64(stored()),
        /// Successful `increment_usage` instructions.
        total_uses: u64 => u64(number()),
        /// Block time of the registration.
        created_at: i64 => i64(number()),
        /// The account was closed by `withdraw_model_stake` (the document stays).
        closed: bool => bool(number()),
        /// Log seq of the first registration.
        seq: u64 => u64(number()),
        /// Chain order of the first registration: list order.
        created_version: u64 => u64(number()),
        /// Newest log seq folded in.
        last_seq: u64 => u64(stored()),
    }
}
