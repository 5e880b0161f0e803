//! The projector: folds the event log into tantivy projections, one index per entity family.
//!
//! Entity updates are coalesced: the projector keeps the snapshots changed since the last commit
//! and writes one document per changed entity per commit (delete by id + add). Each index's
//! commit payload is the last log seq folded into it; on start the projector resumes after the
//! smallest payload and skips, per family, what that family already holds, so a crash at any
//! point neither loses nor double-applies an event. Entities not in memory are reloaded from
//! their stored document. A retraction rebuilds the entities its transaction touched from the
//! log, without the retracted transactions.

pub mod dfpn;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use shared::entity::{Model, Request, Worker};
use shared::schema::{Family, ModelFields, RequestFields, WorkerFields};
use shared::ChainEvent;
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::log::{EventLog, LogRecord};
use dfpn::{Entity, EntityKey};

/// Writer memory per index.
const WRITER_MEMORY: usize = 64 << 20;
/// Snapshots kept in memory after a commit, beyond which the cache is cleared.
const CACHE_LIMIT: usize = 200_000;

/// One family's index, writer and reader.
struct FamilyIndex {
    index: Index,
    writer: IndexWriter,
    reader: IndexReader,
    id_field: Field,
    /// Last seq folded into the committed index (its commit payload).
    committed_seq: u64,
}

impl FamilyIndex {
    fn open(dir: &Path, family: Family) -> Result<Self> {
        let path = dir.join(family.dir_name());
        std::fs::create_dir_all(&path).map_err(|err| Error::Projection(format!("{}: {err}", path.display())))?;
        let directory =
            tantivy::directory::MmapDirectory::open(&path).map_err(|err| Error::Projection(err.to_string()))?;
        let index = Index::open_or_create(directory, family.schema())?;
        let committed_seq = index
            .load_metas()?
            .payload
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| Error::Projection(format!("{}: bad commit payload", family.dir_name())))?
            .unwrap_or(0);
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let id_field = index.schema().get_field("id")?;
        Ok(Self { index, writer, reader, id_field, committed_seq })
    }

    fn load(&self, id: &str) -> Result<Option<TantivyDocument>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(Term::from_field_text(self.id_field, id), IndexRecordOption::Basic);
        let hits = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        match hits.first() {
            Some((_, address)) => Ok(Some(searcher.doc(*address)?)),
            None => Ok(None),
        }
    }
}

/// The projections and the coalescing state.
pub struct Projector {
    dir: PathBuf,
    requests: FamilyIndex,
    workers: FamilyIndex,
    models: FamilyIndex,
    request_fields: RequestFields,
    worker_fields: WorkerFields,
    model_fields: ModelFields,
    /// Snapshots known in memory; `None` marks an entity deleted (retracted creation).
    cache: HashMap<EntityKey, Option<Entity>>,
    dirty: HashSet<EntityKey>,
    applied_seq: u64,
    /// Events that referred to an entity never created (counted, skipped).
    pub orphan_events: u64,
}

