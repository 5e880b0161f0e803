//! The indexer: sources (backfill and live) feed decoded events into the sled event log, the
//! single source of truth.
//!
//! Only this crate opens the log. Sources talk to a Solana node (a real cluster or the fixture
//! node) through the `solana-rpc-client` and `solana-pubsub-client` crates.
//!
//! The composition root: a validated [`Config`] (defaults in [`config`]) and one function per
//! subcommand ([`run`], [`backfill()`], [`replay`], [`status()`], [`export()`], [`follow`], or
//! [`execute`] for any [`Command`]); `main.rs` parses flags (`cli`) and calls it. The shared
//! [`Context`] is built in one place ([`context::ContextBuilder`]), the projector thread started
//! by one function ([`projector::spawn`]).

pub mod backfill;
pub mod cli;
mod commands;
pub mod config;
pub mod context;
pub mod control;
pub mod error;
pub mod export;
pub mod finality;
pub mod live;
pub mod log;
pub mod metrics;
pub mod projector;
pub mod rpc;
pub mod status;
pub mod stream;
pub mod telemetry;

pub use commands::{backfill, execute, export, follow, replay, run, status, Command};
pub use config::{Config, FollowOptions, RunConfig};
pub use context::Context;
pub use error::{Error, Result};
pub use log::EventLog;
