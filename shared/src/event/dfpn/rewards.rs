//! Events of `rewards` (`4uQeVj…`): logged and exported; no endpoint reads them yet.

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;

crate::event::define_events! {
    /// Any `rewards` event.
    RewardsEvent {
        /// `initialize_treasury`.
        TreasuryInitialized {
            authority: Pubkey,
            dfpn_mint: Pubkey,
            worker_share_bps: u16,
            model_share_bps: u16,
            treasury_share_bps: u16,
            insurance_share_bps: u16,
        }
        /// `deposit_fees`.
        FeesDeposited {
            amount: u64,
            total_collected: u64,
        }
        /// `distribute_rewards` (moves no tokens).
        RewardsDistributed {
            fee_amount: u64,
            worker_pool: u64,
            model_pool: u64,
            treasury_share: u64,
            insurance_share: u64,
            worker_count: u8,
        }
        /// `allocate_reward`.
        RewardAllocated {
            claimant: Pubkey,
            amount: u64,
            total_pending: u64,
        }
        /// `claim_rewards`.
        RewardsClaimed {
            claimant: Pubkey,
            amount: u64,
            total_claimed: u64,
        }
        /// `update_shares`.
        SharesUpdated {
            old_worker: u16,
            old_model: u16,
            old_treasury: u16,
            old_insurance: u16,
            new_worker: u16,
            new_model: u16,
            new_treasury: u16,
            new_insurance: u16,
        }
        /// `set_paused`.
        TreasuryPauseToggled {
            paused: bool,
        }
        /// `transfer_authority`.
        AuthorityTransferred {
            old_authority: Pubkey,
            new_authority: Pubkey,
        }
        /// `initialize_reward_account`.
        RewardAccountInitialized {
            claimant: Pubkey,
        }
        /// `initialize_epoch` (`epoch` is always 0).
        EpochInitialized {
            epoch: u64,
            start_slot: u64,
            duration_slots: u64,
        }
        /// `advance_epoch`.
        EpochAdvanced {
            old_epoch: u64,
            new_epoch: u64,
            old_fees: u64,
            old_distributed: u64,
            old_requests: u32,
            new_start_slot: u64,
        }
        /// `process_request_rewards`, the CPI of `finalize_request` (Finalized path).
        RequestRewardsProcessed {
            fee_amount: u64,
            worker_pool: u64,
            model_pool: u64,
            treasury_share: u64,
            insurance_share: u64,
            worker_count: u8,
            /// The marketplace passes the first reveal's model account here.
            model_developer: Option<Pubkey>,
            total_allocated: u64,
        }
    }
}
