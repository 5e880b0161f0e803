//! The event log on a real NATS JetStream server (started by the tests on a loopback port): the
//! real `indexer run` publishes it record for record, a SIGKILL mid-publish loses and duplicates
//! nothing, and replicas (`indexer follow`, the real binary) started late catch up from seq 1,
//! resume after a SIGKILL and project what the indexer does; a write over NATS request-reply
//! reaches the indexer and every replica, and a replica's query service (`--nats-url`, no control
//! endpoint) registers over it as the primary's does; on a three-node JetStream cluster (replicas 3) a
//! SIGKILL of the stream's leader node mid-publish loses and duplicates nothing.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use common::nats::{last_seq, projection_seq, records, replicas_and_leader, NatsCluster, NatsServer};
use common::{finish, free_addr, indexer};
use fixtures::node::{Faults, NodeHandle};
use indexer::log::EventLog;
use rand::{Rng, SeedableRng};
use test_support::dfpn::expected_dfpn;
use test_support::node::{produce_slots, start_node};
use test_support::projected::{assert_dfpn, assert_psy, projected, projected_psy};

const STREAM: &str = "TEST_LOG";

/// `indexer run` publishing to the NATS at `url`, with the control token `secret`; its metrics
/// on `metrics`.
fn run_with(node: &NodeHandle, dir: &Path, url: &str, metrics: &str, extra: &[&str]) -> Child {
    let control = free_addr();
    let args = ["run", "--reconcile-secs", "1", "--commit-interval-ms", "100", "--metrics-bind", metrics];
    indexer(node, dir, &args)
        .args(["--control-bind", &control, "--control-token", "secret", "--nats-url", url])
        .args(["--nats-stream", STREAM])
        .args(extra)
        .spawn()
        .unwrap()
}

/// [`run_with`] with its metrics on some free port.
fn run(node: &NodeHandle, dir: &Path, url: &str, extra: &[&str]) -> Child {
    run_with(node, dir, url, &free_addr(), extra)
}

/// Produces `slots` live slots and waits until `indexer run` (its metrics on `metrics`, started
/// on a log of `backfilled` events) appended every event of the chain.
async fn produce_and_ingest(node: &NodeHandle, metrics: &str, backfilled: u64, slots: u32) {
    produce_slots(node, slots).await;
    let live = test_support::node::ground_truth(node, None).len() as i64 - backfilled as i64;
    wait_for("the indexer appends the live events", 120, async || {
        gauge(metrics, "indexer_events_appended_total").await >= live
    })
    .await;
}

/// `indexer follow` of the NATS at `url` into `dir`, its metrics on `metrics`.
fn follow(node: &NodeHandle, dir: &Path, url: &str, metrics: &str) -> Child {
    let args = ["follow", "--nats-url", url, "--nats-stream", STREAM, "--metrics-bind", metrics];
    indexer(node, dir, &args).args(["--commit-interval-ms", "100"]).spawn().unwrap()
}

async fn terminate(child: Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = finish(child).await;
    assert!(
        output.status.success(),
        "stopped cleanly: {:?} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn kill(mut child: Child) {
    child.kill().unwrap();
    finish(child).await;
}

async fn backfill(node: &NodeHandle, dir: &Path) -> u64 {
    let output = finish(indexer(node, dir, &["backfill", "--from", "genesis"]).spawn().unwrap()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    EventLog::open(&dir.join("log"), 8 << 20).unwrap().last_seq()
}

async fn wait_for(what: &str, seconds: u64, mut condition: impl AsyncFnMut() -> bool) {
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} within {seconds} s (the machine may be overloaded)");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{what}: {:.1?}", started.elapsed());
}

