//! A replica's mirror of the stream: the log's records, in their stored bytes and at their seqs,
//! appended from the NATS stream instead of the chain.
//!
//! A replica (`indexer follow`) runs the unchanged projector over its mirror, because the
//! projector needs random access to the records (a retraction rebuilds its entities from their
//! records, found through the entity index and the retracted index). The mirror keeps exactly
//! what the projector reads: the records (`L`), the idempotency index of chain records (`K`, from
//! which a retraction moves its transaction's records to `X`) and the retracted index (`X`). It
//! holds no cursors, no pending finality and no API idempotency keys: those are the indexer's.
//! The mirror is a cache of the stream: deleting it only costs a refill from seq 1.

use super::keys::{idempotency_key, retracted_key, seq_value, signature_prefix, KEY, MIRROR, RECORD};
use super::{EventLog, LogRecord};
use crate::error::{Error, Result};

impl EventLog {
    /// Marks the log as a replica's mirror (idempotent); refused for a log that already holds
    /// records of its own.
    pub fn mark_mirror(&self) -> Result<()> {
        if self.is_mirror()? {
            return Ok(());
        }
        if self.last_seq() > 0 {
            return Err(Error::Config(
                "this data directory holds an indexer's own log: a replica needs a directory of its own".into(),
            ));
        }
        self.tree.insert([MIRROR], &[][..])?;
        self.tree.flush()?;
        Ok(())
    }

    /// Whether the log is a replica's mirror of the stream.
    pub fn is_mirror(&self) -> Result<bool> {
        Ok(self.tree.contains_key([MIRROR])?)
    }

    /// Appends records received from the stream, in order, from `last_seq + 1` on, gap-free
    /// (records at or below the last seq are skipped: redelivered). Each record's bytes are
    /// decoded first, so a record this version cannot read stops the replica instead of being
    /// stored. One flushed batch per retraction-free run of records.
    pub fn append_mirrored(&self, records: &[(u64, &[u8])]) -> Result<()> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut seq = *last_seq;
        for (record_seq, bytes) in records {
            if *record_seq <= seq {
                continue;
            }
            if *record_seq != seq + 1 {
                return Err(Error::StreamMismatch(format!(
                    "the stream skips from seq {seq} to {record_seq}: a record is missing"
                )));
            }
            seq = *record_seq;
            let mut key = [RECORD; 9];
            key[1..].copy_from_slice(&seq.to_be_bytes());
            match LogRecord::decode(seq, bytes)? {
                LogRecord::Event(stored) => {
                    batch.insert(&idempotency_key(&stored.signature, stored.event_index)[..], &seq.to_be_bytes()[..]);
                    batch.insert(&key[..], *bytes);
                }
                LogRecord::Retraction { signature, .. } => {
                    // The retraction moves what the earlier records indexed: they must be applied.
                    self.write(std::mem::take(&mut batch))?;
                    self.advance(&mut last_seq, seq - 1);
                    batch.insert(&key[..], *bytes);
                    for entry in self.tree.scan_prefix(signature_prefix(KEY, &signature)) {
                        let (index_key, value) = entry?;
                        batch.remove(index_key);
                        batch.insert(&retracted_key(&signature, seq_value(&value)?)[..], &[][..]);
                    }
                    self.write(std::mem::take(&mut batch))?;
                    self.advance(&mut last_seq, seq);
                }
                LogRecord::Telemetry(_) | LogRecord::Api(_) => batch.insert(&key[..], *bytes),
            }
        }
        if seq > *last_seq {
            self.write(batch)?;
            self.advance(&mut last_seq, seq);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::envelope;
    use super::*;

    #[test]
    fn a_mirror_holds_the_same_records_and_retracted_index_as_its_source() {
        let (source_dir, mirror_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let source = EventLog::open(source_dir.path(), 1 << 20).unwrap();
        source.append(&[envelope(3, 0, 60), envelope(3, 1, 60), envelope(4, 0, 61)], None, 10).unwrap();
        source.retract([3; 64], 60).unwrap();
        source.append(&[envelope(3, 0, 60)], None, 10).unwrap();
        let mirror = EventLog::open(mirror_dir.path(), 1 << 20).unwrap();
        mirror.mark_mirror().unwrap();
        let raw: Vec<(u64, sled::IVec)> = source.raw_from(1).collect::<Result<_>>().unwrap();
        let (first, rest) = raw.split_at(2);
        fn records(part: &[(u64, sled::IVec)]) -> Vec<(u64, &[u8])> {
            part.iter().map(|(seq, bytes)| (*seq, bytes.as_ref())).collect()
        }
        mirror.append_mirrored(&records(first)).unwrap();
        mirror.append_mirrored(&records(&raw)).unwrap();
        assert_eq!(mirror.last_seq(), 5);
        assert_eq!(mirror.raw_from(1).collect::<Result<Vec<_>>>().unwrap(), raw);
        assert_eq!(mirror.retracted_seqs(&[3; 64]).unwrap(), vec![1, 2]);
        assert!(mirror.is_retracted(&[3; 64], 2).unwrap() && !mirror.is_retracted(&[3; 64], 5).unwrap());
        let gap = mirror.append_mirrored(&records(&rest[2..]).iter().map(|(s, b)| (s + 2, *b)).collect::<Vec<_>>());
        assert!(matches!(gap, Err(Error::StreamMismatch(_))), "{gap:?}");
        assert!(source.mark_mirror().is_err(), "an indexer's own log is no mirror");
    }
}
