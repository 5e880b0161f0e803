//! The real Psy example clients' request sequences (`../shared/reference/psy-real.md` §5,
//! `psy_api_services/examples/*.rs`) replayed against the running service with a telemetry
//! token injected (the examples send none; the real JWT-protected service would answer 401):
//! their telemetry posts, then their reads with the real spellings and key forms, and the TPS
//! stream. Every answer is checked to parse as that client parses it; where a client reads
//! values, they are checked against the state folded from ground truth and the posts.
//!
//! Their "now" is the service's clock (the world's fixed time). `websocket.rs` subscribes to
//! `/ws/user_event` and `/ws/worker_event`, which the API document does not have: they answer 404.

use std::time::Duration;

use futures::StreamExt;
use query_api::auth::{unix_now, Auth};
use serde_json::{json, Value};
use test_support::stack::Stack;

/// The 20-byte key the real clients use for users and workers.
const CLIENT_KEY: &str = "0x1234567890abcdef1234567890abcdef12345678";
const SECRET: &str = "client-secret";

fn token() -> String {
    Auth::new(SECRET).mint("example-client", 1, unix_now())
}

/// The client unwraps the body `as_array`.
async fn array(w: &Stack, path: &str) -> Vec<Value> {
    let (status, body) = w.psy_get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body.as_array().unwrap_or_else(|| panic!("{path}: not an array: {body}")).clone()
}

fn job_id(circuit_type: u64) -> Value {
    json!({"topic": 0, "goal_id": 0, "slot_id": 0, "circuit_type": circuit_type, "group_id": 0, "sub_group_id": 0,
           "task_index": 0, "data_type": 8, "data_index": 0})
}

fn at(w: &Stack, offset_secs: i64) -> String {
    shared::psy_model::Timestamp::from_unix_seconds(w.now + offset_secs).to_string()
}

#[allow(clippy::too_many_arguments)]
fn worker_event(
    w: &Stack,
    key: &str,
    status: &str,
    source: &str,
    realm: i64,
    cp: i64,
    circuit: u64,
    offset: i64,
) -> Value {
    json!({"realm_id": realm, "public_key": key, "status": status, "source": source, "job_id": job_id(circuit),
           "checkpoint_id": cp, "duration": 15000, "metadata": {"circuit_type": "UserEndCap"},
           "timestamp": at(w, offset), "created_at": at(w, offset), "updated_at": at(w, offset)})
}

fn user_event(w: &Stack, user: &str, tx_type: &str, metadata: Value, offset: i64) -> Value {
    json!({"user_id": user, "public_key": format!("{user}_key"), "tx_type": tx_type, "metadata": metadata,
           "timestamp": at(w, offset), "created_at": at(w, offset), "updated_at": at(w, offset)})
}

