//! The projector: folds the event log into tantivy projections, one index per entity family.
//!
//! Entity updates are coalesced: the projector keeps the snapshots changed since the last commit
//! and writes one document per changed entity per commit (delete by id + add); append-only
//! families (Psy user and worker events) get one document per event. Each index's commit payload
//! is the last log seq folded into it; on start the projector resumes after the smallest payload.
//!
//! Events can reach the log out of chain order (a notification the node dropped is backfilled at
//! the next reconciliation, after newer ones). Folding is therefore order-independent and
//! idempotent: counters keep their largest post-instruction value, lifecycle statuses their
//! furthest step, other fields the value of the newest update by (slot, seq); an update that
//! arrives before its entity's creation waits for it (and holds the commit payload back so a
//! restart folds it again). Two updates of one field in the same slot that reach the log out of
//! order resolve in arrival order: the one case a slot-level order cannot settle. A retraction
//! rebuilds the entities its transaction touched from the log, without retracted transactions,
//! and deletes its append-only documents.
//!
//! The modules: [`entity`] (which entity an event changes), `routing` (each log record to its
//! family: appended documents, entity folds), `fold` (folding one record into a snapshot),
//! `orphans` (updates waiting for their creation), `retraction` (the entity index and the
//! rebuild after a retraction), `commit` (the snapshot cache, reads and writes of the
//! projections through `projection::store`), [`run`] (the follow and replay loops, the
//! projector thread); [`dfpn`] and [`psy`] hold the families' folds.

mod commit;
pub mod dfpn;
pub mod entity;
mod fold;
mod orphans;
pub mod psy;
mod retraction;
mod routing;
pub mod run;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use projection::schema::Family;
use projection::store::{Document, Store};
use shared::ProgramSet;

use crate::error::Result;
use crate::log::EntityEntry;
pub use entity::{Entity, EntityKey};
use orphans::Orphans;
pub use run::{follow, replay, spawn, ProjectorThread};

/// Records folded per step before the projector commits.
const STEP: usize = 100_000;

/// The projections and the coalescing state.
pub struct Projector {
    store: Store,
    /// Snapshots known in memory; `None` marks an entity that does not exist (or was retracted).
    cache: HashMap<EntityKey, Option<Entity>>,
    dirty: HashSet<EntityKey>,
    /// Append-only documents (with their id) waiting for the next commit; written as
    /// delete-by-id + add so that folding an event again after a restart is harmless.
    appends: Vec<(Family, (String, Document))>,
    /// Append-only documents (family, id) to delete at the next commit (retractions).
    deletions: Vec<(Family, String)>,
    /// Updates waiting for their entity's creation.
    orphans: Orphans,
    /// Entities written by this run into families that started empty (see `started_empty`).
    written: HashSet<EntityKey>,
    /// Newest slot folded in.
    newest_slot: u64,
    applied_seq: u64,
    /// Updates dropped because their entity was never created within the horizon.
    pub orphan_events: u64,
    /// Log records read by retraction rebuilds (what a retraction costs).
    pub rebuild_reads: u64,
    /// Psy records of the invented model (a migrated format-3 log) passed over.
    pub legacy_records: u64,
    /// Derives the DFPN account addresses events do not carry.
    addresses: dfpn::Addresses,
    /// Entity-index entries of the records folded since the last write to the index.
    entity_entries: Vec<EntityEntry>,
    /// Whether the log's entity index was checked to cover what this projector folded.
    entity_index_checked: bool,
    /// The seq up to which the log's entity index already holds every record's entry.
    entity_index_upto: u64,
}

impl Projector {
    /// Opens (or creates) the projections under `dir`; DFPN accounts are derived under the ids
    /// of `programs`.
    pub fn open(dir: &Path, programs: &ProgramSet) -> Result<Self> {
        let store = Store::open(dir)?;
        let applied_seq = store.committed_seq();
        Ok(Self {
            store,
            cache: HashMap::new(),
            dirty: HashSet::new(),
            appends: Vec::new(),
            deletions: Vec::new(),
            orphans: Orphans::default(),
            written: HashSet::new(),
            newest_slot: 0,
            applied_seq,
            orphan_events: 0,
            rebuild_reads: 0,
            legacy_records: 0,
            addresses: dfpn::Addresses::new(programs),
            entity_entries: Vec::new(),
            entity_index_checked: false,
            entity_index_upto: 0,
        })
    }

    /// Deletes every projection under `dir` (for a rebuild from the log).
    pub fn destroy(dir: &Path) -> Result<()> {
        Ok(Store::destroy(dir)?)
    }

    /// The directory of the projections.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// The last seq folded in (committed or not).
    pub fn applied_seq(&self) -> u64 {
        self.applied_seq
    }

    /// The smallest committed seq over the families: what a restart resumes after.
    pub fn committed_seq(&self) -> u64 {
        self.store.committed_seq()
    }

    /// The seq `family`'s last commit recorded as folded.
    fn committed(&self, family: Family) -> u64 {
        self.store.family_committed_seq(family)
    }
}
