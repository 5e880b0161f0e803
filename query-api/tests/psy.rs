//! The Psy read endpoints end to end, field by field against the truth model
//! (`test_support::psy`): a fixture chain's Psy records plus telemetry records posted here — a
//! history spanning 46 days before the service's fixed clock (so 24-hour windows, `hours=`,
//! and week and month buckets each exclude part of it) and a checkpoint paying more than 100
//! workers (the leaderboard's cap). Each real spelling of each filter is checked to answer what
//! the document's spelling answers; every answer has its OpenAPI schema's fields; after
//! `indexer replay` every read answers as before.

use fixtures::generator::psy_real::TelemetryPost;
use query_api::auth::{unix_now, Auth};
use serde_json::{json, Value};
use shared::psy::PsyEvent;
use test_support::psy::{chain_events, time, wire, without_ids, Psy, DAY, HOUR, W};
use test_support::stack::Stack;

const SECRET: &str = "psy-read-secret";
/// Realms of the posted history (the chain's are multiples of 16384 below this).
const REALM: i64 = 5_000_000;
/// First checkpoint of the posted history.
const HISTORY_CHECKPOINT: i64 = 2_000_000;
/// The checkpoint paying the leaderboard's workers.
const PAID: i64 = 3_000_000;
/// Its fees.
const FEES: u64 = 1_000_000_000_000_000;
/// Workers it pays.
const PAID_WORKERS: usize = 120;

fn bearer() -> String {
    Auth::new(SECRET).mint("node", 3, unix_now())
}

/// A key of one of the real feed's forms: named, 20-byte `0x` hex, base58 of 32 bytes.
fn history_key(n: usize) -> String {
    let bytes: Vec<u8> = (0..32).map(|i| (n * 37 + i * 11 + 1) as u8).collect();
    match n % 3 {
        0 => format!("hist{n}_key_0x{}", shared::field::hex(&bytes[..6])),
        1 => format!("0x{}", shared::field::hex(&bytes[..20])),
        _ => bs58::encode(&bytes).into_string(),
    }
}

fn job(topic: u64, goal: i64, circuit: u64, task: u64) -> Value {
    json!({"topic": topic, "goal_id": goal, "slot_id": 0, "circuit_type": circuit, "group_id": 1,
           "sub_group_id": 0, "task_index": task, "data_type": 8, "data_index": 0})
}

/// The posted history: 300 worker events every 3.7 hours and 120 user events every 9 hours,
/// newest a minute before `now` (unix seconds).
fn history(now: i64) -> (Vec<Value>, Vec<Value>) {
    let now_us = now * 1_000_000;
    let circuits = [7, 6, 0, 18, 12, 32, 2, 55, 64];
    let statuses = ["PENDING", "PROCESSING", "COMPLETED", "FAILED"];
    let workers = (0..300usize)
        .map(|i| {
            let ts = now_us - 60_000_000 - i as i64 * 13_320_000_000;
            let status = statuses[i % 4];
            let ended = status == "COMPLETED" || status == "FAILED";
            json!({
                "realm_id": if i % 11 == 0 { Value::Null } else { json!(REALM + (i % 3) as i64) },
                "public_key": if i % 13 == 0 { Value::Null } else { json!(history_key(i % 9)) },
                "status": status,
                "source": if i % 2 == 0 { "REALM" } else { "COORDINATOR" },
                "job_id": job((i % 6) as u64, HISTORY_CHECKPOINT + (i / 10) as i64, circuits[i % circuits.len()], (i / 2) as u64),
                "checkpoint_id": HISTORY_CHECKPOINT + (i / 10) as i64,
                "duration": if ended && i % 5 != 0 { json!(1_000 + i * 7) } else { Value::Null },
                "metadata": {"note": i},
                "timestamp": time(ts),
                "created_at": time(ts),
                "updated_at": time(ts),
            })
        })
        .collect();
    let tx_types = ["REGISTER_USER", "DEPLOY_CONTRACT", "GUTA", "USER_ENDCAP"];
    let users = (0..120usize)
        .map(|j| {
            let ts = now_us - 30_000_000 - j as i64 * 9 * HOUR;
            let user_id = if j % 2 == 0 {
                format!("user_{:03}", j % 7)
            } else {
                format!("67e55044-10b1-426f-9247-bb680e5f{:04x}", j % 5)
            };
            let metadata = if j % 3 == 0 { json!({"checkpoint_id": HISTORY_CHECKPOINT + j as i64}) } else { json!({}) };
            json!({"user_id": user_id, "public_key": format!("0x{:040x}", j % 11), "tx_type": tx_types[j % 4],
                   "metadata": metadata, "timestamp": time(ts), "created_at": time(ts), "updated_at": time(ts)})
        })
        .collect();
    (workers, users)
}

