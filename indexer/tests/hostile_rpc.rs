//! The indexer against a node that behaves as real providers do at their worst: version-0
//! transactions with lookup tables, a lagging load-balanced backend (null transactions and
//! statuses for a while), oversized answers, batch answers under swapped ids, the wrong
//! transaction's body, and paging that ignores `before`. Whatever it answers, the log ends equal
//! to the ground truth: nothing lost, nothing twice, nothing retracted that is on chain.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{context_with, live_config, project, read_log};
use fixtures::node::faults::{hits, V0_LOOKUP_TABLE};
use fixtures::node::{Faults, NodeHandle};
use indexer::backfill::{BackfillFrom, Context};
use indexer::live;
use shared::ProgramKind;
use test_support::dfpn::expected_dfpn;
use test_support::node::{ground_truth, produce_slots, start_node};
use test_support::projected::{assert_dfpn, assert_psy, projected, projected_psy};
use test_support::psy::expected_psy;
use test_support::wait::{holds_within, until};

/// The bound the tests' indexer reads answers within; oversized answers exceed it.
const ANSWER_LIMIT: usize = 1 << 20;

/// Every hostile answer at once, at rates that hit many transactions of a small history.
fn hostile(lagging_window_ms: u64) -> Faults {
    Faults {
        v0_lookup_table_every: 3,
        lagging_window_ms,
        lagging_null_percent: 30,
        oversized_answer_every: 13,
        oversized_answer_bytes: 2 * ANSWER_LIMIT as u64,
        swap_batch_ids_every: 3,
        wrong_transaction_every: 7,
        ignore_before_every: 2,
        ..Faults::default()
    }
}

/// Signatures of the ground truth the v0 fault serves with a lookup table.
fn v0_served(node: &NodeHandle) -> usize {
    let signatures: HashSet<String> = ground_truth(node, None)
        .iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["signature"].as_str().unwrap().to_owned())
        .collect();
    signatures
        .iter()
        .filter(|signature| {
            let bytes: [u8; 64] = bs58::decode(signature).into_vec().unwrap().try_into().unwrap();
            hits(V0_LOOKUP_TABLE, &bytes, 3)
        })
        .count()
}

/// Retries the set-aside transactions until none is left (the lagging window has passed), or
/// fails after `within`.
async fn drain_set_aside(context: &Context, within: Duration) {
    let left = until(within, || async { context.retry_set_aside().await.unwrap() }, |left| *left == 0).await;
    assert_eq!(left, 0, "set-aside transactions never came");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_through_every_hostile_answer_stores_the_ground_truth_exactly_once() {
    // Enough history that a program's listing spans several signature pages.
    let node = start_node(51, 9_000, hostile(1_500)).await;
    assert!(v0_served(&node) > 100, "many transactions are served as v0");
    let dir = tempfile::tempdir().unwrap();
    let context = context_with(&node, dir.path(), |rpc| rpc.with_max_answer_bytes(ANSWER_LIMIT));
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    drain_set_aside(&context, Duration::from_secs(20)).await;

    let truth = ground_truth(&node, None);
    let log = read_log(&context.log);
    assert!(log.lines == truth, "{} lines logged, {} in the truth", log.lines.len(), truth.len());
    assert_eq!(log.event_records, truth.len(), "nothing twice");
    let metrics = &context.metrics;
    assert!(metrics.oversized_answers.get() > 0, "oversized answers were refused");
    assert!(metrics.mismatched_answers.get() > 0, "wrong and swapped answers were refused");
    assert!(metrics.stuck_pages.get() > 0, "pages ignoring before were asked again");
    assert!(metrics.missing_transactions.get() > 0, "the lagging backend answered null");
    assert_eq!(metrics.unusable_transactions.get(), 0, "every v0 transaction decoded");
    assert_eq!(metrics.dropped_transactions.get() + metrics.retractions.get(), 0);

    let projections = dir.path().join("projections");
    project(&context.log, &projections);
    let lines = node.node.ground_truth(None);
    assert_dfpn(&projected(&projections), &expected_dfpn(lines.lines()));
    assert_psy(&projected_psy(&projections), &expected_psy(lines.lines()));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_following_a_lagging_hostile_node_loses_and_retracts_nothing() {
    let node = start_node(52, 600, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context_with(&node, dir.path(), |rpc| rpc.with_max_answer_bytes(ANSWER_LIMIT));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let config = live_config(&node, Duration::from_millis(700));
    let live = tokio::spawn(live::run(context.clone(), config, shutdown));

    // The hostile node stays until every fault was met (a finality check on a loaded machine can
    // come late): at least 25 rounds, at most 150.
    node.node.set_faults(Faults { drop_notification_every: 9, ..hostile(2_000) });
    let metrics = &context.metrics;
    let met = || {
        metrics.unknown_statuses.get() > 0
            && metrics.missing_transactions.get() > 0
            && metrics.mismatched_answers.get() > 0
    };
    for round in 0..150 {
        if round >= 25 && met() {
            break;
        }
        produce_slots(&node, 4).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    node.node.set_faults(Faults::default());
    produce_slots(&node, 40).await;

    let truth = ground_truth(&node, None);
    let settled = holds_within(Duration::from_secs(40), || {
        read_log(&context.log).lines == truth
            && context.log.set_aside_list().unwrap().is_empty()
            && context.log.pending(node.node.tip().saturating_sub(32)).unwrap().is_empty()
    })
    .await;
    assert!(
        settled,
        "{} lines logged, {} in the truth, {} set aside",
        read_log(&context.log).lines.len(),
        truth.len(),
        context.log.set_aside_list().unwrap().len()
    );
    stop.send(true).unwrap();
    live.await.unwrap().unwrap();

    let log = read_log(&context.log);
    assert_eq!(log.event_records, truth.len(), "nothing twice");
    assert!(metrics.unknown_statuses.get() > 0, "finality checks met null statuses");
    assert!(metrics.missing_transactions.get() > 0 && metrics.mismatched_answers.get() > 0);
    assert_eq!(metrics.retractions.get(), 0, "a null status retracts nothing");
    assert!(log.retracted.is_empty());
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_blocks_the_node_does_not_serve_are_logged_without_a_position() {
    let node = start_node(53, 2_000, Faults { block_not_served_every: 4, ..Faults::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let context = common::context(&node, dir.path());
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    // The ground truth with the positions a node without those blocks cannot tell.
    let truth: std::collections::BTreeSet<String> = ground_truth(&node, None)
        .iter()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            if value["slot"].as_u64().unwrap().is_multiple_of(4) {
                value["tx_index"] = serde_json::Value::Null;
            }
            value.to_string()
        })
        .collect();
    let unpositioned = truth.iter().filter(|line| line.contains("\"tx_index\":null")).count();
    assert!(unpositioned > 50 && unpositioned < truth.len() / 2, "{unpositioned} of {}", truth.len());
    let log = read_log(&context.log);
    assert!(log.lines == truth, "{} lines logged, {} in the truth", log.lines.len(), truth.len());
    let unpositioned_transactions: HashSet<String> = truth
        .iter()
        .filter(|line| line.contains("\"tx_index\":null"))
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["signature"].to_string())
        .collect();
    assert!(context.metrics.positions_unknown.get() >= unpositioned_transactions.len() as u64, "each counted");
    node.stop().await;
}
