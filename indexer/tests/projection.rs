//! Projections against ground truth: what the projector builds equals what a test computes from
//! the fixture chain alone, after a live build, a replay, and crashes before and after commits.

mod common;

use common::{context, projected, projected_psy};
use fixtures::node::Faults;
use fixtures::testing::{expected_dfpn, expected_psy, start_node};
use indexer::backfill::BackfillFrom;
use indexer::projector::{self, Projector};
use shared::ProgramKind;

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
    assert!(expected.requests.len() > 50 && expected.workers.len() == 24 && expected.models.len() == 10);

    let projections = dir.path().join("projections");
    let mut projector = Projector::open(&projections).unwrap();
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
        expected_psy.jobs.len() > 50 && !expected_psy.contracts.is_empty() && expected_psy.worker_events.len() > 100
    );
    let live_built_psy = projected_psy(&projections);
    assert_eq!(live_built_psy, expected_psy);

    let folded = projector::replay(&context.log, &projections).unwrap();
    assert_eq!(folded, context.log.last_seq());
    assert_eq!(projected(&projections), live_built, "replay answers exactly as the live build");
    assert_eq!(projected_psy(&projections), live_built_psy);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_or_after_a_commit_neither_loses_nor_double_applies() {
    let (node, dir, context) = backfilled(32, 2_500).await;
    let expected = expected_dfpn(node.node.ground_truth(None).lines());
    let projections = dir.path().join("projections");
    let last = context.log.last_seq() as usize;

    let mut projector = Projector::open(&projections).unwrap();
    projector.catch_up(&context.log, last / 3).unwrap();
    projector.commit().unwrap();
    projector.catch_up(&context.log, last / 3).unwrap();
    drop(projector); // crash: folded but not committed

    let mut projector = Projector::open(&projections).unwrap();
    assert_eq!(projector.applied_seq(), (last / 3) as u64, "resumes after the committed payload");
    projector.catch_up(&context.log, last).unwrap();
    projector.commit().unwrap();
    projector.finish().unwrap();
    assert_eq!(projected(&projections), expected);
    assert_eq!(projected_psy(&projections), expected_psy(node.node.ground_truth(None).lines()));
    node.stop().await;
}
