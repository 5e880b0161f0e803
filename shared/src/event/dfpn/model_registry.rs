//! Events of `model_registry` (`Fg6PaF…`). None carries the model account: it is the PDA
//! `["model", developer, model_id]`. `increment_usage` emits nothing (see `instruction`).

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;

use super::types::RetirementReason;

crate::event::define_events! {
    /// Any `model_registry` event.
    ModelRegistryEvent {
        /// `register_model`: a developer registered a model (status Pending).
        ModelRegistered {
            developer: Pubkey,
            model_id: [u8; 32],
            name: String,
            version: String,
            modalities: u8,
            model_uri: String,
            stake: u64,
        }
        /// `update_model`: a new release (the status returns to Pending).
        ModelUpdated {
            developer: Pubkey,
            model_id: [u8; 32],
            old_version: String,
            new_version: String,
            new_model_uri: String,
        }
        /// `activate_model`: Pending to Active with a score.
        ModelActivated {
            developer: Pubkey,
            model_id: [u8; 32],
            score: u32,
        }
        /// `retire_model` / `force_retire_model`.
        ModelRetired {
            developer: Pubkey,
            model_id: [u8; 32],
            reason: RetirementReason,
        }
        /// `suspend_model`.
        ModelSuspended {
            developer: Pubkey,
            model_id: [u8; 32],
        }
        /// `reactivate_model`: Suspended to Active.
        ModelReactivated {
            developer: Pubkey,
            model_id: [u8; 32],
        }
        /// `update_score`.
        ModelScoreUpdated {
            developer: Pubkey,
            model_id: [u8; 32],
            old_score: u32,
            new_score: u32,
        }
        /// `withdraw_model_stake`: a retired model's stake left; the account is closed.
        ModelStakeWithdrawn {
            developer: Pubkey,
            model_id: [u8; 32],
            amount: u64,
        }
    }
}
