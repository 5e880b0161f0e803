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

pub mod dfpn;
pub mod psy;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use projection::schema::dfpn::{Model, Request, Worker};
use projection::schema::psy::{Checkpoint, Contract, Job, TelemetrySample, User};
use projection::schema::Family;
use projection::store::{Document, Store};
use shared::control::{ApiEvent, TelemetryRecord};
use shared::order::ChainOrder;
use shared::{ChainEvent, ProgramSet};

use crate::error::{Error, Result};
use crate::log::{EntityEntry, EventLog, LogRecord};
use psy::{PsyEntity, PsyKind};

/// Snapshots kept in memory after a commit, beyond which the cache is cleared.
const CACHE_LIMIT: usize = 200_000;
/// Entities remembered as written by a run that started on empty families; beyond this the
/// families are treated as non-empty (every lookup and delete done), bounding the memory.
const WRITTEN_LIMIT: usize = 2_000_000;

/// A mutable entity: its family and document id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntityKey {
    /// A DFPN entity.
    Dfpn(dfpn::EntityKey),
    /// A Psy entity.
    Psy(PsyKind, String),
}

/// A mutable entity's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    /// A DFPN entity.
    Dfpn(dfpn::Entity),
    /// A Psy entity.
    Psy(PsyEntity),
}

impl EntityKey {
    fn family(&self) -> Family {
        match self {
            EntityKey::Dfpn(dfpn::EntityKey::Request(_)) => Family::Requests,
            EntityKey::Dfpn(dfpn::EntityKey::Worker(_)) => Family::Workers,
            EntityKey::Dfpn(dfpn::EntityKey::Model(_)) => Family::Models,
            EntityKey::Psy(PsyKind::User, _) => Family::Users,
            EntityKey::Psy(PsyKind::Job, _) => Family::Jobs,
            EntityKey::Psy(PsyKind::Checkpoint, _) => Family::Checkpoints,
            EntityKey::Psy(PsyKind::Contract, _) => Family::Contracts,
        }
    }

    fn id(&self) -> &str {
        match self {
            EntityKey::Dfpn(
                dfpn::EntityKey::Request(id) | dfpn::EntityKey::Worker(id) | dfpn::EntityKey::Model(id),
            ) => id,
            EntityKey::Psy(_, id) => id,
        }
    }
}

/// The entity an event changes, if any.
fn entity_of(event: &ChainEvent, addresses: &mut dfpn::Addresses) -> Option<EntityKey> {
    match event {
        ChainEvent::Psy(event) => psy::entity_of(event).map(|(kind, id)| EntityKey::Psy(kind, id)),
        event => dfpn::entity_of(event, addresses).map(EntityKey::Dfpn),
    }
}

/// What folding an event into an entity slot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Folded {
    /// The entity was created or updated (or the event was already folded in).
    Changed,
    /// The event updates an entity that does not exist (yet).
    Orphan,
}

/// Folds an event into an entity slot: creates the entity from a creation event, or applies an
/// update to it. Folding is order-independent (see `dfpn::apply`); a DFPN record already folded
/// in (`seq` at most the entity's `last_seq`) is skipped unless `refold` says the slot is being
/// rebuilt or a waiting orphan is applied after its creation.
fn fold_into(
    slot: &mut Option<Entity>,
    event: &ChainEvent,
    at: dfpn::At,
    refold: bool,
    addresses: &mut dfpn::Addresses,
) -> Folded {
    match (slot.as_mut(), event) {
        (Some(Entity::Psy(entity)), ChainEvent::Psy(event)) => {
            psy::apply(entity, event, at.seq, at.version);
            Folded::Changed
        }
        (_, ChainEvent::Psy(event)) => match psy::create(event, at.seq, at.version) {
            Some(created) => {
                *slot = Some(Entity::Psy(created));
                Folded::Changed
            }
            None => Folded::Orphan,
        },
        (Some(Entity::Dfpn(entity)), event) => {
            if refold || at.seq > dfpn::last_seq(entity) {
                dfpn::apply(entity, event, at);
            }
            Folded::Changed
        }
        (_, event) => match dfpn::create(event, at, addresses) {
            Some(created) => {
                *slot = Some(Entity::Dfpn(created));
                Folded::Changed
            }
            None => Folded::Orphan,
        },
    }
}

