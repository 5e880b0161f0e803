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
//! - `V` → the log format ([`LOG_FORMAT`], u32 big-endian). A log of another format (or of the
//!   first ones, which had no marker) is refused at open: nothing is ever misread.
//!
//! Durability: every append is applied as one atomic batch and flushed (fsync) before it
//! returns, so whatever a caller saw appended survives a crash, and a crash mid-append leaves
//! either all or none of the batch. Only one process can open a data directory.

use std::path::Path;
use std::sync::Mutex;

use borsh::{BorshDeserialize, BorshSerialize};
use shared::control::ApiEvent;
use shared::envelope::{EventEnvelope, EventSource};
use shared::event::PayloadKind;
use shared::{ChainEvent, ProgramKind};

use crate::error::{Error, Result};

const RECORD: u8 = b'L';
const KEY: u8 = b'K';
const CURSOR: u8 = b'C';
const PENDING: u8 = b'P';
const FORMAT: u8 = b'V';
const SET_ASIDE: u8 = b'U';

/// The log format this version writes and reads: 2 is the five real DFPN programs (per-program
/// kinds, decoded instructions). Logs of the invented single-program model carry no marker.
pub const LOG_FORMAT: u32 = 2;

/// A stored event: the envelope with the event kept in its compact Anchor encoding.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StoredEvent {
    /// Slot of the transaction.
    pub slot: u64,
    /// Transaction signature.
    pub signature: [u8; 64],
    /// Position of the transaction in its block, when known.
    pub tx_index: Option<u32>,
    /// Position in the transaction.
    pub event_index: u32,
    /// Block time, when known.
    pub block_time: Option<i64>,
    /// Where the event entered from.
    pub source: EventSource,
    /// Emitting program.
    pub program: ProgramKind,
    /// An event or a decoded instruction.
    pub kind: PayloadKind,
    /// An event's discriminator + Borsh, or an instruction's Borsh.
    pub payload: Vec<u8>,
}

/// A reading of the cluster's performance, polled by the telemetry task.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Telemetry {
    /// Unix time of the poll.
    pub observed_at: i64,
    /// Tip slot at the poll.
    pub slot: u64,
    /// Block height at the poll.
    pub block_height: u64,
    /// Slot that closes the newest performance sample.
    pub sample_slot: u64,
    /// Transactions in that sample (non-vote when the node reports it).
    pub num_transactions: u64,
    /// Slots in that sample.
    pub num_slots: u64,
    /// Seconds the sample covers.
    pub sample_period_secs: u16,
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// An event.
    Event(StoredEvent),
    /// The transaction was dropped from the chain (abandoned fork): its events no longer count.
    Retraction {
        /// The dropped transaction.
        signature: [u8; 64],
        /// Its slot.
        slot: u64,
    },
    /// A telemetry reading (for the Psy `/stats` and `/ws/tps`).
    Telemetry(Telemetry),
    /// An off-chain event written through the control endpoint (source `api`).
    Api(ApiEvent),
}

/// The stored form of a [`LogRecord`]. Borsh tags variants by position, so a variant's layout
/// never changes and new variants only go last: every log of [`LOG_FORMAT`] stays readable.
#[derive(BorshSerialize, BorshDeserialize)]
enum StoredRecord {
    Event(StoredEvent),
    Retraction { signature: [u8; 64], slot: u64 },
    Telemetry(Telemetry),
    Api(ApiEvent),
}

impl LogRecord {
    /// The record's stored bytes.
    fn encode(self) -> Result<Vec<u8>> {
        let stored = match self {
            LogRecord::Event(event) => StoredRecord::Event(event),
            LogRecord::Retraction { signature, slot } => StoredRecord::Retraction { signature, slot },
            LogRecord::Telemetry(reading) => StoredRecord::Telemetry(reading),
            LogRecord::Api(event) => StoredRecord::Api(event),
        };
        borsh::to_vec(&stored).map_err(Error::Encode)
    }

    /// Reads a record from its stored bytes.
    fn decode(seq: u64, bytes: &[u8]) -> Result<Self> {
        let stored = StoredRecord::try_from_slice(bytes).map_err(|err| Error::Corrupt(format!("seq {seq}: {err}")))?;
        Ok(match stored {
            StoredRecord::Event(event) => LogRecord::Event(event),
            StoredRecord::Retraction { signature, slot } => LogRecord::Retraction { signature, slot },
            StoredRecord::Telemetry(reading) => LogRecord::Telemetry(reading),
            StoredRecord::Api(event) => LogRecord::Api(event),
        })
    }
}

