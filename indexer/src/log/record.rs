//! The records of the event log and their stored (Borsh) form.

use borsh::{BorshDeserialize, BorshSerialize};
use shared::control::ApiEvent;
use shared::envelope::{EventEnvelope, EventSource};
use shared::event::PayloadKind;
use shared::{ChainEvent, ProgramKind};

use crate::error::{Error, Result};

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
/// never changes and new variants only go last: every log of [`LOG_FORMAT`](super::LOG_FORMAT) stays readable.
#[derive(BorshSerialize, BorshDeserialize)]
enum StoredRecord {
    Event(StoredEvent),
    Retraction { signature: [u8; 64], slot: u64 },
    Telemetry(Telemetry),
    Api(ApiEvent),
}

impl LogRecord {
    /// The record's stored bytes.
    pub(super) fn encode(self) -> Result<Vec<u8>> {
        let stored = match self {
            LogRecord::Event(event) => StoredRecord::Event(event),
            LogRecord::Retraction { signature, slot } => StoredRecord::Retraction { signature, slot },
            LogRecord::Telemetry(reading) => StoredRecord::Telemetry(reading),
            LogRecord::Api(event) => StoredRecord::Api(event),
        };
        borsh::to_vec(&stored).map_err(Error::Encode)
    }

    /// Reads a record from its stored bytes.
    pub(super) fn decode(seq: u64, bytes: &[u8]) -> Result<Self> {
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
    pub fn chain_order(&self) -> shared::order::ChainOrder {
        shared::order::ChainOrder { slot: self.slot, tx_index: self.tx_index, event_index: self.event_index }
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
