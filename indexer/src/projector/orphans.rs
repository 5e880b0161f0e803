//! Updates that arrived before their entity's creation: kept until it arrives, dropped past a
//! horizon, and holding the commit payload back so that a restart folds them again.

use std::collections::HashMap;

use shared::order::ChainOrder;
use shared::ChainEvent;

use super::dfpn;
use super::entity::EntityKey;
use super::fold::at;

/// An update that arrived before its entity's creation, kept until the creation arrives.
#[derive(Debug, Clone)]
pub(super) struct Orphan {
    pub(super) seq: u64,
    pub(super) order: ChainOrder,
    pub(super) time: i64,
    pub(super) event: ChainEvent,
}

impl Orphan {
    pub(super) fn at(&self) -> dfpn::At {
        at(self.seq, self.order, self.time)
    }
}

/// Slots after which an update still waiting for its entity's creation is dropped (counted):
/// a creation missed by the live stream is backfilled within a reconciliation interval.
const ORPHAN_HORIZON_SLOTS: u64 = 3_000;

/// The updates waiting for their entity's creation, by entity.
#[derive(Debug, Default)]
pub(super) struct Orphans(HashMap<EntityKey, Vec<Orphan>>);

impl Orphans {
    /// Keeps `orphan` until `key`'s creation.
    pub(super) fn wait(&mut self, key: EntityKey, orphan: Orphan) {
        self.0.entry(key).or_default().push(orphan);
    }

    /// The updates that waited for `key`, now created.
    pub(super) fn take(&mut self, key: &EntityKey) -> Option<Vec<Orphan>> {
        self.0.remove(key)
    }

    /// Drops orphans older than the horizon below `newest_slot`; returns how many it dropped and
    /// the seq a commit may record as folded: just before the oldest orphan still waiting (at
    /// most `applied_seq`), so that a restart folds it again.
    pub(super) fn settle(&mut self, newest_slot: u64, applied_seq: u64) -> (u64, u64) {
        let horizon = newest_slot.saturating_sub(ORPHAN_HORIZON_SLOTS);
        let mut dropped = 0;
        self.0.retain(|_, waiting| {
            let before = waiting.len();
            waiting.retain(|orphan| orphan.order.slot >= horizon);
            dropped += (before - waiting.len()) as u64;
            !waiting.is_empty()
        });
        let oldest = self.0.values().flatten().map(|orphan| orphan.seq).min();
        (dropped, oldest.map_or(applied_seq, |seq| (seq - 1).min(applied_seq)))
    }
}