impl StoredEvent {
    /// Stores an envelope (its `seq` is assigned by the log).
    pub fn from_envelope(envelope: &EventEnvelope) -> Result<Self> {
        let (kind, payload) = envelope.event.stored_payload();
        Ok(Self {
            slot: envelope.slot,
            signature: parse_signature(&envelope.signature)?,
            tx_index: envelope.tx_index,
            event_index: envelope.event_index,
            block_time: envelope.block_time,
            source: envelope.source,
            program: envelope.program(),
            kind,
            payload,
        })
    }

    /// Where the event sits on chain.
    pub fn chain_order(&self) -> shared::entity::ChainOrder {
        shared::entity::ChainOrder { slot: self.slot, tx_index: self.tx_index, event_index: self.event_index }
    }

    /// The decoded event alone (no signature encoding: the projector's hot path).
    pub fn event(&self, seq: u64) -> Result<ChainEvent> {
        ChainEvent::decode_stored(self.program, self.kind, &self.payload)
            .map_err(|err| Error::Corrupt(format!("seq {seq}: {err}")))
    }

    /// The envelope, with the event decoded.
    pub fn to_envelope(&self, seq: u64) -> Result<EventEnvelope> {
        Ok(EventEnvelope {
            seq,
            slot: self.slot,
            signature: bs58::encode(self.signature).into_string(),
            tx_index: self.tx_index,
            event_index: self.event_index,
            block_time: self.block_time,
            source: self.source,
            event: self.event(seq)?,
        })
    }
}

/// Parses a base58 transaction signature.
pub fn parse_signature(signature: &str) -> Result<[u8; 64]> {
    bs58::decode(signature)
        .into_vec()
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| Error::InvalidSignature(signature.to_owned()))
}

/// How far a program's history is known to be complete in the log.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Cursor {
    /// Every transaction up to and including this one (newest first order) is in the log.
    pub signature: [u8; 64],
    /// Its slot.
    pub slot: u64,
}

/// What an append did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Seqs of the records appended, in order.
    pub appended: Vec<u64>,
    /// Events skipped because their `(signature, event_index)` was already in the log.
    pub duplicates: usize,
}

/// The sled-backed event log.
pub struct EventLog {
    db: sled::Db,
    tree: sled::Tree,
    /// The last assigned seq; the lock also serializes appends.
    last_seq: Mutex<u64>,
}

