//! The five DFPN Anchor programs of `cryptuon/dfpn` (Anchor 0.30.1): their 41 events with the
//! chain's names, field order and types (so discriminators and Borsh bytes are the chain's),
//! their enums, and the instructions the decoder reads from the message.
//!
//! Every event is emitted with `emit!` (a `Program data:` line); no program uses `emit_cpi!`.

pub mod content_registry;
pub mod instruction;
pub mod marketplace;
pub mod model_registry;
pub mod rewards;
pub mod types;
pub mod worker_registry;

pub use content_registry::*;
pub use instruction::{DfpnInstruction, INSTRUCTION_INDEX_BASE};
pub use marketplace::*;
pub use model_registry::*;
pub use rewards::*;
pub use types::*;
pub use worker_registry::*;

use anchor_lang::prelude::Pubkey;

/// The worker account of an operator: the PDA `["worker", operator]` under worker-registry.
pub fn worker_address(worker_registry: &Pubkey, operator: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[b"worker", operator.as_ref()], worker_registry).0
}

/// The model account: the PDA `["model", developer, model_id]` under model-registry.
pub fn model_address(model_registry: &Pubkey, developer: &Pubkey, model_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[b"model", developer.as_ref(), model_id], model_registry).0
}

/// The request account: the PDA `["request", content_hash, nonce LE]` under the marketplace.
pub fn request_address(marketplace: &Pubkey, content_hash: &[u8; 32], nonce: u64) -> Pubkey {
    Pubkey::find_program_address(&[b"request", content_hash, &nonce.to_le_bytes()], marketplace).0
}

/// The dispute account: the PDA `["dispute", request, reveal]` under the marketplace.
pub fn dispute_address(marketplace: &Pubkey, request: &Pubkey, reveal: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[b"dispute", request.as_ref(), reveal.as_ref()], marketplace).0
}

/// The reveal account: the PDA `["reveal", request, operator]` under the marketplace.
pub fn reveal_address(marketplace: &Pubkey, request: &Pubkey, operator: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[b"reveal", request.as_ref(), operator.as_ref()], marketplace).0
}
