//! The Psy surface's writes and what reads them: the real telemetry feed (JWT, bounds, a retried
//! post stored once), the real reward rule (finality 5, fees / jobs, the remainder, a
//! recalculation never doubling) against an independent computation (`test_support::psy::rewards`
//! over the Psy truth model), the checkpoint and reward reads, registration, the TPS
//! WebSocket, and replay equality.
//!
//! Nothing here sleeps for a fixed time standing in for "caught up": every wait polls until a
//! marker that must arrive has arrived (issue 17).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use fixtures::generator::psy_real::{CheckpointFeed, RealFeedConfig, RealFeedGenerator, TelemetryPost};
use futures::StreamExt;
use query_api::auth::{unix_now, Auth};
use serde_json::{json, Value};
use shared::psy_model::telemetry::{LeavesAccepted, AUTH_BAD_SIGNATURE, AUTH_EXPIRED, AUTH_INVALID, AUTH_MISSING};
use test_support::psy::rewards::{without_run_fields, RewardTruth};
use test_support::psy::{expected_psy, telemetry_events, ExpectedPsy, Psy};
use test_support::stack::{test_intervals, Stack};

const SECRET: &str = "integration-secret";

fn token() -> String {
    Auth::new(SECRET).mint("coordinator", 3, unix_now())
}

fn bearer() -> String {
    format!("Bearer {}", token())
}

async fn admin_status(w: &Stack) -> Value {
    let (status, body) = w.psy_get_authorized("/admin/checkpoint-processing-status", Some(&bearer())).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls `probe` until `done` accepts its value, for at most 60 s: its last value.
async fn until<T, F, Fut>(probe: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    test_support::wait::until(Duration::from_secs(60), probe, done).await
}

/// The answer the real service gives a post.
fn real_answer(post: &TelemetryPost) -> Value {
    match post {
        TelemetryPost::Events(body) => json!({"success": true,
            "processed_count": body.worker_events().len() + body.user_events().len(), "service": "coordinator"}),
        TelemetryPost::Leaves(body) => serde_json::to_value(LeavesAccepted::new(&body.leaves)).unwrap(),
        TelemetryPost::Contract(body) => json!({"success": true, "contract_id": body.report.contract_id,
            "message": format!("Contract {} stored successfully at checkpoint {}", body.report.contract_id,
                body.report.checkpoint_id)}),
    }
}

/// Posts every post of `feeds` with a valid token, checking each real answer.
async fn post_feeds(w: &Stack, feeds: &[CheckpointFeed]) {
    for post in feeds.iter().flat_map(|f| &f.posts) {
        let (status, answer) = w.psy_post_raw(post.route(), post.body().unwrap(), Some(&bearer())).await;
        assert_eq!((status, &answer), (200, &real_answer(post)), "{}", post.route());
    }
}

/// Every worker event of checkpoints `[from, to]` the service lists (pages of 1000).
async fn worker_events_between(w: &Stack, from: u64, to: u64) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let path =
            format!("/worker_events?from_checkpoint_id={from}&to_checkpoint_id={to}&limit=1000&offset={}", all.len());
        let (status, body) = w.psy_get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let page = body.as_array().unwrap().clone();
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return all;
        }
    }
}

fn highest_chain_checkpoint(w: &Stack) -> u64 {
    let state = expected_psy(w.truth_lines.iter().map(String::as_str));
    let events = state.worker_events.iter().filter_map(|e| e["checkpoint_id"].as_u64());
    let leaves = state.checkpoints.keys().filter_map(|k| k.parse::<u64>().ok());
    events.chain(leaves).max().unwrap_or(0)
}

