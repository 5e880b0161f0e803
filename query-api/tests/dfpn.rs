//! The DFPN surface end to end: fixture chain → indexer (backfill + projector) → query-api, all
//! on loopback. Every answer is compared with what the test computes from the ground truth.

mod common;

use common::{generous, world};
use query_api::ratelimit::Limits;
use serde_json::{json, Value};

fn ids(values: &Value) -> Vec<String> {
    values.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_and_filter_matches_the_ground_truth() {
    let w = world(generous(), None).await;
    let e = &w.expected;

    let health = w.ok("/health").await;
    assert_eq!(
        health,
        json!({"status": "healthy", "request_count": e.requests.len(), "worker_count": e.workers.len(), "model_count": e.models.len()})
    );

    let all_requests = w.newest_first("RequestCreated", "request", &e.requests, |_| true);
    assert_eq!(
        w.ok("/requests").await,
        Value::Array(all_requests.iter().take(100).cloned().collect()),
        "default limit 100, newest first"
    );
    assert_eq!(w.ok("/requests?limit=7&offset=5").await, Value::Array(all_requests[5..12].to_vec()));
    assert_eq!(w.ok(&format!("/requests?offset={}", all_requests.len())).await, json!([]), "past the end");
    assert_eq!(
        w.ok("/requests?limit=5000").await.as_array().unwrap().len(),
        all_requests.len().min(1000),
        "limit capped at 1000"
    );
    assert_eq!(w.ok("/requests?limit=0").await, json!([]));
    for status in ["Created", "Committed", "Revealed", "Finalized", "Cancelled", "Expired", "Disputed"] {
        let expected = w.newest_first("RequestCreated", "request", &e.requests, |r| r["status"] == status);
        assert_eq!(
            w.ok(&format!("/requests?status={status}&limit=1000")).await,
            Value::Array(expected),
            "status {status}"
        );
    }
    let requester = all_requests[0]["requester"].as_str().unwrap();
    let expected = w.newest_first("RequestCreated", "request", &e.requests, |r| r["requester"] == requester);
    assert!(!expected.is_empty());
    assert_eq!(w.ok(&format!("/requests?requester={requester}&limit=1000")).await, Value::Array(expected));
    for bits in [1u64, 8, 9, 34] {
        let expected = w.newest_first("RequestCreated", "request", &e.requests, |r| {
            r["modalities"].as_u64().unwrap() & bits == bits
        });
        assert_eq!(
            w.ok(&format!("/requests?modalities={bits}&limit=1000")).await,
            Value::Array(expected),
            "modalities {bits}"
        );
    }
    let combined = w.newest_first("RequestCreated", "request", &e.requests, |r| {
        r["status"] == "Finalized" && r["modalities"].as_u64().unwrap() & 1 == 1
    });
    assert_eq!(w.ok("/requests?status=Finalized&modalities=1&limit=1000").await, Value::Array(combined));
    for request in all_requests.iter().take(20) {
        assert_eq!(&w.ok(&format!("/requests/{}", request["id"].as_str().unwrap())).await, request);
    }
    let arweave: Vec<&Value> =
        e.requests.values().filter(|r| r["storage_uri"].as_str().unwrap().contains("arweave")).collect();
    let mut found = ids(&w.ok("/requests/search?q=arweave&limit=1000").await);
    found.sort();
    let mut wanted: Vec<String> = arweave.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    wanted.sort();
    assert_eq!(found, wanted);
    assert_eq!(w.ok("/requests/search?q=arweave").await.as_array().unwrap().len(), wanted.len().min(100));

    let all_workers = w.newest_first("WorkerRegistered", "worker", &e.workers, |_| true);
    assert_eq!(w.ok("/workers").await, Value::Array(all_workers.clone()));
    for status in ["Active", "Inactive", "Unbonding", "Slashed"] {
        let expected = w.newest_first("WorkerRegistered", "worker", &e.workers, |v| v["status"] == status);
        assert_eq!(w.ok(&format!("/workers?status={status}")).await, Value::Array(expected), "worker status {status}");
    }
    let expected =
        w.newest_first("WorkerRegistered", "worker", &e.workers, |v| v["reputation"].as_u64().unwrap() >= 8000);
    assert_eq!(w.ok("/workers?min_reputation=8000").await, Value::Array(expected));
    let expected = w.newest_first("WorkerRegistered", "worker", &e.workers, |v| {
        v["modalities"].as_u64().unwrap() & 5 == 5 && v["status"] == "Active"
    });
    assert_eq!(w.ok("/workers?modalities=5&status=Active").await, Value::Array(expected));
    assert_eq!(w.ok("/workers?limit=3&offset=2").await, Value::Array(all_workers[2..5].to_vec()));
    let operator = all_workers[3]["operator"].as_str().unwrap();
    assert_eq!(w.ok(&format!("/workers/{operator}")).await, all_workers[3]);
    assert_eq!(w.ok(&format!("/workers?operator={operator}")).await, json!([all_workers[3]]));

    let all_models = w.newest_first("ModelRegistered", "model", &e.models, |_| true);
    assert_eq!(w.ok("/models").await, Value::Array(all_models.clone()));
    for status in ["Active", "Inactive", "Deprecated"] {
        let expected = w.newest_first("ModelRegistered", "model", &e.models, |v| v["status"] == status);
        assert_eq!(w.ok(&format!("/models?status={status}")).await, Value::Array(expected), "model status {status}");
    }
    let developer = all_models[0]["developer"].as_str().unwrap();
    let expected = w.newest_first("ModelRegistered", "model", &e.models, |v| v["developer"] == developer);
    assert_eq!(w.ok(&format!("/models?developer={developer}")).await, Value::Array(expected));
    let expected =
        w.newest_first("ModelRegistered", "model", &e.models, |v| v["modalities"].as_u64().unwrap() & 8 == 8);
    assert_eq!(w.ok("/models?modalities=8").await, Value::Array(expected));
    assert_eq!(w.ok(&format!("/models/{}", all_models[1]["id"].as_str().unwrap())).await, all_models[1]);
    let face: Vec<String> = e
        .models
        .values()
        .filter(|m| m["name"].as_str().unwrap().split('-').any(|t| t == "face"))
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let mut found = ids(&w.ok("/models/search?q=face").await);
    found.sort();
    let mut face_sorted = face.clone();
    face_sorted.sort();
    assert!(!face.is_empty());
    assert_eq!(found, face_sorted, "names and URIs carry the token");
    let plain = w.client.get(format!("{}/requests?limit=50", w.base)).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let gzipped =
        raw.get(format!("{}/requests?limit=50", w.base)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let compressed = gzipped.bytes().await.unwrap();
    let mut decoded = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut decoded).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&decoded).unwrap(), Value::Array(all_requests[..50].to_vec()));
    w.api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_documented_error_body() {
    let w = world(generous(), None).await;
    let cases = [
        ("/requests?status=Bogus", 400, "`status`: invalid RequestStatus value \"Bogus\"; expected one of: Created, Committed, Revealed, Finalized, Cancelled, Expired, Disputed"),
        ("/requests?limit=-1", 400, "`limit` must be a non-negative integer, got \"-1\""),
        ("/requests?offset=abc", 400, "`offset` must be a non-negative integer, got \"abc\""),
        ("/requests?offset=-3", 400, "`offset` must be a non-negative integer, got \"-3\""),
        ("/requests?modalities=64", 400, "`modalities` 64 has bits outside the defined set (image 1, video 2, audio 4, face 8, text 16, voice 32)"),
        ("/requests?requester=not-a-key", 400, "`requester` must be a base58 public key, got \"not-a-key\""),
        ("/requests?colour=red", 400, "unknown parameter `colour`; accepted: status, requester, modalities, limit, offset"),
        ("/workers?min_reputation=10001", 400, "`min_reputation` must be between 0 and 10000, got 10001"),
        ("/workers?status=active", 400, "`status`: invalid WorkerStatus value \"active\"; expected one of: Active, Inactive, Unbonding, Slashed"),
        ("/models?status=Retired", 400, "`status`: invalid ModelStatus value \"Retired\"; expected one of: Active, Inactive, Deprecated"),
        ("/requests/search", 400, "`q` is required"),
        ("/requests/search?q=%20", 400, "`q` must not be empty"),
        ("/requests/unknown-id", 404, "No request found with the given ID \"unknown-id\""),
        ("/workers/unknown", 404, "No worker found for operator \"unknown\""),
        ("/models/unknown", 404, "No model found with the given ID \"unknown\""),
        ("/nowhere", 404, "no such endpoint"),
    ];
    for (path, status, message) in cases {
        let (got, body) = w.get(path).await;
        let reason = if status == 400 { "Bad Request" } else { "Not Found" };
        assert_eq!((got, body), (status, json!({"error": reason, "message": message, "status": status})), "{path}");
    }
    let long = "a".repeat(300);
    let (status, body) = w.get(&format!("/models/search?q={long}")).await;
    assert_eq!((status, body["message"].as_str().unwrap()), (400, "`q` is longer than 256 characters"));
    let (status, body) = w.get("/models/search?q=name:(").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().starts_with("invalid search syntax"), "{body}");
    w.api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_101st_anonymous_request_is_refused_with_headers_and_tokens_get_the_higher_tier() {
    let limits = Limits { anonymous: 100, authenticated: 1_000, window: std::time::Duration::from_secs(3_600) };
    let w = world(limits, Some("test-secret")).await;
    for n in 1..=100u64 {
        let response = w.client.get(format!("{}/health", w.base)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "100");
        assert_eq!(response.headers()["x-ratelimit-remaining"], (100 - n).to_string().as_str());
        assert!(response.headers().contains_key("x-ratelimit-reset"));
    }
    let refused = w.client.get(format!("{}/requests?status=Bogus", w.base)).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let reset: u64 = refused.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > query_api::auth::unix_now());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 429);
    assert_eq!(body["error"], "Too Many Requests");

    let token = query_api::auth::Auth::new("test-secret").mint("dashboard", 1, query_api::auth::unix_now());
    let authed = w.client.get(format!("{}/health", w.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(authed.status(), 200);
    assert_eq!(authed.headers()["x-ratelimit-limit"], "1000");
    let forged = query_api::auth::Auth::new("wrong").mint("dashboard", 1, query_api::auth::unix_now());
    let anonymous = w.client.get(format!("{}/health", w.base)).bearer_auth(&forged).send().await.unwrap();
    assert_eq!(anonymous.status(), 429, "a token signed with another secret counts as anonymous");
    w.api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_before_the_projections_exist_and_follows_the_indexers_commits() {
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let api = query_api::start(query_api::Config {
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        limits: generous(),
        ..query_api::Config::new(dir.path().to_path_buf())
    })
    .await
    .unwrap();
    let base = format!("http://{}", api.dfpn_addr);
    let get = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            let response = reqwest::get(url).await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(
        get("/health").await,
        (200, json!({"status": "healthy", "request_count": 0, "worker_count": 0, "model_count": 0}))
    );
    assert_eq!(get("/requests").await, (200, json!([])));
    assert_eq!(get("/requests/unknown").await.0, 404);

    let node = fixtures::testing::start_node(52, 600, fixtures::node::Faults::default()).await;
    let metrics = Arc::new(indexer::metrics::Metrics::default());
    let context = Arc::new(indexer::backfill::Context {
        rpc: indexer::rpc::Rpc::new(
            &node.http_url(),
            solana_commitment_config::CommitmentConfig::confirmed(),
            metrics.clone(),
        ),
        log: Arc::new(indexer::log::EventLog::open(&dir.path().join("log"), 8 << 20).unwrap()),
        programs: shared::ProgramSet::defaults(),
        metrics,
        concurrency: 8,
    });
    for program in shared::ProgramKind::ALL {
        context.backfill(program, indexer::backfill::BackfillFrom::Genesis).await.unwrap();
    }
    let mut projector = indexer::projector::Projector::open(&dir.path().join("projections")).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    let expected = fixtures::testing::expected_dfpn(node.node.ground_truth(None).lines());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, health) = get("/health").await;
        if health["request_count"] == expected.requests.len() {
            assert_eq!(health["worker_count"], expected.workers.len());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the service never saw the indexer's commit: {health}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    fixtures::testing::produce_slots(&node, 120).await;
    for program in shared::ProgramKind::ALL {
        context.backfill(program, indexer::backfill::BackfillFrom::Cursor).await.unwrap();
    }
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    let grown = fixtures::testing::expected_dfpn(node.node.ground_truth(None).lines());
    assert!(grown.requests.len() > expected.requests.len());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, health) = get("/health").await;
        if health["request_count"] == grown.requests.len() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the open reader never reloaded: {health}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    projector.finish().unwrap();
    node.stop().await;
    api.stop().await;
}
