//! The DFPN surface end to end: fixture chain → indexer (backfill + projector) → query-api, all
//! on loopback. Every answer is compared with what the test computes from the ground truth.

use query_api::ratelimit::Limits;
use serde_json::{json, Value};
use test_support::dfpn::DfpnFamily::{Models, Requests, Workers};
use test_support::stack::{generous, Stack};
use test_support::wait::until;

fn ids(values: &Value) -> Vec<String> {
    values.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_and_filter_matches_the_ground_truth() {
    let w = Stack::start().await;
    let e = &w.expected;

    let health = w.ok("/health").await;
    assert_eq!(
        health,
        json!({"status": "healthy", "request_count": e.requests.len(), "worker_count": e.workers.len(), "model_count": e.models.len()})
    );

    let all_requests = w.newest_first(Requests, |_, _| true);
    assert!(all_requests.len() > 100, "the fixture holds more requests than the default limit");
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
        let expected = w.newest_first(Requests, |r, _| r["status"] == status);
        assert!(!expected.is_empty(), "the fixture has {status} requests");
        assert_eq!(
            w.ok(&format!("/requests?status={status}&limit=1000")).await,
            Value::Array(expected),
            "status {status}"
        );
    }
    // The DFPN dashboard and worker send on-chain names: Open = Created ∪ Committed,
    // CommitClosed = Revealed.
    for (alias, api) in [("Open", &["Created", "Committed"][..]), ("CommitClosed", &["Revealed"][..])] {
        let expected = w.newest_first(Requests, |r, chain| {
            assert_eq!(chain == alias, api.iter().any(|s| r["status"] == *s), "mapping of {r}");
            chain == alias
        });
        assert!(!expected.is_empty());
        assert_eq!(
            w.ok(&format!("/requests?status={alias}&limit=1000")).await,
            Value::Array(expected),
            "alias {alias}"
        );
    }
    let requester = all_requests[0]["requester"].as_str().unwrap();
    let expected = w.newest_first(Requests, |r, _| r["requester"] == requester);
    assert!(!expected.is_empty());
    assert_eq!(w.ok(&format!("/requests?requester={requester}&limit=1000")).await, Value::Array(expected));
    for bits in [1u64, 8, 9, 34] {
        let expected = w.newest_first(Requests, |r, _| r["modalities"].as_u64().unwrap() & bits == bits);
        assert_eq!(
            w.ok(&format!("/requests?modalities={bits}&limit=1000")).await,
            Value::Array(expected),
            "modalities {bits}"
        );
    }
    let by_name = w.newest_first(Requests, |r, _| r["modalities"].as_u64().unwrap() & 9 == 9);
    assert_eq!(
        w.ok("/requests?modalities=image_authenticity,face_manipulation&limit=1000").await,
        Value::Array(by_name),
        "the worker client's modality names"
    );
    let combined =
        w.newest_first(Requests, |r, _| r["status"] == "Finalized" && r["modalities"].as_u64().unwrap() & 1 == 1);
    assert_eq!(w.ok("/requests?status=Finalized&modalities=1&limit=1000").await, Value::Array(combined));
    for request in all_requests.iter().take(20) {
        assert_eq!(&w.ok(&format!("/requests/{}", request["id"].as_str().unwrap())).await, request);
    }

    let all_workers = w.newest_first(Workers, |_, _| true);
    assert_eq!(w.ok("/workers?limit=1000").await, Value::Array(all_workers.clone()));
    for status in ["Active", "Inactive", "Unbonding", "Slashed"] {
        let expected = w.newest_first(Workers, |v, chain| {
            assert_eq!(v["status"], chain, "worker statuses keep the on-chain names");
            v["status"] == status
        });
        assert!(!expected.is_empty(), "the fixture has {status} workers");
        assert_eq!(
            w.ok(&format!("/workers?status={status}&limit=1000")).await,
            Value::Array(expected),
            "worker status {status}"
        );
    }
    let reputations: Vec<u64> = all_workers.iter().map(|v| v["reputation"].as_u64().unwrap()).collect();
    let threshold = (reputations.iter().min().unwrap() + reputations.iter().max().unwrap()).div_ceil(2);
    let expected = w.newest_first(Workers, |v, _| v["reputation"].as_u64().unwrap() >= threshold);
    assert!(!expected.is_empty() && expected.len() < all_workers.len(), "reputations differ: {reputations:?}");
    assert_eq!(w.ok(&format!("/workers?min_reputation={threshold}&limit=1000")).await, Value::Array(expected));
    let expected =
        w.newest_first(Workers, |v, _| v["modalities"].as_u64().unwrap() & 5 == 5 && v["status"] == "Active");
    assert_eq!(w.ok("/workers?modalities=5&status=Active&limit=1000").await, Value::Array(expected));
    assert_eq!(w.ok("/workers?limit=3&offset=2").await, Value::Array(all_workers[2..5].to_vec()));
    let operator = all_workers[3]["operator"].as_str().unwrap();
    assert_eq!(w.ok(&format!("/workers/{operator}")).await, all_workers[3]);
    assert_eq!(w.ok(&format!("/workers?operator={operator}")).await, json!([all_workers[3]]));

    let all_models = w.newest_first(Models, |_, _| true);
    assert_eq!(w.ok("/models?limit=1000").await, Value::Array(all_models.clone()));
    for status in ["Active", "Inactive", "Deprecated"] {
        let expected = w.newest_first(Models, |v, _| v["status"] == status);
        assert!(!expected.is_empty(), "the fixture has {status} models");
        assert_eq!(
            w.ok(&format!("/models?status={status}&limit=1000")).await,
            Value::Array(expected),
            "model status {status}"
        );
    }
    for (alias, api) in [("Pending", "Inactive"), ("Suspended", "Inactive"), ("Retired", "Deprecated")] {
        let expected = w.newest_first(Models, |v, chain| {
            if chain == alias {
                assert_eq!(v["status"], api, "{alias} maps to {api}");
            }
            chain == alias
        });
        assert!(!expected.is_empty(), "the fixture has {alias} models");
        assert_eq!(w.ok(&format!("/models?status={alias}&limit=1000")).await, Value::Array(expected), "alias {alias}");
    }
    let developer = all_models[0]["developer"].as_str().unwrap();
    let expected = w.newest_first(Models, |v, _| v["developer"] == developer);
    assert_eq!(w.ok(&format!("/models?developer={developer}&limit=1000")).await, Value::Array(expected));
    let expected = w.newest_first(Models, |v, _| v["modalities"].as_u64().unwrap() & 8 == 8);
    assert_eq!(w.ok("/models?modalities=8&limit=1000").await, Value::Array(expected));
    assert_eq!(w.ok(&format!("/models/{}", all_models[1]["id"].as_str().unwrap())).await, all_models[1]);
    assert!(all_models.iter().any(|m| m["total_uses"].as_u64().unwrap() > 0), "increment_usage is counted");

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
    w.stop().await;
}

