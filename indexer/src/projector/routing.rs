//! Routing each log record to its families: a Psy event's append-only document, an entity's
//! fold (through the snapshot cache), an off-chain write's documents, a retraction's rebuild.

use projection::schema::psy::TelemetrySample;
use projection::schema::Family;
use shared::control::{ApiEvent, TelemetryRecord};
use shared::order::ChainOrder;
use shared::ChainEvent;

use super::entity::{entity_of, Entity, EntityKey};
use super::fold::{at, event_time, fold_into, Folded, TELEMETRY_ORDER};
use super::orphans::Orphan;
use super::psy::{self, PsyEntity, PsyKind};
use super::Projector;
use crate::error::Result;
use crate::log::{EntityEntry, EventLog, LogRecord};

impl Projector {
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
                if let Some(waiting) = self.orphans.take(&key) {
                    for orphan in waiting {
                        fold_into(entry, &orphan.event, orphan.at(), true, &mut self.addresses);
                    }
                }
                self.dirty.insert(key);
            }
            Folded::Orphan => self.orphans.wait(key, Orphan { seq, order, time, event }),
        }
        Ok(())
    }
}