/// Asserts the stream holds the log's records exactly: same seqs, same bytes, message id = seq.
async fn assert_stream_is_the_log(url: &str, log: &EventLog) {
    let stream = records(url, STREAM).await;
    let log_records: Vec<(u64, Vec<u8>)> =
        log.raw_from(1).map(|entry| entry.map(|(seq, bytes)| (seq, bytes.to_vec()))).collect::<Result<_, _>>().unwrap();
    assert_eq!(stream.len(), log_records.len(), "as many stream messages as log records");
    for (message, (seq, bytes)) in stream.iter().zip(&log_records) {
        assert_eq!(
            (message.seq, message.id.as_str()),
            (*seq, seq.to_string().as_str()),
            "stream seq = message id = log seq"
        );
        assert!(message.bytes == *bytes, "record {seq}: the stream's bytes are the log's");
    }
}

/// Scrapes one gauge of a metrics endpoint (-1 while it does not answer).
async fn gauge(metrics: &str, name: &str) -> i64 {
    let Ok(answer) = reqwest::get(format!("http://{metrics}/metrics")).await else { return -1 };
    let text = answer.text().await.unwrap_or_default();
    text.lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .and_then(|line| line.split_whitespace().last())
        .and_then(|value| value.parse().ok())
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_published_record_for_record_and_a_sigkill_mid_publish_loses_and_duplicates_nothing() {
    let _serial = common::nats::one_at_a_time().await;
    let nats = NatsServer::start().await;
    let node = start_node(51, 8_000, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let backfilled = backfill(&node, dir.path()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(51);
    let mut interrupted = 0;
    for round in 0..3 {
        let child = run(&node, dir.path(), &nats.url, &[]);
        let before = last_seq(&nats.url, STREAM).await;
        // The first kill lands as soon as the publisher moved the stream; later ones at random.
        wait_for("the publisher moves the stream", 120, async || last_seq(&nats.url, STREAM).await > before).await;
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        }
        kill(child).await;
        interrupted += usize::from(last_seq(&nats.url, STREAM).await < backfilled);
    }
    assert!(interrupted >= 1, "at least one SIGKILL landed mid-publish");
    let metrics = free_addr();
    let child = run_with(&node, dir.path(), &nats.url, &metrics, &[]);
    produce_slots(&node, 20).await;
    wait_for("the stream holds the backfilled log", 120, async || last_seq(&nats.url, STREAM).await >= backfilled)
        .await;
    // The stream held it before this run started: stopped only once the run serves its metrics
    // (its signal handling is installed by then).
    wait_for("the indexer runs", 120, async || gauge(&metrics, "indexer_log_seq").await >= 0).await;
    terminate(child).await;
    let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    assert!(log.last_seq() >= backfilled);
    assert_stream_is_the_log(&nats.url, &log).await;
    drop(log);

    let status = finish(
        indexer(&node, dir.path(), &["status", "--nats-url", &nats.url, "--nats-stream", STREAM]).spawn().unwrap(),
    )
    .await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status prints JSON");
    assert_eq!((status["publish_lag"].as_u64(), status["follow_lag"].as_u64()), (Some(0), Some(0)), "{status}");

    // Another log (here: an empty one) is never published to this stream: the indexer stops.
    let other = tempfile::tempdir().unwrap();
    let refused = finish(run(&node, other.path(), &nats.url, &[])).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("another log's stream"), "{stderr}");
    assert_eq!(last_seq(&nats.url, STREAM).await, EventLog::open(&dir.path().join("log"), 8 << 20).unwrap().last_seq());
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_started_late_catch_up_resume_after_a_sigkill_and_project_what_the_indexer_does() {
    let _serial = common::nats::one_at_a_time().await;
    let nats = NatsServer::start().await;
    let node = start_node(52, 8_000, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let backfilled = backfill(&node, dir.path()).await;
    let indexer_metrics = free_addr();
    let child = run_with(&node, dir.path(), &nats.url, &indexer_metrics, &[]);
    produce_and_ingest(&node, &indexer_metrics, backfilled, 30).await;
    // A registration over NATS request-reply, as a replica's query service submits it.
    let client = async_nats::connect(&nats.url).await.unwrap();
    let registration = serde_json::json!({
        "public_key": format!("0x{}", "42".repeat(32)), "twitter_handle": "@replica", "label": "rig", "registered_at": 5,
    });
    let subject = format!("{STREAM}.control.users");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(shared::control::TOKEN_HEADER, "secret");
    // No responders until the indexer's subscription is up: asked again until it answers.
    let ask = || client.request_with_headers(subject.clone(), headers.clone(), registration.to_string().into());
    let sent = test_support::wait::until(Duration::from_secs(60), ask, Result::is_ok).await;
    let answer =
        serde_json::from_slice::<serde_json::Value>(&sent.expect("the control subject answers").payload).unwrap();
    assert_eq!(answer["status"], 201, "{answer}");
    let unauthorized = client.request(subject.clone(), registration.to_string().into()).await.unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&unauthorized.payload).unwrap()["status"], 401);
    let written = answer["body"]["seqs"][0].as_u64().unwrap();
    wait_for("the write reaches the stream", 120, async || last_seq(&nats.url, STREAM).await >= written).await;
    terminate(child).await;
    let log_seq = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap().last_seq();

    // The first replica is killed (mid-catch-up when the kill lands so) and restarted.
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let metrics = free_addr();
    let mut rng = rand::rngs::StdRng::seed_from_u64(52);
    let mut interrupted = 0;
    for _ in 0..2 {
        let replica = follow(&node, first.path(), &nats.url, &metrics);
        wait_for("the replica mirrors the stream", 120, async || gauge(&metrics, "indexer_log_seq").await > 0).await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..200))).await;
        kill(replica).await;
        interrupted += usize::from(projection_seq(&first.path().join("projections")) < log_seq);
    }
    assert!(interrupted >= 1, "at least one SIGKILL landed mid-catch-up");
    let replicas =
        [follow(&node, first.path(), &nats.url, &metrics), follow(&node, second.path(), &nats.url, &free_addr())];
    for replica in [first.path(), second.path()] {
        let projections = replica.join("projections");
        wait_for("the replica projects the whole stream", 120, async || projection_seq(&projections) >= log_seq).await;
    }
    assert_eq!(gauge(&metrics, "indexer_follow_lag").await, 0);
    for replica in replicas {
        terminate(replica).await;
    }

    let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    let raw = |log: &EventLog| log.raw_from(1).collect::<Result<Vec<_>, _>>().unwrap();
    let indexer_projections = dir.path().join("projections");
    let expected = expected_dfpn(node.node.ground_truth(None).lines());
    assert_dfpn(&projected(&indexer_projections), &expected);
    for replica in [first.path(), second.path()] {
        let mirror = EventLog::open(&replica.join("log"), 8 << 20).unwrap();
        assert!(raw(&mirror) == raw(&log), "the mirror holds the log's records, once each");
        assert_eq!(projection_seq(&replica.join("projections")), log.last_seq());
        assert_dfpn(&projected(&replica.join("projections")), &expected);
        let psy = projected_psy(&replica.join("projections"));
        assert!(
            psy.users.values().any(|user| user["twitter_handle"] == "@replica"),
            "the NATS write is on every replica"
        );
        assert_psy(&psy, &projected_psy(&indexer_projections));
    }
    drop(log);
    let refused = finish(run(&node, first.path(), &nats.url, &[])).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("is a replica's data directory"), "{stderr}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_three_node_cluster_a_sigkilled_leader_node_loses_and_duplicates_nothing_for_the_stream_and_a_replica() {
    let _serial = common::nats::one_at_a_time().await;
    let mut cluster = NatsCluster::start(3).await;
    let node = start_node(53, 8_000, Faults::default()).await;
    let (dir, replica) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let backfilled = backfill(&node, dir.path()).await;
    let indexer_metrics = free_addr();
    let child = run_with(&node, dir.path(), &cluster.url(), &indexer_metrics, &["--nats-replicas", "3"]);
    let first = cluster.urls[0].clone();
    wait_for("the publisher moves the stream", 180, async || last_seq(&first, STREAM).await > 0).await;
    // The replica follows from before the kill: its consumer may be on the node killed.
    let metrics = free_addr();
    let follower = follow(&node, replica.path(), &cluster.url(), &metrics);
    wait_for("the replica mirrors the stream", 180, async || gauge(&metrics, "indexer_log_seq").await > 0).await;
    let (replicas, leader) = replicas_and_leader(&first, STREAM).await;
    assert_eq!(replicas, 3);
    let leader: usize = leader.expect("a leader").trim_start_matches('n').parse().unwrap();
    cluster.kill(leader);
    let survivor = cluster.urls[(leader + 1) % 3].clone();
    let killed_at = last_seq(&survivor, STREAM).await;
    produce_and_ingest(&node, &indexer_metrics, backfilled, 20).await;
    // Everything the indexer logged, the records ingested after the kill included, is published
    // before it is stopped (the stream is compared with the whole log below).
    wait_for("the stream holds the whole log", 180, async || {
        let logged = gauge(&indexer_metrics, "indexer_log_seq").await;
        logged >= backfilled as i64 && last_seq(&survivor, STREAM).await >= logged as u64
    })
    .await;
    terminate(child).await;
    let log = EventLog::open(&dir.path().join("log"), 8 << 20).unwrap();
    assert!(killed_at < log.last_seq(), "the leader was killed before the stream held the log");
    assert_stream_is_the_log(&survivor, &log).await;
    let projections = replica.path().join("projections");
    let log_seq = log.last_seq();
    wait_for("the replica projects the whole stream", 180, async || projection_seq(&projections) >= log_seq).await;
    terminate(follower).await;
    let mirror = EventLog::open(&replica.path().join("log"), 8 << 20).unwrap();
    let raw = |log: &EventLog| log.raw_from(1).collect::<Result<Vec<_>, _>>().unwrap();
    assert!(raw(&mirror) == raw(&log), "the mirror holds the log's records, once each");
    let indexer_projections = dir.path().join("projections");
    assert_dfpn(&projected(&projections), &projected(&indexer_projections));
    assert_dfpn(&projected(&projections), &expected_dfpn(node.node.ground_truth(None).lines()));
    assert_psy(&projected_psy(&projections), &projected_psy(&indexer_projections));
    node.stop().await;
}

