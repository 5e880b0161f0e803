//! Types and logic shared by the indexer, the query service and the fixture chain.
//!
//! This crate holds the on-chain event model of the indexed programs (the five DFPN programs and
//! Psy), written
//! as Anchor `#[event]` structs so discriminators and Borsh layout are Anchor's own; the enums with
//! the exact string forms the API documents use; the log decoder that turns a transaction's log
//! lines (and inner instructions) into decoded events; the envelope stored in the event log; and
//! the Anchor IDL generated from the same Rust types.
#![deny(missing_docs)]

pub mod control;
pub mod decoder;
pub mod enums;
pub mod envelope;
pub mod error;
pub mod event;
pub mod field;
pub mod idl;
pub mod modality;
pub mod order;
pub mod process;
pub mod program;
pub mod psy_model;
pub mod rpc;
mod string_enum;

pub use decoder::{
    decode_transaction, DecodedEvent, DecodedTransaction, InstructionGroup, MessageInstruction, SkipReason,
};
pub use envelope::EventEnvelope;
pub use error::{Error, Result};
pub use event::{dfpn, psy, ChainEvent};
pub use program::{ProgramKind, ProgramSet};
