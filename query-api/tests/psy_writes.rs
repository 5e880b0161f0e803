//! The Psy surface's writes and what reads them: admin JWT, reward calculation and processing,
//! the reward and checkpoint endpoints, registration, the TPS WebSocket, and replay equality.
//! Expected values are folded from the fixture ground truth (`common::psy_model`).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::psy_model::{without_ids, PsyModel};
use common::{generous, test_intervals, world, world_with, World};
use ed25519_dalek::{Signer, SigningKey};
use futures::StreamExt;
use query_api::auth::{unix_now, Auth};
use query_api::timefmt::rfc3339;
use serde_json::{json, Value};

const SECRET: &str = "integration-secret";

fn token() -> String {
    Auth::new(SECRET).mint("ops", 3, unix_now())
}

async fn admin_status(w: &World) -> Value {
    let (status, body) =
        w.psy_get_authorized("/admin/checkpoint-processing-status", Some(&format!("Bearer {}", token()))).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the projections show no pending checkpoint.
async fn wait_processed(w: &World) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = admin_status(w).await;
        if status["pending_count"] == 0 || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_a_valid_token() {
    let w = world(generous(), Some(SECRET)).await;
    let path = "/admin/checkpoint-processing-status";
    let now = unix_now();
    let cases = [
        (None, "no header"),
        (Some("Bearer".to_owned()), "no token"),
        (Some("Bearer not.a.jwt".to_owned()), "malformed"),
        (Some(format!("Token {}", token())), "other scheme"),
        (Some(format!("Bearer {}", Auth::new(SECRET).mint("ops", 0, now - 10))), "expired"),
        (Some(format!("Bearer {}", Auth::new("another-secret").mint("ops", 3, now))), "other secret"),
        (
            Some(
                "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJvcHMiLCJleHAiOjk5OTk5OTk5OTksImlhdCI6MH0."
                    .into(),
            ),
            "alg none",
        ),
    ];
    for (header, case) in cases {
        let (status, body) = w.psy_get_authorized(path, header.as_deref()).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(body["error"], "Unauthorized", "{case}");
        assert!(body["details"].is_string(), "{case}");
        let (status, _) = w.psy_post("/checkpoint/calculate-rewards/1", &json!({}), None).await;
        assert_eq!(status, 401);
    }
    assert_eq!(w.psy_get_authorized(path, Some(&format!("Bearer {}", token()))).await.0, 200);

    let unconfigured = world(generous(), None).await;
    let (status, body) = unconfigured.psy_get_authorized(path, Some(&format!("Bearer {}", token()))).await;
    assert_eq!(status, 503, "without JWT_SECRET admin endpoints refuse: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewards_are_calculated_once_and_every_reward_endpoint_matches_the_ground_truth() {
    let mut w = world(generous(), Some(SECRET)).await;
    let model = PsyModel::new(&w.truth_lines);
    let finalized = model.finalized();
    assert!(finalized.len() >= 5, "the fixture chain finalizes checkpoints");

    let status = admin_status(&w).await;
    assert_eq!(status["pending_checkpoints"], json!(finalized));
    assert_eq!(status["pending_count"], finalized.len());
    assert_eq!(status["last_processed_checkpoint"], Value::Null);
    assert_eq!(status["status"], format!("{} checkpoints pending", finalized.len()));

    let bearer = token();
    let calculate = |id: u64| format!("/checkpoint/calculate-rewards/{id}");
    assert_eq!(w.psy_post(&calculate(999_999), &json!({}), Some(&bearer)).await.0, 404);
    let open = model.open().expect("an open checkpoint");
    let (status, body) = w.psy_post(&calculate(open), &json!({}), Some(&bearer)).await;
    assert_eq!(status, 400, "an open checkpoint has no rewards yet: {body}");
    assert_eq!(w.psy_post("/checkpoint/calculate-rewards/x", &json!({}), Some(&bearer)).await.0, 400);

    let first = finalized[0];
    let (status, answer) = w.psy_post(&calculate(first), &json!({}), Some(&bearer)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(without_ids(&answer), model.distributions(first));
    let ids: Vec<u64> = answer.as_array().unwrap().iter().map(|d| d["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "ids ascend: {ids:?}");
    let (_, again) = w.psy_post(&calculate(first), &json!({}), Some(&bearer)).await;
    assert_eq!(again, answer, "recalculating is idempotent");
    let (_, stored) = w.psy_until(&format!("/checkpoint/distributions/{first}"), |_, b| b != &json!([])).await;
    assert_eq!(stored, answer);

    for id in &finalized[1..] {
        let (status, body) = w.psy_post(&calculate(*id), &json!({}), Some(&bearer)).await;
        assert_eq!(status, 200, "{id}: {body}");
    }
    let status = wait_processed(&w).await;
    assert_eq!(status["pending_count"], 0);
    assert_eq!(status["last_processed_checkpoint"], json!(finalized.last()));
    assert_eq!(status["status"], "up to date");

    for id in &finalized {
        let (_, body) = w.psy_get(&format!("/checkpoint/distributions/{id}")).await;
        assert_eq!(without_ids(&body), model.distributions(*id), "checkpoint {id}");
    }
    assert_eq!(w.psy_get("/checkpoint/distributions/999999").await.0, 404);

    check_checkpoint_endpoints(&w, &model).await;
    check_worker_endpoints(&w, &model).await;

    // Replay from genesis: every Psy endpoint answers exactly as before.
    let paths = replay_paths(&w, &model);
    let mut before = Vec::new();
    for path in &paths {
        before.push(w.psy_get(path).await);
    }
    w.stop_projector();
    let replayed = tempfile::tempdir().unwrap();
    indexer::projector::replay(&w.log, &replayed.path().join("projections"), &shared::ProgramSet::defaults()).unwrap();
    let api = query_api::start(query_api::Config {
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        limits: generous(),
        clock: query_api::Clock::Fixed(w.now),
        intervals: test_intervals(),
        ..query_api::Config::new(replayed.path().to_path_buf())
    })
    .await
    .unwrap();
    let base = format!("http://{}", api.psy_addr);
    tokio::time::sleep(Duration::from_millis(300)).await; // the job status view refreshes
    for (path, expected) in paths.iter().zip(before) {
        let response = w.client.get(format!("{base}{path}")).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!((status, body), expected, "after replay: {path}");
    }
    api.stop().await;
}

async fn check_checkpoint_endpoints(w: &World, model: &PsyModel) {
    let expected_stats = |id: u64| {
        let checkpoint = model.checkpoints[&id];
        let jobs: Vec<_> = model.jobs.values().filter(|j| j.checkpoint_id == id).collect();
        let workers: std::collections::BTreeSet<_> = jobs.iter().map(|j| &j.worker).collect();
        let rewards: u64 = if checkpoint.finalized_at.is_some() {
            model.distributions(id).iter().map(|d| d["total_rewards"].as_u64().unwrap()).sum()
        } else {
            0
        };
        let processing = checkpoint.finalized_at.map(|f| (f - checkpoint.created_at) as f64);
        json!({
            "checkpoint_id": id,
            "total_jobs": jobs.len(),
            "completed_jobs": jobs.iter().filter(|j| j.status == "Completed").count(),
            "failed_jobs": jobs.iter().filter(|j| j.status == "Failed").count(),
            "total_rewards_distributed": rewards,
            "unique_workers": workers.len(),
            "processing_time": processing,
            "processing_time_seconds": processing,
            "created_at": rfc3339(checkpoint.created_at),
        })
    };
    let all: Vec<Value> = model.checkpoints.keys().map(|id| expected_stats(*id)).collect();
    assert_eq!(w.psy_get("/checkpoint/stats").await, (200, Value::Array(all.clone())));
    let (_, range) = w.psy_get("/checkpoint/stats?start_checkpoint=2&end_checkpoint=4").await;
    assert_eq!(range, json!([expected_stats(2), expected_stats(3), expected_stats(4)]));
    assert_eq!(w.psy_get("/checkpoint/stats/3").await, (200, expected_stats(3)));
    assert_eq!(w.psy_get("/checkpoint/stats/999999").await.0, 404);
    assert_eq!(w.psy_get("/checkpoint/stats?start_checkpoint=5&end_checkpoint=1").await.0, 400);

    let first = model.finalized()[0];
    let distributions = model.distributions(first);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for d in &distributions {
        *by_type.entry(d["circuit_type"].as_str().unwrap().to_owned()).or_default() +=
            d["total_rewards"].as_u64().unwrap();
    }
    let stats = expected_stats(first);
    let (_, summary) = w.psy_get(&format!("/checkpoint/summary/{first}")).await;
    assert_eq!(
        summary,
        json!({
            "checkpoint_id": first,
            "total_rewards": stats["total_rewards_distributed"],
            "total_jobs": stats["total_jobs"],
            "unique_workers": stats["unique_workers"],
            "reward_distribution": by_type,
            "processing_status": "Completed",
        })
    );
    let open = model.open().unwrap();
    let (_, summary) = w.psy_get(&format!("/checkpoint/summary/{open}")).await;
    assert_eq!(summary["processing_status"], "Open");
    assert_eq!(summary["total_rewards"], 0);
    assert_eq!(w.psy_get("/checkpoint/summary/999999").await.0, 404);
}

/// `(time, checkpoint, circuit type, jobs, rewards)` of a worker's distributions.
fn worker_distributions(model: &PsyModel, worker: &str) -> Vec<(i64, u64, String, u64, u64)> {
    model
        .all_distributions()
        .into_iter()
        .filter(|d| d["worker_public_key"] == worker)
        .map(|d| {
            let time = query_api::timefmt::parse("t", d["created_at"].as_str().unwrap()).unwrap();
            (
                time,
                d["checkpoint_id"].as_u64().unwrap(),
                d["circuit_type"].as_str().unwrap().to_owned(),
                d["job_count"].as_u64().unwrap(),
                d["total_rewards"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn check_worker_endpoints(w: &World, model: &PsyModel) {
    let mut completed_by_worker: BTreeMap<&str, usize> = BTreeMap::new();
    for job in model.jobs.values().filter(|j| j.status == "Completed") {
        *completed_by_worker.entry(&job.worker).or_default() += 1;
    }
    let worker = completed_by_worker.iter().max_by_key(|(_, n)| **n).map(|(k, _)| k.to_string()).unwrap();
    let mine = worker_distributions(model, &worker);
    let total_rewards: u64 = mine.iter().map(|d| d.4).sum();
    let rewarded_jobs: u64 = mine.iter().map(|d| d.3).sum();

    // /rewards/{key}?checkpoint_id=
    let (_, checkpoint, ..) = mine[0].clone();
    let breakdown: Vec<Value> = mine
        .iter()
        .filter(|d| d.1 == checkpoint)
        .map(|d| json!({ "circuit_type": d.2, "job_count": d.3, "rewards": d.4 }))
        .collect();
    let in_checkpoint: Vec<_> = mine.iter().filter(|d| d.1 == checkpoint).collect();
    assert_eq!(
        w.psy_get(&format!("/rewards/{worker}?checkpoint_id={checkpoint}")).await,
        (
            200,
            json!({
                "worker_public_key": worker,
                "checkpoint_id": checkpoint,
                "total_rewards": in_checkpoint.iter().map(|d| d.4).sum::<u64>(),
                "job_count": in_checkpoint.iter().map(|d| d.3).sum::<u64>(),
                "reward_breakdown": breakdown,
            })
        )
    );
    assert_eq!(w.psy_get(&format!("/rewards/{worker}")).await.0, 400, "checkpoint_id is required");
    assert_eq!(w.psy_get(&format!("/rewards/{worker}?checkpoint_id=999999")).await.0, 404);
    assert_eq!(w.psy_get("/rewards/0x%2012?checkpoint_id=1").await.0, 400, "not a key in any form");
    let (status, unknown_hex20) =
        w.psy_get("/rewards/0x1234567890abcdef1234567890abcdef12345678?checkpoint_id=1").await;
    let (_, unknown_hex32) = w.psy_get(&format!("/rewards/0x{}?checkpoint_id=1", "ab".repeat(32))).await;
    assert_eq!(status, 200, "a 20-byte key is a key (issue 14): {unknown_hex20}");
    assert_eq!(
        unknown_hex20["total_rewards"], unknown_hex32["total_rewards"],
        "an unknown key of either form earns nothing"
    );
    assert_eq!(unknown_hex20["total_rewards"], 0);

    // Buckets of the worker's distributions, newest first.
    let bucketed = |seconds: i64| {
        let mut buckets: BTreeMap<i64, (u64, u64, std::collections::BTreeSet<u64>)> = BTreeMap::new();
        for (time, checkpoint, _, jobs, rewards) in &mine {
            let entry = buckets.entry(time - time.rem_euclid(seconds)).or_default();
            entry.0 += rewards;
            entry.1 += jobs;
            entry.2.insert(*checkpoint);
        }
        buckets.into_iter().rev().collect::<Vec<_>>()
    };
    let (_, daily) = w.psy_get(&format!("/rewards_aggregations/{worker}?bucket=1d")).await;
    let expected: Vec<Value> = bucketed(86_400)
        .into_iter()
        .map(|(start, (rewards, jobs, _))| {
            json!({ "time_bucket": rfc3339(start), "total_rewards": rewards, "job_count": jobs,
                "average_reward_per_job": rewards as f64 / jobs as f64 })
        })
        .collect();
    assert_eq!(daily, Value::Array(expected));
    assert_eq!(w.psy_get(&format!("/rewards_aggregations/{worker}?bucket=2min")).await.0, 400);

    let (_, hourly) = w.psy_get(&format!("/checkpoint/rewards/{worker}?time_period=1h&limit=2")).await;
    let expected: Vec<Value> = bucketed(3_600)
        .into_iter()
        .take(2)
        .map(|(start, (rewards, jobs, checkpoints))| {
            json!({ "time_bucket": rfc3339(start), "total_rewards": rewards, "jobs_completed": jobs,
                "checkpoints_participated": checkpoints.len() })
        })
        .collect();
    let checkpoints: std::collections::BTreeSet<u64> = mine.iter().map(|d| d.1).collect();
    assert_eq!(
        hourly,
        json!({
            "worker_public_key": worker, "time_period": "1h", "aggregations": expected,
            "total_rewards": total_rewards, "total_jobs": rewarded_jobs, "total_checkpoints": checkpoints.len(),
        })
    );
    let (_, default_period) = w.psy_get(&format!("/checkpoint/rewards/{worker}")).await;
    assert_eq!(default_period["time_period"], "1d");
    assert_eq!(w.psy_get(&format!("/checkpoint/rewards/{worker}?time_period=2min")).await.0, 400);

    // /checkpoint/rewards/{key}/stats
    let jobs: Vec<_> = model.jobs.values().filter(|j| j.worker == worker).collect();
    let job_checkpoints: std::collections::BTreeSet<u64> = jobs.iter().map(|j| j.checkpoint_id).collect();
    assert_eq!(
        w.psy_get(&format!("/checkpoint/rewards/{worker}/stats")).await,
        (
            200,
            json!({
                "worker_public_key": worker,
                "total_rewards_all_time": total_rewards,
                "total_jobs_completed": jobs.iter().filter(|j| j.status == "Completed").count(),
                "total_checkpoints_participated": job_checkpoints.len(),
                "average_reward_per_job": total_rewards as f64 / rewarded_jobs as f64,
                "first_job_date": rfc3339(jobs.iter().map(|j| j.start_time).min().unwrap()),
                "last_job_date": jobs.iter().filter_map(|j| j.end_time).max().map(rfc3339),
            })
        )
    );
    let stranger = format!("0x{}", "ab".repeat(32));
    assert_eq!(w.psy_get(&format!("/checkpoint/rewards/{stranger}/stats")).await.0, 404);

    // /stats/workers/{key}: jobs that ended in the last 24 hours of the clock.
    let day = w.now - 86_400..=w.now;
    let ended = |status: &str| {
        jobs.iter().filter(|j| j.status == status && j.end_time.is_some_and(|t| day.contains(&t))).collect::<Vec<_>>()
    };
    let (completed, failed) = (ended("Completed"), ended("Failed"));
    let average = completed.iter().map(|j| (j.end_time.unwrap() - j.start_time) as f64).sum::<f64>()
        / completed.len().max(1) as f64;
    let (status, stats) = w.psy_get(&format!("/stats/workers/{worker}")).await;
    assert_eq!(status, 200);
    assert_eq!(stats["jobs_completed_24h"], completed.len());
    assert_eq!(stats["jobs_failed_24h"], failed.len());
    assert_eq!(stats["total_rewards"], total_rewards);
    assert!((stats["average_completion_time"].as_f64().unwrap() - average).abs() < 1e-6, "{stats}");
    let rate = completed.len() as f64 / (completed.len() + failed.len()) as f64;
    assert!((stats["success_rate"].as_f64().unwrap() - rate).abs() < 1e-9);
    assert_eq!(w.psy_get(&format!("/stats/workers/{stranger}")).await.0, 404);

    // Leaderboard: rewards dated and jobs ended in the last 24 hours.
    let mut rows: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for job in model.jobs.values().filter(|j| j.end_time.is_some_and(|t| day.contains(&t))) {
        let row = rows.entry(job.worker.clone()).or_default();
        match job.status.as_str() {
            "Completed" => row.1 += 1,
            "Failed" => row.2 += 1,
            _ => {}
        }
    }
    for d in model.all_distributions() {
        let time = query_api::timefmt::parse("t", d["created_at"].as_str().unwrap()).unwrap();
        if day.contains(&time) {
            rows.entry(d["worker_public_key"].as_str().unwrap().to_owned()).or_default().0 +=
                d["total_rewards"].as_u64().unwrap();
        }
    }
    let mut ranked: Vec<_> = rows.into_iter().collect();
    ranked.sort_by(|(ak, a), (bk, b)| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(ak.cmp(bk)));
    let expected: Vec<Value> = ranked
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, (key, (rewards, completed, failed)))| {
            let rate = if completed + failed == 0 { 0.0 } else { *completed as f64 / (completed + failed) as f64 };
            json!({ "rank": i + 1, "worker_public_key": key, "total_rewards_24h": rewards,
                "jobs_completed_24h": completed, "success_rate": rate })
        })
        .collect();
    let expected = Value::Array(expected);
    let leaderboard = w.psy_until("/leaderboard/workers?limit=5", |_, body| body == &expected).await;
    assert_eq!(leaderboard, (200, expected), "the refreshed leaderboard (every 100 ms here)");
    let (_, capped) = w.psy_get("/leaderboard/workers?limit=500").await;
    assert_eq!(capped.as_array().unwrap().len(), ranked.len().min(100), "limit capped at 100");
}

/// Every Psy read endpoint with representative parameters.
fn replay_paths(w: &World, model: &PsyModel) -> Vec<String> {
    let first = model.finalized()[0];
    let job = model.jobs.values().find(|j| j.status == "Completed").unwrap();
    let key = &job.worker;
    let user = w
        .truth_lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["name"] == "UserRegistered")
        .unwrap();
    let user_key = format!("0x{}", user["fields"]["public_key"].as_str().unwrap());
    let contract = w
        .truth_lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["name"] == "ContractDeployed")
        .unwrap();
    let uuid = contract["fields"]["uuid"].as_str().unwrap().to_owned();
    [
        "/health".to_owned(),
        format!("/user_info?public_key={user_key}"),
        "/worker_events?limit=1000".into(),
        "/worker_events?status=Completed&order=asc&limit=50".into(),
        "/user_events?limit=1000".into(),
        "/worker_events_aggregations?bucket=1h".into(),
        "/worker_events_aggregations?bucket=1m".into(),
        "/user_events_aggregations?bucket=1d".into(),
        "/stats".into(),
        "/stats/realms".into(),
        format!("/stats/realms/{}", job.realm_id),
        format!("/stats/workers/{key}"),
        "/stats/jobs".into(),
        "/stats/jobs?hours=6&realm_id=1".into(),
        format!("/stats/jobs/realm/{}", job.realm_id),
        "/stats/jobs/all-realms".into(),
        "/stats/jobs/counts".into(),
        format!("/rewards/{key}?checkpoint_id={}", job.checkpoint_id),
        format!("/rewards_aggregations/{key}?bucket=1w"),
        "/leaderboard/workers".into(),
        "/checkpoint/stats".into(),
        format!("/checkpoint/stats/{first}"),
        format!("/checkpoint/job-events/{first}"),
        format!("/checkpoint/summary/{first}"),
        format!("/checkpoint/distributions/{first}"),
        format!("/checkpoint/rewards/{key}?time_period=1h"),
        format!("/checkpoint/rewards/{key}/stats"),
        "/contracts?limit=1000".into(),
        format!("/contracts/{uuid}"),
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
async fn registration_is_verified_stored_once_and_background_processing_catches_up() {
    let intervals = query_api::Intervals { reward_processing: Duration::from_millis(200), ..test_intervals() };
    let w = world_with(generous(), Some(SECRET), intervals, Duration::ZERO).await;
    let key = SigningKey::from_bytes(&[42; 32]);
    let body = signed_registration(&key, "@miner123", "Mining Rig #1");
    let (status, answer) = w.psy_post("/register", &body, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["success"], true);
    let user_id = answer["user_id"].as_str().expect("user_id is a string").to_owned();
    let public_hex = body["public_key"].as_str().unwrap().to_owned();
    let (status, info) = w.psy_until(&format!("/user_info?public_key={public_hex}"), |s, _| s == 200).await;
    assert_eq!(status, 200);
    assert_eq!(info["id"].to_string(), user_id);
    assert_eq!(info["twitter_handle"], "@miner123");
    assert_eq!(info["label"], "Mining Rig #1");
    assert_eq!(info["created_at"], rfc3339(w.now));
    let base58 = bs58::encode(key.verifying_key().to_bytes()).into_string();
    assert_eq!(w.psy_get(&format!("/user_info?public_key={base58}")).await.1, info);

    let (status, conflict) = w.psy_post("/register", &body, None).await;
    assert_eq!((status, conflict["error"].as_str()), (409, Some("Conflict")), "{conflict}");

    let other = SigningKey::from_bytes(&[43; 32]);
    let mut forged = signed_registration(&other, "@miner", "Rig");
    forged["public_key"] =
        json!(format!("0x{}", shared::field::hex(&SigningKey::from_bytes(&[44; 32]).verifying_key().to_bytes())));
    assert_eq!(w.psy_post("/register", &forged, None).await.0, 401, "signed by another key");
    let mut tampered = signed_registration(&other, "@miner", "Rig");
    tampered["label"] = json!("Rig 2");
    assert_eq!(w.psy_post("/register", &tampered, None).await.0, 401, "label changed after signing");
    for (field, value) in [
        ("public_key", json!("0x1234")),
        ("public_key", json!("not base58 0OIl")),
        ("signature", json!("0xabcd")),
        ("label", json!("")),
        ("twitter_handle", json!("x".repeat(65))),
        ("label", json!(5)),
    ] {
        let mut bad = signed_registration(&other, "@miner", "Rig");
        bad[field] = value.clone();
        let (status, body) = w.psy_post("/register", &bad, None).await;
        assert_eq!(status, 400, "{field} = {value}: {body}");
        assert_eq!(body["error"], "Bad Request: invalid parameters");
    }
    let (status, _) = w.psy_post("/register", &json!({ "public_key": "0x00" }), None).await;
    assert_eq!(status, 400, "missing fields");
    let huge = json!({ "label": "x".repeat(20_000) });
    assert_eq!(w.psy_post("/register", &huge, None).await.0, 413);
    let response = w.client.post(format!("{}/register", w.psy)).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), 400);

    // The reward processing service calculates every finalized checkpoint by itself.
    let status = wait_processed(&w).await;
    let model = PsyModel::new(&w.truth_lines);
    assert_eq!(status["pending_count"], 0, "{status}");
    assert_eq!(status["last_processed_checkpoint"], json!(model.finalized().last()));
    let last = model.finalized().last().copied().unwrap();
    // The closing record and the distributions are separate projections, each reloading on its
    // own after the indexer's commit: the distributions may show a moment after the status.
    let expected = model.distributions(last);
    let path = format!("/checkpoint/distributions/{last}");
    let (_, stored) = w.psy_until(&path, |_, body| without_ids(body) == expected).await;
    assert_eq!(without_ids(&stored), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tps_clients_receive_broadcasts_and_a_stalled_client_delays_no_one() {
    let w = world(generous(), None).await;
    let url = format!("ws://{}/ws/tps", w.api.psy_addr);
    let (mut reader, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (_stalled, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (status, _) = w.psy_get("/ws/tps").await;
    assert_eq!(status, 400, "a plain GET is not a WebSocket handshake");
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        let mut messages = Vec::new();
        while messages.len() < 20 {
            match reader.next().await {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                    messages.push(serde_json::from_str::<Value>(&text).unwrap())
                }
                Some(Ok(_)) => {}
                other => panic!("stream ended: {other:?}"),
            }
        }
        messages
    })
    .await
    .expect("20 broadcasts at 100 ms arrive while the other client reads nothing");
    let metrics_url = format!("http://{}/metrics", w.api.metrics_addr.unwrap());
    let metrics = w.client.get(&metrics_url).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("query_api_ws_clients 2"), "{metrics}");
    assert!(
        metrics.contains(r#"query_api_requests_total{route="/ws/tps",status="400",surface="psy"} 1"#),
        "the plain GET is counted under its route: {metrics}"
    );
    assert!(metrics.contains(r#"query_api_request_duration_seconds_count{route="/ws/tps",surface="psy"}"#));
    for message in received {
        let object = message.as_object().unwrap();
        assert_eq!(object.len(), 4, "{message}");
        assert_eq!(message["timestamp"], rfc3339(w.now));
        assert!(message["tps"].as_f64().unwrap() > 0.0, "{message}");
        assert_eq!(message["block_height"], w.block_height);
        assert!(message["total_transactions_24h"].as_u64().unwrap() > 0, "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_status_summaries_match_the_ground_truth() {
    let w = world(generous(), None).await;
    let model = PsyModel::new(&w.truth_lines);
    let summary = |keep: &dyn Fn(&common::psy_model::ExpectedJob) -> bool| {
        let mut groups: BTreeMap<(usize, usize), (u64, f64, u64)> = BTreeMap::new();
        for job in model.jobs.values().filter(|j| keep(j)) {
            let status = shared::enums::WorkerEventStatus::ALL.iter().position(|s| s.as_str() == job.status).unwrap();
            let kind =
                shared::enums::ProvingJobCircuitType::ALL.iter().position(|c| c.as_str() == job.circuit_type).unwrap();
            let group = groups.entry((status, kind)).or_default();
            group.0 += 1;
            if let Some(end) = job.end_time {
                group.1 += (end - job.start_time).max(0) as f64;
                group.2 += 1;
            }
        }
        groups
            .into_iter()
            .map(|((status, kind), (count, seconds, ended))| {
                let average = if ended == 0 { 0.0 } else { seconds / ended as f64 };
                (
                    shared::enums::WorkerEventStatus::ALL[status].as_str().to_owned(),
                    shared::enums::ProvingJobCircuitType::ALL[kind].as_str().to_owned(),
                    count,
                    average,
                )
            })
            .collect::<Vec<_>>()
    };
    let same = |answer: &Value, expected: &[(String, String, u64, f64)]| {
        let rows = answer.as_array().unwrap_or_else(|| panic!("an array: {answer}"));
        assert_eq!(rows.len(), expected.len(), "{answer}");
        for (row, (status, kind, count, average)) in rows.iter().zip(expected) {
            assert_eq!(
                (&row["status"], &row["circuit_type"], &row["job_count"]),
                (&json!(status), &json!(kind), &json!(count))
            );
            assert!((row["average_duration"].as_f64().unwrap() - average).abs() < 1e-6, "{row} vs {average}");
        }
    };

    let (_, view) = w.psy_until("/stats/jobs", |_, body| body["materialized_view_healthy"] == true).await;
    assert_eq!(view["materialized_view_healthy"], true, "refreshed every 100 ms: {view}");
    assert_eq!(view["query_time"], rfc3339(w.now));
    same(&view["summary"], &summary(&|_| true));
    assert_eq!(view["total_jobs"], model.jobs.len());

    let recent = w.now - 2 * 3_600..=w.now;
    let (status, filtered) = w.psy_get("/stats/jobs?hours=2&realm_id=1").await;
    assert_eq!(status, 200);
    let expected = summary(&|j| j.realm_id == 1 && recent.contains(&j.start_time));
    assert!(!expected.is_empty(), "the window selects jobs");
    same(&filtered["summary"], &expected);
    assert_eq!(filtered["total_jobs"], expected.iter().map(|e| e.2).sum::<u64>());

    let (status, realm) = w.psy_get("/stats/jobs/realm/2").await;
    assert_eq!(status, 200);
    same(&realm, &summary(&|j| j.realm_id == 2));
    assert_eq!(w.psy_get("/stats/jobs/realm/999").await.0, 404);
    assert_eq!(w.psy_get("/stats/jobs?hours=0").await.0, 400);
    assert_eq!(w.psy_get("/stats/jobs?hours=-1").await.0, 400);
    assert_eq!(w.psy_get("/stats/jobs?days=1").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewards_wait_until_a_finalization_is_final() {
    let intervals = query_api::Intervals { reward_processing: Duration::from_millis(100), ..test_intervals() };
    let year = Duration::from_secs(365 * 86_400);
    let w = world_with(generous(), Some(SECRET), intervals, year).await;
    let model = PsyModel::new(&w.truth_lines);
    let first = model.finalized()[0];
    let (status, body) =
        w.psy_post(&format!("/checkpoint/calculate-rewards/{first}"), &json!({}), Some(&token())).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["details"].as_str().unwrap().contains("final"), "{body}");
    tokio::time::sleep(Duration::from_millis(600)).await; // several processing passes
    let status = admin_status(&w).await;
    assert_eq!(status["pending_count"], model.finalized().len(), "nothing processed before finality: {status}");
    assert_eq!(status["last_processed_checkpoint"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_control_endpoint_writes_answer_503_and_store_nothing() {
    let w = common::world_tuned(generous(), Some(SECRET), test_intervals(), Duration::ZERO, |config| {
        config.control = None;
    })
    .await;
    let before = w.log.last_seq();
    let key = SigningKey::from_bytes(&[43; 32]);
    let body = signed_registration(&key, "@nowhere", "Rig without a control endpoint");
    let (status, answer) = w.psy_post("/register", &body, None).await;
    assert_eq!(status, 503, "{answer}");
    assert!(answer.to_string().to_lowercase().contains("control"), "the answer says why: {answer}");
    let public_hex = body["public_key"].as_str().unwrap().to_owned();
    assert_eq!(w.psy_get(&format!("/user_info?public_key={public_hex}")).await.0, 404, "nothing registered");
    assert_eq!(w.log.last_seq(), before, "the log holds nothing new");
}