/// A query service over `data_dir` whose writes go, with `token`, to the control endpoint at
/// `control_url`, or over the NATS at `nats` (a replica's, with no reachable control endpoint).
async fn query_api(data_dir: &Path, control_url: &str, nats: Option<&str>, token: &str) -> query_api::Running {
    let nats = nats.map(|url| query_api::control::NatsControl { url: url.into(), stream: STREAM.into() });
    let control = query_api::control::ControlConfig { url: control_url.into(), token: token.into(), nats };
    let config = query_api::Config {
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        control: Some(control),
        ..query_api::Config::new(data_dir.to_path_buf())
    };
    query_api::start(config).await.unwrap()
}

/// A `POST /register` body signed by `key`, as a Psy client sends it.
fn signed_registration(key: &ed25519_dalek::SigningKey, handle: &str) -> serde_json::Value {
    use ed25519_dalek::Signer;
    let public = key.verifying_key().to_bytes();
    let message = query_api::psy::register::canonical_message(&public, handle, "rig");
    serde_json::json!({
        "public_key": format!("0x{}", shared::field::hex(&public)),
        "twitter_handle": handle,
        "label": "rig",
        "signature": bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string(),
    })
}

async fn post(psy: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new().post(format!("{psy}{path}")).json(body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(psy: &str, path: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("{psy}{path}")).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicas_query_service_registers_over_nats_as_the_primary_does_and_the_replica_shows_it() {
    let _serial = common::nats::one_at_a_time().await;
    let nats = NatsServer::start().await;
    let node = start_node(54, 4_000, Faults::default()).await;
    let (dir, replica) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    backfill(&node, dir.path()).await;
    let control = free_addr();
    let args = ["run", "--reconcile-secs", "1", "--commit-interval-ms", "100", "--metrics-bind", &free_addr()];
    let child = indexer(&node, dir.path(), &args)
        .args(["--control-bind", &control, "--control-token", "secret", "--nats-url", &nats.url])
        .args(["--nats-stream", STREAM])
        .spawn()
        .unwrap();
    let follower = follow(&node, replica.path(), &nats.url, &free_addr());
    let primary = query_api(dir.path(), &format!("http://{control}"), None, "secret").await;
    // Nothing listens on the replica's control URL: its writes can only go over NATS.
    let on_replica = query_api(replica.path(), "http://127.0.0.1:1", Some(&nats.url), "secret").await;
    let (primary_psy, replica_psy) =
        (format!("http://{}", primary.psy_addr), format!("http://{}", on_replica.psy_addr));

    let key = ed25519_dalek::SigningKey::from_bytes(&[54; 32]);
    let body = signed_registration(&key, "@over-nats");
    let mut first = (0, serde_json::Value::Null);
    wait_for("the replica's query service reaches the indexer over NATS", 60, async || {
        first = post(&replica_psy, "/register", &body).await;
        first.0 != 503
    })
    .await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["success"], true, "{}", first.1);
    // A retry is stored once and answered 409, on the replica as on the primary.
    let retried = post(&replica_psy, "/register", &body).await;
    assert_eq!((retried.0, retried.1["error"].as_str()), (409, Some("Conflict")), "{}", retried.1);
    assert_eq!(post(&primary_psy, "/register", &body).await, retried, "the primary answers the retry the same");
    let other = signed_registration(&ed25519_dalek::SigningKey::from_bytes(&[55; 32]), "@on-primary");
    let (status, on_primary) = post(&primary_psy, "/register", &other).await;
    assert_eq!((status, on_primary["success"].as_bool()), (200, Some(true)), "{on_primary}");
    let user_id = |answer: &serde_json::Value| answer["user_id"].as_str().unwrap().parse::<u64>().unwrap();
    assert!(user_id(&on_primary) > user_id(&first.1), "one log: a later write has a later seq");

    let info = format!("/user_info?public_key={}", body["public_key"].as_str().unwrap());
    let mut shown = (0, serde_json::Value::Null);
    wait_for("the registration shows on the replica once followed", 120, async || {
        shown = get(&replica_psy, &info).await;
        shown.0 == 200
    })
    .await;
    assert_eq!(Some(shown.1["id"].to_string().as_str()), first.1["user_id"].as_str(), "{}", shown.1);
    assert_eq!(shown.1["twitter_handle"], "@over-nats");
    let mut on_primary = (0, serde_json::Value::Null);
    wait_for("the registration shows on the primary", 120, async || {
        on_primary = get(&primary_psy, &info).await;
        on_primary.0 == 200
    })
    .await;
    assert_eq!(on_primary, shown, "the replica shows what the primary does");

    // The indexer refusing the token (401 over NATS) is the query service's 503, as over HTTP.
    let refused = query_api(replica.path(), "http://127.0.0.1:1", Some(&nats.url), "wrong").await;
    let third = signed_registration(&ed25519_dalek::SigningKey::from_bytes(&[56; 32]), "@refused");
    assert_eq!(post(&format!("http://{}", refused.psy_addr), "/register", &third).await.0, 503);

    refused.stop().await;
    primary.stop().await;
    on_replica.stop().await;
    terminate(follower).await;
    terminate(child).await;
    node.stop().await;
}
