//! Events of `worker_registry` (`HmbTLC…`). None carries the worker account: it is the PDA
//! `["worker", operator]`.

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;

use super::types::SlashReason;

crate::event::define_events! {
    /// Any `worker_registry` event.
    WorkerRegistryEvent {
        /// `register_worker`: an operator registered a worker and bonded its stake.
        WorkerRegistered {
            operator: Pubkey,
            stake: u64,
            modalities: u8,
        }
        /// `update_worker`: the absolute stake and modalities after the update.
        WorkerUpdated {
            operator: Pubkey,
            stake: u64,
            modalities: u8,
        }
        /// `set_worker_status`: the worker switched between Active and Inactive.
        WorkerStatusChanged {
            operator: Pubkey,
            active: bool,
        }
        /// `request_unstake`: a full unbond or a partial unstake (the stake decides which).
        WorkerUnbondingStarted {
            operator: Pubkey,
            amount: u64,
            unlock_slot: u64,
        }
        /// `withdraw_stake`: the pending unstake left the vault.
        WorkerWithdrawn {
            operator: Pubkey,
            amount: u64,
            /// Whether the stake is now zero (the account is not actually closed).
            closed: bool,
        }
        /// `update_reputation`: the absolute reputation and task counts.
        WorkerReputationUpdated {
            operator: Pubkey,
            reputation: u32,
            tasks_completed: u64,
            tasks_failed: u64,
        }
        /// `slash_worker`: stake taken for misbehaviour.
        WorkerSlashed {
            operator: Pubkey,
            amount: u64,
            reason: SlashReason,
            remaining_stake: u64,
        }
    }
}
