//! Regression tests of issue 15, item 8, on the write path (the indexer's control endpoint):
//! a loopback control endpoint is reached without the environment's proxy, and a checkpoint
//! with more than 65,000 workers pays every one of them. A binary of its own: the proxy test
//! sets `HTTP_PROXY` for the process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use projection::schema::psy::{Checkpoint, CheckpointFields, WorkerEvent, WorkerEventFields};
use projection::schema::Family;
use query_api::auth::{unix_now, Auth};
use query_api::control::ControlConfig;
use serde_json::Value;
use shared::control::{RewardsRequest, WriteOutcome};
use shared::psy_model::{QProvingJobDataID, WorkerEventSource, WorkerEventStatus};
use test_support::service::{bare_in, client, write_family};
use warp::Filter;

const SECRET: &str = "abuse-writes-secret";
const CHECKPOINT: u64 = 7;

/// A control endpoint on loopback that accepts every reward write and keeps its bodies.
async fn fake_control() -> (String, Arc<Mutex<Vec<RewardsRequest>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    let route =
        warp::path!("control" / "rewards").and(warp::body::bytes()).map(move |body: warp::hyper::body::Bytes| {
            let request: RewardsRequest = serde_json::from_slice(&body).unwrap();
            let seqs = (1..=request.rewards.len() as u64 + 1).collect();
            kept.lock().unwrap().push(request);
            warp::reply::json(&WriteOutcome { created: true, seqs })
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(warp::serve(route).incoming(listener).run());
    (url, received)
}

/// Reward units each job of the checkpoint is paid.
const REWARD_PER_JOB: u64 = 15;

/// A `COMPLETED` worker event of job `task` of `checkpoint` by `worker`, at `time_us`.
fn completed(seq: u64, checkpoint: i64, task: u32, worker: String, time_us: i64) -> WorkerEvent {
    let job_id: QProvingJobDataID = format!("0-{checkpoint}-0-7-1-0-{task}-8-0").parse().unwrap();
    WorkerEvent {
        id: seq.to_string(),
        seq,
        realm_id: Some(0),
        public_key: Some(worker),
        status: WorkerEventStatus::Completed,
        source: WorkerEventSource::Realm,
        job_id: job_id.to_string(),
        topic: u64::from(job_id.topic.value()),
        circuit_type: u64::from(job_id.circuit_type.value()),
        slot_id: 0,
        checkpoint_id: checkpoint,
        duration: Some(2_000),
        metadata: "{}".into(),
        timestamp_us: time_us,
    }
}

/// Projections of one final checkpoint whose `workers` workers each completed one job, with a
/// leaf paying [`REWARD_PER_JOB`] per job (and a completed job five checkpoints later, which makes
/// it final).
fn checkpoint_with_workers(dir: &std::path::Path, workers: u64, completed_at: i64) {
    let time_us = completed_at * 1_000_000;
    write_family(dir, Family::WorkerEvents, |schema| {
        let f = WorkerEventFields::resolve(schema);
        let later = completed(workers + 1, CHECKPOINT as i64 + 5, 0, "0xlater".into(), time_us + 60_000_000);
        (0..workers)
            .map(|n| completed(n + 1, CHECKPOINT as i64, n as u32, format!("0x{n:064x}"), time_us + n as i64))
            .chain([later])
            .map(|event| event.to_document(&f))
            .collect()
    });
    write_family(dir, Family::Checkpoints, |schema| {
        let f = CheckpointFields::resolve(schema);
        vec![Checkpoint {
            id: CHECKPOINT.to_string(),
            checkpoint_id: CHECKPOINT as i64,
            fees_collected: (workers * REWARD_PER_JOB) as i64,
            user_ops_processed: 1,
            total_transactions: 1,
            slots_modified: 1,
            metadata: "{}".into(),
            timestamp_us: time_us,
            created_us: time_us,
            leaf_version: 1,
            seq: workers + 2,
        }
        .to_document(&f)]
    });
}

async fn calculate(psy: &str) -> (u16, Value) {
    let token = Auth::new(SECRET).mint("ops", 1, unix_now());
    let url = format!("{psy}/checkpoint/calculate-rewards/{CHECKPOINT}");
    let response = client().post(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A checkpoint with more than 65,000 workers pays all of them (a terms aggregation stopped at
/// its 65,000-bucket limit before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_8_a_checkpoint_of_65001_workers_pays_every_worker() {
    let workers = 65_001;
    let now = unix_now() as i64;
    let dir = tempfile::tempdir().unwrap();
    checkpoint_with_workers(dir.path(), workers, now - 3_600);
    let (url, received) = fake_control().await;
    let service = bare_in(dir, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.control = Some(ControlConfig { url, token: "t".into(), nats: None });
        c.intervals.reward_processing = Duration::from_secs(3_600);
    })
    .await;
    let (status, body) = calculate(&service.psy).await;
    assert_eq!(status, 200, "{}", body.to_string().chars().take(300).collect::<String>());
    assert_eq!(body.as_array().map(Vec::len), Some(workers as usize), "one distribution per worker");
    let written: Vec<RewardsRequest> = received.lock().unwrap().drain(..).collect();
    assert_eq!(written.len(), 1);
    let request = &written[0];
    assert_eq!(request.rewards.len(), workers as usize);
    assert_eq!(
        (request.settled.jobs, request.settled.reward_per_job, request.settled.remainder),
        (workers, REWARD_PER_JOB, 0)
    );
    assert!(request.rewards.iter().all(|r| r.reward_amount == REWARD_PER_JOB));
    let mut keys: Vec<&str> = request.rewards.iter().map(|d| d.worker_public_key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), workers as usize, "every worker once");
    service.api.stop().await;
}

/// The control endpoint client ignores `HTTP_PROXY` for a loopback endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_8_a_loopback_control_endpoint_is_reached_without_the_environments_proxy() {
    // A "proxy" that accepts connections and never answers: a write through it would time out.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    for name in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(name, &proxy_url);
    }
    for name in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(name);
    }
    let now = unix_now() as i64;
    let dir = tempfile::tempdir().unwrap();
    checkpoint_with_workers(dir.path(), 3, now - 3_600);
    let (url, received) = fake_control().await;
    let service = bare_in(dir, |c| {
        c.jwt_secret = Some(SECRET.into());
        c.control = Some(ControlConfig { url, token: "t".into(), nats: None });
        c.intervals.reward_processing = Duration::from_secs(3_600);
    })
    .await;
    let (status, body) = tokio::time::timeout(Duration::from_secs(8), calculate(&service.psy))
        .await
        .expect("the write does not hang on the proxy");
    assert_eq!(status, 200, "{body}");
    assert_eq!(received.lock().unwrap().len(), 1, "the write reached the control endpoint directly");
    service.api.stop().await;
}
