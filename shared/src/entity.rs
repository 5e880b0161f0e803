//! Entity snapshots as the API documents define them, and their tantivy documents.
//!
//! The projector writes these documents; the query service reads them back and serializes the
//! structs, whose field names and JSON types are exactly the DFPN document's Request, Worker and
//! Model objects (`seq` is internal and not serialized).

use serde::{Deserialize, Serialize};
use tantivy::schema::Value;
use tantivy::TantivyDocument;

use crate::enums::{ModelStatus, RequestStatus, WorkerStatus};
use crate::modality;
use crate::schema::{ModelFields, RequestFields, WorkerFields};

/// A DFPN analysis request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Request account public key.
    pub id: String,
    /// Requester public key.
    pub requester: String,
    /// SHA-256 of the media, hex.
    pub content_hash: String,
    /// Media location.
    pub storage_uri: String,
    /// Requested modality bitfield.
    pub modalities: u32,
    /// Current status.
    pub status: RequestStatus,
    /// Fee in base units.
    pub fee_amount: u64,
    /// Reveal deadline (unix seconds).
    pub deadline: i64,
    /// Commit deadline (unix seconds).
    pub commit_deadline: i64,
    /// Creation time (unix seconds).
    pub created_at: i64,
    /// Commits received.
    pub commit_count: u32,
    /// Reveals received.
    pub reveal_count: u32,
    /// Log seq of the creation event (list order).
    #[serde(skip)]
    pub seq: u64,
}

/// Where an event sits on chain: its slot, its transaction's position in the block and its
/// position in the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainOrder {
    /// Slot of the transaction.
    pub slot: u64,
    /// Position of the transaction in the block, when known.
    pub tx_index: Option<u32>,
    /// Position of the event in the transaction.
    pub event_index: u32,
}

/// Largest transaction position [`version`] tells apart (19 bits).
const MAX_TX_INDEX: u32 = (1 << 19) - 1;
/// Largest event position [`version`] tells apart (12 bits).
const MAX_EVENT_INDEX: u32 = (1 << 12) - 1;

/// Within a slot, events without a block position order after those with one.
const POSITION_UNKNOWN: u32 = 1 << 31;

/// The order of an update on chain, to apply "set" fields in chain order however events reach
/// the log (live notifications, a dropped one backfilled later, a backfill listing a slot in
/// signature order): the slot in the high 32 bits, then the transaction's block position and the
/// event's position in it. Events without a block position (logged before positions were
/// recorded, or the node did not serve the block) come after the positioned ones of their slot,
/// in log order among themselves.
pub fn version(order: ChainOrder, seq: u64) -> u64 {
    let within = match order.tx_index {
        Some(tx_index) => (tx_index.min(MAX_TX_INDEX) << 12) | order.event_index.min(MAX_EVENT_INDEX),
        None => POSITION_UNKNOWN | (seq as u32 & !POSITION_UNKNOWN),
    };
    (order.slot << 32) | u64::from(within)
}

/// Unix time of 2020-01-01, the origin of [`time_order`].
const TIME_ORDER_ORIGIN: i64 = 1_577_836_800;

/// A single sortable key for "by time, then by log position": seconds since 2020 in the high
/// 30 bits, the log seq in the low 34.
pub fn time_order(timestamp: i64, seq: u64) -> u64 {
    let seconds = (timestamp - TIME_ORDER_ORIGIN).clamp(0, (1 << 30) - 1) as u64;
    (seconds << 34) | (seq & ((1 << 34) - 1))
}

/// A DFPN worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    /// Worker account public key.
    pub id: String,
    /// Operator public key.
    pub operator: String,
    /// Stake in base units.
    pub stake: u64,
    /// Reputation 0-10000.
    pub reputation: u16,
    /// Supported modality bitfield.
    pub modalities: u32,
    /// Current status.
    pub status: WorkerStatus,
    /// Lifetime successful tasks.
    pub tasks_completed: u64,
    /// Lifetime failed tasks.
    pub tasks_failed: u64,
    /// Slot of last activity.
    pub last_active_slot: u64,
    /// Log seq of the registration (list order).
    #[serde(skip)]
    pub seq: u64,
    /// Version of the update that set `stake`.
    #[serde(skip)]
    pub stake_version: u64,
    /// Version of the update that set `status`.
    #[serde(skip)]
    pub status_version: u64,
    /// Version of the update that set `reputation`.
    #[serde(skip)]
    pub reputation_version: u64,
}

