//! The indexer: sources (backfill and live) feed decoded events into the sled event log, the
//! single source of truth.
//!
//! Only this crate opens the log. Sources talk to a Solana node (a real cluster or the fixture
//! node) through the `solana-rpc-client` and `solana-pubsub-client` crates.

pub mod backfill;
pub mod cli;
pub mod control;
pub mod error;
pub mod export;
pub mod live;
pub mod log;
pub mod metrics;
pub mod projector;
pub mod rpc;
pub mod stream;
pub mod telemetry;

pub use error::{Error, Result};
pub use log::EventLog;