/// The leaderboard's checkpoint: worker `i` completes `1 + i % 3` GUTA jobs of [`PAID`] in the
/// last two hours; every tenth also fails one; one completion five checkpoints later makes it
/// final.
fn paid_checkpoint(now: i64) -> Vec<Value> {
    let now_us = now * 1_000_000;
    let mut events = Vec::new();
    for i in 0..PAID_WORKERS {
        let key = format!("lb_worker_{i:03}");
        for k in 0..=(i % 3) {
            let ts = now_us - HOUR - (i * 3 + k) as i64 * 1_000_000;
            events.push(json!({"realm_id": REALM, "public_key": key, "status": "COMPLETED", "source": "REALM",
                "job_id": job(0, PAID, 7 + (i % 9) as u64, (i * 3 + k) as u64), "checkpoint_id": PAID,
                "duration": 500 + i, "timestamp": time(ts), "created_at": time(ts), "updated_at": time(ts)}));
        }
        if i % 10 == 0 {
            let ts = now_us - 2 * HOUR;
            events.push(json!({"realm_id": REALM, "public_key": key, "status": "FAILED", "source": "REALM",
                "job_id": job(0, PAID, 6, 10_000 + i as u64), "checkpoint_id": PAID, "timestamp": time(ts),
                "created_at": time(ts), "updated_at": time(ts)}));
        }
    }
    let ts = now_us - HOUR / 2;
    events.push(json!({"realm_id": REALM, "public_key": "lb_tail", "status": "COMPLETED", "source": "COORDINATOR",
        "job_id": job(5, PAID + 5, 32, 0), "checkpoint_id": PAID + 5, "timestamp": time(ts),
        "created_at": time(ts), "updated_at": time(ts)}));
    events
}

/// Posts a telemetry body and returns the records it is stored as.
async fn post(w: &Stack, route: &str, body: Value) -> Vec<PsyEvent> {
    let token = bearer();
    let (status, answer) = w.psy_post(route, &body, Some(&token)).await;
    assert_eq!(status, 200, "{route}: {answer}");
    let post = match route {
        "/telemetry/events" => TelemetryPost::Events(serde_json::from_value(body).unwrap()),
        _ => TelemetryPost::Leaves(serde_json::from_value(body).unwrap()),
    };
    test_support::psy::telemetry_events(&post)
}

/// The world with the history and the paid checkpoint posted and rewarded, and the truth.
async fn fed_world() -> (Stack, Psy, i64) {
    let w = Stack::builder().jwt_secret(SECRET).start().await;
    let mut events = chain_events(w.truth_lines.iter().map(String::as_str));
    let (workers, users) = history(w.now);
    for chunk in workers.chunks(100) {
        events.extend(post(&w, "/telemetry/events", json!({"worker_events": chunk})).await);
    }
    events.extend(post(&w, "/telemetry/events", json!({"user_events": users})).await);
    events.extend(post(&w, "/telemetry/events", json!({"worker_events": paid_checkpoint(w.now)})).await);
    let leaf_time = time((w.now - 600) * 1_000_000);
    let leaves = json!({"leaves": [{"checkpoint_id": PAID, "fees_collected": FEES, "user_ops_processed": 7,
        "total_transactions": 9, "slots_modified": 3, "timestamp": leaf_time}], "timestamp": leaf_time});
    events.extend(post(&w, "/telemetry/checkpoint/leaves", leaves).await);
    let truth = Psy::folded(events);
    let total = truth.worker.len() as u64;
    let (_, buckets) = w
        .psy_until("/worker_events_aggregations?bucket=all_time", |_, b| b[0]["total_events"].as_u64() == Some(total))
        .await;
    assert_eq!(buckets[0]["total_events"], total, "every posted record is folded");
    // Each family's reader reloads on its own: wait until the user events and the jobs show
    // every record too.
    let users = truth.user.len() as u64;
    let path = "/user_events_aggregations?bucket=all_time";
    w.psy_until(path, |_, b| b[0]["total_events"].as_u64() == Some(users)).await;
    let counts = truth.counts();
    w.psy_until("/stats/jobs/counts", |_, b| *b == counts).await;
    let admin = bearer();
    let (status, answer) = w.psy_post(&format!("/checkpoint/calculate-rewards/{PAID}"), &json!({}), Some(&admin)).await;
    assert_eq!(status, 200, "{answer}");
    let now_us = w.now * 1_000_000;
    (w, truth, now_us)
}

