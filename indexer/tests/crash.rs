//! The real `indexer` binary against a fixture node: SIGKILL at random moments during backfill
//! and replay, a held data directory, and a graceful SIGTERM of `indexer run`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{finish, indexer, read_log};
use fixtures::node::Faults;
use indexer::log::EventLog;
use rand::{Rng, SeedableRng};
use test_support::dfpn::expected_dfpn;
use test_support::node::{ground_truth, produce_slots, start_node};
use test_support::projected::projected;
use test_support::wait::until;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_backfill_and_replay_loses_and_duplicates_nothing() {
    let node = start_node(41, 8_000, Faults { delay_ms: 2, ..Faults::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(41);
    let truth = ground_truth(&node, None);
    let mut interrupted = 0;
    for _ in 0..3 {
        let mut child = indexer(&node, dir.path(), &["backfill", "--from", "genesis"]).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..900))).await;
        child.kill().unwrap();
        finish(child).await;
        let stored = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap().last_seq() as usize;
        interrupted += usize::from(stored < truth.len());
    }
    assert!(interrupted >= 1, "at least one kill landed mid-backfill");
    let output = finish(indexer(&node, dir.path(), &["backfill", "--from", "cursor"]).spawn().unwrap()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected = expected_dfpn(node.node.ground_truth(None).lines());
    assert_eq!(projected(&dir.path().join("projections")), expected, "backfill projects as it goes");

    // Killed until a kill lands mid-replay: the projections then lag the log.
    let mut replay_interrupted = false;
    for attempt in 0..6u64 {
        let mut replay = indexer(&node, dir.path(), &["replay"]).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..300) / (attempt + 1))).await;
        replay.kill().unwrap();
        finish(replay).await;
        let status = finish(indexer(&node, dir.path(), &["status"]).spawn().unwrap()).await;
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        if status["projection_lag"].as_u64() != Some(0) {
            replay_interrupted = true;
            break;
        }
    }
    assert!(replay_interrupted, "a kill landed mid-replay");
    let output = finish(indexer(&node, dir.path(), &["replay"]).spawn().unwrap()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    let contents = read_log(&log);
    assert_eq!(contents.event_records, truth.len(), "no duplicates");
    assert_eq!(contents.lines, truth);
    assert_eq!(projected(&dir.path().join("projections")), expected);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_hostile_answers_loses_and_duplicates_nothing() {
    // v0 lookup tables, a lagging backend, oversized answers (over the bound given below),
    // swapped batch ids, wrong bodies and paging that ignores `before`, all at once.
    let faults = Faults {
        v0_lookup_table_every: 3,
        lagging_window_ms: 1_500,
        lagging_null_percent: 30,
        oversized_answer_every: 13,
        oversized_answer_bytes: 2 << 20,
        swap_batch_ids_every: 3,
        wrong_transaction_every: 7,
        ignore_before_every: 2,
        delay_ms: 2,
        ..Faults::default()
    };
    let node = start_node(43, 6_000, faults).await;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(43);
    let truth = ground_truth(&node, None);
    let backfill = |from: &'static str| {
        indexer(&node, dir.path(), &["backfill", "--from", from, "--max-rpc-answer-bytes", "1048576"]).spawn().unwrap()
    };
    let mut interrupted = 0;
    for _ in 0..3 {
        let mut child = backfill("genesis");
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..900))).await;
        child.kill().unwrap();
        finish(child).await;
        let stored = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap().last_seq() as usize;
        interrupted += usize::from(stored < truth.len());
    }
    assert!(interrupted >= 1, "at least one kill landed mid-backfill");
    // What the lagging backend answered null is set aside and asked again by each backfill's
    // end; one after the lagging window has passed stores the rest.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let output = finish(backfill("cursor")).await;
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
        let contents = read_log(&log);
        if contents.lines == truth {
            assert_eq!(contents.event_records, truth.len(), "no duplicates");
            assert!(contents.retracted.is_empty(), "nothing retracted");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} of {} lines stored", contents.lines.len(), truth.len());
    }
    assert_eq!(projected(&dir.path().join("projections")), expected_dfpn(node.node.ground_truth(None).lines()));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_follows_live_refuses_a_second_process_and_stops_cleanly_on_sigterm() {
    let node = start_node(42, 600, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let metrics_bind = common::free_addr();
    let run = indexer(
        &node,
        dir.path(),
        &["run", "--reconcile-secs", "1", "--commit-interval-ms", "100", "--metrics-bind", &metrics_bind],
    )
    .spawn()
    .unwrap();
    // Running once its metrics endpoint answers (it holds the data directory from before that).
    let health = format!("http://{metrics_bind}/health");
    let served = until(Duration::from_secs(20), || async { reqwest::get(&health).await.is_ok() }, |ok| *ok).await;
    assert!(served, "indexer run never served /health");

    let status = finish(indexer(&node, dir.path(), &["status"]).spawn().unwrap()).await;
    assert_eq!(status.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("is in use by another indexer process"), "{stderr}");

    for _ in 0..20 {
        produce_slots(&node, 3).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    produce_slots(&node, 35).await;
    let truth_events = ground_truth(&node, None).len() as f64;
    let counter = |scraped: &str, name: &str| -> f64 {
        scraped
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    // Polled until everything produced is appended and projected.
    let caught_up = |scraped: &String| {
        counter(scraped, "indexer_events_appended_total") >= truth_events
            && counter(scraped, "indexer_projection_seq") >= counter(scraped, "indexer_log_seq")
    };
    let scrape =
        || async { reqwest::get(format!("http://{metrics_bind}/metrics")).await.unwrap().text().await.unwrap() };
    let scraped = until(Duration::from_secs(30), scrape, caught_up).await;
    assert!(caught_up(&scraped), "never caught up: {scraped}");
    assert!(counter(&scraped, "indexer_log_seq") > 0.0);
    // The fixture chain logs payloads of other programs' events: counted by reason.
    assert!(counter(&scraped, "indexer_decode_failures_total{reason=\"unknown_discriminator\"}") > 0.0, "{scraped}");
    let killed = Command::new("kill").args(["-TERM", &run.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = finish(run).await;
    assert!(output.status.success(), "graceful exit: {}", String::from_utf8_lossy(&output.stderr));

    let status = finish(indexer(&node, dir.path(), &["status"]).spawn().unwrap()).await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["projection_lag"], 0, "projections committed before exit: {status}");
    let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    assert_eq!(read_log(&log).lines, ground_truth(&node, None));
    drop(log);
    assert_eq!(projected(&dir.path().join("projections")), expected_dfpn(node.node.ground_truth(None).lines()));
    node.stop().await;
}

/// A client of the control endpoint's telemetry write that retries a post until it is answered,
/// as a node whose post was cut off does. Returns the seqs and how many attempts failed.
async fn post_until_answered(
    client: &reqwest::Client,
    url: &str,
    request: &shared::control::TelemetryRequest,
) -> (shared::control::TelemetryOutcome, usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut failed = 0;
    loop {
        let sent = client
            .post(url)
            .header(shared::control::TOKEN_HEADER, "crash-token")
            .json(request)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if let Ok(response) = sent {
            if response.status().is_success() {
                if let Ok(outcome) = response.json().await {
                    return (outcome, failed);
                }
            }
        }
        failed += 1;
        assert!(tokio::time::Instant::now() < deadline, "a telemetry post was never answered");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_posts_retried_across_sigkill_are_stored_exactly_once() {
    use fixtures::generator::psy_real::{RealFeedConfig, RealFeedGenerator, TelemetryPost};
    use shared::control::{ApiEvent, TelemetryRecord, TelemetryRequest};
    use shared::psy_model::idempotency;

    let node = start_node(44, 200, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let control = common::free_addr();
    let spawn = || {
        indexer(&node, dir.path(), &["run", "--control-bind", &control, "--control-token", "crash-token"])
            .spawn()
            .unwrap()
    };
    let posts: Vec<TelemetryRequest> = RealFeedGenerator::new(RealFeedConfig::small(44))
        .take(12)
        .flat_map(|feed| feed.posts)
        .map(|post| match post {
            TelemetryPost::Events(body) => TelemetryRequest::Events(body),
            TelemetryPost::Leaves(body) => TelemetryRequest::Leaves(body),
            TelemetryPost::Contract(body) => TelemetryRequest::Contract(body.report),
        })
        .collect();
    let mut expected = std::collections::BTreeMap::new();
    for post in &posts {
        let keyed: Vec<([u8; 64], Vec<u8>)> = match post {
            TelemetryRequest::Events(body) => body
                .worker_events()
                .iter()
                .map(|e| (idempotency::worker_event_key(e), shared::psy::PsyEvent::WorkerEventReported(e.into())))
                .chain(
                    body.user_events()
                        .iter()
                        .map(|e| (idempotency::user_event_key(e), shared::psy::PsyEvent::UserEventReported(e.into()))),
                )
                .map(|(key, event)| (key, event.encode()))
                .collect(),
            TelemetryRequest::Leaves(body) => body
                .leaves
                .iter()
                .map(|l| (idempotency::leaf_key(l), shared::psy::PsyEvent::CheckpointLeafReported(l.into()).encode()))
                .collect(),
            TelemetryRequest::Contract(report) => {
                vec![(
                    idempotency::contract_key(report),
                    shared::psy::PsyEvent::ContractReported(report.into()).encode(),
                )]
            }
        };
        expected.extend(keyed);
    }
    assert!(posts.len() > 30 && expected.len() > 500, "{} posts, {} records", posts.len(), expected.len());

    // The posts go out one after another; the indexer is killed three times while they do, and
    // every post cut off is sent again until answered (some answered posts are sent twice too).
    let url = format!("http://{control}/control/telemetry");
    let client = reqwest::Client::new();
    let mut run = spawn();
    let mut rng = rand::rngs::StdRng::seed_from_u64(44);
    let kills_at: Vec<usize> = (1..=3).map(|k| k * posts.len() / 4 + rng.gen_range(0..3)).collect();
    let (mut failed_attempts, mut answered) = (0, 0);
    for (index, post) in posts.iter().enumerate() {
        if kills_at.contains(&index) {
            // The kill lands while this post is being written: sent, then killed at once.
            let cut_off = client
                .post(&url)
                .header(shared::control::TOKEN_HEADER, "crash-token")
                .json(post)
                .timeout(Duration::from_millis(rng.gen_range(1..20)))
                .send();
            let _ = cut_off.await;
            run.kill().unwrap();
            finish(run).await;
            run = spawn();
        }
        let (outcome, failed) = post_until_answered(&client, &url, post).await;
        failed_attempts += failed;
        answered += outcome.seqs.len();
        if index % 5 == 0 {
            let (again, _) = post_until_answered(&client, &url, post).await;
            assert_eq!((again.stored, again.seqs), (0, outcome.seqs), "a retried post appends nothing");
        }
    }
    assert!(failed_attempts >= 3, "every kill cut a post off ({failed_attempts} failed attempts)");
    let killed = Command::new("kill").args(["-TERM", &run.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let output = finish(run).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    let mut stored = Vec::new();
    for entry in log.read_from(1) {
        if let (_, indexer::log::LogRecord::Api(ApiEvent::Telemetry(TelemetryRecord(event)))) = entry.unwrap() {
            stored.push(event.encode());
        }
    }
    let mut want: Vec<Vec<u8>> = expected.into_values().collect();
    want.sort();
    stored.sort();
    assert_eq!(stored.len(), want.len(), "every record once ({answered} answered record seqs)");
    assert_eq!(stored, want);
    node.stop().await;
}