/// A DFPN detection model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// Model account public key.
    pub id: String,
    /// Developer public key.
    pub developer: String,
    /// Model name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Supported modality bitfield.
    pub modalities: u32,
    /// Weights/code URL.
    pub model_uri: String,
    /// Current status.
    pub status: ModelStatus,
    /// Score 0-10000.
    pub score: u16,
    /// Lifetime uses.
    pub total_uses: u64,
    /// Registration time (unix seconds).
    pub created_at: i64,
    /// Log seq of the registration (list order).
    #[serde(skip)]
    pub seq: u64,
    /// Version of the update that set `status`.
    #[serde(skip)]
    pub status_version: u64,
    /// Version of the update that set `score`.
    #[serde(skip)]
    pub score_version: u64,
}

/// Reads a stored field of a document, or reports which one is missing.
struct Reader<'a> {
    doc: &'a TantivyDocument,
}

/// A document that does not hold a field its schema requires.
#[derive(Debug, thiserror::Error)]
#[error("projection document lacks a valid `{0}` field")]
pub struct MissingField(pub &'static str);

impl Reader<'_> {
    fn text(&self, field: tantivy::schema::Field, name: &'static str) -> Result<String, MissingField> {
        self.doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned)).ok_or(MissingField(name))
    }
    fn u64(&self, field: tantivy::schema::Field, name: &'static str) -> Result<u64, MissingField> {
        self.doc.get_first(field).and_then(|v| v.as_u64()).ok_or(MissingField(name))
    }
    fn i64(&self, field: tantivy::schema::Field, name: &'static str) -> Result<i64, MissingField> {
        self.doc.get_first(field).and_then(|v| v.as_i64()).ok_or(MissingField(name))
    }
    fn parsed<T: std::str::FromStr>(
        &self,
        field: tantivy::schema::Field,
        name: &'static str,
    ) -> Result<T, MissingField> {
        self.text(field, name)?.parse().map_err(|_| MissingField(name))
    }
    fn narrow<T: TryFrom<u64>>(&self, field: tantivy::schema::Field, name: &'static str) -> Result<T, MissingField> {
        T::try_from(self.u64(field, name)?).map_err(|_| MissingField(name))
    }
}

fn add_modalities(
    doc: &mut TantivyDocument,
    value_field: tantivy::schema::Field,
    bits_field: tantivy::schema::Field,
    modalities: u32,
) {
    doc.add_u64(value_field, u64::from(modalities));
    for (bit, _) in modality::NAMED_BITS {
        if modalities & bit != 0 {
            doc.add_u64(bits_field, u64::from(*bit));
        }
    }
}

impl Request {
    /// The request as a document of the requests index.
    pub fn to_document(&self, f: &RequestFields) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, &self.id);
        doc.add_text(f.requester, &self.requester);
        doc.add_text(f.content_hash, &self.content_hash);
        doc.add_text(f.storage_uri, &self.storage_uri);
        add_modalities(&mut doc, f.modalities, f.modality_bits, self.modalities);
        doc.add_text(f.status, self.status.as_str());
        doc.add_u64(f.fee_amount, self.fee_amount);
        doc.add_i64(f.deadline, self.deadline);
        doc.add_i64(f.commit_deadline, self.commit_deadline);
        doc.add_i64(f.created_at, self.created_at);
        doc.add_u64(f.commit_count, u64::from(self.commit_count));
        doc.add_u64(f.reveal_count, u64::from(self.reveal_count));
        doc.add_u64(f.seq, self.seq);
        doc
    }

    /// Reads a request back from its document.
    pub fn from_document(doc: &TantivyDocument, f: &RequestFields) -> Result<Self, MissingField> {
        let r = Reader { doc };
        Ok(Self {
            id: r.text(f.id, "id")?,
            requester: r.text(f.requester, "requester")?,
            content_hash: r.text(f.content_hash, "content_hash")?,
            storage_uri: r.text(f.storage_uri, "storage_uri")?,
            modalities: r.narrow(f.modalities, "modalities")?,
            status: r.parsed(f.status, "status")?,
            fee_amount: r.u64(f.fee_amount, "fee_amount")?,
            deadline: r.i64(f.deadline, "deadline")?,
            commit_deadline: r.i64(f.commit_deadline, "commit_deadline")?,
            created_at: r.i64(f.created_at, "created_at")?,
            commit_count: r.narrow(f.commit_count, "commit_count")?,
            reveal_count: r.narrow(f.reveal_count, "reveal_count")?,
            seq: r.u64(f.seq, "seq")?,
        })
    }
}

