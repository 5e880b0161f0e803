//! Test helpers of every crate of the workspace, a dev-dependency only (`publish = false`):
//!
//! - [`node`]: a fixture node on an ephemeral loopback port, its slots and ground truth;
//! - [`dfpn`] and [`psy`]: one independent truth model per program, folded from ground-truth
//!   lines (and the telemetry and registrations a test sends) alone, never by the projector's
//!   or the query service's code; every test compares against these;
//! - [`projected`]: the projections read back in the models' shapes, and assertions;
//! - [`stack`]: [`stack::Stack::start`], fixture node + indexer + query-api in process on
//!   loopback port 0, stopped on drop;
//! - [`service`]: query-api over a data directory of its own, raw HTTP and `/metrics`;
//! - [`rpc`]: the real Solana RPC client against a node (fetch, decode, page);
//! - [`wait`]: polling a condition instead of sleeping.

pub mod dfpn;
pub mod node;
pub mod projected;
pub mod psy;
pub mod rpc;
pub mod service;
pub mod stack;
pub mod wait;