fn feed(first_checkpoint: u64, checkpoints: usize) -> Vec<CheckpointFeed> {
    RealFeedGenerator::new(RealFeedConfig::disjoint(0x5eed, first_checkpoint)).take(checkpoints).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_posts_are_authenticated_and_bounded_as_the_real_service_and_refusals_store_nothing() {
    let w = Stack::builder().jwt_secret(SECRET).start().await;
    let feeds = feed(highest_chain_checkpoint(&w) + 100, 1);
    let post = feeds[0].posts.iter().find(|p| matches!(p, TelemetryPost::Events(_))).unwrap();
    let before = w.log.last_seq();
    let now = unix_now();
    let other = Auth::new("another-secret").mint("coordinator", 1, now);
    let expired = Auth::new(SECRET).mint("coordinator", 0, now - 10);
    let token = token();
    let refusals: [(Option<String>, &str); 6] = [
        (None, AUTH_MISSING),
        (Some(token.clone()), AUTH_INVALID),
        (Some(format!("Basic {token}")), AUTH_INVALID),
        (Some("Bearer not-a-jwt".into()), AUTH_INVALID),
        (Some(format!("Bearer {other}")), AUTH_BAD_SIGNATURE),
        (Some(format!("Bearer {expired}")), AUTH_EXPIRED),
    ];
    for route in ["/telemetry/events", "/telemetry/checkpoint/leaves", "/telemetry/contract"] {
        for (authorization, message) in &refusals {
            let (status, body) = w.psy_post_raw(route, post.body().unwrap(), authorization.as_deref()).await;
            assert_eq!((status, body), (401, json!({"error": message, "status": 401})), "{route} {authorization:?}");
        }
    }
    let auth = Some(bearer());
    let auth = auth.as_deref();
    let TelemetryPost::Events(events) = post else { unreachable!() };
    let event = events.worker_events()[0].clone();
    let mut too_many = events.clone();
    too_many.worker_events = Some(vec![event.clone(); shared::psy_model::validate::MAX_EVENTS_PER_POST + 1]);
    let (status, body) = w.psy_post_raw("/telemetry/events", serde_json::to_vec(&too_many).unwrap(), auth).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["details"].as_str().unwrap().contains("worker_events"), "{body}");
    let mut doc_status = serde_json::to_value(events).unwrap();
    doc_status["worker_events"][0]["status"] = json!("Completed");
    let (status, body) = w.psy_post_raw("/telemetry/events", serde_json::to_vec(&doc_status).unwrap(), auth).await;
    assert_eq!(status, 400, "the feed takes the real spelling only: {body}");
    // A body over 4 MiB is refused by its length, before it is read.
    let huge = format!(
        "POST /telemetry/events HTTP/1.1\r\nHost: psy\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{}}",
        bearer(),
        shared::psy_model::validate::MAX_BODY_BYTES + 1
    );
    let answer = test_support::service::raw(w.api().psy_addr, huge.as_bytes(), Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let empty = json!({"leaves": [], "timestamp": "2024-06-01T12:00:00Z"});
    let (status, _) = w.psy_post_raw("/telemetry/checkpoint/leaves", serde_json::to_vec(&empty).unwrap(), auth).await;
    assert_eq!(status, 404, "an empty leaves array is 404, as the real service answers it");
    assert_eq!(w.psy_post_raw("/telemetry/contract", b"{\"report\": {}}".to_vec(), auth).await.0, 400);
    let (status, body) = w.psy_post_raw("/telemetry/events", b"{}".to_vec(), auth).await;
    assert_eq!((status, body), (200, json!({"success": true, "processed_count": 0, "service": "coordinator"})));
    assert_eq!(w.log.last_seq(), before, "no refused post stored anything");

    // Without a JWT secret the feed refuses clearly; without a control endpoint it answers 503.
    for tune in [
        Box::new(|c: &mut query_api::Config| c.jwt_secret = None) as Box<dyn FnOnce(&mut query_api::Config)>,
        Box::new(|c: &mut query_api::Config| c.jwt_secret = Some(SECRET.into())),
    ] {
        let bare = test_support::service::bare(tune).await;
        let response = test_support::service::client()
            .post(format!("{}/telemetry/events", bare.psy))
            .header("authorization", bearer())
            .body(post.body().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
        let body: Value = response.json().await.unwrap();
        let details = body["details"].as_str().unwrap().to_lowercase();
        assert!(details.contains("jwt_secret") || details.contains("control endpoint"), "says why: {body}");
        bare.api.stop().await;
    }
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_is_stored_once_and_rewards_follow_the_real_rule_through_replay() {
    let intervals = query_api::Intervals { reward_processing: Duration::from_millis(200), ..test_intervals() };
    let mut w = Stack::builder().jwt_secret(SECRET).intervals(intervals).start().await;
    let first = highest_chain_checkpoint(&w) + 100;
    let feeds = feed(first, 12);
    let last = first + feeds.len() as u64 - 1;
    post_feeds(&w, &feeds).await;
    // A node retries its first three posts (no answer reached it): answered the same, stored once.
    post_feeds(&w, &[CheckpointFeed { posts: feeds[0].posts[..3].to_vec(), truth: feeds[0].truth.clone() }]).await;

    // Marker: one more worker event, posted after everything (the WorkerEvents family shows the
    // log in order, so once it is listed every earlier event is).
    let TelemetryPost::Events(events) =
        feeds[0].posts.iter().find(|p| matches!(p, TelemetryPost::Events(b) if !b.worker_events().is_empty())).unwrap()
    else {
        unreachable!()
    };
    let mut marker = events.worker_events()[0].clone();
    marker.public_key = Some("marker_key_0x01".into());
    marker.checkpoint_id = last as i64;
    let marker_post = TelemetryPost::Events(shared::psy_model::TelemetryEvents {
        worker_events: Some(vec![marker]),
        user_events: None,
    });
    post_feeds(&w, &[CheckpointFeed { posts: vec![marker_post.clone()], truth: feeds[0].truth.clone() }]).await;
    let (_, listed) = w
        .psy_until("/worker_events?public_key=marker_key_0x01", |_, b| b.as_array().is_some_and(|a| a.len() == 1))
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    let posted: Vec<_> = feeds.iter().flat_map(|f| &f.posts).chain([&marker_post]).flat_map(telemetry_events).collect();
    let psy = Psy::of(w.truth_lines.iter().map(String::as_str), posted);
    let state = psy.state();
    let expected_events = state.worker_events.iter().filter(|e| e["checkpoint_id"].as_u64() >= Some(first)).count();
    assert_eq!(expected_events, feeds.iter().map(|f| f.truth.worker_events).sum::<usize>() + 1);
    let listed = worker_events_between(&w, first, last).await;
    assert_eq!(listed.len(), expected_events, "every posted worker event exactly once");

    // The rule, computed independently; the generator's own record of each checkpoint agrees.
    let truth = RewardTruth::of(&psy);
    assert_eq!(truth.current, Some(last));
    for feed in &feeds {
        let id = feed.truth.checkpoint_id;
        let Some(payout) = truth.paid.get(&id) else {
            assert!(id + 5 > last || feed.truth.reward_jobs.len() as u64 > feed.truth.fees_collected, "{id}");
            continue;
        };
        let jobs: BTreeSet<String> = payout.jobs.iter().map(|j| j.job_id.clone()).collect();
        let recorded: BTreeSet<String> = feed.truth.reward_jobs.iter().map(|(j, _)| j.to_string()).collect();
        assert_eq!(jobs, recorded, "checkpoint {id}'s reward jobs");
        assert_eq!(payout.fees, feed.truth.fees_collected);
    }
    let final_feed: Vec<u64> = (first..=last - 5).collect();
    assert!(final_feed.iter().all(|id| truth.paid.contains_key(id) || truth.waiting.contains(id)));
    assert!((last - 4..=last).all(|id| truth.not_final.contains(&id)), "finality is 5 checkpoints");
    assert!(truth.paid.values().any(|p| p.remainder > 0), "a remainder to discard");

    // The background service settles every payable final checkpoint.
    let newest_paid = *truth.paid.keys().last().unwrap();
    let status = until(|| admin_status(&w), |s| s["last_processed_checkpoint"].as_u64() >= Some(newest_paid)).await;
    // Families commit apart: the newest settlement's rows, written last, mark the rest visible.
    let newest_rows = format!("/checkpoint/distributions/{newest_paid}");
    let (_, rows) = w.psy_until(&newest_rows, |s, b| s == 200 && b.as_array().is_some_and(|a| !a.is_empty())).await;
    assert!(rows.as_array().is_some_and(|a| !a.is_empty()), "{rows}");
    let pending: BTreeSet<u64> =
        status["pending_checkpoints"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(status["pending_count"], truth.waiting.len(), "{status}");
    let listed: BTreeSet<u64> =
        truth.waiting.iter().take(query_api::psy::rewards::MAX_LISTED_PENDING).copied().collect();
    assert_eq!(pending, listed, "{status}");
    assert_eq!(status["current_checkpoint"], last);
    assert_eq!(status["finalized_height"], last - 5);
    for (id, payout) in &truth.paid {
        let (status, rows) = w.psy_get(&format!("/checkpoint/distributions/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(without_run_fields(&rows), payout.rows(*id), "checkpoint {id}");
        let (_, summary) = w.psy_get(&format!("/checkpoint/summary/{id}")).await;
        let paid = payout.reward_per_job * payout.jobs.len() as u64;
        assert_eq!(
            (&summary["total_rewards"], &summary["remainder"], &summary["processing_status"]),
            (&json!(paid), &json!(payout.remainder), &json!("Completed")),
            "{summary}"
        );
        assert_eq!(paid + payout.remainder, payout.fees);
    }
    for id in last - 4..=last {
        assert_eq!(w.psy_get(&format!("/checkpoint/distributions/{id}")).await, (200, json!([])), "{id} is not final");
        let (_, summary) = w.psy_get(&format!("/checkpoint/summary/{id}")).await;
        assert_eq!(summary["processing_status"], "Open");
    }

    // A recalculation answers the stored rows and never distributes twice.
    let paid_id = *truth.paid.keys().find(|id| **id >= first).unwrap();
    let calculate = format!("/checkpoint/calculate-rewards/{paid_id}");
    let (_, stored) = w.psy_get(&format!("/checkpoint/distributions/{paid_id}")).await;
    let worker = truth.paid[&paid_id].jobs[0].worker.clone();
    let (_, stats_before) = w.psy_get(&format!("/checkpoint/rewards/{worker}/stats")).await;
    for _ in 0..2 {
        let (status, answer) = w.psy_post_raw(&calculate, Vec::new(), Some(&bearer())).await;
        assert_eq!((status, &answer), (200, &stored));
    }
    let (status, answer) =
        w.psy_post_raw(&format!("/checkpoint/calculate-rewards/{last}"), Vec::new(), Some(&bearer())).await;
    assert_eq!((status, answer), (200, json!([])), "a checkpoint that is not final pays nothing yet");
    let (_, summary) = w.psy_get(&format!("/checkpoint/summary/{last}")).await;
    assert_eq!(summary["processing_status"], "Open", "and is not settled by asking");
    assert_eq!(w.psy_get(&format!("/checkpoint/rewards/{worker}/stats")).await.1, stats_before);

    check_reads(&w, &state, &truth).await;

    // Replay from genesis: every read answers exactly as before.
    let paths = replay_paths(&truth, first, &worker);
    w.assert_psy_same_after_replay(&paths).await;
    w.stop().await;
}

/// The checkpoint and reward reads against the truth.
async fn check_reads(w: &Stack, state: &ExpectedPsy, truth: &RewardTruth) {
    for (id, payout) in &truth.paid {
        let leaf = &state.checkpoints[&id.to_string()];
        let jobs: Vec<&Value> = state.jobs.values().filter(|j| j["checkpoint_id"].as_u64() == Some(*id)).collect();
        let count = |status: &str| jobs.iter().filter(|j| j["status"] == status).count();
        let workers: BTreeSet<&str> = jobs.iter().filter_map(|j| j["public_key"].as_str()).collect();
        let (status, stats) = w.psy_get(&format!("/checkpoint/stats/{id}")).await;
        assert_eq!(status, 200);
        let expected = json!({
            "checkpoint_id": id, "total_jobs": jobs.len(), "completed_jobs": count("COMPLETED"),
            "failed_jobs": count("FAILED"), "total_rewards_distributed": payout.reward_per_job * payout.jobs.len() as u64,
            "unique_workers": workers.len(), "fees_collected": leaf["fees_collected"],
            "user_ops_processed": leaf["user_ops_processed"], "total_transactions": leaf["total_transactions"],
            "slots_modified": leaf["slots_modified"],
        });
        for (field, value) in expected.as_object().unwrap() {
            assert_eq!(&stats[field], value, "/checkpoint/stats/{id} {field}");
        }
        let (_, events) = w.psy_get(&format!("/checkpoint/job-events/{id}")).await;
        let events = events.as_array().unwrap();
        // In time order (ties in log order, which the truth does not know): same jobs, times ascend.
        let mut listed: Vec<&str> = events.iter().map(|e| e["job_id"].as_str().unwrap()).collect();
        let time =
            |e: &Value| shared::psy_model::Timestamp::parse("timestamp", e["timestamp"].as_str().unwrap()).unwrap();
        let times: Vec<_> = events.iter().map(time).collect();
        assert!(times.windows(2).all(|p| p[0] <= p[1]), "/checkpoint/job-events/{id} in time order");
        let mut kept: Vec<&str> = payout.jobs.iter().map(|j| j.job_id.as_str()).collect();
        listed.sort_unstable();
        kept.sort_unstable();
        assert_eq!(listed, kept, "/checkpoint/job-events/{id}");
    }
    // One worker's reward reads.
    let mut by_worker: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for (id, payout) in &truth.paid {
        for job in &payout.jobs {
            by_worker.entry(job.worker.as_str()).or_default().push((*id, payout.reward_per_job));
        }
    }
    let (worker, rewards) = by_worker.iter().max_by_key(|(_, r)| r.len()).unwrap();
    let total: u64 = rewards.iter().map(|r| r.1).sum();
    let checkpoints: BTreeSet<u64> = rewards.iter().map(|r| r.0).collect();
    let (status, stats) = w.psy_get(&format!("/checkpoint/rewards/{worker}/stats")).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (&stats["total_rewards_all_time"], &stats["total_jobs_completed"], &stats["total_checkpoints_participated"]),
        (&json!(total), &json!(rewards.len()), &json!(checkpoints.len()))
    );
    let middle = *checkpoints.iter().nth(checkpoints.len() / 2).unwrap();
    let (status, legacy) = w.psy_get(&format!("/rewards/{worker}?checkpoint_id={middle}")).await;
    assert_eq!(status, 200);
    let claimed: Vec<&(u64, u64)> = rewards.iter().filter(|r| r.0 < middle).collect();
    assert_eq!(legacy["claimed_proofs"], claimed.len());
    assert_eq!(legacy["claimed_rewards"], claimed.iter().map(|r| r.1).sum::<u64>());
    assert_eq!(legacy["unclaimed_proofs"], rewards.len() - claimed.len());
    assert_eq!(legacy["total_rewards"], total);
    assert_eq!(w.psy_get(&format!("/rewards/{worker}")).await.0, 400, "checkpoint_id is required");
    let (status, all_time) = w.psy_get(&format!("/rewards_aggregations/{worker}?bucket=all_time")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&all_time[0]["total_rewards"], &all_time[0]["completed_proofs"]),
        (&json!(total), &json!(rewards.len()))
    );
    assert_eq!(w.psy_get(&format!("/rewards_aggregations/{worker}?bucket=invalid")).await.0, 400);
}

fn replay_paths(truth: &RewardTruth, first: u64, worker: &str) -> Vec<String> {
    let paid = *truth.paid.keys().find(|id| **id >= first).unwrap();
    [
        "/stats".to_owned(),
        format!("/worker_events?from_checkpoint_id={first}&limit=1000"),
        "/checkpoint/stats".into(),
        format!("/checkpoint/stats/{paid}"),
        format!("/checkpoint/job-events/{paid}"),
        format!("/checkpoint/summary/{paid}"),
        format!("/checkpoint/distributions/{paid}"),
        format!("/checkpoint/rewards/{worker}?time_period=1h"),
        format!("/checkpoint/rewards/{worker}/stats"),
        format!("/rewards/{worker}?checkpoint_id={paid}"),
        format!("/rewards_aggregations/{worker}?bucket=1w"),
        "/contracts?limit=1000".into(),
    ]
    .into()
}

fn signed_registration(key: &SigningKey, handle: &str, label: &str) -> Value {
    let public = key.verifying_key().to_bytes();
    let message = query_api::psy::register::canonical_message(&public, handle, label);
    json!({
        "public_key": format!("0x{}", shared::field::hex(&public)),
        "twitter_handle": handle,
        "label": label,
        "signature": bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_verified_and_stored_once() {
    let w = Stack::builder().jwt_secret(SECRET).start().await;
    let key = SigningKey::from_bytes(&[42; 32]);
    let body = signed_registration(&key, "@miner", "Rig #1");
    let (status, answer) = w.psy_post("/register", &body, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true);
    let public_hex = body["public_key"].as_str().unwrap().to_owned();
    let (status, info) = w.psy_until(&format!("/user_info?public_key={public_hex}"), |s, _| s == 200).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!((&info["twitter_handle"], &info["label"]), (&json!("@miner"), &json!("Rig #1")));
    let before = w.log.last_seq();
    let (status, again) = w.psy_post("/register", &body, None).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(w.log.last_seq(), before, "nothing stored twice");
    let mut forged = body.clone();
    forged["label"] = json!("Rig #2");
    assert_eq!(w.psy_post("/register", &forged, None).await.0, 401);
    w.stop().await;
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame of `socket`, as JSON.
async fn next_text(socket: &mut Socket) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match socket.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                    return serde_json::from_str::<Value>(&text).unwrap()
                }
                Some(Ok(_)) => {}
                other => panic!("stream ended: {other:?}"),
            }
        }
    });
    frame.await.expect("a broadcast within 30 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tps_counts_the_real_weights_in_both_forms() {
    let w = Stack::builder().jwt_secret(SECRET).start().await;
    let at = |offset: i64| shared::psy_model::Timestamp::from_unix_seconds(w.now + offset).to_string();
    let user = |i: usize, tx: &str, offset: i64| {
        json!({"user_id": format!("tps_user_{i}"), "public_key": format!("tps_key_{i}"), "tx_type": tx,
               "metadata": {"transaction_count": 7}, "timestamp": at(offset)})
    };
    // Weighted 1 each: 2 registrations, 1 deployment, 1 end cap; GUTA weighs 0; one is too old.
    let events = vec![
        user(0, "REGISTER_USER", -1),
        user(1, "REGISTER_USER", -2),
        user(2, "DEPLOY_CONTRACT", -3),
        user(3, "USER_ENDCAP", -4),
        user(4, "GUTA", -1),
        user(5, "GUTA", -2),
        user(6, "REGISTER_USER", -30),
    ];
    let (status, body) = w.psy_post("/telemetry/events", &json!({"user_events": events}), Some(&token())).await;
    assert_eq!((status, &body["processed_count"]), (200, &json!(7)), "{body}");
    let state = expected_psy(w.truth_lines.iter().map(String::as_str));
    let block_height = state.worker_events.iter().filter_map(|e| e["checkpoint_id"].as_i64()).max().unwrap_or(0);
    let day = (w.now - 86_400) * 1_000_000..=w.now * 1_000_000;
    let chain_day = state
        .user_events
        .iter()
        .filter(|e| day.contains(&e["timestamp_us"].as_i64().unwrap()) && e["tx_type"] != "GUTA")
        .count();

    let flat_url = format!("ws://{}/ws/tps", w.api().psy_addr);
    let wrapped_url = format!("ws://{}/ws/tps?format=wrapped", w.api().psy_addr);
    let (mut flat, _) = tokio_tungstenite::connect_async(&flat_url).await.unwrap();
    let (mut wrapped, _) = tokio_tungstenite::connect_async(&wrapped_url).await.unwrap();
    // Marker: a broadcast that counts the posted events (broadcasts come every 100 ms).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let message = loop {
        let message = next_text(&mut flat).await;
        if message["transaction_count"] == 4 || std::time::Instant::now() > deadline {
            break message;
        }
    };
    assert_eq!(
        message,
        json!({"timestamp": query_api::timefmt::rfc3339(w.now), "tps": 4.0 / 12.0, "block_height": block_height,
               "total_transactions_24h": 5 + chain_day, "transaction_count": 4, "time_window_seconds": 12})
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let real = loop {
        let message = next_text(&mut wrapped).await;
        if message["data"]["transaction_count"] == 4 || std::time::Instant::now() > deadline {
            break message;
        }
    };
    assert_eq!(
        real,
        json!({"event_type": "TpsUpdate", "data": {"tps": 4.0 / 12.0, "transaction_count": 4,
               "time_window_seconds": 12, "block_height": block_height,
               "timestamp": query_api::timefmt::rfc3339(w.now)}, "timestamp": query_api::timefmt::rfc3339(w.now)})
    );
    assert_eq!(w.psy_get("/ws/tps?format=xml").await.0, 400);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tps_clients_receive_broadcasts_and_a_stalled_client_delays_no_one() {
    let w = Stack::start().await;
    let url = format!("ws://{}/ws/tps", w.api().psy_addr);
    let (mut reader, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (_stalled, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (status, _) = w.psy_get("/ws/tps").await;
    assert_eq!(status, 400, "a plain GET is not a WebSocket handshake");
    let mut received = Vec::new();
    while received.len() < 20 {
        received.push(next_text(&mut reader).await);
    }
    let metrics_url = format!("http://{}/metrics", w.api().metrics_addr.unwrap());
    let metrics = w.client.get(&metrics_url).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("query_api_ws_clients 2"), "{metrics}");
    assert!(
        metrics.contains(r#"query_api_requests_total{route="/ws/tps",status="400",surface="psy"} 1"#),
        "the plain GET is counted under its route: {metrics}"
    );
    let state = expected_psy(w.truth_lines.iter().map(String::as_str));
    let block_height = state.worker_events.iter().filter_map(|e| e["checkpoint_id"].as_i64()).max().unwrap_or(0);
    for message in received {
        let keys: BTreeSet<&str> = message.as_object().unwrap().keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> =
            ["timestamp", "tps", "block_height", "total_transactions_24h", "transaction_count", "time_window_seconds"]
                .into();
        assert_eq!(keys, expected, "{message}");
        assert_eq!(message["timestamp"], query_api::timefmt::rfc3339(w.now));
        assert_eq!(message["block_height"], block_height);
    }
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_control_endpoint_writes_answer_503_and_store_nothing() {
    let w = Stack::builder()
        .jwt_secret(SECRET)
        .query(|config| {
            config.control = None;
        })
        .start()
        .await;
    let before = w.log.last_seq();
    let key = SigningKey::from_bytes(&[43; 32]);
    let body = signed_registration(&key, "@nowhere", "Rig without a control endpoint");
    let (status, answer) = w.psy_post("/register", &body, None).await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer.to_string().to_lowercase().contains("control"), "the answer says why: {answer}");
    let feeds = feed(highest_chain_checkpoint(&w) + 100, 1);
    for post in &feeds[0].posts {
        let (status, answer) = w.psy_post_raw(post.route(), post.body().unwrap(), Some(&bearer())).await;
        assert_eq!(status, 503, "{answer}");
    }
    let public_hex = body["public_key"].as_str().unwrap().to_owned();
    assert_eq!(w.psy_get(&format!("/user_info?public_key={public_hex}")).await.0, 404, "nothing registered");
    assert_eq!(w.log.last_seq(), before, "the log holds nothing new");
    w.stop().await;
}
