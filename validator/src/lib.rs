//! The real-validator harness: `serve` starts `solana-test-validator` (in process) with the event
//! emitter at the six program ids (the five DFPN programs and Psy); `send` submits fixture
//! ground-truth entries to it as transactions and records what it sent. It exchanges data with
//! the main workspace only through files: the lines of `fixture-node events` in, a JSON-lines
//! record of the sent transactions out.

pub mod cli;
pub mod events;
pub mod lookup;
pub mod order;
pub mod send;
pub mod serve;

/// Default `analysis_marketplace` id (the main workspace's `ProgramKind::AnalysisMarketplace.default_id()`).
pub const DEFAULT_MARKETPLACE_PROGRAM_ID: &str = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
/// Default `worker_registry` id.
pub const DEFAULT_WORKER_REGISTRY_PROGRAM_ID: &str = "HmbTLCmaGvZhKnn1Zfa1JVnp7vkMV4DYVxPLWBVoN65L";
/// Default `model_registry` id.
pub const DEFAULT_MODEL_REGISTRY_PROGRAM_ID: &str = "Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS";
/// Default `content_registry` id.
pub const DEFAULT_CONTENT_REGISTRY_PROGRAM_ID: &str = "GokivDYuQXPZCWRkwMhdH2h91KpDQXBEmpgBgs55bnpH";
/// Default `rewards` id.
pub const DEFAULT_REWARDS_PROGRAM_ID: &str = "4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM";
/// Default Psy program id (the main workspace's `ProgramKind::Psy.default_id()`).
pub const DEFAULT_PSY_PROGRAM_ID: &str = "DRkbSHnQBE5pjSP6BhTorUfWV96ynVFJPxpVuBtR59eP";

/// Every program the emitter stands in for, as `(snake_case name, default id)`.
pub const DEFAULT_PROGRAMS: [(&str, &str); 6] = [
    ("analysis_marketplace", DEFAULT_MARKETPLACE_PROGRAM_ID),
    ("worker_registry", DEFAULT_WORKER_REGISTRY_PROGRAM_ID),
    ("model_registry", DEFAULT_MODEL_REGISTRY_PROGRAM_ID),
    ("content_registry", DEFAULT_CONTENT_REGISTRY_PROGRAM_ID),
    ("rewards", DEFAULT_REWARDS_PROGRAM_ID),
    ("psy", DEFAULT_PSY_PROGRAM_ID),
];