fn category_circuits(name: &str) -> Option<Vec<u8>> {
    let listed = |set: &[u8]| Some(set.to_vec());
    match name {
        "UserRegistration" => listed(&[0, 1, 48]),
        "ContractDeployment" => listed(&[18, 19, 54]),
        "ContractExecution" => listed(&[6, 64, 65]),
        _ => None,
    }
}

fn in_category(name: &str, w: &W) -> bool {
    match name {
        "all" | "All" => true,
        "reward_only" => w.status == "COMPLETED" && [7, 8, 9, 10, 11, 12, 13, 14, 15, 55, 56].contains(&w.circuit),
        "Maintenance" => ["UserRegistration", "ContractDeployment", "ContractExecution"]
            .iter()
            .all(|c| !category_circuits(c).unwrap().contains(&w.circuit)),
        other => category_circuits(other).unwrap().contains(&w.circuit),
    }
}

/// Checks that every object of `answer` (an object or an array of them) has exactly the
/// properties the OpenAPI document gives schema `name`.
fn shaped(name: &str, answer: &Value) {
    let document: Value = serde_json::from_str(include_str!("../openapi/psy.json")).unwrap();
    let schema = &document["components"]["schemas"][name]["properties"];
    let expected: std::collections::BTreeSet<&str> =
        schema.as_object().unwrap_or_else(|| panic!("schema {name}")).keys().map(String::as_str).collect();
    let objects = match answer {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    assert!(!objects.is_empty(), "{name}: something to check");
    for object in objects {
        let keys: std::collections::BTreeSet<&str> = object.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, expected, "{name}: {object}");
    }
}

/// Every read answer has its OpenAPI schema's fields.
async fn check_shapes(w: &Stack) {
    let realm = format!("/stats/realms/{REALM}");
    let worker = format!("/stats/workers/{}", history_key(1));
    let cases = [
        ("/worker_events?limit=50", "WorkerEvent", None),
        ("/user_events?limit=50", "UserEvent", None),
        ("/worker_events_aggregations?bucket=1d", "WorkerEventsAggregation", None),
        ("/user_events_aggregations?bucket=1w", "UserEventsAggregation", None),
        ("/stats", "Stats", None),
        ("/stats/realms", "RealmsStats", None),
        (realm.as_str(), "RealmStats", None),
        (worker.as_str(), "WorkerStats", None),
        ("/stats/jobs", "JobStatusResponse", None),
        ("/stats/jobs", "JobStatusSummary", Some("summary")),
        ("/stats/jobs/all-realms", "RealmJobs", None),
        ("/stats/jobs/counts", "JobCounts", None),
        ("/leaderboard/workers", "LeaderboardEntry", None),
        ("/contracts", "Contract", None),
        ("/contracts?limit=3", "ContractFunction", Some("functions")),
    ];
    for (path, schema, inner) in cases {
        let (status, body) = w.psy_get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        match inner {
            Some("functions") => shaped(schema, &Value::Array(body[0]["functions"].as_array().unwrap().clone())),
            Some(field) => shaped(schema, &body[field]),
            None => shaped(schema, &body),
        }
    }
}