impl Projector {
    /// Opens (or creates) the projections under `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let requests = FamilyIndex::open(dir, Family::Requests)?;
        let workers = FamilyIndex::open(dir, Family::Workers)?;
        let models = FamilyIndex::open(dir, Family::Models)?;
        let applied_seq = requests.committed_seq.min(workers.committed_seq).min(models.committed_seq);
        Ok(Self {
            dir: dir.to_path_buf(),
            request_fields: RequestFields::resolve(&requests.index.schema()),
            worker_fields: WorkerFields::resolve(&workers.index.schema()),
            model_fields: ModelFields::resolve(&models.index.schema()),
            requests,
            workers,
            models,
            cache: HashMap::new(),
            dirty: HashSet::new(),
            applied_seq,
            orphan_events: 0,
        })
    }

    /// Deletes every projection under `dir` (for a rebuild from the log).
    pub fn destroy(dir: &Path) -> Result<()> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::Projection(format!("removing {}: {err}", dir.display()))),
        }
    }

    /// The directory of the projections.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last seq folded in (committed or not).
    pub fn applied_seq(&self) -> u64 {
        self.applied_seq
    }

    /// The smallest committed seq over the families: what a restart resumes after.
    pub fn committed_seq(&self) -> u64 {
        self.requests.committed_seq.min(self.workers.committed_seq).min(self.models.committed_seq)
    }

    fn family(&self, key: &EntityKey) -> &FamilyIndex {
        match key {
            EntityKey::Request(_) => &self.requests,
            EntityKey::Worker(_) => &self.workers,
            EntityKey::Model(_) => &self.models,
        }
    }

    /// Folds the log from `applied_seq + 1` on, at most `max` records; returns how many.
    pub fn catch_up(&mut self, log: &EventLog, max: usize) -> Result<usize> {
        let mut applied = 0;
        for entry in log.read_from(self.applied_seq + 1).take(max) {
            let (seq, record) = entry?;
            self.apply(log, seq, record)?;
            applied += 1;
        }
        Ok(applied)
    }

    fn apply(&mut self, log: &EventLog, seq: u64, record: LogRecord) -> Result<()> {
        match record {
            LogRecord::Event(stored) => {
                let envelope = stored.to_envelope(seq)?;
                if let ChainEvent::Dfpn(event) = &envelope.event {
                    let key = dfpn::entity_of(event);
                    if seq > self.family(&key).committed_seq {
                        self.fold(key, event, seq)?;
                    }
                }
            }
            LogRecord::Retraction { signature, .. } => self.rebuild_after_retraction(log, &signature, seq)?,
        }
        self.applied_seq = seq;
        Ok(())
    }

    fn fold(&mut self, key: EntityKey, event: &shared::dfpn::DfpnEvent, seq: u64) -> Result<()> {
        if let Some(created) = dfpn::create(event, seq) {
            self.cache.insert(key.clone(), Some(created));
            self.dirty.insert(key);
            return Ok(());
        }
        match self.snapshot(&key)? {
            Some(entity) => {
                dfpn::apply(entity, event);
                self.dirty.insert(key);
            }
            None => self.orphan_events += 1,
        }
        Ok(())
    }

    /// The current snapshot of an entity, loading it from its document if needed.
    fn snapshot(&mut self, key: &EntityKey) -> Result<Option<&mut Entity>> {
        if !self.cache.contains_key(key) {
            let loaded = self.load(key)?;
            self.cache.insert(key.clone(), loaded);
        }
        Ok(self.cache.get_mut(key).and_then(Option::as_mut))
    }

    fn load(&self, key: &EntityKey) -> Result<Option<Entity>> {
        let corrupt = |err: shared::entity::MissingField| Error::Projection(err.to_string());
        Ok(match key {
            EntityKey::Request(id) => self
                .requests
                .load(id)?
                .map(|d| Request::from_document(&d, &self.request_fields).map(Entity::Request))
                .transpose()
                .map_err(corrupt)?,
            EntityKey::Worker(id) => self
                .workers
                .load(id)?
                .map(|d| Worker::from_document(&d, &self.worker_fields).map(Entity::Worker))
                .transpose()
                .map_err(corrupt)?,
            EntityKey::Model(id) => self
                .models
                .load(id)?
                .map(|d| Model::from_document(&d, &self.model_fields).map(Entity::Model))
                .transpose()
                .map_err(corrupt)?,
        })
    }

    /// Rebuilds the entities a retracted transaction touched by folding their events from the
    /// log again, skipping every retracted transaction.
    fn rebuild_after_retraction(&mut self, log: &EventLog, signature: &[u8; 64], up_to: u64) -> Result<()> {
        let mut retracted = HashSet::new();
        let mut touched = HashSet::new();
        for entry in log.read_from(1).take_while(|e| e.as_ref().map_or(true, |(seq, _)| *seq <= up_to)) {
            match entry? {
                (_, LogRecord::Retraction { signature, .. }) => {
                    retracted.insert(signature);
                }
                (seq, LogRecord::Event(stored)) if &stored.signature == signature => {
                    if let ChainEvent::Dfpn(event) = stored.to_envelope(seq)?.event {
                        touched.insert(dfpn::entity_of(&event));
                    }
                }
                _ => {}
            }
        }
        let mut rebuilt: HashMap<EntityKey, Option<Entity>> = touched.iter().map(|key| (key.clone(), None)).collect();
        for entry in log.read_from(1).take_while(|e| e.as_ref().map_or(true, |(seq, _)| *seq <= up_to)) {
            let (seq, record) = entry?;
            let LogRecord::Event(stored) = record else { continue };
            if retracted.contains(&stored.signature) {
                continue;
            }
            let ChainEvent::Dfpn(event) = stored.to_envelope(seq)?.event else { continue };
            let key = dfpn::entity_of(&event);
            let Some(slot) = rebuilt.get_mut(&key) else { continue };
            if let Some(created) = dfpn::create(&event, seq) {
                *slot = Some(created);
            } else if let Some(entity) = slot.as_mut() {
                dfpn::apply(entity, &event);
            }
        }
        for (key, entity) in rebuilt {
            self.cache.insert(key.clone(), entity);
            self.dirty.insert(key);
        }
        Ok(())
    }

    /// Writes the changed snapshots and commits every index with the applied seq as payload.
    pub fn commit(&mut self) -> Result<()> {
        if self.applied_seq == self.committed_seq() && self.dirty.is_empty() {
            return Ok(());
        }
        for key in std::mem::take(&mut self.dirty) {
            let entity = self.cache.get(&key).cloned().flatten();
            let (family, id) = match &key {
                EntityKey::Request(id) => (&mut self.requests, id),
                EntityKey::Worker(id) => (&mut self.workers, id),
                EntityKey::Model(id) => (&mut self.models, id),
            };
            family.writer.delete_term(Term::from_field_text(family.id_field, id));
            let document = match entity {
                Some(Entity::Request(r)) => Some(r.to_document(&self.request_fields)),
                Some(Entity::Worker(w)) => Some(w.to_document(&self.worker_fields)),
                Some(Entity::Model(m)) => Some(m.to_document(&self.model_fields)),
                None => None,
            };
            if let Some(document) = document {
                family.writer.add_document(document)?;
            }
        }
        let payload = self.applied_seq.to_string();
        for family in [&mut self.requests, &mut self.workers, &mut self.models] {
            let mut prepared = family.writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
            family.committed_seq = self.applied_seq;
            family.reader.reload()?;
        }
        if self.cache.len() > CACHE_LIMIT {
            self.cache.clear();
        }
        Ok(())
    }

    /// Waits for background merges to finish (before exiting).
    pub fn finish(self) -> Result<()> {
        for family in [self.requests, self.workers, self.models] {
            family.writer.wait_merging_threads()?;
        }
        Ok(())
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
pub fn replay(log: &EventLog, dir: &Path) -> Result<u64> {
    Projector::destroy(dir)?;
    let mut projector = Projector::open(dir)?;
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
