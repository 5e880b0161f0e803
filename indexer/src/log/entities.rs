//! The entity index: for every projected entity, the seqs of the log records that touch it.
//!
//! It lets a retraction rebuild the entities its transaction touched from their own records,
//! at a cost that grows with what the transaction touched, not with the whole log. The
//! projector derives which entity a record touches (program ids and PDA derivations are its
//! knowledge) and writes the index as it folds; the log only stores it, in a sled tree of its
//! own beside the log's:
//! - family name length (u8) + family name + id length (u16 big-endian) + id + seq (u64
//!   big-endian) → empty;
//! - `0` → seq (u64 big-endian): the index covers the log from seq 1 up to that seq (written once
//!   the projector has indexed the whole log it folded, see [`EventLog::entity_index_upto`]).
//!   A replay keeps an index that covers the log and writes entries only past it: the entries are
//!   a function of the records (under the same program ids) and need not be written twice.
//!
//! Entries are idempotent (a record folded again after a restart writes the same key), so the
//! index needs no atomicity with the projections' commits, only to be flushed before them.

use super::keys::seq_value;
use super::EventLog;
use crate::error::{Error, Result};

/// The sled tree of the index.
pub(super) const TREE: &str = "entities";
const COMPLETE: [u8; 1] = [0];

fn entity_prefix(family: &str, id: &str) -> Result<Vec<u8>> {
    let (family_len, id_len) = (u8::try_from(family.len()), u16::try_from(id.len()));
    let (Ok(family_len), Ok(id_len)) = (family_len, id_len) else {
        return Err(Error::Projection(format!("entity key too long: {family}/{id}")));
    };
    debug_assert!(family_len > 0, "the marker key is the empty family");
    let mut key = Vec::with_capacity(3 + family.len() + id.len() + 8);
    key.push(family_len);
    key.extend_from_slice(family.as_bytes());
    key.extend_from_slice(&id_len.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    Ok(key)
}

/// One entry of the index: the record `seq` touches the entity `id` of `family`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityEntry {
    /// The projection family's name.
    pub family: &'static str,
    /// The entity's id.
    pub id: String,
    /// The record's seq.
    pub seq: u64,
}

impl EventLog {
    /// Stores index entries and flushes them (before the projections that folded them commit).
    pub fn index_entities(&self, entries: &[EntityEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for entry in entries {
            let mut key = entity_prefix(entry.family, &entry.id)?;
            key.extend_from_slice(&entry.seq.to_be_bytes());
            batch.insert(key, &[][..]);
        }
        // A complete index stays complete up to the newest seq written into it.
        if let Some(upto) = self.entity_index_upto()? {
            let newest = entries.iter().map(|entry| entry.seq).max().unwrap_or(0).max(upto);
            batch.insert(&COMPLETE[..], &newest.to_be_bytes()[..]);
        }
        self.entities.apply_batch(batch)?;
        self.entities.flush()?;
        Ok(())
    }

    /// The seqs of the records that touch an entity, in order.
    pub fn entity_seqs(&self, family: &str, id: &str) -> Result<Vec<u64>> {
        let prefix = entity_prefix(family, id)?;
        let start = prefix.len();
        self.entities.scan_prefix(&prefix).keys().map(|key| seq_value(&key?[start..])).collect()
    }

    /// The seq up to which the index covers the log from its first record (the projector built
    /// it from the start, or indexed an older log once); `None` when it does not.
    pub fn entity_index_upto(&self) -> Result<Option<u64>> {
        let Some(value) = self.entities.get(COMPLETE)? else { return Ok(None) };
        Ok(Some(if value.is_empty() { 0 } else { seq_value(&value)? }))
    }

    /// Empties the index and marks it complete: a projector folding the log from seq 1 fills it.
    pub fn restart_entity_index(&self) -> Result<()> {
        self.entities.clear()?;
        self.mark_entity_index_complete(0)
    }

    /// Marks the index complete up to `upto` (after indexing an older log up to where its
    /// projections are).
    pub fn mark_entity_index_complete(&self, upto: u64) -> Result<()> {
        self.entities.insert(COMPLETE, &upto.to_be_bytes())?;
        self.entities.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entity_lists_its_records_and_no_one_elses() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(log.entity_index_upto().unwrap(), None);
        let entry = |family, id: &str, seq| EntityEntry { family, id: id.to_owned(), seq };
        log.index_entities(&[entry("models", "ab", 9), entry("models", "a", 3), entry("models", "ab", 2)]).unwrap();
        log.index_entities(&[entry("workers", "ab", 4), entry("models", "ab", 9)]).unwrap();
        assert_eq!(log.entity_seqs("models", "ab").unwrap(), vec![2, 9]);
        assert_eq!(log.entity_seqs("models", "a").unwrap(), vec![3], "an id that is a prefix of another");
        assert_eq!(log.entity_seqs("workers", "ab").unwrap(), vec![4]);
        assert!(log.entity_seqs("requests", "ab").unwrap().is_empty());
        assert_eq!(log.entity_index_upto().unwrap(), None, "entries alone do not make it complete");
        log.restart_entity_index().unwrap();
        assert_eq!(log.entity_index_upto().unwrap(), Some(0));
        assert!(log.entity_seqs("models", "ab").unwrap().is_empty());
        log.index_entities(&[entry("models", "ab", 12), entry("models", "ab", 11)]).unwrap();
        assert_eq!(log.entity_index_upto().unwrap(), Some(12), "a complete index follows what it holds");
    }
}