fn record_key(seq: u64) -> [u8; 9] {
    let mut key = [RECORD; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn idempotency_key(signature: &[u8; 64], event_index: u32) -> [u8; 69] {
    let mut key = [KEY; 69];
    key[1..65].copy_from_slice(signature);
    key[65..].copy_from_slice(&event_index.to_be_bytes());
    key
}

fn pending_key(signature: &[u8; 64]) -> [u8; 65] {
    let mut key = [PENDING; 65];
    key[1..].copy_from_slice(signature);
    key
}

fn set_aside_key(signature: &[u8; 64]) -> [u8; 65] {
    let mut key = [SET_ASIDE; 65];
    key[1..].copy_from_slice(signature);
    key
}

fn cursor_key(program: ProgramKind) -> Vec<u8> {
    let mut key = vec![CURSOR];
    key.extend_from_slice(program.as_str().as_bytes());
    key
}

impl EventLog {
    /// Opens (or creates) the log in `dir` with a page cache of `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Self> {
        let db =
            sled::Config::new().path(dir).cache_capacity(cache_bytes).open().map_err(|err| open_error(dir, err))?;
        let tree = db.open_tree("log")?;
        check_format(&tree, dir)?;
        let last_seq = match tree.scan_prefix([RECORD]).next_back() {
            Some(entry) => {
                let (key, _) = entry?;
                u64::from_be_bytes(key[1..9].try_into().map_err(|_| Error::Corrupt("record key".into()))?)
            }
            None => 0,
        };
        Ok(Self { db, tree, last_seq: Mutex::new(last_seq) })
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
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        *last_seq = seq;
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
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        *last_seq += seqs.len() as u64;
        Ok(shared::control::WriteOutcome { created: true, seqs })
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

    /// Reads one record.
    pub fn record(&self, seq: u64) -> Result<Option<LogRecord>> {
        self.tree.get(record_key(seq))?.map(|bytes| LogRecord::decode(seq, &bytes)).transpose()
    }

    /// Appends a telemetry reading; returns its seq.
    pub fn append_telemetry(&self, telemetry: &Telemetry) -> Result<u64> {
        self.append_record(LogRecord::Telemetry(telemetry.clone()), None)
    }

    fn append_record(&self, record: LogRecord, remove: Option<&[u8]>) -> Result<u64> {
        let mut last_seq = self.last_seq.lock().unwrap_or_else(|p| p.into_inner());
        let seq = *last_seq + 1;
        let mut batch = sled::Batch::default();
        batch.insert(&record_key(seq)[..], record.encode()?);
        if let Some(key) = remove {
            batch.remove(key);
        }
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        *last_seq = seq;
        Ok(seq)
    }

    /// Appends a retraction of a dropped transaction; returns its seq.
    pub fn retract(&self, signature: [u8; 64], slot: u64) -> Result<u64> {
        self.append_record(LogRecord::Retraction { signature, slot }, Some(&pending_key(&signature)[..]))
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
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Sets a transaction aside whose answer could not be decoded, to be retried later.
    pub fn set_aside(&self, signature: [u8; 64], slot: u64) -> Result<()> {
        self.tree.insert(set_aside_key(&signature), &slot.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
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
        self.tree.remove(set_aside_key(signature))?;
        self.db.flush()?;
        Ok(())
    }

    /// Whether any entry of a transaction (event or decoded instruction) is in the log.
    pub fn contains_transaction(&self, signature: &[u8; 64]) -> Result<bool> {
        let mut prefix = [KEY; 65];
        prefix[1..].copy_from_slice(signature);
        Ok(self.tree.scan_prefix(prefix).next().transpose()?.is_some())
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

    /// Bytes the log occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}

/// Refuses a log of another format; marks a new one with [`LOG_FORMAT`].
fn check_format(tree: &sled::Tree, dir: &Path) -> Result<()> {
    match tree.get([FORMAT])? {
        Some(value) if value.as_ref() == LOG_FORMAT.to_be_bytes() => Ok(()),
        Some(_) => Err(Error::IncompatibleLog(dir.to_path_buf())),
        None if tree.first()?.is_some() => Err(Error::IncompatibleLog(dir.to_path_buf())),
        None => {
            tree.insert([FORMAT], &LOG_FORMAT.to_be_bytes())?;
            tree.flush()?;
            Ok(())
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
pub(crate) mod tests {
    use super::*;
    use shared::dfpn::{ModelRegistryEvent, ModelScoreUpdated};

    /// A DFPN event of transaction `[signature_byte; 64]` (score 100 + `event_index`).
    pub(crate) fn envelope(signature_byte: u8, event_index: u32, slot: u64) -> EventEnvelope {
        EventEnvelope {
            seq: 0,
            slot,
            signature: bs58::encode([signature_byte; 64]).into_string(),
            tx_index: Some(u32::from(signature_byte)),
            event_index,
            block_time: Some(1_720_000_000),
            source: EventSource::Chain,
            event: ChainEvent::ModelRegistry(ModelRegistryEvent::ModelScoreUpdated(ModelScoreUpdated {
                developer: solana_pubkey::Pubkey::new_from_array([signature_byte; 32]),
                model_id: [signature_byte; 32],
                old_score: 0,
                new_score: 100 + event_index,
            })),
        }
    }

    fn read_all(log: &EventLog) -> Vec<(u64, LogRecord)> {
        log.read_from(1).collect::<Result<Vec<_>>>().unwrap()
    }

    #[test]
    fn appends_are_gap_free_idempotent_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EventLog::open(dir.path(), 1 << 20).unwrap();
            let first = log.append(&[envelope(1, 0, 10), envelope(1, 1, 10), envelope(1, 0, 10)], None, 0).unwrap();
            assert_eq!(first.appended, vec![1, 2]);
            assert_eq!(first.duplicates, 1, "a duplicate inside one batch");
            let second = log.append(&[envelope(1, 1, 10), envelope(2, 0, 11)], None, 0).unwrap();
            assert_eq!(second.appended, vec![3]);
            assert_eq!(second.duplicates, 1);
        }
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(log.last_seq(), 3);
        let records = read_all(&log);
        assert_eq!(records.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let LogRecord::Event(stored) = &records[2].1 else { panic!("event record") };
        assert_eq!(stored.to_envelope(3).unwrap(), EventEnvelope { seq: 3, ..envelope(2, 0, 11) });
        assert!(log.contains(&[2; 64], 0).unwrap());
        assert_eq!(log.append(&[envelope(3, 0, 12)], None, 0).unwrap().appended, vec![4]);
    }

    #[test]
    fn a_log_of_the_earlier_format_is_refused_and_nothing_is_read() {
        let dir = tempfile::tempdir().unwrap();
        {
            // What the invented single-program model left: records, no format marker.
            let db = sled::Config::new().path(dir.path()).open().unwrap();
            let tree = db.open_tree("log").unwrap();
            tree.insert(record_key(1), vec![0u8, 1, 2, 3]).unwrap();
            db.flush().unwrap();
        }
        match EventLog::open(dir.path(), 1 << 20) {
            Err(err @ Error::IncompatibleLog(_)) => {
                assert!(err.to_string().contains("backfill into a new directory"), "{err}")
            }
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("an old log must be refused"),
        }
        let fresh = tempfile::tempdir().unwrap();
        drop(EventLog::open(fresh.path(), 1 << 20).unwrap());
        let log = EventLog::open(fresh.path(), 1 << 20).unwrap();
        assert_eq!(log.append(&[envelope(1, 0, 5)], None, 0).unwrap().appended, vec![1]);
    }

    #[test]
    fn decoded_instructions_are_records_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        let instruction = EventEnvelope {
            event_index: shared::dfpn::INSTRUCTION_INDEX_BASE,
            event: ChainEvent::Instruction(shared::dfpn::DfpnInstruction::IncrementUsage {
                authority: solana_pubkey::Pubkey::new_from_array([1; 32]),
                model: solana_pubkey::Pubkey::new_from_array([2; 32]),
            }),
            ..envelope(7, 0, 30)
        };
        let outcome = log.append(&[envelope(7, 0, 30), instruction.clone(), instruction.clone()], None, 0).unwrap();
        assert_eq!((outcome.appended, outcome.duplicates), (vec![1, 2], 1));
        let LogRecord::Event(stored) = log.record(2).unwrap().unwrap() else { panic!("event record") };
        assert_eq!(stored.kind, PayloadKind::Instruction);
        assert_eq!(stored.to_envelope(2).unwrap(), EventEnvelope { seq: 2, ..instruction.clone() });
        let only_instruction = EventEnvelope { signature: bs58::encode([9u8; 64]).into_string(), ..instruction };
        log.append(&[only_instruction], None, 0).unwrap();
        assert!(!log.contains(&[9; 64], 0).unwrap() && log.contains_transaction(&[9; 64]).unwrap());
        assert!(!log.contains_transaction(&[8; 64]).unwrap());
    }

    #[test]
    fn cursors_move_atomically_with_their_events() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(log.cursor(ProgramKind::Psy).unwrap(), None);
        let cursor = Cursor { signature: [9; 64], slot: 44 };
        log.append(&[envelope(9, 0, 44)], Some((ProgramKind::Psy, &cursor)), 100).unwrap();
        assert_eq!(log.cursor(ProgramKind::Psy).unwrap(), Some(cursor));
        assert_eq!(log.cursor(ProgramKind::ModelRegistry).unwrap(), None);
    }

    #[test]
    fn events_above_the_finalized_slot_stay_pending_until_confirmed_or_retracted() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        log.append(&[envelope(1, 0, 5), envelope(2, 0, 50), envelope(3, 0, 60)], None, 10).unwrap();
        assert_eq!(log.pending(u64::MAX).unwrap().len(), 2);
        assert_eq!(log.pending(55).unwrap(), vec![([2; 64], 50)]);
        log.confirm_final(&[[2; 64]]).unwrap();
        let seq = log.retract([3; 64], 60).unwrap();
        assert_eq!(seq, 4);
        assert!(log.pending(u64::MAX).unwrap().is_empty());
        assert_eq!(read_all(&log)[3].1, LogRecord::Retraction { signature: [3; 64], slot: 60 });
    }

    #[test]
    fn off_chain_writes_are_stored_once_under_their_key() {
        use shared::control::{registration_key, UserRegistration};
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::open(dir.path(), 1 << 20).unwrap();
        log.append(&[envelope(1, 0, 5)], None, 0).unwrap();
        let registration = |label: &str| {
            ApiEvent::UserRegistered(UserRegistration {
                public_key: [7; 32],
                twitter_handle: "@x".into(),
                label: label.into(),
                registered_at: 1,
            })
        };
        let key = registration_key(&[7; 32]);
        let first = log.append_api(&key, &[registration("a"), registration("b")]).unwrap();
        assert_eq!(first, shared::control::WriteOutcome { created: true, seqs: vec![2, 3] });
        let again = log.append_api(&key, &[registration("c")]).unwrap();
        assert_eq!(again, shared::control::WriteOutcome { created: false, seqs: vec![2, 3] });
        assert_eq!(log.last_seq(), 3);
        assert_eq!(log.record(3).unwrap(), Some(LogRecord::Api(registration("b"))));
        assert_eq!(log.append(&[envelope(2, 0, 6)], None, 0).unwrap().appended, vec![4]);
    }

    #[test]
    fn a_held_data_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let _held = EventLog::open(dir.path(), 1 << 20).unwrap();
        match EventLog::open(dir.path(), 1 << 20) {
            Err(Error::DataDirLocked(path)) => assert_eq!(path, dir.path()),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a second open must fail"),
        }
    }
}