/// Posts a telemetry body with the injected token; the client prints the JSON answer.
async fn post(w: &Stack, body: Value) -> Value {
    let (status, answer) = w.psy_post("/telemetry/events", &body, Some(&token())).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true, "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_example_clients_get_what_they_parse() {
    let w = Stack::builder().jwt_secret(SECRET).start().await;
    let now = query_api::timefmt::rfc3339(w.now);
    let day_ago = query_api::timefmt::rfc3339(w.now - 86_400);

    // user_management.rs: both answers are JSON bodies (printed). The mock signature and
    // 20-byte key do not verify: 400, with a JSON body.
    let register = json!({"public_key": CLIENT_KEY, "twitter_handle": "@example_user", "label": "QED Test User",
                          "signature": "mock_signature_123456789"});
    let (status, body) = w.psy_post("/register", &register, None).await;
    assert!(status == 400 && body.is_object(), "{status} {body}");
    let (status, body) = w.psy_get(&format!("/user_info?public_key={CLIENT_KEY}")).await;
    assert!(status == 404 && body.is_object(), "{status} {body}");

    // worker_events.rs: 4 events, then the reads; each must be an array.
    let answer = post(
        &w,
        json!({"worker_events": [
            worker_event(&w, CLIENT_KEY, "PENDING", "REALM", 0, 100, 6, -4),
            worker_event(&w, CLIENT_KEY, "PROCESSING", "REALM", 0, 101, 6, -3),
            worker_event(&w, CLIENT_KEY, "COMPLETED", "REALM", 16384, 102, 6, -2),
            worker_event(&w, CLIENT_KEY, "FAILED", "COORDINATOR", 16384, 103, 6, -1),
        ]}),
    )
    .await;
    assert_eq!(answer["processed_count"], 4);
    // Marker instead of the client's 0.5 s sleep: its FAILED event is listed.
    let (_, listed) = w
        .psy_until(&format!("/worker_events?public_key={CLIENT_KEY}"), |_, b| {
            b.as_array().is_some_and(|a| a.len() == 4)
        })
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");
    array(&w, "/worker_events").await;
    let realm_0 = array(&w, "/worker_events?realm_id=0").await;
    assert!(realm_0.iter().all(|e| e["realm_id"] == 0));
    let completed = array(&w, "/worker_events?status=COMPLETED").await;
    assert!(!completed.is_empty() && completed.iter().all(|e| e["status"] == "Completed"), "the document's spelling");
    array(&w, &format!("/worker_events?start_time={day_ago}&end_time={now}")).await;
    for bucket in ["1h", "1d", "1w"] {
        let (status, body) = w.psy_get(&format!("/worker_events_aggregations?end_time={now}&bucket={bucket}")).await;
        assert!(status == 200 && body.is_array(), "{bucket}: {body}");
    }
    let (status, stats) = w.psy_get("/stats").await;
    assert!(status == 200 && stats.is_object(), "{stats}");

    // user_events.rs: 5 events, then the reads with the real spellings.
    let none = json!({});
    post(
        &w,
        json!({"user_events": [
            user_event(&w, "user_001", "REGISTER_USER", none.clone(), -5),
            user_event(&w, "user_002", "DEPLOY_CONTRACT", none.clone(), -5),
            user_event(&w, "user_003", "GUTA", none.clone(), -5),
            user_event(&w, "user_001", "DEPLOY_CONTRACT", none.clone(), -4),
            user_event(&w, "user_004", "REGISTER_USER", none.clone(), -4),
        ]}),
    )
    .await;
    let (_, mine) =
        w.psy_until("/user_events?user_id=user_001", |_, b| b.as_array().is_some_and(|a| a.len() == 2)).await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2, "user_001's two events: {mine:?}");
    assert!(mine.iter().all(|e| e["user_id"] == "user_001"));
    array(&w, "/user_events").await;
    let registrations = array(&w, "/user_events?tx_type=REGISTER_USER").await;
    assert!(registrations.iter().all(|e| e["tx_type"] == "RegisterUser"));
    array(&w, &format!("/user_events?start_time={day_ago}&end_time={now}")).await;
    for bucket in ["1h", "1d", "1w"] {
        let (status, body) = w.psy_get(&format!("/user_events_aggregations?end_time={now}&bucket={bucket}")).await;
        assert!(status == 200 && body.is_array(), "{bucket}: {body}");
    }

    // stats.rs: every body is JSON.
    for path in [
        "/stats".to_owned(),
        "/stats/realms".into(),
        "/stats/realms/16384".into(),
        format!("/stats/workers/{CLIENT_KEY}"),
    ] {
        let (status, body) = w.psy_get(&path).await;
        assert!(matches!(status, 200 | 404) && body.is_object(), "{path}: {status} {body}");
    }

    // worker_rewards.rs: 6 events, then /rewards with checkpoint_id; each answer has the 12
    // fields of the client's WorkerRewards, and total = claimed + unclaimed.
    let (w1, w2) = ("worker1_key_0x1234567890abcdef", "worker2_key_0x1234567890abcdef");
    post(
        &w,
        json!({"worker_events": [
            worker_event(&w, w1, "COMPLETED", "REALM", 16384, 50, 7, -6),
            worker_event(&w, w1, "COMPLETED", "REALM", 16384, 75, 12, -5),
            worker_event(&w, w1, "COMPLETED", "REALM", 16384, 120, 11, -4),
            worker_event(&w, w2, "COMPLETED", "REALM", 16384, 30, 13, -3),
            worker_event(&w, w1, "COMPLETED", "REALM", 16384, 60, 6, -2),
            worker_event(&w, w1, "FAILED", "REALM", 16384, 65, 15, -1),
        ]}),
    )
    .await;
    for (key, checkpoint) in [(w1, 100), (w1, 50), (w1, 150), (w2, 50)] {
        let (status, body) = w.psy_get(&format!("/rewards/{key}?checkpoint_id={checkpoint}")).await;
        assert_eq!(status, 200, "{body}");
        for field in [
            "claimed_proofs",
            "claimed_rewards",
            "unclaimed_proofs",
            "unclaimed_rewards",
            "total_proofs",
            "total_rewards",
            "total_rewards_24h",
            "total_rewards_7d",
            "total_rewards_30d",
            "checkpoint_id",
        ] {
            assert!(body[field].is_i64(), "{field}: {body}");
        }
        assert!(body["worker_public_key"].is_string() && body["last_updated"].is_string(), "{body}");
        let n = |f: &str| body[f].as_i64().unwrap();
        assert_eq!(n("total_proofs"), n("claimed_proofs") + n("unclaimed_proofs"));
        assert_eq!(n("total_rewards"), n("claimed_rewards") + n("unclaimed_rewards"));
    }

    // rewards_aggregations.rs: 7 completed GUTA events, then the four reads; 200 answers are
    // arrays of {bucket, public_key, completed_proofs, total_rewards, max_checkpoint}.
    let pk = "rewards_agg_test_0xabcdef123456789";
    let events: Vec<Value> = [(0, 100), (0, 105), (-1, 95), (-5, 80), (-5, 85), (-15, 60), (-40, 30)]
        .iter()
        .map(|(days, cp)| worker_event(&w, pk, "COMPLETED", "REALM", 0, *cp, 7, days * 86_400 - 1))
        .collect();
    post(&w, json!({"worker_events": events})).await;
    let start = query_api::timefmt::rfc3339(w.now - 7 * 86_400);
    for query in [
        "bucket=1d&limit=10".to_owned(),
        "bucket=1w&limit=6".into(),
        "bucket=1m&limit=3".into(),
        format!("bucket=1d&start_time={start}&end_time={now}&limit=10"),
    ] {
        for row in array(&w, &format!("/rewards_aggregations/{pk}?{query}")).await {
            assert!(row["bucket"].is_string() && row["public_key"] == pk, "{row}");
            assert!(row["completed_proofs"].is_i64() && row["total_rewards"].is_i64(), "{row}");
            assert!(row["max_checkpoint"].is_i64() || row["max_checkpoint"].is_null(), "{row}");
        }
    }
    assert_eq!(w.psy_get(&format!("/rewards_aggregations/{pk}?bucket=invalid")).await.0, 400, "asserted by the client");

    // websocket.rs: the document has no /ws/user_event or /ws/worker_event.
    for path in ["/ws/user_event", "/ws/worker_event"] {
        let url = format!("ws://{}{path}", w.api().psy_addr);
        assert!(tokio_tungstenite::connect_async(&url).await.is_err(), "{path} is not served");
    }

    // websocket_tps.rs: /ws/tps in the wrapped form; three bursts of 10 user events 6 s apart
    // (here: as soon as the previous burst is counted); frames parse as WebSocketEvent with
    // event_type "TpsUpdate" and TpsData.
    let url = format!("ws://{}/ws/tps?format=wrapped", w.api().psy_addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    for burst in 0..3 {
        let mut events = vec![
            user_event(&w, &format!("tps_{burst}_0"), "REGISTER_USER", none.clone(), -1),
            user_event(&w, &format!("tps_{burst}_1"), "REGISTER_USER", none.clone(), -1),
            user_event(&w, &format!("tps_{burst}_2"), "DEPLOY_CONTRACT", none.clone(), -1),
        ];
        for (i, metadata) in [
            json!({"transaction_count": 3}),
            json!({"transaction_count": 7}),
            json!({"transaction_count": 15}),
            json!({"transactions": 5}),
            json!({"tx_count": 12}),
            json!({"transaction_count": 3}),
            json!({"transactions": 5}),
        ]
        .into_iter()
        .enumerate()
        {
            events.push(user_event(&w, &format!("tps_{burst}_g{i}"), "GUTA", metadata, -1));
        }
        post(&w, json!({"user_events": events})).await;
        // In the 12 s window: user_events.rs's 4 weighted events (4 and 5 s old) and 3 per burst.
        let counted = 4 + 3 * (burst + 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let frame = loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), socket.next()).await.unwrap().unwrap().unwrap();
            let tokio_tungstenite::tungstenite::Message::Text(text) = frame else { continue };
            let frame: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(frame["event_type"], "TpsUpdate", "{frame}");
            let data = &frame["data"];
            assert!(
                data["tps"].is_f64() && data["transaction_count"].is_i64() && data["block_height"].is_i64(),
                "{frame}"
            );
            assert!(
                data["time_window_seconds"].is_i64() && data["timestamp"].is_string() && frame["timestamp"].is_string()
            );
            if data["transaction_count"] == counted || std::time::Instant::now() > deadline {
                break frame;
            }
        };
        assert_eq!(frame["data"]["transaction_count"], counted, "GUTA weighs 0: {frame}");
        assert_eq!(frame["data"]["tps"], counted as f64 / 12.0);
    }
    w.stop().await;
}
