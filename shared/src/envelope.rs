//! The envelope under which an event is stored in the event log.

use serde::{Deserialize, Serialize};

use crate::event::ChainEvent;
use crate::program::ProgramKind;

/// Where an event entered the log from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, borsh::BorshSerialize, borsh::BorshDeserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSource {
    /// Decoded from a transaction on chain.
    Chain,
    /// Written through the query API (registration, reward calculation).
    Api,
}

/// An event with its position on chain and in the log.
///
/// `(signature, event_index)` is the idempotency key: appending the same event twice is a no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    /// Gap-free log sequence number, assigned at append (0 before).
    pub seq: u64,
    /// Slot of the transaction.
    pub slot: u64,
    /// Base58 transaction signature.
    pub signature: String,
    /// Position of the transaction in its block, when the node told it (`getBlock`): orders the
    /// events of one slot the same way however they reached the log. `None` for events logged
    /// before positions were recorded, or when the node no longer serves the block.
    pub tx_index: Option<u32>,
    /// Position of the event within the transaction.
    pub event_index: u32,
    /// Unix block time of the slot, when known.
    pub block_time: Option<i64>,
    /// Where the event came from.
    pub source: EventSource,
    /// The decoded event.
    pub event: ChainEvent,
}

impl EventEnvelope {
    /// The program that emitted the event.
    pub fn program(&self) -> ProgramKind {
        self.event.program()
    }

    /// The idempotency key `(signature, event_index)`.
    pub fn key(&self) -> (&str, u32) {
        (&self.signature, self.event_index)
    }

    /// The event's place in chain order, see [`crate::order::version`].
    pub fn chain_order(&self) -> crate::order::ChainOrder {
        crate::order::ChainOrder { slot: self.slot, tx_index: self.tx_index, event_index: self.event_index }
    }

    /// The envelope as one JSON object (the ground-truth line format of the fixture chain).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = self.event.to_json();
        let object = value.as_object_mut().expect("ChainEvent::to_json returns an object");
        object.insert("slot".into(), self.slot.into());
        object.insert("signature".into(), self.signature.clone().into());
        object.insert("tx_index".into(), self.tx_index.into());
        object.insert("event_index".into(), self.event_index.into());
        object.insert("block_time".into(), self.block_time.into());
        value
    }
}
