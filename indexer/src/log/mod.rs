//! The event log: the append-only source of truth, in one sled tree.
//!
//! Keys are prefixed by kind so that a whole append (records, idempotency entries and the source
//! cursor) is one atomic sled batch:
//! - `L` + seq (u64 big-endian) → a Borsh [`LogRecord`] (in its stored form: new variants go
//!   last, so records of earlier releases of this format stay readable); seqs are gap-free from 1;
//! - `K` + signature (64 bytes) + event_index (u32 big-endian) → seq, the idempotency index;
//! - `C` + program name → the program's [`Cursor`];
//! - `P` + signature → slot, for transactions appended above the finalized slot: the finality
//!   check later confirms them or retracts them;
//! - `U` + signature → slot, for transactions whose `getTransaction` answer could not be
//!   decoded: set aside, retried at every reconciliation until they decode;
//! - `X` + signature + seq → empty, for the records of retracted transactions (moved out of the
//!   idempotency index by the retraction, so that a transaction that reappears is appended again);
//! - `M` → empty, in a replica's mirror of the stream (see [`mirror`]): records arrive from the
//!   stream, never from the chain, and `indexer run` refuses the directory;
//! - `V` → the log format ([`LOG_FORMAT`], u32 big-endian). A log of the previous format is
//!   migrated at open; one of another format (or of the first ones, which had no marker) is
//!   refused: nothing is ever misread.
//!
//! Beside it, the entity index ([`entities`]) lists the records that touch each projected entity.
//!
//! Durability: every append is applied as one atomic batch and flushed (fsync) before it
//! returns, so whatever a caller saw appended survives a crash, and a crash mid-append leaves
//! either all or none of the batch. A write that fails leaves the log refusing every later one
//! (the process stops; a seq is never handed out twice). Only one process can open a data
//! directory.

mod entities;
mod format;
mod keys;
pub mod mirror;
mod record;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use borsh::BorshDeserialize;
use shared::control::ApiEvent;
use shared::envelope::{EventEnvelope, EventSource};
use shared::{ChainEvent, ProgramKind};

use crate::error::{Error, Result};
pub use entities::EntityEntry;
pub use format::LOG_FORMAT;
use keys::{
    cursor_key, idempotency_key, pending_key, record_key, retracted_key, seq_value, set_aside_key, signature_prefix,
    KEY, PENDING, RECORD, RETRACTED, SET_ASIDE,
};
pub use record::{parse_signature, AppendOutcome, Cursor, LogRecord, StoredEvent, Telemetry};

/// The sled-backed event log.
pub struct EventLog {
    db: sled::Db,
    tree: sled::Tree,
    /// The entity index (see [`entities`]): which records touch which projected entity.
    entities: sled::Tree,
    /// The last assigned seq; the lock also serializes appends.
    last_seq: Mutex<u64>,
    /// Psy records at or below this seq may be of the invented Psy model (format 3 logs).
    legacy_psy_upto: u64,
    /// Set when a write failed: the log refuses every later write (see [`EventLog::write`]).
    failed: AtomicBool,
    /// The last seq made durable, for tasks that wait for appends (the stream publisher).
    appended: tokio::sync::watch::Sender<u64>,
    /// Tests make the next flush fail through this.
    #[cfg(test)]
    fail_next_flush: AtomicBool,
}

