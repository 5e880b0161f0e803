//! The read halves of the real Psy example clients' request sequences
//! (`../shared/reference/psy-real.md` §5, `psy_api_services/examples/*.rs`): the requests they
//! send, with their spellings and key forms, and what each client expects of each answer. Their
//! telemetry posts wait for `POST /telemetry/*` (issue 14, item 4); the answers here are over the
//! chain feed, checked against the ground truth where the client reads values.

mod common;

use common::{generous, world, World};
use serde_json::Value;

/// The 20-byte key the real clients use for users and workers.
const CLIENT_KEY: &str = "0x1234567890abcdef1234567890abcdef12345678";

fn ground_truth_count(w: &World, name: &str, keep: impl Fn(&Value) -> bool) -> usize {
    w.truth_lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|e| e["program"] == "psy" && e["name"] == name && keep(e))
        .count()
}

/// The client unwraps the body `as_array`.
async fn array(w: &World, path: &str) -> Vec<Value> {
    let (status, body) = w.psy_get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body.as_array().unwrap_or_else(|| panic!("{path}: not an array: {body}")).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_example_clients_read_what_they_expect() {
    let w = world(generous(), None).await;
    let now = query_api::timefmt::rfc3339(w.now);
    let day_ago = query_api::timefmt::rfc3339(w.now - 86_400);

    // user_management.rs: a user never registered answers 404 (with our JSON error body).
    let (status, body) = w.psy_get(&format!("/user_info?public_key={CLIENT_KEY}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("Not Found")), "{body}");

    // worker_events.rs, step 3 (it sends `limit`-less requests: the default 300 applies).
    let worker_events = ground_truth_count(&w, "WorkerJobUpdated", |_| true);
    assert_eq!(array(&w, "/worker_events").await.len(), worker_events.min(300));
    let realm_0 = ground_truth_count(&w, "WorkerJobUpdated", |e| e["fields"]["realm_id"] == 0);
    assert_eq!(array(&w, "/worker_events?realm_id=0").await.len(), realm_0.min(300));
    let completed = ground_truth_count(&w, "WorkerJobUpdated", |e| e["fields"]["status"] == "Completed");
    assert!(completed > 0);
    let by_real = array(&w, "/worker_events?status=COMPLETED").await;
    assert_eq!(by_real.len(), completed.min(300));
    assert!(by_real.iter().all(|e| e["status"] == "Completed"), "answers keep the document's spelling");
    let in_window = |e: &Value| (w.now - 86_400..=w.now).contains(&e["block_time"].as_i64().unwrap());
    let recent = ground_truth_count(&w, "WorkerJobUpdated", in_window);
    assert!(recent > 0, "the feed has events in the last day");
    let path = format!("/worker_events?start_time={day_ago}&end_time={now}");
    assert_eq!(array(&w, &path).await.len(), recent.min(300), "{path}");
    let mut times: Vec<i64> = w
        .truth_lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|e| e["program"] == "psy" && e["name"] == "WorkerJobUpdated")
        .map(|e| e["block_time"].as_i64().unwrap())
        .collect();
    times.sort_unstable();
    let (from, to) = (times[times.len() / 4], times[times.len() / 2]);
    let window = |e: &Value| (from..=to).contains(&e["block_time"].as_i64().unwrap());
    let narrow = ground_truth_count(&w, "WorkerJobUpdated", window);
    assert!(narrow > 0 && narrow < worker_events.min(1000), "a window that selects some events: {narrow}");
    let (from, to) = (query_api::timefmt::rfc3339(from), query_api::timefmt::rfc3339(to));
    let path = format!("/worker_events?limit=1000&start_time={from}&end_time={to}");
    assert_eq!(array(&w, &path).await.len(), narrow, "{path}");
    // Step 4 and 5: aggregations and /stats are JSON (printed).
    for bucket in ["1h", "1d", "1w"] {
        let (status, body) = w.psy_get(&format!("/worker_events_aggregations?end_time={now}&bucket={bucket}")).await;
        assert_eq!(status, 200, "{bucket}: {body}");
        let (status, body) = w.psy_get(&format!("/user_events_aggregations?end_time={now}&bucket={bucket}")).await;
        assert_eq!(status, 200, "{bucket}: {body}");
    }
    let (status, stats) = w.psy_get("/stats").await;
    assert!(status == 200 && stats.is_object(), "{stats}");

    // user_events.rs, step 2: arrays, with the real user id and tx_type spellings.
    let user_events = ["UserRegistered", "ContractDeployed", "UserTransactionExecuted"]
        .iter()
        .map(|name| ground_truth_count(&w, name, |_| true))
        .sum::<usize>();
    assert_eq!(array(&w, "/user_events").await.len(), user_events.min(300));
    assert_eq!(array(&w, "/user_events?user_id=user_001").await, Vec::<Value>::new(), "no chain user has that id");
    let registrations = ground_truth_count(&w, "UserRegistered", |_| true);
    let by_real = array(&w, "/user_events?tx_type=REGISTER_USER").await;
    assert_eq!(by_real.len(), registrations.min(300));
    assert!(by_real.iter().all(|e| e["tx_type"] == "RegisterUser"));
    array(&w, &format!("/user_events?start_time={day_ago}&end_time={now}")).await;

    // stats.rs: every body is JSON; the 20-byte worker key is looked up, not refused.
    for path in ["/stats", "/stats/realms", "/stats/realms/16384"] {
        let (status, body) = w.psy_get(path).await;
        assert!(matches!(status, 200 | 404), "{path}: {status} {body}");
    }
    let (status, body) = w.psy_get(&format!("/stats/workers/{CLIENT_KEY}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("Not Found")), "{body}");

    // rewards_aggregations.rs, steps 3 and 4: arrays for the real buckets, 400 for `invalid`.
    let pk = "rewards_agg_test_0xabcdef123456789";
    for query in ["bucket=1d&limit=10", "bucket=1w&limit=6", "bucket=1m&limit=3"] {
        let (status, body) = w.psy_get(&format!("/rewards_aggregations/{pk}?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
    }
    let path = format!("/rewards_aggregations/{pk}?bucket=1d&start_time={day_ago}&end_time={now}&limit=10");
    assert_eq!(w.psy_get(&path).await.0, 200);
    assert_eq!(w.psy_get(&format!("/rewards_aggregations/{pk}?bucket=invalid")).await.0, 400, "asserted by the client");
    w.api.stop().await;
}
