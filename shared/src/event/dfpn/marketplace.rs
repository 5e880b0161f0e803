//! Events of `analysis_marketplace` (`9xQeWv…`): requests, commits, reveals, disputes.

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;

use super::types::{DisputeReason, RequestStatus, Verdict};

crate::event::define_events! {
    /// Any `analysis_marketplace` event.
    MarketplaceEvent {
        /// `create_request`: a client submitted media and deposited the fee.
        RequestCreated {
            /// The request account (PDA `["request", content_hash, nonce]`).
            request_id: Pubkey,
            requester: Pubkey,
            /// SHA-256 of the media.
            content_hash: [u8; 32],
            storage_uri: String,
            /// Modality bitfield the request needs.
            required_modalities: u8,
            min_workers: u8,
            fee_amount: u64,
            /// Unix time of the reveal deadline.
            deadline: i64,
            /// Unix time of the commit deadline (70 % of the window).
            commit_deadline: i64,
        }
        /// `commit_result`: a worker committed the hash of its result.
        ResultCommitted {
            request_id: Pubkey,
            /// The operator wallet.
            worker: Pubkey,
            commitment: [u8; 32],
            commit_slot: u64,
        }
        /// `reveal_result`: a worker revealed the result behind its commitment.
        ResultRevealed {
            request_id: Pubkey,
            /// The operator wallet.
            worker: Pubkey,
            /// The model account used.
            model: Pubkey,
            verdict: Verdict,
            confidence: u8,
            reveal_slot: u64,
        }
        /// `finalize_request`: the request closed as `Finalized` or `Expired`.
        RequestFinalized {
            request_id: Pubkey,
            /// The new status.
            status: RequestStatus,
            reveal_count: u8,
            fee_amount: u64,
        }
        /// `cancel_request`: the requester cancelled before any commit.
        RequestCancelled {
            request_id: Pubkey,
            fee_refunded: u64,
        }
        /// `expire_request`: the deadline passed with too few reveals (may repeat).
        RequestExpired {
            request_id: Pubkey,
            fee_refunded: u64,
            reveals_received: u8,
        }
        /// `open_dispute`: a challenger disputed a reveal of a finalized request.
        DisputeOpened {
            dispute_id: Pubkey,
            request_id: Pubkey,
            reveal_id: Pubkey,
            challenger: Pubkey,
            /// The operator wallet of the challenged reveal.
            challenged_worker: Pubkey,
            reason: DisputeReason,
            evidence_hash: [u8; 32],
            stake_amount: u64,
        }
        /// `resolve_dispute`: a resolver decided the dispute.
        DisputeResolved {
            dispute_id: Pubkey,
            in_favor_of_challenger: bool,
            resolver: Pubkey,
            slash_amount: u64,
            challenger_reward: u64,
        }
        /// `close_dispute`: the dispute timed out and was dismissed.
        DisputeClosed {
            dispute_id: Pubkey,
        }
    }
}