impl EventLog {
    /// Opens (or creates) the log in `dir` with a page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self> {
        let db = open_db(dir, cache_bytes)?;
        let tree = db.open_tree("log")?;
        format::check(&tree, dir)?;
        let legacy_psy_upto = format::legacy_psy_upto(&tree)?;
        let last_seq = match tree.scan_prefix([RECORD]).next_back() {
            Some(entry) => {
                let (key, _) = entry?;
                u64::from_be_bytes(key[1..9].try_into().map_err(|_| Error::Corrupt("record key".into()))?)
            }
            None => 0,
        };
        Ok(Self {
            entities: db.open_tree(entities::TREE)?,
            db,
            tree,
            last_seq: Mutex::new(last_seq),
            legacy_psy_upto,
            failed: AtomicBool::new(false),
            appended: tokio::sync::watch::Sender::new(last_seq),
            #[cfg(test)]
            fail_next_flush: AtomicBool::new(false),
        })
    }

    /// Applies a batch atomically and flushes it to disk. A failure of either leaves the log
    /// unusable for writing until the process restarts: the batch may be applied in memory (and
    /// reach the disk later), so going on could hand out one of its seqs again. The indexer stops
    /// on [`Error::LogFailed`]; a restart reads the log as it is on disk.
    fn write(&self, batch: sled::Batch) -> Result<()> {
        if self.failed.load(Ordering::SeqCst) {
            return Err(Error::LogFailed("an earlier write failed; restart the indexer".into()));
        }
        let written = self.tree.apply_batch(batch).and_then(|()| self.flush());
        written.map_err(|err| {
            self.failed.store(true, Ordering::SeqCst);
            tracing::error!(error = %err, "event log write failed; refusing every later write");
            Error::LogFailed(err.to_string())
        })
    }

    fn flush(&self) -> sled::Result<()> {
        #[cfg(test)]
        if self.fail_next_flush.swap(false, Ordering::SeqCst) {
            return Err(sled::Error::Io(std::io::Error::other("injected flush failure")));
        }
        self.db.flush().map(|_| ())
    }

    /// Moves the last seq to `seq` once its records are durable, and wakes the tasks waiting for
    /// appends.
    fn advance(&self, last_seq: &mut u64, seq: u64) {
        *last_seq = seq;
        self.appended.send_replace(seq);
    }

    /// A receiver of the last durable seq, changed after every append.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// The seq of the newest record (0 when empty).
    pub fn last_seq(&self) -> u64 {
        *self.last_seq.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends events not yet in the log, and optionally moves a program's cursor, atomically.
    /// Events above `finalized_slot` are remembered as pending finality.
    pub fn append(
        &self,
        events: &[EventEnvelope],
        cursor: Option<(ProgramKind, &Cursor)>,
        finalized_slot: u64,
    ) -> Result<AppendOutcome> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut outcome = AppendOutcome::default();
        let mut seen_in_batch = std::collections::HashSet::new();
        let mut seq = *last_seq;
        for envelope in events {
            let stored = StoredEvent::from_envelope(envelope)?;
            let key = idempotency_key(&stored.signature, stored.event_index);
            if !seen_in_batch.insert(key) || self.tree.contains_key(key)? {
                outcome.duplicates += 1;
                continue;
            }
            seq += 1;
            batch.insert(&key[..], &seq.to_be_bytes()[..]);
            if stored.slot > finalized_slot && stored.source == EventSource::Chain {
                batch.insert(&pending_key(&stored.signature)[..], &stored.slot.to_be_bytes()[..]);
            }
            batch.insert(&record_key(seq)[..], LogRecord::Event(stored).encode()?);
            outcome.appended.push(seq);
        }
        if let Some((program, cursor)) = cursor {
            batch.insert(cursor_key(program), borsh::to_vec(cursor).map_err(Error::Encode)?);
        }
        if outcome.appended.is_empty() && cursor.is_none() {
            return Ok(outcome);
        }
        self.write(batch)?;
        self.advance(&mut last_seq, seq);
        Ok(outcome)
    }

    /// Appends the records of one off-chain write atomically, unless a write with the same
    /// idempotency `key` is already stored: then nothing is appended and the stored records'
    /// seqs are returned. The key takes a signature's place in the idempotency index, with the
    /// record's position in the write as its event index.
    pub fn append_api(&self, key: &[u8; 64], events: &[ApiEvent]) -> Result<shared::control::WriteOutcome> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let stored = self.write_seqs(key)?;
        if !stored.is_empty() {
            return Ok(shared::control::WriteOutcome { created: false, seqs: stored });
        }
        let mut batch = sled::Batch::default();
        let mut seqs = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            let seq = *last_seq + 1 + index as u64;
            batch.insert(&idempotency_key(key, index as u32)[..], &seq.to_be_bytes()[..]);
            batch.insert(&record_key(seq)[..], LogRecord::Api(event.clone()).encode()?);
            seqs.push(seq);
        }
        if seqs.is_empty() {
            return Ok(shared::control::WriteOutcome { created: false, seqs });
        }
        self.write(batch)?;
        let seq = *last_seq + seqs.len() as u64;
        self.advance(&mut last_seq, seq);
        Ok(shared::control::WriteOutcome { created: true, seqs })
    }

    /// Appends many single-record off-chain writes (a telemetry post's records) in one atomic
    /// batch: each record whose idempotency key is not stored yet, once (a key repeated within the
    /// batch counts once). Returns each record's seq in order (stored earlier, or now) and how
    /// many were appended now.
    pub fn append_api_records(&self, records: &[([u8; 64], ApiEvent)]) -> Result<(Vec<u64>, usize)> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let mut batch = sled::Batch::default();
        let mut in_batch: std::collections::HashMap<[u8; 64], u64> = std::collections::HashMap::new();
        let mut seqs = Vec::with_capacity(records.len());
        let mut seq = *last_seq;
        for (key, event) in records {
            if let Some(stored) = in_batch.get(key) {
                seqs.push(*stored);
                continue;
            }
            if let Some(stored) = self.write_seqs(key)?.first() {
                seqs.push(*stored);
                continue;
            }
            seq += 1;
            batch.insert(&idempotency_key(key, 0)[..], &seq.to_be_bytes()[..]);
            batch.insert(&record_key(seq)[..], LogRecord::Api(event.clone()).encode()?);
            in_batch.insert(*key, seq);
            seqs.push(seq);
        }
        let appended = (seq - *last_seq) as usize;
        if appended > 0 {
            self.write(batch)?;
            self.advance(&mut last_seq, seq);
        }
        Ok((seqs, appended))
    }

    /// Seqs of the records stored under an off-chain write's idempotency key, in order.
    fn write_seqs(&self, key: &[u8; 64]) -> Result<Vec<u64>> {
        let mut prefix = vec![KEY];
        prefix.extend_from_slice(key);
        self.tree
            .scan_prefix(prefix)
            .map(|entry| {
                let (_, value) = entry?;
                Ok(u64::from_be_bytes(value.as_ref().try_into().map_err(|_| Error::Corrupt("idempotency seq".into()))?))
            })
            .collect()
    }

    /// The event a stored record holds, or `None` for a Psy record of the invented Psy model
    /// kept from a log of format 3 (at or below the migration's boundary) that no longer decodes.
    pub fn decode_event(&self, stored: &StoredEvent, seq: u64) -> Result<Option<ChainEvent>> {
        match stored.event(seq) {
            Ok(event) => Ok(Some(event)),
            Err(_) if stored.program == ProgramKind::Psy && seq <= self.legacy_psy_upto => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Reads one record.
    pub fn record(&self, seq: u64) -> Result<Option<LogRecord>> {
        self.tree.get(record_key(seq))?.map(|bytes| LogRecord::decode(seq, &bytes)).transpose()
    }

    /// Appends a telemetry reading; returns its seq.
    pub fn append_telemetry(&self, telemetry: &Telemetry) -> Result<u64> {
        self.append_record(LogRecord::Telemetry(telemetry.clone()))
    }

    fn append_record(&self, record: LogRecord) -> Result<u64> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *last_seq + 1;
        let mut batch = sled::Batch::default();
        batch.insert(&record_key(seq)[..], record.encode()?);
        self.write(batch)?;
        self.advance(&mut last_seq, seq);
        Ok(seq)
    }

    /// Appends a retraction of a transaction not in the finalized chain; returns its seq. In the
    /// same batch its records leave the idempotency index for the retracted index (`X`): they no
    /// longer count, and should the transaction reappear it is appended again, as new records
    /// (a retraction never poisons the idempotency index).
    pub fn retract(&self, signature: [u8; 64], slot: u64) -> Result<u64> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *last_seq + 1;
        let mut batch = sled::Batch::default();
        batch.insert(&record_key(seq)[..], LogRecord::Retraction { signature, slot }.encode()?);
        batch.remove(&pending_key(&signature)[..]);
        for entry in self.tree.scan_prefix(signature_prefix(KEY, &signature)) {
            let (key, value) = entry?;
            batch.remove(key);
            batch.insert(&retracted_key(&signature, seq_value(&value)?)[..], &[][..]);
        }
        self.write(batch)?;
        self.advance(&mut last_seq, seq);
        Ok(seq)
    }

    /// The seqs of a transaction's retracted records, in order.
    pub fn retracted_seqs(&self, signature: &[u8; 64]) -> Result<Vec<u64>> {
        self.tree.scan_prefix(signature_prefix(RETRACTED, signature)).keys().map(|key| seq_value(&key?[65..])).collect()
    }

    /// Whether the record `seq` of the transaction `signature` was retracted.
    pub fn is_retracted(&self, signature: &[u8; 64], seq: u64) -> Result<bool> {
        Ok(self.tree.contains_key(retracted_key(signature, seq))?)
    }

    /// Transactions pending finality whose slot is at most `up_to_slot`.
    pub fn pending(&self, up_to_slot: u64) -> Result<Vec<([u8; 64], u64)>> {
        let mut out = Vec::new();
        for entry in self.tree.scan_prefix([PENDING]) {
            let (key, value) = entry?;
            let slot =
                u64::from_be_bytes(value.as_ref().try_into().map_err(|_| Error::Corrupt("pending slot".into()))?);
            if slot <= up_to_slot {
                let signature: [u8; 64] = key[1..].try_into().map_err(|_| Error::Corrupt("pending key".into()))?;
                out.push((signature, slot));
            }
        }
        Ok(out)
    }

    /// Marks transactions as finalized: they are no longer pending.
    pub fn confirm_final(&self, signatures: &[[u8; 64]]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for signature in signatures {
            batch.remove(&pending_key(signature)[..]);
        }
        self.write(batch)
    }

    /// Sets a transaction aside whose answer could not be decoded, to be retried later.
    pub fn set_aside(&self, signature: [u8; 64], slot: u64) -> Result<()> {
        let mut batch = sled::Batch::default();
        batch.insert(&set_aside_key(&signature)[..], &slot.to_be_bytes()[..]);
        self.write(batch)
    }

    /// The transactions set aside, with their slots.
    pub fn set_aside_list(&self) -> Result<Vec<([u8; 64], u64)>> {
        self.tree
            .scan_prefix([SET_ASIDE])
            .map(|entry| {
                let (key, value) = entry?;
                let signature: [u8; 64] = key[1..].try_into().map_err(|_| Error::Corrupt("set-aside key".into()))?;
                let slot =
                    u64::from_be_bytes(value.as_ref().try_into().map_err(|_| Error::Corrupt("set-aside slot".into()))?);
                Ok((signature, slot))
            })
            .collect()
    }

    /// A set-aside transaction decoded at last (its events were appended): no longer set aside.
    pub fn clear_set_aside(&self, signature: &[u8; 64]) -> Result<()> {
        let mut batch = sled::Batch::default();
        batch.remove(&set_aside_key(signature)[..]);
        self.write(batch)
    }

    /// Whether any entry of a transaction (event or decoded instruction) is in the log.
    pub fn contains_transaction(&self, signature: &[u8; 64]) -> Result<bool> {
        Ok(self.tree.scan_prefix(signature_prefix(KEY, signature)).next().transpose()?.is_some())
    }

    /// Whether an event is in the log.
    pub fn contains(&self, signature: &[u8; 64], event_index: u32) -> Result<bool> {
        Ok(self.tree.contains_key(idempotency_key(signature, event_index))?)
    }

    /// The cursor of a program, if its history was ever synced.
    pub fn cursor(&self, program: ProgramKind) -> Result<Option<Cursor>> {
        self.tree
            .get(cursor_key(program))?
            .map(|bytes| Cursor::try_from_slice(&bytes).map_err(|err| Error::Corrupt(format!("cursor: {err}"))))
            .transpose()
    }

    /// Records from `seq` (inclusive) on, in order.
    pub fn read_from(&self, seq: u64) -> impl Iterator<Item = Result<(u64, LogRecord)>> + '_ {
        self.tree.range(record_key(seq.max(1))..record_key(u64::MAX)).map(|entry| {
            let (key, value) = entry?;
            let seq = u64::from_be_bytes(key[1..9].try_into().map_err(|_| Error::Corrupt("record key".into()))?);
            Ok((seq, LogRecord::decode(seq, &value)?))
        })
    }

    /// Records from `seq` (inclusive) on, in order, in their stored bytes (what the stream
    /// publisher sends, unchanged).
    pub fn raw_from(&self, seq: u64) -> impl Iterator<Item = Result<(u64, sled::IVec)>> + '_ {
        self.tree.range(record_key(seq.max(1))..record_key(u64::MAX)).map(|entry| {
            let (key, value) = entry?;
            Ok((seq_value(&key[1..9])?, value))
        })
    }

    /// Bytes the log occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}

/// How long an open waits for a data directory held by a log of this process being dropped
/// (sled's background flusher releases the lock a moment after the last handle goes).
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db> {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(dir).cache_capacity(cache_bytes).open().map_err(|err| open_error(dir, err)) {
            Err(Error::DataDirLocked(_)) if started.elapsed() < RELEASE_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            opened => return opened,
        }
    }
}

fn open_error(dir: &Path, err: sled::Error) -> Error {
    match &err {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock") => {
            Error::DataDirLocked(dir.to_path_buf())
        }
        _ => Error::Storage(err),
    }
}

#[cfg(test)]
pub(crate) mod tests;