async fn page(w: &Stack, path: &str) -> Vec<Value> {
    let (status, body) = w.psy_get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    without_ids(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_endpoint_matches_the_truth_in_either_spelling() {
    let (mut w, truth, now) = fed_world().await;
    let first_1000 = |rows: Vec<Value>| rows.into_iter().take(1000).collect::<Vec<Value>>();

    // /worker_events: default page, order, paging, cap.
    let newest = truth.worker_events(|_| true, false);
    assert_eq!(page(&w, "/worker_events").await, newest[..300].to_vec(), "default limit 300, newest first");
    let oldest = truth.worker_events(|_| true, true);
    assert_eq!(page(&w, "/worker_events?order=asc&limit=25&offset=10").await, oldest[10..35].to_vec());
    assert_eq!(page(&w, "/worker_events?limit=5000").await.len(), 1000.min(newest.len()), "limit capped at 1000");

    // Every filter, each real spelling beside the document's.
    let key = history_key(2);
    let key_bytes = bs58::decode(&key).into_vec().unwrap();
    let key_hex = format!("0x{}", shared::field::hex(&key_bytes));
    let (window_start, window_end) = (now - 20 * DAY, now - 3 * DAY);
    type Case = (Vec<String>, Box<dyn Fn(&W) -> bool>);
    let cases: Vec<Case> = vec![
        (vec!["status=Completed".into(), "status=COMPLETED".into()], Box::new(|w: &W| w.status == "COMPLETED")),
        (vec!["status=InProgress".into(), "status=PROCESSING".into()], Box::new(|w: &W| w.status == "PROCESSING")),
        (vec!["status=Pending".into(), "status=PENDING".into()], Box::new(|w: &W| w.status == "PENDING")),
        (vec!["status=Failed".into(), "status=FAILED".into()], Box::new(|w: &W| w.status == "FAILED")),
        (vec!["status=Cancelled".into()], Box::new(|_: &W| false)),
        (vec!["circuit_type=GUTATwoEndCap".into(), "circuit_type=7".into()], Box::new(|w: &W| w.circuit == 7)),
        (
            vec!["circuit_type=AddL1Deposit".into(), "circuit_type=AddDeposit".into(), "circuit_type=2".into()],
            Box::new(|w: &W| w.circuit == 2),
        ),
        (vec!["topic=GenerateStandardProof".into(), "topic=0".into()], Box::new(|w: &W| w.topic == 0)),
        (vec!["topic=AggregateJobs".into(), "topic=5".into()], Box::new(|w: &W| w.topic == 5)),
        (vec![format!("realm_id={}", REALM + 1)], Box::new(|w: &W| w.realm_id == Some(REALM + 1))),
        (
            vec![format!("public_key={key}"), format!("public_key={key_hex}")],
            Box::new(move |w: &W| w.public_key.as_deref() == Some(history_key(2).as_str())),
        ),
        (
            vec![format!("public_key={}", history_key(1))],
            Box::new(|w: &W| w.public_key.as_deref() == Some(history_key(1).as_str())),
        ),
        (
            vec![format!("from_checkpoint_id={}&to_checkpoint_id={}", HISTORY_CHECKPOINT + 3, HISTORY_CHECKPOINT + 9)],
            Box::new(|w: &W| (HISTORY_CHECKPOINT + 3..=HISTORY_CHECKPOINT + 9).contains(&w.checkpoint_id)),
        ),
        (
            vec![format!("start_time={}&end_time={}", time(window_start), time(window_end))],
            Box::new(move |w: &W| (window_start..=window_end).contains(&w.ts)),
        ),
        (vec!["category=all".into(), "category=All".into()], Box::new(|w: &W| in_category("all", w))),
        (vec!["category=reward_only".into()], Box::new(|w: &W| in_category("reward_only", w))),
        (vec!["category=Maintenance".into()], Box::new(|w: &W| in_category("Maintenance", w))),
        (vec!["category=UserRegistration".into()], Box::new(|w: &W| in_category("UserRegistration", w))),
        (vec!["category=ContractDeployment".into()], Box::new(|w: &W| in_category("ContractDeployment", w))),
        (vec!["category=ContractExecution".into()], Box::new(|w: &W| in_category("ContractExecution", w))),
        (
            vec![format!("category=reward_only&status=COMPLETED&realm_id={REALM}")],
            Box::new(|w: &W| in_category("reward_only", w) && w.realm_id == Some(REALM)),
        ),
    ];
    for (queries, keep) in &cases {
        let expected = first_1000(truth.worker_events(keep, false));
        for query in queries {
            assert_eq!(page(&w, &format!("/worker_events?limit=1000&{query}")).await, expected, "{query}");
        }
        if queries[0] != "status=Cancelled" {
            assert!(!expected.is_empty(), "{} selects something", queries[0]);
        }
    }

    // /user_events in both spellings, string user ids.
    let all_users = truth.user_events(|_| true, false);
    assert_eq!(page(&w, "/user_events?limit=1000").await, first_1000(all_users));
    type UserCase = (Vec<&'static str>, Box<dyn Fn(&test_support::psy::U) -> bool>);
    let user_cases: Vec<UserCase> = vec![
        (vec!["tx_type=RegisterUser", "tx_type=REGISTER_USER"], Box::new(|u| u.tx_type == "REGISTER_USER")),
        (vec!["tx_type=DeployContract", "tx_type=DEPLOY_CONTRACT"], Box::new(|u| u.tx_type == "DEPLOY_CONTRACT")),
        (vec!["tx_type=UserTransaction"], Box::new(|u| u.tx_type == "GUTA" || u.tx_type == "USER_ENDCAP")),
        (vec!["tx_type=GUTA"], Box::new(|u| u.tx_type == "GUTA")),
        (vec!["tx_type=USER_ENDCAP"], Box::new(|u| u.tx_type == "USER_ENDCAP")),
        (vec!["user_id=user_001"], Box::new(|u| u.user_id == "user_001")),
        (
            vec!["user_id=67e55044-10b1-426f-9247-bb680e5f0003"],
            Box::new(|u| u.user_id == "67e55044-10b1-426f-9247-bb680e5f0003"),
        ),
    ];
    for (queries, keep) in &user_cases {
        let expected = first_1000(truth.user_events(keep, true));
        assert!(!expected.is_empty(), "{} selects something", queries[0]);
        for query in queries {
            assert_eq!(page(&w, &format!("/user_events?order=asc&limit=1000&{query}")).await, expected, "{query}");
        }
    }
    let path = format!(
        "/user_events?tx_type=UserTransaction&start_time={}&end_time={}",
        time(now - 30 * DAY),
        time(now - 2 * DAY)
    );
    let expected = truth.user_events(
        |u| (now - 30 * DAY..=now - 2 * DAY).contains(&u.ts) && (u.tx_type == "GUTA" || u.tx_type == "USER_ENDCAP"),
        false,
    );
    assert_eq!(page(&w, &path).await, expected);

    // Contracts.
    let contracts = truth.contracts();
    assert!(!contracts.is_empty(), "the chain deploys contracts");
    assert_eq!(w.psy_get("/contracts").await, (200, Value::Array(contracts.iter().take(100).cloned().collect())));
    let deployer = contracts[0]["deployer"].as_str().unwrap();
    let by_deployer: Vec<Value> = contracts.iter().filter(|c| c["deployer"] == deployer).cloned().collect();
    assert_eq!(w.psy_get(&format!("/contracts?deployer={deployer}")).await, (200, Value::Array(by_deployer)));
    let uuid = contracts[contracts.len() / 2]["uuid"].as_str().unwrap();
    assert_eq!(w.psy_get(&format!("/contracts/{uuid}")).await, (200, contracts[contracts.len() / 2].clone()));

    // Statistics over windows that exclude most of the history.
    assert_eq!(w.psy_get("/stats").await, (200, truth.stats(now)));
    assert_eq!(w.psy_get("/stats/realms").await, (200, truth.realms_stats(now)));
    let realms = truth.realms();
    assert!(realms.len() >= 4, "chain and posted realms: {realms:?}");
    for realm in [realms[0], REALM, REALM + 2] {
        assert_eq!(w.psy_get(&format!("/stats/realms/{realm}")).await, (200, truth.realm_stats(realm, now).unwrap()));
    }
    assert_eq!(w.psy_get("/stats/realms/4999999").await.0, 404);
    assert_eq!(w.psy_get("/stats/jobs/all-realms").await, (200, Value::Array(truth.all_realms())));
    assert_eq!(w.psy_get("/stats/jobs/counts").await, (200, truth.counts()));
    for hours in [1, 24, 24 * 30] {
        let (summary, total) = truth.job_summary(|j| j.ts >= now - hours * HOUR);
        let (status, body) = w.psy_get(&format!("/stats/jobs?hours={hours}&realm_id={REALM}")).await;
        assert_eq!(status, 200);
        for (got, want) in body["summary"].as_array().unwrap().iter().zip(&summary) {
            assert_eq!(got, want, "hours={hours}");
        }
        assert_eq!((&body["summary"], &body["total_jobs"]), (&json!(summary), &json!(total)), "hours={hours}");
        assert_eq!(body["query_time"], time(now));
    }
    let (summary, total) = truth.job_summary(|j| j.realm_id == Some(REALM + 1));
    let (_, body) = w.psy_get(&format!("/stats/jobs?realm_id={}", REALM + 1)).await;
    assert_eq!((&body["summary"], &body["total_jobs"]), (&json!(summary), &json!(total)));
    assert_eq!(w.psy_get(&format!("/stats/jobs/realm/{}", REALM + 1)).await, (200, json!(summary)));
    let (summary, total) = truth.job_summary(|_| true);
    let (_, body) = w.psy_until("/stats/jobs", |_, b| b["total_jobs"] == total).await;
    assert_eq!((&body["summary"], &body["total_jobs"]), (&json!(summary), &json!(total)), "the refreshed view");

    // Worker statistics in every key form; a 20-byte key answers 200 or 404.
    for n in 0..9 {
        let key = history_key(n);
        let expected = truth.worker_stats(&key, &[&key], now, 0).unwrap();
        assert_eq!(w.psy_get(&format!("/stats/workers/{key}")).await, (200, expected), "{key}");
    }
    let expected = truth.worker_stats(&key_hex, &[&key], now, 0).unwrap();
    assert_eq!(w.psy_get(&format!("/stats/workers/{key_hex}")).await, (200, expected), "the hex form of a base58 key");
    let unknown = "0x1234567890abcdef1234567890abcdef12345678";
    assert_eq!(w.psy_get(&format!("/stats/workers/{unknown}")).await.0, 404);

    // Aggregations over a history longer than a month, whole and windowed across boundaries.
    let window = (now - 40 * DAY + 123_000_000, now - 3 * DAY);
    for bucket in ["2min", "1h", "1d", "1w", "1m", "all_time"] {
        let path = format!("/worker_events_aggregations?bucket={bucket}&order=asc&limit=1000");
        assert_eq!(w.psy_get(&path).await, (200, json!(truth.worker_buckets(bucket, None, None))), "{path}");
        let path = format!("/user_events_aggregations?bucket={bucket}&order=asc&limit=1000");
        assert_eq!(w.psy_get(&path).await, (200, json!(truth.user_buckets(bucket, None, None))), "{path}");
        let range = format!("start_time={}&end_time={}", time(window.0), time(window.1));
        let path = format!("/worker_events_aggregations?bucket={bucket}&limit=1000&{range}");
        let mut expected = truth.worker_buckets(bucket, Some(window.0), Some(window.1));
        expected.reverse();
        assert_eq!(w.psy_get(&path).await, (200, json!(expected)), "{path}");
        let path = format!("/user_events_aggregations?bucket={bucket}&limit=1000&{range}");
        let mut expected = truth.user_buckets(bucket, Some(window.0), Some(window.1));
        expected.reverse();
        assert_eq!(w.psy_get(&path).await, (200, json!(expected)), "{path}");
    }
    let months = truth.worker_buckets("1m", None, None);
    assert!(months.len() >= 2, "the history crosses a month boundary");
    assert!(truth.worker_buckets("1w", None, None).len() >= 6);

    check_rewards(&w, &truth, now).await;
    check_user_info(&w, now).await;
    check_shapes(&w).await;
    check_replay(&mut w).await;
    w.stop().await;
}

/// After `indexer replay` of the log into fresh projections, every read answers as before.
async fn check_replay(w: &mut Stack) {
    let paths = [
        "/worker_events?limit=1000".to_owned(),
        "/worker_events?limit=1000&order=asc&offset=500".into(),
        "/worker_events?status=InProgress&limit=1000".into(),
        "/worker_events?category=reward_only&limit=1000".into(),
        "/user_events?limit=1000".into(),
        "/worker_events_aggregations?bucket=1w&limit=1000".into(),
        "/user_events_aggregations?bucket=1m&limit=1000".into(),
        "/stats".into(),
        "/stats/realms".into(),
        format!("/stats/realms/{REALM}"),
        format!("/stats/workers/{}", history_key(2)),
        "/stats/jobs?hours=24".into(),
        "/stats/jobs/all-realms".into(),
        "/stats/jobs/counts".into(),
        "/leaderboard/workers".into(),
        "/contracts".into(),
    ];
    w.assert_psy_same_after_replay(&paths).await;
}

/// A registration read back by `/user_info` (any spelling of its key) and as its
/// `REGISTER_USER` user event.
async fn check_user_info(w: &Stack, now: i64) {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let public = key.verifying_key().to_bytes();
    let (handle, label) = ("@reader", "Reader rig");
    let message = query_api::psy::register::canonical_message(&public, handle, label);
    let hex = format!("0x{}", shared::field::hex(&public));
    let body = json!({"public_key": hex, "twitter_handle": handle, "label": label,
                      "signature": bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string()});
    let (status, answer) = w.psy_post("/register", &body, None).await;
    assert_eq!(status, 200, "{answer}");
    let user_id = answer["user_id"].as_str().unwrap().to_owned();
    let expected = json!({"id": user_id.parse::<u64>().unwrap(), "public_key": hex, "twitter_handle": handle,
                          "label": label, "created_at": time(now)});
    shaped("UserInfo", &expected);
    let path = format!("/user_info?public_key={hex}");
    assert_eq!(w.psy_until(&path, |s, _| s == 200).await, (200, expected.clone()));
    let base58 = bs58::encode(public).into_string();
    assert_eq!(w.psy_get(&format!("/user_info?public_key={base58}")).await, (200, expected), "the base58 spelling");
    let event = json!({"user_id": user_id, "public_key": hex, "tx_type": "RegisterUser", "checkpoint_id": null,
                       "timestamp": time(now)});
    for tx_type in ["RegisterUser", "REGISTER_USER"] {
        let path = format!("/user_events?user_id={user_id}&tx_type={tx_type}");
        let (status, body) = w.psy_until(&path, |_, b| b.as_array().is_some_and(|a| !a.is_empty())).await;
        assert_eq!((status, without_ids(&body)), (200, vec![event.clone()]), "{path}");
    }
}

/// The leaderboard (its cap reached) and the paid workers' statistics over the paid checkpoint
/// (the per-worker reward reads are checked with the checkpoint reads, in `psy_writes.rs`).
async fn check_rewards(w: &Stack, truth: &Psy, now: i64) {
    let jobs: Vec<u64> = (0..PAID_WORKERS).map(|i| 1 + (i % 3) as u64).collect();
    let per_job = FEES / jobs.iter().sum::<u64>();
    let mut ranked: Vec<(String, u64, u64)> =
        (0..PAID_WORKERS).map(|i| (format!("lb_worker_{i:03}"), jobs[i] * per_job, jobs[i])).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let expected: Vec<Value> = ranked
        .iter()
        .take(100)
        .enumerate()
        .map(|(rank, (key, rewards, jobs))| {
            wire(json!({"rank": rank + 1, "worker_public_key": key, "total_rewards_24h": rewards,
                   "jobs_completed_24h": jobs, "success_rate": truth.success_rate_24h(key, now),
                   "twitter_username": null}))
        })
        .collect();
    let (status, board) = w.psy_until("/leaderboard/workers", |_, b| *b == json!(expected)).await;
    assert_eq!((status, board), (200, json!(expected)), "120 paid workers, the first 100 ranked");
    let (_, top) = w.psy_get("/leaderboard/workers?limit=500").await;
    assert_eq!(top.as_array().unwrap().len(), 100, "limit capped at 100");
    assert_eq!(w.psy_get("/leaderboard/workers?limit=7").await.1, json!(expected[..7]));

    for i in [0usize, 1, 2, 59, 119] {
        let key = format!("lb_worker_{i:03}");
        let rewards = jobs[i] * per_job;
        let stats = truth.worker_stats(&key, &[&key], now, rewards).unwrap();
        assert_eq!(w.psy_get(&format!("/stats/workers/{key}")).await, (200, stats));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_psy_error_body() {
    let w = Stack::start().await;
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
    for path in [
        "/worker_events?category=reward",
        "/worker_events?circuit_type=UserRegistration",
        "/worker_events?topic=999",
        "/user_events?tx_type=Guta",
        "/stats/workers/a%20b",
    ] {
        assert_eq!(w.psy_get(path).await.0, 400, "{path}");
    }
    let unknown = format!("0x{}", "ab".repeat(32));
    let (status, body) = w.psy_get(&format!("/user_info?public_key={unknown}")).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("Not Found")));
    w.stop().await;
}
