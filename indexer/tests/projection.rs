//! Projections against ground truth: what the projector builds equals what a test computes from
//! the fixture chain alone, after a live build, a replay, and crashes before and after commits.

mod common;

use common::context;
use fixtures::node::Faults;
use indexer::backfill::BackfillFrom;
use indexer::projector::{self, Projector};
use shared::ProgramKind;
use test_support::dfpn::expected_dfpn;
use test_support::node::start_node;
use test_support::projected::{projected, projected_psy};
use test_support::psy::expected_psy;

async fn backfilled(
    seed: u64,
    events: u64,
) -> (fixtures::node::NodeHandle, tempfile::TempDir, std::sync::Arc<indexer::backfill::Context>) {
    let node = start_node(seed, events, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, &dir.path().join("log"));
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    (node, dir, context)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_equal_the_ground_truth_and_replay_reproduces_them() {
    let (node, dir, context) = backfilled(31, 4_000).await;
    let expected = expected_dfpn(node.node.ground_truth(None).lines());
    let config = fixtures::ChainConfig::small(31);
    assert!(
        expected.requests.len() > 50
            && expected.workers.len() >= config.workers as usize
            && expected.models.len() >= config.models as usize,
        "{} requests, {} workers, {} models",
        expected.requests.len(),
        expected.workers.len(),
        expected.models.len()
    );

    let projections = dir.path().join("projections");
    let mut projector = Projector::open(&projections, &shared::ProgramSet::defaults()).unwrap();
    while projector.catch_up(&context.log, 700).unwrap() > 0 {
        projector.commit().unwrap();
    }
    assert_eq!(projector.committed_seq(), context.log.last_seq());
    assert_eq!(projector.orphan_events, 0);
    projector.finish().unwrap();
    let live_built = projected(&projections);
    assert_eq!(live_built, expected);
    let expected_psy = expected_psy(node.node.ground_truth(None).lines());
    assert!(
        expected_psy.jobs.len() > 50 && !expected_psy.contracts.is_empty() && expected_psy.worker_events.len() > 100,
        "{} jobs, {} contracts, {} worker events",
        expected_psy.jobs.len(),
        expected_psy.contracts.len(),
        expected_psy.worker_events.len()
    );
    let live_built_psy = projected_psy(&projections);
    assert_eq!(live_built_psy, expected_psy);

    let folded = projector::replay(&context.log, &projections, &shared::ProgramSet::defaults()).unwrap();
    assert_eq!(folded, context.log.last_seq());
    assert_eq!(projected(&projections), live_built, "replay answers exactly as the live build");
    assert_eq!(projected_psy(&projections), live_built_psy);
    node.stop().await;
}

/// The transaction of a ground-truth line, with its slot.
fn transaction_of(line: &str) -> ([u8; 64], u64) {
    let value: serde_json::Value = serde_json::from_str(line).unwrap();
    let signature = indexer::log::parse_signature(value["signature"].as_str().unwrap()).unwrap();
    (signature, value["slot"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retraction_rebuilds_what_it_touched_alone_and_a_transaction_that_reappears_is_restored() {
    let (node, dir, context) = backfilled(34, 3_000).await;
    let truth = node.node.ground_truth(None);
    let projections = dir.path().join("projections");
    let mut projector = Projector::open(&projections, &shared::ProgramSet::defaults()).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();

    // A lying node proves a canonical transaction gone: one with a model's `increment_usage`
    // (the model has other records, which the rebuild must fold again) is retracted.
    let line = truth.lines().filter(|line| line.contains("\"IncrementUsage\"")).nth(3).expect("usage counts");
    let (signature, slot) = transaction_of(line);
    context.log.retract(signature, slot).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    let without: Vec<&str> = truth.lines().filter(|line| transaction_of(line).0 != signature).collect();
    assert_ne!(expected_dfpn(without.iter().copied()), expected_dfpn(truth.lines()), "the retraction shows");
    test_support::projected::assert_same(
        "models",
        &projected(&projections).models,
        &expected_dfpn(without.iter().copied()).models,
    );
    assert_eq!(projected(&projections), expected_dfpn(without.iter().copied()));
    assert!(
        projector.rebuild_reads > 1 && projector.rebuild_reads < context.log.last_seq() / 20,
        "the rebuild read {} of {} records",
        projector.rebuild_reads,
        context.log.last_seq()
    );

    // The transaction reappears (a later listing holds it): appended again and folded in.
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    let log = common::read_log(&context.log);
    let truth_lines: std::collections::BTreeSet<String> = truth.lines().map(str::to_owned).collect();
    assert!(log.lines == truth_lines, "restored: {} lines, {} in the truth", log.lines.len(), truth_lines.len());
    assert_eq!(log.event_records, truth_lines.len(), "nothing else appended twice");
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    projector.finish().unwrap();
    let expected = expected_dfpn(truth.lines());
    assert_eq!(projected(&projections), expected);
    projector::replay(&context.log, &projections, &shared::ProgramSet::defaults()).unwrap();
    assert_eq!(projected(&projections), expected, "replay folds the retraction and the restoration alike");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_or_after_a_commit_neither_loses_nor_double_applies() {
    let (node, dir, context) = backfilled(32, 2_500).await;
    let expected = expected_dfpn(node.node.ground_truth(None).lines());
    let projections = dir.path().join("projections");
    let last = context.log.last_seq() as usize;

    let mut projector = Projector::open(&projections, &shared::ProgramSet::defaults()).unwrap();
    projector.catch_up(&context.log, last / 3).unwrap();
    projector.commit().unwrap();
    // An update waiting for its entity's creation (a model's `increment_usage` reached through
    // the marketplace's history before the model registry's) holds the payload back: a restart
    // folds again what came after it, and no count may grow twice.
    let committed = projector.committed_seq();
    assert!(committed < (last / 3) as u64, "the payload is held back by a waiting orphan");
    projector.catch_up(&context.log, last / 3).unwrap();
    drop(projector); // crash: folded but not committed

    let mut projector = Projector::open(&projections, &shared::ProgramSet::defaults()).unwrap();
    assert_eq!(projector.applied_seq(), committed, "resumes after the committed payload");
    projector.catch_up(&context.log, last).unwrap();
    projector.commit().unwrap();
    projector.finish().unwrap();
    assert_eq!(projected(&projections), expected);
    assert_eq!(projected_psy(&projections), expected_psy(node.node.ground_truth(None).lines()));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_readings_are_logged_and_projected_one_document_per_sample() {
    use projection::schema::psy::{TelemetrySample, TelemetrySampleFields};
    use tantivy::collector::DocSetCollector;
    use tantivy::query::AllQuery;

    let node = start_node(33, 300, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = context(&node, &dir.path().join("log"));
    let first = indexer::telemetry::poll_once(&context).await.unwrap();
    assert_eq!(first.block_height, node.node.tip());
    assert!(first.num_transactions > 0 && first.sample_period_secs == 60);
    let again = indexer::telemetry::poll_once(&context).await.unwrap();
    assert_eq!(again.sample_slot, first.sample_slot, "no new slot, same sample");
    test_support::node::produce_slots(&node, 160).await;
    let later = indexer::telemetry::poll_once(&context).await.unwrap();
    assert_eq!(later.block_height, node.node.tip());
    assert!(later.sample_slot > first.sample_slot);

    let projections = dir.path().join("projections");
    let mut projector = Projector::open(&projections, &shared::ProgramSet::defaults()).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    projector.finish().unwrap();
    let index = tantivy::Index::open_in_dir(projections.join("telemetry")).unwrap();
    let fields = TelemetrySampleFields::resolve(&index.schema());
    let searcher = index.reader().unwrap().searcher();
    let mut samples: Vec<TelemetrySample> = searcher
        .search(&AllQuery, &DocSetCollector)
        .unwrap()
        .into_iter()
        .map(|address| TelemetrySample::from_document(&searcher.doc(address).unwrap(), &fields).unwrap())
        .collect();
    samples.sort_by_key(|s| s.sample_slot);
    assert_eq!(samples.len(), 2, "two distinct samples");
    assert_eq!((samples[0].sample_slot, samples[0].num_transactions), (first.sample_slot, first.num_transactions));
    assert_eq!((samples[1].block_height, samples[1].num_transactions), (later.block_height, later.num_transactions));
    node.stop().await;
}

/// A model-registry event of transaction `[byte; 64]` at `slot` (a score update of model
/// `[byte; 32]`, or its registration).
fn model_event(byte: u8, slot: u64, registration: bool) -> shared::envelope::EventEnvelope {
    use shared::dfpn::{ModelRegistered, ModelRegistryEvent, ModelScoreUpdated};
    let developer = solana_pubkey::Pubkey::new_from_array([byte; 32]);
    let event = if registration {
        ModelRegistryEvent::ModelRegistered(ModelRegistered {
            developer,
            model_id: [byte; 32],
            name: format!("model-{byte}"),
            version: "1.0.0".into(),
            model_uri: "https://example.org/m".into(),
            modalities: 1,
            stake: 1,
        })
    } else {
        ModelRegistryEvent::ModelScoreUpdated(ModelScoreUpdated {
            developer,
            model_id: [byte; 32],
            old_score: 0,
            new_score: 7,
        })
    };
    shared::envelope::EventEnvelope {
        seq: 0,
        slot,
        signature: bs58::encode([byte; 64]).into_string(),
        tx_index: Some(0),
        event_index: 0,
        block_time: Some(1_720_000_000),
        source: shared::envelope::EventSource::Chain,
        event: shared::ChainEvent::ModelRegistry(event),
    }
}

#[test]
fn an_update_waits_for_its_creation_across_a_restart_and_is_dropped_past_the_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let log = indexer::log::EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    let projections = dir.path().join("projections");
    let programs = shared::ProgramSet::defaults();
    // Model 1's update arrives before its registration; model 2's registration never comes.
    log.append(&[model_event(1, 10, false), model_event(2, 11, false), model_event(3, 12, true)], None, 0).unwrap();
    let mut projector = Projector::open(&projections, &programs).unwrap();
    projector.catch_up(&log, usize::MAX).unwrap();
    projector.commit().unwrap();
    assert_eq!(projector.committed_seq(), 0, "the payload stays before the oldest waiting update");
    drop(projector);

    // After a restart, the registration (earlier on chain, later in the log: a notification the
    // node dropped, backfilled) arrives within the horizon: the update folds into it.
    log.append(&[model_event(11, 2_000, true)], None, 0).unwrap();
    let registration = shared::envelope::EventEnvelope {
        signature: bs58::encode([21u8; 64]).into_string(),
        ..model_event(1, 9, true)
    };
    log.append(&[registration], None, 0).unwrap();
    let mut projector = Projector::open(&projections, &programs).unwrap();
    projector.catch_up(&log, usize::MAX).unwrap();
    projector.commit().unwrap();
    assert_eq!(projector.orphan_events, 0);
    assert_eq!(projector.committed_seq(), 1, "model 2's update still waits");

    // 3,000 slots later model 2's update is dropped, counted, and the payload moves on.
    log.append(&[model_event(12, 3_100, true)], None, 0).unwrap();
    projector.catch_up(&log, usize::MAX).unwrap();
    projector.commit().unwrap();
    assert_eq!(projector.orphan_events, 1);
    assert_eq!(projector.committed_seq(), log.last_seq());
    projector.finish().unwrap();
    let models = projected(&projections).models;
    let model_1 = models.values().find(|m| m["name"] == "model-1").expect("model 1 projected");
    assert_eq!(model_1["score"], 7, "the update held across the restart folded in: {model_1}");
    assert_eq!(models.len(), 4, "models 1, 3, 11 and 12; never model 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_and_telemetry_feeds_fold_alike_and_replay_reproduces_them() {
    use fixtures::generator::psy_real::{RealFeedConfig, RealFeedGenerator, TelemetryPost};
    use shared::control::TelemetryRequest;
    use test_support::psy::{expected_psy_with, telemetry_events};

    let (node, dir, context) = backfilled(33, 3_000).await;
    // A second deployment feeds its nodes' posts over HTTP (the control endpoint's write), some
    // of them twice, in a checkpoint and key space apart from the chain's.
    let posts: Vec<TelemetryPost> =
        RealFeedGenerator::new(RealFeedConfig::disjoint(1033, 100_000)).take(10).flat_map(|feed| feed.posts).collect();
    for (index, post) in posts.iter().enumerate() {
        let request = match post.clone() {
            TelemetryPost::Events(body) => TelemetryRequest::Events(body),
            TelemetryPost::Leaves(body) => TelemetryRequest::Leaves(body),
            TelemetryPost::Contract(body) => TelemetryRequest::Contract(body.report),
        };
        let stored = indexer::control::record_telemetry(&context.log, &request).unwrap();
        if index % 3 == 0 {
            let again = indexer::control::record_telemetry(&context.log, &request).unwrap();
            assert_eq!((again.stored, &again.seqs), (0, &stored.seqs));
        }
    }
    let lines = node.node.ground_truth(None);
    let expected = expected_psy_with(lines.lines(), posts.iter().flat_map(telemetry_events));
    let chain_only = expected_psy(lines.lines());
    assert!(
        expected.jobs.len() > chain_only.jobs.len() + 100
            && expected.checkpoints.len() >= chain_only.checkpoints.len() + 10
            && !chain_only.jobs.is_empty(),
        "both feeds contribute: {} jobs of {} on chain",
        expected.jobs.len(),
        chain_only.jobs.len()
    );

    let projections = dir.path().join("projections");
    let mut projector = Projector::open(&projections, &shared::ProgramSet::defaults()).unwrap();
    while projector.catch_up(&context.log, 500).unwrap() > 0 {
        projector.commit().unwrap();
    }
    projector.finish().unwrap();
    test_support::projected::assert_psy(&projected_psy(&projections), &expected);
    projector::replay(&context.log, &projections, &shared::ProgramSet::defaults()).unwrap();
    test_support::projected::assert_psy(&projected_psy(&projections), &expected);
    node.stop().await;
}
