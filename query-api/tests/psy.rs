//! The Psy surface end to end (the endpoints implemented so far), against the ground truth.

mod common;

use common::psy_model::without_ids;
use common::{generous, world, World};
use serde_json::{json, Value};

fn rfc3339(unix: i64) -> String {
    query_api::timefmt::rfc3339(unix)
}

/// Psy events of the ground truth in chain order, with their position.
fn psy_events(w: &World) -> Vec<Value> {
    w.truth_lines.iter().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|e| e["program"] == "psy").collect()
}

fn hex_key(value: &Value) -> String {
    format!("0x{}", value.as_str().unwrap())
}

/// Expected `/worker_events` items, oldest first (by block time, then chain order).
fn worker_events(w: &World) -> Vec<(i64, usize, Value, Value)> {
    let mut out: Vec<(i64, usize, Value, Value)> = psy_events(w)
        .into_iter()
        .enumerate()
        .filter(|(_, e)| e["name"] == "WorkerJobUpdated")
        .map(|(position, e)| {
            let f = &e["fields"];
            let item = json!({
                "realm_id": f["realm_id"], "worker_public_key": hex_key(&f["worker_public_key"]), "status": f["status"],
                "start_time": rfc3339(f["start_time"].as_i64().unwrap()),
                "end_time": f["end_time"].as_i64().map(rfc3339),
                "job_id": f["job_id"].as_u64().unwrap().to_string(), "circuit_type": f["circuit_type"],
            });
            (e["block_time"].as_i64().unwrap(), position, item, f.clone())
        })
        .collect();
    out.sort_by_key(|(time, position, ..)| (*time, *position));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implemented_endpoints_match_the_ground_truth() {
    let w = world(generous(), None).await;
    assert_eq!(w.psy_get("/health").await, (200, json!({"status": "ok"})));

    let all = worker_events(&w);
    let newest: Vec<Value> = all.iter().rev().map(|(_, _, item, _)| item.clone()).collect();
    let (status, page) = w.psy_get("/worker_events").await;
    assert_eq!(status, 200);
    assert_eq!(without_ids(&page), newest[..300.min(newest.len())].to_vec(), "default limit 300, newest first");
    let (_, page) = w.psy_get("/worker_events?order=asc&limit=25&offset=10").await;
    let oldest: Vec<Value> = all.iter().map(|(_, _, item, _)| item.clone()).collect();
    assert_eq!(without_ids(&page), oldest[10..35].to_vec());
    let (_, page) = w.psy_get("/worker_events?limit=5000").await;
    assert_eq!(page.as_array().unwrap().len(), all.len().min(1000), "limit capped at 1000");

    let filtered = |keep: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        all.iter().rev().filter(|(_, _, _, f)| keep(f)).map(|(_, _, item, _)| item.clone()).take(1000).collect()
    };
    let key = all[0].2["worker_public_key"].as_str().unwrap().to_owned();
    let failing_realm =
        all.iter().find(|(_, _, _, f)| f["status"] == "Failed").map(|(_, _, _, f)| f["realm_id"].clone());
    let failing_realm = failing_realm.expect("some job failed");
    let cases: Vec<(String, Vec<Value>)> = vec![
        ("realm_id=2".into(), filtered(&|f| f["realm_id"] == 2)),
        ("status=Completed".into(), filtered(&|f| f["status"] == "Completed")),
        ("circuit_type=ContractExecution".into(), filtered(&|f| f["circuit_type"] == "ContractExecution")),
        ("topic=AggregateProofs".into(), filtered(&|f| f["topic"] == "AggregateProofs")),
        (format!("public_key={key}"), filtered(&|f| hex_key(&f["worker_public_key"]) == key)),
        (
            "from_checkpoint_id=3&to_checkpoint_id=5".into(),
            filtered(&|f| (3..=5).contains(&f["checkpoint_id"].as_u64().unwrap())),
        ),
        (
            "category=Maintenance".into(),
            filtered(&|f| {
                ["CheckpointAggregation", "StateTreeUpdate", "RealmBlock"]
                    .contains(&f["circuit_type"].as_str().unwrap())
            }),
        ),
        (
            format!("category=All&realm_id={failing_realm}&status=Failed"),
            filtered(&|f| f["realm_id"] == failing_realm && f["status"] == "Failed"),
        ),
    ];
    for (query, expected) in cases {
        assert!(!expected.is_empty(), "{query} selects something");
        let (status, page) = w.psy_get(&format!("/worker_events?limit=1000&{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(without_ids(&page), expected, "{query}");
    }

    let users: Vec<Value> = psy_events(&w).into_iter().filter(|e| e["name"] == "UserRegistered").collect();
    let user = &users[3]["fields"];
    let (status, info) = w.psy_get(&format!("/user_info?public_key={}", hex_key(&user["public_key"]))).await;
    assert_eq!(status, 200);
    assert_eq!(
        info,
        json!({"id": user["user_id"], "public_key": hex_key(&user["public_key"]), "twitter_handle": user["twitter_handle"], "label": user["label"], "created_at": rfc3339(user["registered_at"].as_i64().unwrap())})
    );

    let mut user_events: Vec<(i64, usize, Value)> = psy_events(&w)
        .into_iter()
        .enumerate()
        .filter_map(|(position, e)| {
            let f = &e["fields"];
            let (tx_type, key, time) = match e["name"].as_str().unwrap() {
                "UserRegistered" => ("RegisterUser", "public_key", "registered_at"),
                "ContractDeployed" => ("DeployContract", "deployer", "deployed_at"),
                "UserTransactionExecuted" => ("UserTransaction", "public_key", "executed_at"),
                _ => return None,
            };
            let time = f[time].as_i64().unwrap();
            let item = json!({"user_id": f["user_id"].as_u64().unwrap().to_string(), "public_key": hex_key(&f[key]), "tx_type": tx_type, "checkpoint_id": f["checkpoint_id"], "timestamp": rfc3339(time)});
            Some((time, position, item))
        })
        .collect();
    user_events.sort_by_key(|(time, position, _)| (*time, *position));
    let newest: Vec<Value> = user_events.iter().rev().map(|(_, _, item)| item.clone()).collect();
    let (_, page) = w.psy_get("/user_events?limit=1000").await;
    assert_eq!(without_ids(&page), newest[..newest.len().min(1000)].to_vec());
    let (from, to) = (user_events[20].0, user_events[60].0);
    let window: Vec<Value> = user_events
        .iter()
        .filter(|(time, _, item)| {
            (from..=to).contains(time) && item["tx_type"] == "UserTransaction" && item["user_id"] == "2"
        })
        .map(|(_, _, item)| item.clone())
        .collect();
    let path = format!(
        "/user_events?order=asc&user_id=2&tx_type=UserTransaction&start_time={}&end_time={}",
        rfc3339(from),
        rfc3339(to)
    );
    let (status, page) = w.psy_get(&path).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(without_ids(&page), window);

    let deployments: Vec<Value> = psy_events(&w).into_iter().filter(|e| e["name"] == "ContractDeployed").collect();
    let contract_json = |e: &Value| {
        let f = &e["fields"];
        json!({"uuid": f["uuid"], "deployer": hex_key(&f["deployer"]), "state_tree_height": f["state_tree_height"], "function_count": f["functions"].as_array().unwrap().len(), "functions": f["functions"], "deployed_at": rfc3339(f["deployed_at"].as_i64().unwrap())})
    };
    let newest_contracts: Vec<Value> = deployments.iter().rev().map(contract_json).collect();
    assert_eq!(
        w.psy_get("/contracts").await,
        (200, Value::Array(newest_contracts.iter().take(100).cloned().collect()))
    );
    let deployer = newest_contracts[0]["deployer"].as_str().unwrap();
    let by_deployer: Vec<Value> = newest_contracts.iter().filter(|c| c["deployer"] == deployer).cloned().collect();
    assert_eq!(w.psy_get(&format!("/contracts?deployer={deployer}")).await, (200, Value::Array(by_deployer)));
    let uuid = newest_contracts[1]["uuid"].as_str().unwrap();
    assert_eq!(w.psy_get(&format!("/contracts/{uuid}")).await, (200, newest_contracts[1].clone()));

    let mut jobs = std::collections::BTreeMap::new();
    for (_, _, _, f) in &all {
        let end = f["end_time"].as_i64();
        let start = f["start_time"].as_i64().unwrap();
        jobs.insert(f["job_id"].as_u64().unwrap(), json!({
            "id": f["job_id"], "checkpoint_id": f["checkpoint_id"], "job_id": f["job_id"].as_u64().unwrap().to_string(),
            "worker_public_key": hex_key(&f["worker_public_key"]), "circuit_type": f["circuit_type"], "status": f["status"],
            "duration_ms": end.map(|e| (e - start).max(0) * 1000), "start_time": rfc3339(start), "end_time": end.map(rfc3339),
        }));
    }
    let checkpoint_jobs: Vec<Value> = jobs.values().filter(|j| j["checkpoint_id"] == 4).cloned().collect();
    assert!(!checkpoint_jobs.is_empty());
    assert_eq!(w.psy_get("/checkpoint/job-events/4").await, (200, Value::Array(checkpoint_jobs)));
    let mut counts = serde_json::Map::new();
    for status in ["Pending", "InProgress", "Completed", "Failed", "Cancelled"] {
        counts.insert(status.into(), jobs.values().filter(|j| j["status"] == status).count().into());
    }
    assert_eq!(w.psy_get("/stats/jobs/counts").await, (200, Value::Object(counts)));
    let realms: Vec<u64> = psy_events(&w)
        .iter()
        .filter(|e| e["name"] == "RealmCreated")
        .map(|e| e["fields"]["realm_id"].as_u64().unwrap())
        .collect();
    let per_realm: Vec<Value> = realms
        .iter()
        .map(|realm| {
            let of_realm: Vec<&Value> = jobs.values().filter(|j| all.iter().any(|(_, _, _, f)| f["job_id"] == j["id"] && f["realm_id"] == *realm)).collect();
            let total = of_realm.len();
            let completed = of_realm.iter().filter(|j| j["status"] == "Completed").count();
            let failed = of_realm.iter().filter(|j| j["status"] == "Failed").count();
            let rate = if total == 0 { 0.0 } else { completed as f64 / total as f64 };
            json!({"realm_id": realm, "total_jobs": total, "completed_jobs": completed, "failed_jobs": failed, "success_rate": rate})
        })
        .collect();
    assert!(per_realm.iter().any(|r| r["total_jobs"].as_u64().unwrap() > 0));
    assert_eq!(w.psy_get("/stats/jobs/all-realms").await, (200, Value::Array(per_realm)));

    let day = (w.now - 86_400)..=w.now;
    let worker_24h = all.iter().filter(|(t, ..)| day.contains(t)).count();
    let user_24h = user_events.iter().filter(|(t, ..)| day.contains(t)).count();
    assert!(w.block_height > 0);
    assert_eq!(
        w.psy_get("/stats").await,
        (
            200,
            json!({"status": "ok", "worker_events_24h": worker_24h, "user_events_24h": user_24h, "block_height": w.block_height, "timestamp": rfc3339(w.now)})
        )
    );
    w.api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_psy_error_body() {
    let w = world(generous(), None).await;
    let bad = |details: &str| json!({"error": "Bad Request: invalid parameters", "details": details});
    let cases = [
        ("/worker_events?status=Done", 400, bad("`status`: invalid WorkerEventStatus value \"Done\"; expected one of: Pending, InProgress, Completed, Failed, Cancelled (or the real service's PENDING, PROCESSING, COMPLETED, FAILED)")),
        ("/worker_events?order=up", 400, bad("`order` must be \"asc\" or \"desc\", got \"up\"")),
        ("/worker_events?limit=-1", 400, bad("`limit` must be a non-negative integer, got \"-1\"")),
        ("/worker_events?public_key=0x%2012", 400, bad("invalid `public_key`: may hold only ASCII letters, digits and _ - . :, not ' '")),
        ("/worker_events?shape=round", 400, bad("unknown parameter `shape`; accepted: realm_id, status, public_key, topic, circuit_type, from_checkpoint_id, to_checkpoint_id, offset, limit, order, category, start_time, end_time")),
        ("/user_events?start_time=yesterday", 400, bad("`start_time` must be an RFC 3339 time such as 2024-01-01T00:00:00Z, got \"yesterday\"")),
        ("/user_events?start_time=2024-01-02T00:00:00Z&end_time=2024-01-01T00:00:00Z", 400, bad("`start_time` is after `end_time`")),
        ("/user_info", 400, bad("`public_key` is required")),
        ("/checkpoint/job-events/abc", 400, bad("checkpoint id must be a non-negative integer, got \"abc\"")),
        ("/contracts/nope", 404, json!({"error": "Not Found", "details": "no contract with uuid \"nope\""})),
        ("/nowhere", 404, json!({"error": "Not Found", "details": "no such endpoint"})),
    ];
    for (path, status, body) in cases {
        assert_eq!(w.psy_get(path).await, (status, body), "{path}");
    }
    let unknown = format!("0x{}", "ab".repeat(32));
    let (status, body) = w.psy_get(&format!("/user_info?public_key={unknown}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("Not Found")));
    w.api.stop().await;
}

/// A bucket computed from the ground truth: start, total, per-key counts, distinct workers.
type ExpectedBucket = (i64, u64, std::collections::HashMap<String, u64>, usize);

/// Running counts of one bucket: total, per-key counts, workers seen.
type Tally = (u64, std::collections::HashMap<String, u64>, std::collections::HashSet<String>);

/// Buckets computed from the ground truth, oldest first.
fn expected_buckets(events: &[(i64, String, String)], bucket: &str) -> Vec<ExpectedBucket> {
    use std::collections::BTreeMap;
    let month_start = |t: i64| {
        let date = time::OffsetDateTime::from_unix_timestamp(t).unwrap();
        date.replace_day(1).unwrap().replace_time(time::Time::MIDNIGHT).unix_timestamp()
    };
    let first = events.iter().map(|(t, ..)| *t).min().unwrap();
    let start_of = |t: i64| match bucket {
        "2min" => t - t.rem_euclid(120),
        "1h" => t - t.rem_euclid(3_600),
        "1d" => t - t.rem_euclid(86_400),
        "1w" => t - (t - 4 * 86_400).rem_euclid(604_800),
        "1m" => month_start(t),
        _ => first,
    };
    let mut out: BTreeMap<i64, Tally> = BTreeMap::new();
    for (t, key, worker) in events {
        let entry = out.entry(start_of(*t)).or_default();
        entry.0 += 1;
        *entry.1.entry(key.clone()).or_default() += 1;
        entry.2.insert(worker.clone());
    }
    out.into_iter().map(|(start, (total, keys, workers))| (start, total, keys, workers.len())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregations_match_buckets_computed_from_the_ground_truth() {
    let w = world(generous(), None).await;
    let worker_events: Vec<(i64, String, String)> = psy_events(&w)
        .into_iter()
        .filter(|e| e["name"] == "WorkerJobUpdated")
        .map(|e| {
            (
                e["block_time"].as_i64().unwrap(),
                e["fields"]["status"].as_str().unwrap().to_owned(),
                hex_key(&e["fields"]["worker_public_key"]),
            )
        })
        .collect();
    for bucket in ["2min", "1h", "1d", "1w", "1m", "all_time"] {
        let expected: Vec<Value> = expected_buckets(&worker_events, bucket)
            .into_iter()
            .rev()
            .take(100)
            .map(|(start, total, keys, workers)| {
                json!({
                    "time_bucket": rfc3339(start), "total_events": total,
                    "completed_events": keys.get("Completed").copied().unwrap_or(0),
                    "failed_events": keys.get("Failed").copied().unwrap_or(0), "unique_workers": workers,
                })
            })
            .collect();
        let expected = Value::Array(expected);
        assert_eq!(
            w.psy_get(&format!("/worker_events_aggregations?bucket={bucket}")).await,
            (200, expected.clone()),
            "{bucket}"
        );
        let query = std::collections::HashMap::from([("bucket".to_owned(), bucket.to_owned())]);
        let two_pass = query_api::psy::aggregations::worker_events_planned(&w.projections(), query, 0).unwrap();
        assert_eq!(two_pass, expected, "{bucket}, statuses and distinct workers in two passes");
    }
    let two_min = expected_buckets(&worker_events, "2min");
    let (status, page) = w.psy_get("/worker_events_aggregations?bucket=2min&order=asc&offset=1&limit=1").await;
    assert_eq!(status, 200);
    let starts: Vec<&str> = page.as_array().unwrap().iter().map(|b| b["time_bucket"].as_str().unwrap()).collect();
    let wanted: Vec<String> = two_min.iter().skip(1).take(1).map(|b| rfc3339(b.0)).collect();
    assert_eq!(starts, wanted, "offset and limit apply to buckets in order");
    let first = worker_events.iter().map(|(t, ..)| *t).min().unwrap();
    let (from, to) = (first + 20, first + 50);
    let expected_total = worker_events.iter().filter(|(t, ..)| (from..=to).contains(t)).count();
    assert!(expected_total > 0);
    let (_, page) = w
        .psy_get(&format!(
            "/worker_events_aggregations?bucket=all_time&start_time={}&end_time={}",
            rfc3339(from),
            rfc3339(to)
        ))
        .await;
    assert_eq!(page[0]["total_events"], expected_total, "time filters bound the buckets");

    let user_events: Vec<(i64, String, String)> = psy_events(&w)
        .into_iter()
        .filter_map(|e| {
            let f = &e["fields"];
            let (kind, time) = match e["name"].as_str().unwrap() {
                "UserRegistered" => ("RegisterUser", "registered_at"),
                "ContractDeployed" => ("DeployContract", "deployed_at"),
                "UserTransactionExecuted" => ("UserTransaction", "executed_at"),
                _ => return None,
            };
            Some((f[time].as_i64().unwrap(), kind.to_owned(), String::new()))
        })
        .collect();
    let expected: Vec<Value> = expected_buckets(&user_events, "1h")
        .into_iter()
        .map(|(start, total, keys, _)| {
            let n = |k: &str| keys.get(k).copied().unwrap_or(0);
            json!({"time_bucket": rfc3339(start), "total_events": total, "register_user_count": n("RegisterUser"), "deploy_contract_count": n("DeployContract"), "user_tx_count": n("UserTransaction")})
        })
        .collect();
    assert_eq!(w.psy_get("/user_events_aggregations?bucket=1h&order=asc").await, (200, Value::Array(expected)));
    let (status, body) = w.psy_get("/worker_events_aggregations?bucket=5min").await;
    assert_eq!(
        (status, body["details"].as_str()),
        (400, Some("`bucket` must be one of 2min, 1h, 1d, 1w, 1m, all_time, got \"5min\""))
    );
    w.api.stop().await;
}

/// Issue 14: each real spelling of a filter answers as its document spelling; user ids and keys
/// in the real feed's forms are answered (empty or 404), not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_spellings_answer_as_the_document_spellings() {
    let w = world(generous(), None).await;
    let all = worker_events(&w);
    let count_of = |status: &str| all.iter().filter(|(_, _, _, f)| f["status"] == status).count();
    for (real, document) in
        [("PENDING", "Pending"), ("PROCESSING", "InProgress"), ("COMPLETED", "Completed"), ("FAILED", "Failed")]
    {
        let (status, by_real) = w.psy_get(&format!("/worker_events?limit=1000&status={real}")).await;
        assert_eq!(status, 200, "{real}: {by_real}");
        assert_eq!(by_real.as_array().map(Vec::len), Some(count_of(document).min(1000)), "{real}");
        assert_eq!(w.psy_get(&format!("/worker_events?limit=1000&status={document}")).await, (200, by_real));
    }
    assert!(count_of("Completed") > 0 && count_of("Failed") > 0, "the feed has completed and failed jobs");

    let user_events = |tx_type: &str| {
        let name = match tx_type {
            "RegisterUser" => "UserRegistered",
            "DeployContract" => "ContractDeployed",
            _ => "UserTransactionExecuted",
        };
        psy_events(&w).iter().filter(|e| e["name"] == name).count()
    };
    for (real, document) in [
        ("REGISTER_USER", "RegisterUser"),
        ("DEPLOY_CONTRACT", "DeployContract"),
        ("GUTA", "UserTransaction"),
        ("USER_ENDCAP", "UserTransaction"),
    ] {
        let (status, by_real) = w.psy_get(&format!("/user_events?limit=1000&tx_type={real}")).await;
        assert_eq!(status, 200, "{real}: {by_real}");
        assert_eq!(by_real.as_array().map(Vec::len), Some(user_events(document).min(1000)), "{real}");
        assert!(by_real.as_array().is_some_and(|items| items.iter().all(|item| item["tx_type"] == document)));
        assert_eq!(w.psy_get(&format!("/user_events?limit=1000&tx_type={document}")).await, (200, by_real));
    }

    for user_id in ["user_001", "6f1c2a52-4b7e-4c1e-9a63-0d9d3f8b2e11"] {
        assert_eq!(w.psy_get(&format!("/user_events?user_id={user_id}")).await, (200, json!([])), "{user_id}");
    }
    let key = all[0].2["worker_public_key"].as_str().unwrap().to_owned();
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&key[2 + 2 * i..4 + 2 * i], 16).unwrap()).collect();
    let base58 = bs58::encode(bytes).into_string();
    let (status, stats) = w.psy_get(&format!("/stats/workers/{key}")).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(w.psy_get(&format!("/stats/workers/{base58}")).await, (200, stats.clone()));
    assert_eq!(
        w.psy_get(&format!("/stats/workers/{}", key.to_ascii_uppercase().replacen("0X", "0x", 1))).await,
        (200, stats)
    );
    for unknown in ["0x1234567890abcdef1234567890abcdef12345678", "worker1_key_0x01"] {
        let (status, body) = w.psy_get(&format!("/stats/workers/{unknown}")).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("Not Found")), "{unknown}: {body}");
        assert_eq!(w.psy_get(&format!("/worker_events?public_key={unknown}")).await, (200, json!([])), "{unknown}");
    }
    w.api.stop().await;
}
