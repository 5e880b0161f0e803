//! The worker history the fold keeps: a worker's stake and status changes in chain order, and
//! the state replaying them gives.
//!
//! A leaf module: the stored worker entity (`schema::dfpn`) holds a [`WorkerHistory`], and the
//! indexer's projector builds it from the worker-registry events.

use borsh::{BorshDeserialize, BorshSerialize};
use shared::event::dfpn as chain;

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