/// The ids of a search's answer, sorted.
async fn found(w: &Stack, path: &str) -> Vec<String> {
    let mut found = ids(&w.ok(path).await);
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_what_users_paste() {
    let w = Stack::start().await;
    let e = &w.expected;
    let encode =
        |q: &str| q.replace('%', "%25").replace('&', "%26").replace('+', "%2B").replace('#', "%23").replace(' ', "%20");
    // Every request by its whole storage URI and by its content id (the last path segment):
    // Arweave ids (43 characters, some starting with `-`), IPFS CIDs, https paths.
    let mut forms = std::collections::BTreeSet::new();
    let (mut long_ids, mut unique_ids) = (0, 0);
    for (id, request) in &e.requests {
        let uri = request["storage_uri"].as_str().unwrap();
        let content_id = uri.rsplit('/').next().unwrap();
        forms.insert(uri.split(':').next().unwrap().to_owned());
        long_ids += usize::from(content_id.len() > 40);
        for q in [uri, content_id] {
            let hits = found(&w, &format!("/requests/search?q={}&limit=1000", encode(q))).await;
            assert!(hits.contains(id), "{q:?} does not find request {id} ({uri})");
        }
        // Ranked by relevance: a content id stored by one request only ranks that request first,
        // whatever its age (requests sharing a token of it rank lower).
        let holders = e.requests.values().filter(|r| r["storage_uri"].as_str().unwrap().contains(content_id)).count();
        if holders == 1 {
            unique_ids += 1;
            let ranked = ids(&w.ok(&format!("/requests/search?q={}&limit=1000", encode(content_id))).await);
            assert_eq!(ranked.first(), Some(id), "{content_id:?} ranks its own request first");
        }
    }
    assert!(long_ids > 0, "content ids over 40 bytes are searched");
    assert!(unique_ids > 10, "{unique_ids} content ids held by one request each");
    assert!(forms.len() >= 3, "several URI forms: {forms:?}");
    assert!(
        e.requests.values().any(|r| r["storage_uri"].as_str().unwrap().rsplit('/').next().unwrap().starts_with('-')),
        "an id starting with `-` is searched"
    );
    let arweave: Vec<String> = e
        .requests
        .iter()
        .filter(|(_, r)| r["storage_uri"].as_str().unwrap().contains("arweave"))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!arweave.is_empty());
    assert_eq!(found(&w, "/requests/search?q=arweave&limit=1000").await, arweave);
    assert_eq!(w.ok("/requests/search?q=arweave").await.as_array().unwrap().len(), arweave.len().min(100));
    // Models by whole name, by a name part and by their Hugging Face URI.
    let newest_first = ids(&Value::Array(w.newest_first(Models, |_, _| true)));
    let age = |id: &String| newest_first.iter().position(|other| other == id).unwrap();
    let mut not_newest = 0;
    for (id, model) in &e.models {
        for q in [model["name"].as_str().unwrap(), model["model_uri"].as_str().unwrap()] {
            let hits = found(&w, &format!("/models/search?q={}&limit=1000", encode(q))).await;
            assert!(hits.contains(id), "{q:?} does not find model {id}");
        }
        // Ranked by relevance: a name no other model has, asked as its words (any of them
        // matches), ranks that model first, above the many models that share some of its words
        // and the later versions of it whose names are longer, whatever their age.
        let name = model["name"].as_str().unwrap();
        if e.models.values().filter(|m| m["name"] == name).count() == 1 {
            let words = name.replace('-', " ");
            let ranked = ids(&w.ok(&format!("/models/search?q={}&limit=1000", encode(&words))).await);
            assert_eq!(ranked.first(), Some(id), "{words:?} ranks its own model first: {ranked:?}");
            not_newest += usize::from(ranked.iter().map(age).min() != Some(age(id)));
        }
    }
    assert!(not_newest > 0, "some ranking differs from newest first, so relevance is what orders it");
    let face: Vec<String> = e
        .models
        .iter()
        .filter(|(_, m)| m["name"].as_str().unwrap().split('-').any(|t| t == "face"))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!face.is_empty());
    assert_eq!(found(&w, "/models/search?q=face&limit=1000").await, face, "names and URIs carry the token");
    assert_eq!(found(&w, "/models/search?q=name:face&limit=1000").await, face, "field syntax still works");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_documented_error_body() {
    let w = Stack::start().await;
    let cases = [
        ("/requests?status=Bogus", 400, "`status`: invalid RequestStatus value \"Bogus\"; expected one of: Created, Committed, Revealed, Finalized, Cancelled, Expired, Disputed (or the on-chain Open, CommitClosed, Finalized, Expired, Cancelled, Disputed)"),
        ("/requests?limit=-1", 400, "`limit` must be a non-negative integer, got \"-1\""),
        ("/requests?offset=abc", 400, "`offset` must be a non-negative integer, got \"abc\""),
        ("/requests?offset=-3", 400, "`offset` must be a non-negative integer, got \"-3\""),
        ("/requests?modalities=256", 400, "`modalities` 256 does not fit the 8-bit modality field"),
        ("/requests?modalities=face", 400, "`modalities` must be an integer bitfield or names among image_authenticity, video_authenticity, audio_authenticity, face_manipulation, voice_cloning, generated_content; got \"face\""),
        ("/requests?requester=not-a-key", 400, "`requester` must be a base58 public key, got \"not-a-key\""),
        ("/requests?colour=red", 400, "unknown parameter `colour`; accepted: status, requester, modalities, limit, offset"),
        ("/workers?min_reputation=10001", 400, "`min_reputation` must be between 0 and 10000, got 10001"),
        ("/workers?status=active", 400, "`status`: invalid WorkerStatus value \"active\"; expected one of: Active, Inactive, Unbonding, Slashed"),
        ("/models?status=Paused", 400, "`status`: invalid ModelStatus value \"Paused\"; expected one of: Active, Inactive, Deprecated (or the on-chain Pending, Active, Retired, Suspended)"),
        ("/requests/search", 400, "`q` is required"),
        ("/requests/search?q=%20", 400, "`q` must not be empty"),
        ("/requests/search?q=%2F%2F", 400, "`q` \"//\" has no letters or digits to search for"),
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
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_101st_anonymous_request_is_refused_with_headers_and_tokens_get_the_higher_tier() {
    let limits = Limits { anonymous: 100, authenticated: 1_000, window: std::time::Duration::from_secs(3_600) };
    let w = Stack::builder().limits(limits).jwt_secret("test-secret").start().await;
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
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_before_the_projections_exist_and_follows_the_indexers_commits() {
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

    let node = test_support::node::start_node(52, 600, fixtures::node::Faults::default()).await;
    let context = test_support::stack::backfilled(&node, &dir.path().join("log")).await;
    let mut projector =
        indexer::projector::Projector::open(&dir.path().join("projections"), &shared::ProgramSet::defaults()).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    let expected = test_support::dfpn::expected_dfpn(node.node.ground_truth(None).lines());
    let within = std::time::Duration::from_secs(10);
    let (_, health) = until(within, || get("/health"), |(_, h)| h["request_count"] == expected.requests.len()).await;
    assert_eq!(
        health["request_count"],
        expected.requests.len(),
        "the service never saw the indexer's commit: {health}"
    );
    assert_eq!(health["worker_count"], expected.workers.len());
    test_support::node::produce_slots(&node, 120).await;
    for program in shared::ProgramKind::ALL {
        context.backfill(program, indexer::backfill::BackfillFrom::Cursor).await.unwrap();
    }
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    let grown = test_support::dfpn::expected_dfpn(node.node.ground_truth(None).lines());
    assert!(grown.requests.len() > expected.requests.len());
    let (_, health) = until(within, || get("/health"), |(_, h)| h["request_count"] == grown.requests.len()).await;
    assert_eq!(health["request_count"], grown.requests.len(), "the open reader never reloaded: {health}");
    projector.finish().unwrap();
    node.stop().await;
    api.stop().await;
}

/// Projections built live (many small commits: documents replaced again and again) and rebuilt
/// by `indexer replay` (one pass) answer every DFPN endpoint identically, searches included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_the_same_after_replay_searches_included() {
    let node = test_support::node::start_node(53, 3_000, fixtures::node::Faults::default()).await;
    let live = tempfile::tempdir().unwrap();
    let context = test_support::stack::backfilled(&node, &live.path().join("log")).await;
    let programs = shared::ProgramSet::defaults();
    let mut projector = indexer::projector::Projector::open(&live.path().join("projections"), &programs).unwrap();
    while projector.catch_up(&context.log, 150).unwrap() > 0 {
        projector.commit().unwrap();
    }
    projector.finish().unwrap();
    let replayed = tempfile::tempdir().unwrap();
    indexer::projector::replay(&context.log, &replayed.path().join("projections"), &programs).unwrap();
    let truth = node.node.ground_truth(None);
    let expected = test_support::dfpn::expected_dfpn(truth.lines());
    node.stop().await;

    let serve = |dir: std::path::PathBuf| async move {
        query_api::start(query_api::Config {
            dfpn_addr: "127.0.0.1:0".parse().unwrap(),
            psy_addr: "127.0.0.1:0".parse().unwrap(),
            limits: generous(),
            ..query_api::Config::new(dir)
        })
        .await
        .unwrap()
    };
    let (a, b) = (serve(live.path().to_path_buf()).await, serve(replayed.path().to_path_buf()).await);
    let mut paths: Vec<String> = [
        "/health",
        "/requests?limit=1000",
        "/requests?status=Open&limit=1000",
        "/workers?limit=1000",
        "/models?limit=1000",
        "/models?status=Pending",
        "/requests/search?q=arweave&limit=1000",
        "/requests/search?q=ipfs&limit=1000",
        "/requests/search?q=https&limit=1000",
        "/requests/search?q=storage_uri:mp4%20OR%20storage_uri:arweave&limit=1000",
        "/models/search?q=face&limit=1000",
        "/models/search?q=huggingface&limit=1000",
        "/models/search?q=dfpn&limit=1000",
    ]
    .map(str::to_owned)
    .to_vec();
    paths.extend(expected.requests.keys().take(30).map(|id| format!("/requests/{id}")));
    paths.extend(expected.models.keys().map(|id| format!("/models/{id}")));
    let client = reqwest::Client::new();
    let get = |base: std::net::SocketAddr, path: String| {
        let client = client.clone();
        async move {
            let response = client.get(format!("http://{base}{path}")).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let mut tied = 0;
    for path in paths {
        let (live_answer, replayed_answer) =
            (get(a.dfpn_addr, path.clone()).await, get(b.dfpn_addr, path.clone()).await);
        assert_eq!(live_answer.0, 200, "{path}");
        if path.contains("search") {
            let hits = live_answer.1.as_array().unwrap().len();
            assert!(hits > 1, "{path} finds several documents");
            tied += usize::from(hits > 10);
        }
        assert_eq!(live_answer, replayed_answer, "after replay: {path}");
    }
    assert!(tied > 0, "a search with many equally relevant hits is compared");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_limits_are_capped_at_1000_over_more_rows_than_that() {
    let w = Stack::builder().events(26_000).start().await;
    let all_requests = w.newest_first(Requests, |_, _| true);
    assert!(all_requests.len() > 1_000, "the chain holds {} requests, more than the cap", all_requests.len());
    for path in ["/requests?limit=5000", "/requests?limit=1001"] {
        let answer = w.ok(path).await;
        assert_eq!(answer.as_array().unwrap().len(), 1_000, "{path} is capped at 1000");
    }
    assert_eq!(w.ok("/requests?limit=5000").await, Value::Array(all_requests[..1_000].to_vec()), "the newest 1000");
    assert_eq!(
        w.ok("/requests?limit=5000&offset=1000").await,
        Value::Array(all_requests[1_000..all_requests.len().min(2_000)].to_vec()),
        "the next page"
    );
}