/// An update that arrived before its entity's creation, kept until the creation arrives.
#[derive(Debug, Clone)]
struct Orphan {
    seq: u64,
    order: ChainOrder,
    time: i64,
    event: ChainEvent,
}

impl Orphan {
    fn at(&self) -> dfpn::At {
        at(self.seq, self.order, self.time)
    }
}

fn at(seq: u64, order: ChainOrder, time: i64) -> dfpn::At {
    dfpn::At { seq, version: shared::order::version(order, seq), slot: order.slot, time }
}

/// Slots after which an update still waiting for its entity's creation is dropped (counted):
/// a creation missed by the live stream is backfilled within a reconciliation interval.
const ORPHAN_HORIZON_SLOTS: u64 = 3_000;

/// The time an event is stamped with: its block time, else its slot's order is all we know.
fn event_time(block_time: Option<i64>) -> i64 {
    block_time.unwrap_or_default()
}

/// The chain order a telemetry record folds at: slot 0 without a block position, so its version
/// is below every chain record's and in log order among telemetry records (Psy folds order by
/// the record's own timestamp first; this only breaks ties).
const TELEMETRY_ORDER: ChainOrder = ChainOrder { slot: 0, tx_index: None, event_index: 0 };

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
    orphans: HashMap<EntityKey, Vec<Orphan>>,
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
            orphans: HashMap::new(),
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

    /// Folds the log from `applied_seq + 1` on, at most `max` records; returns how many. The
    /// entity index entries of what was folded are durable when it returns (so before any
    /// commit that records them folded).
    pub fn catch_up(&mut self, log: &EventLog, max: usize) -> Result<usize> {
        self.check_entity_index(log)?;
        let mut applied = 0;
        for entry in log.read_from(self.applied_seq + 1).take(max) {
            let (seq, record) = entry?;
            self.apply(log, seq, record)?;
            applied += 1;
        }
        log.index_entities(&std::mem::take(&mut self.entity_entries))?;
        Ok(applied)
    }

    /// Makes the log's entity index cover what this projector folded: kept when it covers the
    /// log from seq 1 (a replay writes entries only past it), emptied when neither it nor the
    /// projections exist yet, and for projections of a log indexed before the index existed,
    /// built once from the records they folded.
    fn check_entity_index(&mut self, log: &EventLog) -> Result<()> {
        if self.entity_index_checked {
            return Ok(());
        }
        self.entity_index_upto = match log.entity_index_upto()? {
            Some(upto) => upto,
            None if self.applied_seq == 0 => {
                log.restart_entity_index()?;
                0
            }
            None => {
                tracing::info!(up_to = self.applied_seq, "building the entity index of the log");
                let mut entries = Vec::new();
                for entry in log.read_from(1) {
                    let (seq, record) = entry?;
                    if seq > self.applied_seq {
                        break;
                    }
                    match record {
                        LogRecord::Event(stored) => {
                            if let Some(event) = log.decode_event(&stored, seq)? {
                                entries.extend(self.entity_entry(&event, seq));
                            }
                        }
                        LogRecord::Api(ApiEvent::Telemetry(TelemetryRecord(event))) => {
                            entries.extend(self.entity_entry(&ChainEvent::Psy(event), seq))
                        }
                        _ => {}
                    }
                    if entries.len() >= STEP {
                        log.index_entities(&std::mem::take(&mut entries))?;
                    }
                }
                log.index_entities(&entries)?;
                log.mark_entity_index_complete(self.applied_seq)?;
                self.applied_seq
            }
        };
        self.entity_index_checked = true;
        Ok(())
    }

    /// The entity-index entry of a record: the entity its event touches.
    fn entity_entry(&mut self, event: &ChainEvent, seq: u64) -> Option<EntityEntry> {
        let key = entity_of(event, &mut self.addresses)?;
        Some(EntityEntry { family: key.family().dir_name(), id: key.id().to_owned(), seq })
    }

    fn apply(&mut self, log: &EventLog, seq: u64, record: LogRecord) -> Result<()> {
        match record {
            LogRecord::Event(stored) => {
                let Some(event) = log.decode_event(&stored, seq)? else {
                    self.legacy_records += 1;
                    self.applied_seq = seq;
                    return Ok(());
                };
                let time = event_time(stored.block_time);
                self.newest_slot = self.newest_slot.max(stored.slot);
                self.apply_event(event, seq, stored.chain_order(), time)?;
            }
            LogRecord::Api(ApiEvent::Telemetry(TelemetryRecord(event))) => {
                self.apply_event(ChainEvent::Psy(event), seq, TELEMETRY_ORDER, 0)?;
            }
            LogRecord::Retraction { signature, .. } => self.rebuild_after_retraction(log, &signature, seq)?,
            LogRecord::Telemetry(reading) if seq > self.committed(Family::Telemetry) => {
                let sample = TelemetrySample {
                    id: reading.sample_slot.to_string(),
                    sample_slot: reading.sample_slot,
                    num_transactions: reading.num_transactions,
                    num_slots: reading.num_slots,
                    sample_period_secs: u64::from(reading.sample_period_secs),
                    observed_at: reading.observed_at,
                    slot: reading.slot,
                    block_height: reading.block_height,
                };
                let document = self.store.document(&sample);
                self.appends.push((Family::Telemetry, (sample.id.clone(), document)));
            }
            LogRecord::Telemetry(_) => {}
            LogRecord::Api(event) => self.apply_api(event, seq),
        }
        self.applied_seq = seq;
        Ok(())
    }

    /// Folds a chain event or a telemetry record (the same Psy events): its append-only
    /// document, its entity-index entry and its entity.
    fn apply_event(&mut self, event: ChainEvent, seq: u64, order: ChainOrder, time: i64) -> Result<()> {
        if let ChainEvent::Psy(event) = &event {
            self.append(event, seq);
        }
        if let Some(key) = entity_of(&event, &mut self.addresses) {
            if seq > self.entity_index_upto {
                self.entity_entries.push(EntityEntry { family: key.family().dir_name(), id: key.id().to_owned(), seq });
            }
            if seq > self.committed(key.family()) {
                self.fold(key, event, seq, order, time)?;
            }
        }
        Ok(())
    }

    /// Folds an off-chain write: a registration creates its user and its `REGISTER_USER` user
    /// event; rewards and settlements are append-only documents; records of the invented Psy
    /// model (older logs) fold into nothing. Telemetry records are folded by `apply`.
    fn apply_api(&mut self, event: ApiEvent, seq: u64) {
        match event {
            ApiEvent::UserRegistered(registration) => {
                let (user, user_event) = psy::api_user(&registration, seq);
                if seq > self.committed(Family::Users) {
                    let key = EntityKey::Psy(PsyKind::User, user.id.clone());
                    self.cache.insert(key.clone(), Some(Entity::Psy(PsyEntity::User(user))));
                    self.dirty.insert(key);
                }
                if seq > self.committed(Family::UserEvents) {
                    let document = self.store.document(&user_event);
                    self.appends.push((Family::UserEvents, (user_event.id, document)));
                }
            }
            ApiEvent::JobRewarded(reward) if seq > self.committed(Family::RewardDistributions) => {
                let document = psy::distribution(&reward, seq);
                let id = document.id.clone();
                self.appends.push((Family::RewardDistributions, (id, self.store.document(&document))));
            }
            ApiEvent::CheckpointSettled(settled) if seq > self.committed(Family::RewardRuns) => {
                let document = psy::reward_run(&settled, seq);
                let id = document.id.clone();
                self.appends.push((Family::RewardRuns, (id, self.store.document(&document))));
            }
            _ => {}
        }
    }

    fn append(&mut self, event: &shared::psy::PsyEvent, seq: u64) {
        let document = match psy::appended(event, seq) {
            Some(psy::Appended::User(user_event)) if seq > self.committed(Family::UserEvents) => {
                (Family::UserEvents, (user_event.id.clone(), self.store.document(&user_event)))
            }
            Some(psy::Appended::Worker(worker_event)) if seq > self.committed(Family::WorkerEvents) => {
                (Family::WorkerEvents, (worker_event.id.clone(), self.store.document(&worker_event)))
            }
            _ => return,
        };
        self.appends.push(document);
    }

    fn fold(&mut self, key: EntityKey, event: ChainEvent, seq: u64, order: ChainOrder, time: i64) -> Result<()> {
        if !self.cache.contains_key(&key) {
            let loaded = self.load(&key)?;
            self.cache.insert(key.clone(), loaded);
        }
        let entry = self.cache.get_mut(&key).expect("cached above");
        match fold_into(entry, &event, at(seq, order, time), false, &mut self.addresses) {
            Folded::Changed => {
                if let Some(waiting) = self.orphans.remove(&key) {
                    for orphan in waiting {
                        fold_into(entry, &orphan.event, orphan.at(), true, &mut self.addresses);
                    }
                }
                self.dirty.insert(key);
            }
            Folded::Orphan => self.orphans.entry(key).or_default().push(Orphan { seq, order, time, event }),
        }
        Ok(())
    }

    /// Drops orphans older than the horizon; returns the seq a commit may record as folded:
    /// just before the oldest orphan still waiting, so that a restart folds it again.
    fn settle_orphans(&mut self) -> u64 {
        let horizon = self.newest_slot.saturating_sub(ORPHAN_HORIZON_SLOTS);
        let mut dropped = 0;
        self.orphans.retain(|_, waiting| {
            let before = waiting.len();
            waiting.retain(|orphan| orphan.order.slot >= horizon);
            dropped += (before - waiting.len()) as u64;
            !waiting.is_empty()
        });
        self.orphan_events += dropped;
        let oldest = self.orphans.values().flatten().map(|orphan| orphan.seq).min();
        oldest.map_or(self.applied_seq, |seq| (seq - 1).min(self.applied_seq))
    }

    fn load(&self, key: &EntityKey) -> Result<Option<Entity>> {
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

    fn document(&self, entity: &Entity) -> Document {
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

    /// Rebuilds what a retracted transaction touched from the records of the entities it
    /// touched (the entity index), without any retracted record: its entities are recomputed, its
    /// append-only documents deleted. The cost grows with what the transaction touched, not with
    /// the log.
    fn rebuild_after_retraction(&mut self, log: &EventLog, signature: &[u8; 64], up_to: u64) -> Result<()> {
        log.index_entities(&std::mem::take(&mut self.entity_entries))?;
        let mut touched = HashSet::new();
        for seq in log.retracted_seqs(signature)?.into_iter().filter(|seq| *seq <= up_to) {
            self.rebuild_reads += 1;
            let Some(LogRecord::Event(stored)) = log.record(seq)? else { continue };
            let Some(event) = log.decode_event(&stored, seq)? else { continue };
            touched.extend(entity_of(&event, &mut self.addresses));
            if let ChainEvent::Psy(event) = &event {
                match psy::appended(event, seq) {
                    Some(psy::Appended::User(_)) => self.deletions.push((Family::UserEvents, seq.to_string())),
                    Some(psy::Appended::Worker(_)) => self.deletions.push((Family::WorkerEvents, seq.to_string())),
                    None => {}
                }
            }
        }
        let mut events = Vec::new();
        for key in &touched {
            for seq in log.entity_seqs(key.family().dir_name(), key.id())?.into_iter().filter(|seq| *seq <= up_to) {
                self.rebuild_reads += 1;
                let (at, event) = match log.record(seq)? {
                    Some(LogRecord::Event(stored)) => {
                        if log.is_retracted(&stored.signature, seq)? {
                            continue;
                        }
                        let Some(event) = log.decode_event(&stored, seq)? else { continue };
                        (at(seq, stored.chain_order(), event_time(stored.block_time)), event)
                    }
                    Some(LogRecord::Api(ApiEvent::Telemetry(TelemetryRecord(event)))) => {
                        (at(seq, TELEMETRY_ORDER, 0), ChainEvent::Psy(event))
                    }
                    _ => continue,
                };
                debug_assert_eq!(entity_of(&event, &mut self.addresses).as_ref(), Some(key));
                events.push((at, key.clone(), event));
            }
        }
        // Creations first, so that the updates of an entity whose creation sorts later (a
        // same-slot creation without a block position) are not lost.
        events.sort_by_key(|(at, _, event)| (!dfpn::is_creation(event), at.version));
        let mut rebuilt: HashMap<EntityKey, Option<Entity>> = touched.iter().map(|key| (key.clone(), None)).collect();
        for (at, key, event) in events {
            let slot = rebuilt.get_mut(&key).expect("touched keys are in the map");
            fold_into(slot, &event, at, true, &mut self.addresses);
        }
        for (key, entity) in rebuilt {
            self.cache.insert(key.clone(), entity);
            self.dirty.insert(key);
        }
        Ok(())
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
}

/// Records folded per step before the projector commits.
const STEP: usize = 100_000;

/// Keeps the projections caught up with the log until `shutdown` turns true, committing every
/// `interval` when anything new was folded; commits a last time before returning. Runs on its own
/// thread so that commits never block ingestion.
pub fn follow(
    log: &EventLog,
    projector: &mut Projector,
    interval: std::time::Duration,
    shutdown: &tokio::sync::watch::Receiver<bool>,
    metrics: &crate::metrics::Metrics,
) -> Result<()> {
    loop {
        let stopping = *shutdown.borrow();
        let folded = projector.catch_up(log, STEP)?;
        let started = std::time::Instant::now();
        projector.commit()?;
        metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        metrics.projection_seq.set(projector.committed_seq() as i64);
        if folded > 0 {
            tracing::debug!(
                folded,
                seq = projector.applied_seq(),
                commit_ms = started.elapsed().as_millis() as u64,
                "projections committed"
            );
        }
        if stopping && folded < STEP {
            return Ok(());
        }
        if folded < STEP {
            std::thread::sleep(interval);
        }
    }
}

/// Rebuilds every projection from the log's first record; returns the records folded.
pub fn replay(log: &EventLog, dir: &Path, programs: &ProgramSet) -> Result<u64> {
    Projector::destroy(dir)?;
    let mut projector = Projector::open(dir, programs)?;
    let mut total = 0u64;
    let started = std::time::Instant::now();
    loop {
        let folded = projector.catch_up(log, STEP)?;
        projector.commit()?;
        total += folded as u64;
        tracing::info!(
            seq = projector.applied_seq(),
            last = log.last_seq(),
            per_s = (total as f64 / started.elapsed().as_secs_f64().max(1e-3)) as u64,
            "replay progress"
        );
        if folded < STEP {
            break;
        }
    }
    projector.finish()?;
    Ok(total)
}

/// The projector on its own thread, following the log (see [`spawn`]).
pub struct ProjectorThread(std::thread::JoinHandle<Result<()>>);

/// Starts `projector` on its own thread (`projector`): it follows `log` ([`follow`]), committing
/// every `interval`, until `shutdown`, then commits a last time and closes the projections.
pub fn spawn(
    mut projector: Projector,
    log: std::sync::Arc<EventLog>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    interval: std::time::Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<ProjectorThread> {
    std::thread::Builder::new()
        .name("projector".into())
        .spawn(move || {
            follow(&log, &mut projector, interval, &shutdown, &metrics)?;
            projector.finish()
        })
        .map(ProjectorThread)
        .map_err(|err| Error::Projection(format!("starting the projector thread: {err}")))
}

impl ProjectorThread {
    /// Waits for the thread to end (blocking): its outcome, or an error when it panicked.
    pub fn join(self) -> Result<()> {
        self.0.join().map_err(|_| Error::Projection("projector thread panicked".into()))?
    }

    /// Waits for the thread to end off the async runtime's threads.
    pub async fn finish(self) -> Result<()> {
        tokio::task::spawn_blocking(move || self.join()).await.map_err(|err| Error::Projection(err.to_string()))?
    }
}
