//! Reads and writes of the projections through `projection::store`: entities loaded into the
//! snapshot cache, the changed snapshots and pending documents written, and the commit with the
//! folded seq as payload.

use projection::schema::dfpn::{Model, Request, Worker};
use projection::schema::psy::{Checkpoint, Contract, Job, User};
use projection::schema::Family;
use projection::store::Document;

use super::entity::{Entity, EntityKey};
use super::psy::PsyEntity;
use super::{dfpn, Projector};
use crate::error::{Error, Result};

/// Snapshots kept in memory after a commit, beyond which the cache is cleared.
const CACHE_LIMIT: usize = 200_000;
/// Entities remembered as written by a run that started on empty families; beyond this the
/// families are treated as non-empty (every lookup and delete done), bounding the memory.
const WRITTEN_LIMIT: usize = 2_000_000;

impl Projector {
    pub(super) fn load(&self, key: &EntityKey) -> Result<Option<Entity>> {
        if self.store.started_empty(key.family()) && !self.written.contains(key) {
            return Ok(None);
        }
        let (store, id) = (&self.store, key.id());
        let entity = match key.family() {
            Family::Requests => store.load::<Request>(id)?.map(|r| Entity::Dfpn(dfpn::Entity::Request(r))),
            Family::Workers => store.load::<Worker>(id)?.map(|w| Entity::Dfpn(dfpn::Entity::Worker(w))),
            Family::Models => store.load::<Model>(id)?.map(|m| Entity::Dfpn(dfpn::Entity::Model(m))),
            Family::Users => store.load::<User>(id)?.map(|u| Entity::Psy(PsyEntity::User(u))),
            Family::Jobs => store.load::<Job>(id)?.map(|j| Entity::Psy(PsyEntity::Job(j))),
            Family::Checkpoints => store.load::<Checkpoint>(id)?.map(|c| Entity::Psy(PsyEntity::Checkpoint(c))),
            Family::Contracts => store.load::<Contract>(id)?.map(|c| Entity::Psy(PsyEntity::Contract(c))),
            Family::UserEvents
            | Family::WorkerEvents
            | Family::Telemetry
            | Family::RewardDistributions
            | Family::RewardRuns => return Err(Error::Projection("append-only families hold no entities".into())),
        };
        Ok(entity)
    }

    pub(super) fn document(&self, entity: &Entity) -> Document {
        match entity {
            Entity::Dfpn(dfpn::Entity::Request(r)) => self.store.document(r),
            Entity::Dfpn(dfpn::Entity::Worker(w)) => self.store.document(w),
            Entity::Dfpn(dfpn::Entity::Model(m)) => self.store.document(m),
            Entity::Psy(PsyEntity::User(u)) => self.store.document(u),
            Entity::Psy(PsyEntity::Job(j)) => self.store.document(j),
            Entity::Psy(PsyEntity::Checkpoint(c)) => self.store.document(c),
            Entity::Psy(PsyEntity::Contract(c)) => self.store.document(c),
        }
    }

    /// Writes the changed snapshots and pending documents, then commits every index with the
    /// applied seq as payload.
    pub fn commit(&mut self) -> Result<()> {
        let folded = self.settle_orphans();
        if folded == self.committed_seq()
            && self.dirty.is_empty()
            && self.appends.is_empty()
            && self.deletions.is_empty()
        {
            return Ok(());
        }
        for key in std::mem::take(&mut self.dirty) {
            let document = self.cache.get(&key).cloned().flatten().map(|entity| self.document(&entity));
            let family = key.family();
            let started_empty = self.store.started_empty(family);
            // A delete is resolved against every segment at commit: skip it for an entity that
            // cannot be in the index yet.
            if !started_empty || self.written.contains(&key) {
                self.store.delete(family, key.id());
            }
            if let Some(document) = document {
                self.store.add(family, document)?;
            }
            if started_empty {
                self.written.insert(key);
            }
        }
        for (kind, (id, document)) in std::mem::take(&mut self.appends) {
            // Documents keyed by their seq are folded once per run: into a family that started
            // empty they cannot replace anything. Telemetry samples are updated by every poll.
            if !self.store.started_empty(kind) || kind == Family::Telemetry || kind == Family::RewardRuns {
                self.store.delete(kind, &id);
            }
            self.store.add(kind, document)?;
        }
        // Retractions come after the appends of the same window: a delete only removes
        // documents added before it.
        for (family, id) in std::mem::take(&mut self.deletions) {
            self.store.delete(family, &id);
        }
        self.store.commit(folded)?;
        if self.cache.len() > CACHE_LIMIT {
            self.cache.clear();
        }
        if self.written.len() > WRITTEN_LIMIT {
            self.written.clear();
            self.store.forget_started_empty();
        }
        Ok(())
    }

    /// Waits for background merges to finish (before exiting).
    pub fn finish(self) -> Result<()> {
        Ok(self.store.finish()?)
    }

    /// Drops orphans past the horizon (counted); returns the seq a commit may record as folded.
    fn settle_orphans(&mut self) -> u64 {
        let (dropped, folded) = self.orphans.settle(self.newest_slot, self.applied_seq);
        self.orphan_events += dropped;
        folded
    }
}
