//! The real-validator harness: `serve` starts `solana-test-validator` (in process) with the event
//! emitter at both program ids; `send` submits fixture events to it as transactions and records
//! what it sent. It exchanges data with the main workspace only through files: the event lines
//! of `fixture-node events` in, a JSON-lines record of the sent transactions out.

pub mod cli;
pub mod events;
pub mod send;
pub mod serve;

/// Default DFPN program id (the main workspace's `shared::program::DEFAULT_DFPN_PROGRAM_ID`).
pub const DEFAULT_DFPN_PROGRAM_ID: &str = "CdVd6SuPjFV3wp62axirvM9qZm54t9qx1LUEjFPxFBGQ";
/// Default Psy program id (the main workspace's `shared::program::DEFAULT_PSY_PROGRAM_ID`).
pub const DEFAULT_PSY_PROGRAM_ID: &str = "DRkbSHnQBE5pjSP6BhTorUfWV96ynVFJPxpVuBtR59eP";