impl Worker {
    /// The worker as a document of the workers index.
    pub fn to_document(&self, f: &WorkerFields) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, &self.id);
        doc.add_text(f.operator, &self.operator);
        doc.add_u64(f.stake, self.stake);
        doc.add_u64(f.reputation, u64::from(self.reputation));
        add_modalities(&mut doc, f.modalities, f.modality_bits, self.modalities);
        doc.add_text(f.status, self.status.as_str());
        doc.add_u64(f.tasks_completed, self.tasks_completed);
        doc.add_u64(f.tasks_failed, self.tasks_failed);
        doc.add_u64(f.last_active_slot, self.last_active_slot);
        doc.add_u64(f.seq, self.seq);
        doc.add_u64(f.stake_version, self.stake_version);
        doc.add_u64(f.status_version, self.status_version);
        doc.add_u64(f.reputation_version, self.reputation_version);
        doc
    }

    /// Reads a worker back from its document.
    pub fn from_document(doc: &TantivyDocument, f: &WorkerFields) -> Result<Self, MissingField> {
        let r = Reader { doc };
        Ok(Self {
            id: r.text(f.id, "id")?,
            operator: r.text(f.operator, "operator")?,
            stake: r.u64(f.stake, "stake")?,
            reputation: r.narrow(f.reputation, "reputation")?,
            modalities: r.narrow(f.modalities, "modalities")?,
            status: r.parsed(f.status, "status")?,
            tasks_completed: r.u64(f.tasks_completed, "tasks_completed")?,
            tasks_failed: r.u64(f.tasks_failed, "tasks_failed")?,
            last_active_slot: r.u64(f.last_active_slot, "last_active_slot")?,
            seq: r.u64(f.seq, "seq")?,
            stake_version: r.u64(f.stake_version, "stake_version")?,
            status_version: r.u64(f.status_version, "status_version")?,
            reputation_version: r.u64(f.reputation_version, "reputation_version")?,
        })
    }
}

impl Model {
    /// The model as a document of the models index.
    pub fn to_document(&self, f: &ModelFields) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, &self.id);
        doc.add_text(f.developer, &self.developer);
        doc.add_text(f.name, &self.name);
        doc.add_text(f.version, &self.version);
        add_modalities(&mut doc, f.modalities, f.modality_bits, self.modalities);
        doc.add_text(f.model_uri, &self.model_uri);
        doc.add_text(f.status, self.status.as_str());
        doc.add_u64(f.score, u64::from(self.score));
        doc.add_u64(f.total_uses, self.total_uses);
        doc.add_i64(f.created_at, self.created_at);
        doc.add_u64(f.seq, self.seq);
        doc.add_u64(f.status_version, self.status_version);
        doc.add_u64(f.score_version, self.score_version);
        doc
    }

    /// Reads a model back from its document.
    pub fn from_document(doc: &TantivyDocument, f: &ModelFields) -> Result<Self, MissingField> {
        let r = Reader { doc };
        Ok(Self {
            id: r.text(f.id, "id")?,
            developer: r.text(f.developer, "developer")?,
            name: r.text(f.name, "name")?,
            version: r.text(f.version, "version")?,
            modalities: r.narrow(f.modalities, "modalities")?,
            model_uri: r.text(f.model_uri, "model_uri")?,
            status: r.parsed(f.status, "status")?,
            score: r.narrow(f.score, "score")?,
            total_uses: r.u64(f.total_uses, "total_uses")?,
            created_at: r.i64(f.created_at, "created_at")?,
            seq: r.u64(f.seq, "seq")?,
            status_version: r.u64(f.status_version, "status_version")?,
            score_version: r.u64(f.score_version, "score_version")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_slot_then_block_position_then_event_position() {
        let at = |slot, tx_index, event_index| ChainOrder { slot, tx_index: Some(tx_index), event_index };
        // The log seq does not matter once the position is known.
        assert!(version(at(5, 2, 0), 1) > version(at(5, 1, 3), 9));
        assert!(version(at(5, 1, 4), 1) > version(at(5, 1, 3), 9));
        assert!(version(at(6, 0, 0), 1) > version(at(5, 9_999, 4_000), 9));
        // Without a position: after the positioned events of the slot, then by seq.
        let unknown = |seq| version(ChainOrder { slot: 5, tx_index: None, event_index: 0 }, seq);
        assert!(unknown(8) > unknown(7));
        assert!(unknown(1) > version(at(5, (1 << 19) - 1, 4_095), 2));
        assert!(unknown(u64::from(u32::MAX)) < version(at(6, 0, 0), 0));
    }
}
