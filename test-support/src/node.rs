//! A fixture node on an ephemeral loopback port, its slots and its ground truth in the line
//! format events are compared in.

use std::collections::BTreeSet;

use fixtures::generator::ChainConfig;
use fixtures::node::{self, Faults, NodeConfig, NodeHandle};
use shared::envelope::EventEnvelope;

/// Starts a node over a small chain of `history_events` events on `127.0.0.1:0`; slots advance
/// only when the test produces them.
pub async fn start_node(seed: u64, history_events: u64, faults: Faults) -> NodeHandle {
    start_node_with(ChainConfig::small(seed), history_events, faults).await
}

/// Starts a node over `chain` with `history_events` events on `127.0.0.1:0`; slots advance only
/// when the test produces them.
pub async fn start_node_with(chain: ChainConfig, history_events: u64, faults: Faults) -> NodeHandle {
    let config = NodeConfig { chain, history_events, slot_interval: None, faults };
    node::spawn(config, "127.0.0.1:0".parse().expect("loopback address")).await.expect("node binds a loopback port")
}

/// Produces `slots` slots on a node from async code.
pub async fn produce_slots(handle: &NodeHandle, slots: u32) {
    let node = handle.node.clone();
    tokio::task::spawn_blocking(move || (0..slots).for_each(|_| node.produce_slot())).await.expect("producer runs");
}

/// The node's ground truth up to `max_slot` (default: the tip), one JSON line per event or
/// decoded instruction.
pub fn ground_truth(handle: &NodeHandle, max_slot: Option<u64>) -> BTreeSet<String> {
    handle.node.ground_truth(max_slot).lines().map(str::to_owned).collect()
}

/// An envelope as a ground-truth line (the log's `seq` is not part of the ground truth).
pub fn truth_line(envelope: &EventEnvelope) -> String {
    envelope.to_json().to_string()
}
