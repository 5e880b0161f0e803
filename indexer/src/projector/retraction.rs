//! Retractions: the log's entity index (which records touched an entity) kept covering what the
//! projector folded, and the rebuild of what a retracted transaction touched.

use std::collections::{HashMap, HashSet};

use projection::schema::Family;
use shared::control::{ApiEvent, TelemetryRecord};
use shared::ChainEvent;

use super::entity::{entity_of, Entity, EntityKey};
use super::fold::{at, event_time, fold_into, TELEMETRY_ORDER};
use super::{dfpn, psy, Projector, STEP};
use crate::error::Result;
use crate::log::{EntityEntry, EventLog, LogRecord};

impl Projector {
    /// Makes the log's entity index cover what this projector folded: kept when it covers the
    /// log from seq 1 (a replay writes entries only past it), emptied when neither it nor the
    /// projections exist yet, and for projections of a log indexed before the index existed,
    /// built once from the records they folded.
    pub(super) fn check_entity_index(&mut self, log: &EventLog) -> Result<()> {
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

    /// Rebuilds what a retracted transaction touched from the records of the entities it
    /// touched (the entity index), without any retracted record: its entities are recomputed, its
    /// append-only documents deleted. The cost grows with what the transaction touched, not with
    /// the log.
    pub(super) fn rebuild_after_retraction(&mut self, log: &EventLog, signature: &[u8; 64], up_to: u64) -> Result<()> {
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
}
