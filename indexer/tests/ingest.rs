//! The indexer against a fixture node on loopback: backfill from genesis (a slot listed by
//! signature, ordered by its block), live following through dropped connections, dropped,
//! duplicated and reordered notifications and abandoned forks, 429 storms, and SIGKILL of the real
//! binary mid-ingest.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{context, live_config, project, read_log};
use fixtures::generator::ChainConfig;
use fixtures::node::Faults;
use indexer::backfill::BackfillFrom;
use indexer::live;
use indexer::log::LogRecord;
use indexer::projector::{self, Projector};
use shared::{ProgramKind, ProgramSet};
use test_support::dfpn::expected_dfpn;
use test_support::node::{ground_truth, produce_slots, start_node, start_node_with};
use test_support::projected::{assert_dfpn, assert_psy, projected, projected_psy};
use test_support::psy::expected_psy;
use test_support::wait::{holds_within, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_from_genesis_stores_the_ground_truth_exactly_once() {
    let node = start_node(21, 3_000, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    let mut appended_by = Vec::new();
    for program in ProgramKind::ALL {
        let first = context.log.last_seq() + 1;
        let stats = context.backfill(program, BackfillFrom::Genesis).await.unwrap();
        // A transaction of several programs (a finalize with its rewards CPI) is appended by the
        // first backfill that lists it: later ones skip it as a duplicate.
        assert!(stats.appended > 0, "{program:?} has history of its own");
        appended_by.push((program, first..=context.log.last_seq()));
    }
    let truth = ground_truth(&node, None);
    let log = read_log(&context.log);
    assert_eq!(log.lines, truth);
    assert_eq!(log.event_records, truth.len(), "no duplicates");
    let mut places = Vec::new();
    for entry in context.log.read_from(1) {
        if let (seq, LogRecord::Event(event)) = entry.unwrap() {
            places.push((seq, event.slot, event.tx_index.expect("a block position"), event.event_index));
        }
    }
    for (program, seqs) in appended_by {
        let order: Vec<_> =
            places.iter().filter(|place| seqs.contains(&place.0)).map(|place| (place.1, place.2, place.3)).collect();
        assert!(order.is_sorted(), "the backfill of {program:?} appends in chain order");
    }
    assert!(context.log.cursor(ProgramKind::AnalysisMarketplace).unwrap().is_some());

    for program in ProgramKind::ALL {
        let again = context.backfill(program, BackfillFrom::Cursor).await.unwrap();
        assert_eq!(again.appended, 0);
        let genesis = context.backfill(program, BackfillFrom::Genesis).await.unwrap();
        assert_eq!(genesis.appended, 0, "a second full backfill is a no-op");
    }
    assert!(context.metrics.failed_transactions.get() > 0, "failed transactions were seen and ignored");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_survives_a_429_storm_slow_answers_and_failed_batch_items() {
    let faults =
        Faults { throttle_every: 25, retry_after_secs: 1, delay_ms: 1, batch_item_error_every: 7, ..Faults::default() };
    let node = start_node(22, 400, faults).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    assert_eq!(read_log(&context.log).lines, ground_truth(&node, None));
    assert!(context.rpc.rate_limited_time() >= Duration::from_secs(1), "the client waited on Retry-After");
    assert!(context.rpc.batch_size() > 1, "failed items are asked again alone; batches stay on");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refusing_batches_is_asked_one_transaction_at_a_time() {
    let node = start_node(25, 400, Faults { refuse_batches: true, ..Faults::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    assert!(context.rpc.batch_size() > 1, "batches are the default");
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    assert_eq!(read_log(&context.log).lines, ground_truth(&node, None));
    assert_eq!(context.rpc.batch_size(), 1, "asked one at a time after the refusal");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_following_loses_and_duplicates_nothing_through_faults() {
    let node = start_node(23, 800, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let config = live_config(&node, Duration::from_millis(700));
    // The projector follows the log while it is written, as `indexer run` does: retractions
    // reach projections that already hold what they retract.
    let projections = dir.path().join("projections");
    let following = {
        let projector = Projector::open(&projections, &ProgramSet::defaults()).expect("projections open");
        let (log, metrics) = (context.log.clone(), context.metrics.clone());
        projector::spawn(projector, log, metrics, Duration::from_millis(50), shutdown.clone())
            .expect("projector starts")
    };
    let live = tokio::spawn(live::run(context.clone(), config, shutdown));

    node.node.set_faults(Faults {
        drop_ws_every_slots: 25,
        drop_notification_every: 7,
        duplicate_every: 5,
        fork_every_slots: 20,
        stale_notification_slots: 3,
        reverse_notifications_in_slot: true,
        ..Faults::default()
    });
    // Slow enough that a loaded machine still handles a fork's notification before its slot
    // would have been finalized (the node forgets the fork then: nothing to retract).
    for _ in 0..30 {
        produce_slots(&node, 4).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    node.node.set_faults(Faults::default());
    produce_slots(&node, 40).await;

    let truth = ground_truth(&node, None);
    holds_within(Duration::from_secs(30), || {
        read_log(&context.log).lines == truth
            && context.log.pending(node.node.tip().saturating_sub(32)).unwrap().is_empty()
    })
    .await;
    let log = read_log(&context.log);
    assert_eq!(log.lines.len(), truth.len(), "event count");
    assert_eq!(log.lines, truth);
    let metrics = &context.metrics;
    assert!(metrics.reconnects.get() >= 3, "reconnected after each drop");
    assert!(metrics.duplicates_skipped.get() > 0, "duplicates arrived and were skipped");
    assert!(metrics.retractions.get() > 0, "fork transactions were retracted");
    stop.send(true).unwrap();
    live.await.unwrap().unwrap();
    following.join().expect("the projector thread ends");
    assert_eq!(context.metrics.projection_seq.get() as u64, context.log.last_seq(), "followed to the end");
    let lines = node.node.ground_truth(None);
    assert_dfpn(&projected(&projections), &expected_dfpn(lines.lines()));
    assert_psy(&projected_psy(&projections), &expected_psy(lines.lines()));
    node.stop().await;
}

/// Same-slot updates of one field, as a crowded slot on a test validator holds: whichever order
/// notifications arrive in (here reversed) and whichever order a backfill lists a slot in (by
/// signature), the projections fold them in block order and equal the ground truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_slot_updates_fold_in_block_order_live_and_backfilled() {
    let node = start_node_with(ChainConfig::crowded(29), 600, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let live_context = context(&node, &dir.path().join("live"));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let config = live_config(&node, Duration::from_secs(600));
    let live = tokio::spawn(live::run(live_context.clone(), config, shutdown));
    let history = ground_truth(&node, None);
    let caught_up = holds_within(Duration::from_secs(30), || read_log(&live_context.log).lines == history).await;
    assert!(caught_up, "the live source closes the gap to the history");
    node.node.set_faults(Faults { reverse_notifications_in_slot: true, ..Faults::default() });
    produce_slots(&node, 30).await;
    let truth = ground_truth(&node, None);
    let decided = decided_by_block_order(&node.node.ground_truth(None));
    assert!(decided >= 1, "fields whose final value block order decides: {decided}");
    let reached = holds_within(Duration::from_secs(30), || read_log(&live_context.log).lines == truth).await;
    assert!(reached, "the live log reaches the ground truth");
    stop.send(true).unwrap();
    live.await.unwrap().unwrap();
    assert_eq!(live_context.metrics.positions_unknown.get(), 0);

    let backfilled = context(&node, &dir.path().join("backfilled"));
    for program in ProgramKind::ALL {
        backfilled.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    assert_eq!(read_log(&backfilled.log).lines, truth);

    let lines = node.node.ground_truth(None);
    for (name, context) in [("live", &live_context), ("backfilled", &backfilled)] {
        let projections = dir.path().join(format!("{name}-projections"));
        project(&context.log, &projections);
        assert_dfpn(&projected(&projections), &expected_dfpn(lines.lines()));
        assert_psy(&projected_psy(&projections), &expected_psy(lines.lines()));
    }
    node.stop().await;
}

/// How many DFPN worker and model fields end with a slot that set them more than once, its
/// first and last update (in block order) disagreeing: the fields whose final value only block
/// order decides.
fn decided_by_block_order(chain_order_lines: &str) -> usize {
    let mut last_slot: HashMap<(String, &str), (u64, Vec<String>)> = HashMap::new();
    for line in chain_order_lines.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let (name, f) = (event["name"].as_str().unwrap(), &event["fields"]);
        let (field, value) = match name {
            "WorkerUpdated" => ("stake", format!("{}/{}", f["stake"], f["modalities"])),
            "WorkerStatusChanged" => ("status", f["active"].to_string()),
            "WorkerReputationUpdated" => ("reputation", f["reputation"].to_string()),
            "ModelScoreUpdated" => ("score", f["new_score"].to_string()),
            "ModelActivated" => ("score", f["score"].to_string()),
            "ModelSuspended" | "ModelReactivated" | "ModelRetired" | "ModelUpdated" => ("status", name.to_owned()),
            _ => continue,
        };
        let entity = f.get("operator").unwrap_or(&f["model_id"]).to_string() + &f["developer"].to_string();
        let slot = event["slot"].as_u64().unwrap();
        let entry = last_slot.entry((entity, field)).or_insert((slot, Vec::new()));
        if entry.0 != slot {
            *entry = (slot, Vec::new());
        }
        entry.1.push(value);
    }
    last_slot.values().filter(|(_, values)| values.first() != values.last()).count()
}

/// A node that answers some transactions without their logs at first (one that has not got them
/// yet): the backfill goes on without them, sets them aside, and a retry brings them in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_that_cannot_be_decoded_is_set_aside_never_stopping_the_rest() {
    let faults = Faults { logs_missing_first_fetch_every: 5, ..Faults::default() };
    let node = start_node(26, 1_500, faults).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    let truth = ground_truth(&node, None);
    let set_aside = context.log.set_aside_list().unwrap();
    assert!(!set_aside.is_empty(), "some answers came without their logs");
    assert_eq!(context.metrics.unusable_transactions.get(), set_aside.len() as u64);
    let first = read_log(&context.log);
    assert!(first.lines.len() < truth.len() && first.lines.is_subset(&truth), "the rest was indexed");
    assert_eq!(context.retry_set_aside().await.unwrap(), 0, "the retry decodes them all");
    assert!(context.log.set_aside_list().unwrap().is_empty());
    let log = read_log(&context.log);
    assert_eq!(log.lines, truth, "nothing lost");
    assert_eq!(log.event_records, truth.len(), "nothing twice");
    node.stop().await;
}

/// A lagging, load-balanced backend answers `null` for transactions and statuses it has not
/// caught up with: nothing is lost and nothing is retracted on such an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_backends_null_answers_lose_and_retract_nothing() {
    let faults = Faults { lagging_first_answer_every: 3, ..Faults::default() };
    let node = start_node(27, 1_500, faults).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    assert!(context.metrics.missing_transactions.get() > 0, "some transactions were answered null");
    assert!(!context.log.set_aside_list().unwrap().is_empty());
    assert!(!context.log.pending(u64::MAX).unwrap().is_empty(), "some transactions wait for finality");
    assert_eq!(context.check_finality().await.unwrap(), 0, "a null status retracts nothing");
    assert_eq!(context.retry_set_aside().await.unwrap(), 0);
    produce_slots(&node, 40).await;
    assert_eq!(context.check_finality().await.unwrap(), 0);
    let log = read_log(&context.log);
    assert_eq!(log.lines, ground_truth(&node, Some(node.node.tip() - 40)), "nothing lost");
    assert!(log.retracted.is_empty() && context.metrics.retractions.get() == 0);
    assert_eq!(context.metrics.dropped_transactions.get(), 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_lag_shows_a_stream_that_stopped_notifying_and_recovers_with_it() {
    let node = start_node(28, 300, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, dir.path());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let config = live_config(&node, Duration::from_millis(300));
    let live = tokio::spawn(live::run(context.clone(), config, shutdown));
    let wait_for = |what: &'static str, condition: Box<dyn Fn() -> bool + Send>| async move {
        assert!(holds_within(Duration::from_secs(20), condition).await, "{what}");
    };
    // Slots until the subscriptions are up and notify (a slot without our programs notifies
    // nothing, so the newest notified slot is within a few of the tip).
    let notified = until(
        Duration::from_secs(20),
        || async {
            produce_slots(&node, 1).await;
            context.metrics.newest_notified_slot.get()
        },
        |slot| *slot > 0,
    )
    .await;
    assert!(notified > 0, "notifications arrive");

    node.node.set_faults(Faults { drop_notification_every: 1, ..Faults::default() });
    produce_slots(&node, 30).await;
    let metrics = context.clone();
    wait_for("the lag shows", Box::new(move || metrics.metrics.slot_lag.get() >= 30)).await;

    node.node.set_faults(Faults::default());
    produce_slots(&node, 3).await;
    let metrics = context.clone();
    wait_for("the lag recovers", Box::new(move || metrics.metrics.slot_lag.get() <= 3)).await;
    stop.send(true).unwrap();
    live.await.unwrap().unwrap();
    assert_eq!(read_log(&context.log).lines, ground_truth(&node, None), "the dropped slots were reconciled");
    node.stop().await;
}
