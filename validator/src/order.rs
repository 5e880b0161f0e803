//! Keeps an entity's creation ahead of its later entries on chain.
//!
//! The sender keeps many transactions in flight, and the validator may land two sent close
//! together in either order. For most entries the order does not matter to an indexer that folds
//! in chain order, but an entry landing before the creation of its entity (a commit before its
//! request exists) is a history no real program would produce. So a transaction naming a key
//! (an account or 32-byte value, see `EntryLine::keys`) whose first transaction is still in
//! flight is held back until that one was processed; later transactions sharing a key with a
//! held one are held behind it. Others go on being sent, so the rate holds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::events::PlannedTx;

/// How long a transaction is held for its entity's first transaction before it goes anyway.
pub const HOLD_TIMEOUT: Duration = Duration::from_secs(10);

struct Held {
    tx: PlannedTx,
    keys: HashSet<String>,
    since: Instant,
}

/// Which planned transactions may be sent now (see the module comment).
#[derive(Default)]
pub struct Gate {
    /// Each key's first sent transaction, by its position in send order.
    introduced: HashMap<String, usize>,
    /// Whether the transaction at each send position was processed.
    processed: Vec<bool>,
    held: VecDeque<Held>,
}

impl Gate {
    fn waits(&self, keys: &HashSet<String>) -> bool {
        keys.iter().any(|key| self.introduced.get(key).is_some_and(|&position| !self.processed[position]))
    }

    /// Offers the next planned transaction: back when it may be sent now, else held.
    pub fn offer(&mut self, tx: PlannedTx, now: Instant) -> Option<PlannedTx> {
        let keys: HashSet<String> = tx.keys().into_iter().collect();
        if self.waits(&keys) || self.held.iter().any(|held| !held.keys.is_disjoint(&keys)) {
            self.held.push_back(Held { tx, keys, since: now });
            return None;
        }
        Some(tx)
    }

    /// The first held transaction that may go now: its keys' first transactions were processed
    /// (or it was held for [`HOLD_TIMEOUT`]), and no transaction held before it shares a key.
    /// The flag tells a timeout.
    pub fn release(&mut self, now: Instant) -> Option<(PlannedTx, bool)> {
        let position = (0..self.held.len()).find(|&i| {
            let held = &self.held[i];
            let timed_out = now.duration_since(held.since) >= HOLD_TIMEOUT;
            (timed_out || !self.waits(&held.keys))
                && self.held.iter().take(i).all(|earlier| earlier.keys.is_disjoint(&held.keys))
        })?;
        let held = self.held.remove(position).expect("a found position");
        let timed_out = self.waits(&held.keys);
        Some((held.tx, timed_out))
    }

    /// Records a transaction as sent (at the next send position): the first of its keys.
    pub fn sent(&mut self, tx: &PlannedTx) {
        let position = self.processed.len();
        self.processed.push(false);
        for key in tx.keys() {
            self.introduced.entry(key).or_insert(position);
        }
    }

    /// The send positions of the in-flight transactions held ones wait for.
    pub fn awaited(&self) -> Vec<usize> {
        let mut positions: Vec<usize> = self
            .held
            .iter()
            .flat_map(|held| held.keys.iter())
            .filter_map(|key| self.introduced.get(key).copied())
            .filter(|&position| !self.processed[position])
            .collect();
        positions.sort_unstable();
        positions.dedup();
        positions
    }

    /// Marks the transaction at a send position processed.
    pub fn processed(&mut self, position: usize) {
        self.processed[position] = true;
    }

    /// Whether no transaction is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::event;

    fn tx(index: u64, keys: &[u8]) -> PlannedTx {
        let mut entry = event(index, index, "psy", "A", 4);
        let names: Vec<String> =
            keys.iter().map(|k| solana_pubkey::Pubkey::new_from_array([*k; 32]).to_string()).collect();
        entry.truth = serde_json::json!({"fields": {"keys": names}});
        PlannedTx { index, entries: vec![entry], fail: false }
    }

    #[test]
    fn holds_what_names_a_key_first_sent_in_flight_and_what_queues_behind_it() {
        let now = Instant::now();
        let mut gate = Gate::default();
        let creation = gate.offer(tx(0, &[1]), now).unwrap();
        gate.sent(&creation);
        assert!(gate.offer(tx(1, &[1, 2]), now).is_none(), "names key 1 while its creation is in flight");
        assert!(gate.offer(tx(2, &[2]), now).is_none(), "shares key 2 with a held one");
        let other = gate.offer(tx(3, &[3]), now).unwrap();
        gate.sent(&other);
        assert_eq!(gate.awaited(), vec![0]);
        assert!(gate.release(now).is_none());
        gate.processed(0);
        let (first, timed_out) = gate.release(now).unwrap();
        assert_eq!((first.index, timed_out), (1, false));
        gate.sent(&first);
        assert!(gate.release(now).is_none(), "key 2 was introduced by the released one, still in flight");
        gate.processed(2);
        assert_eq!(gate.release(now).unwrap().0.index, 2);
        assert!(gate.is_empty());
    }

    #[test]
    fn a_hold_ends_after_the_timeout() {
        let now = Instant::now();
        let mut gate = Gate::default();
        let creation = gate.offer(tx(0, &[1]), now).unwrap();
        gate.sent(&creation);
        assert!(gate.offer(tx(1, &[1]), now).is_none());
        assert!(gate.release(now + HOLD_TIMEOUT / 2).is_none());
        let (released, timed_out) = gate.release(now + HOLD_TIMEOUT).unwrap();
        assert_eq!((released.index, timed_out), (1, true));
    }
}
