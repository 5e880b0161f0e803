//! The control endpoint: the one way off-chain writes enter the log.
//!
//! The query service submits the Psy API's three writes here (a verified registration, a Psy
//! node's telemetry post, a checkpoint's reward calculation); they are appended to the event log
//! as `api` records under idempotency keys, flushed before the answer, and projected like chain
//! events. It listens on a
//! loopback address only and requires the shared token in the `x-control-token` header.
//!
//! - `POST /control/users` with a [`UserRegistration`]: `201` and the [`WriteOutcome`] when
//!   stored, `409` with the outcome when the public key already registered through the API.
//! - `POST /control/rewards` with a [`RewardsRequest`]: `200` and the outcome; a checkpoint
//!   already calculated is left as stored (`created: false`, the stored records' seqs).
//! - `POST /control/telemetry` with a [`TelemetryRequest`] (a validated post of a Psy node):
//!   `200` and the [`TelemetryOutcome`]; each record is stored once under its content's key, so a
//!   retried post appends nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use shared::control::{
    registration_key, rewards_key, ApiEvent, RewardsRequest, TelemetryOutcome, TelemetryRecord, TelemetryRequest,
    UserRegistration, WriteOutcome, TOKEN_HEADER,
};
use shared::psy::PsyEvent;
use shared::psy_model::idempotency;
use tokio::sync::watch;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::error::{Error, Result};
use crate::log::EventLog;

/// Largest accepted request body: a checkpoint's reward calculation is one write of about 230
/// bytes per worker and circuit type, so this takes one of more than 250,000 (the endpoint is
/// loopback only and needs the token).
const MAX_BODY_BYTES: u64 = 64 << 20;

/// Stores a registration, once per public key.
pub fn register(log: &EventLog, registration: UserRegistration) -> Result<WriteOutcome> {
    let key = registration_key(&registration.public_key);
    log.append_api(&key, &[ApiEvent::UserRegistered(registration)])
}

/// Stores a checkpoint's reward calculation (job rewards, then the settlement), once per
/// checkpoint.
pub fn record_rewards(log: &EventLog, request: RewardsRequest) -> Result<WriteOutcome> {
    let checkpoint_id = request.settled.checkpoint_id;
    if let Some(stray) = request.rewards.iter().find(|d| d.checkpoint_id != checkpoint_id) {
        return Err(Error::InvalidWrite(format!(
            "reward for checkpoint {} in the calculation of checkpoint {checkpoint_id}",
            stray.checkpoint_id
        )));
    }
    let mut events: Vec<ApiEvent> = request.rewards.into_iter().map(ApiEvent::JobRewarded).collect();
    events.push(ApiEvent::CheckpointSettled(request.settled));
    log.append_api(&rewards_key(checkpoint_id), &events)
}

/// A post's records with their idempotency keys, in the post's order (worker events, then user
/// events, for `/telemetry/events`).
fn telemetry_records(request: &TelemetryRequest) -> Vec<([u8; 64], ApiEvent)> {
    let record = |event: PsyEvent| ApiEvent::Telemetry(TelemetryRecord(event));
    match request {
        TelemetryRequest::Events(body) => body
            .worker_events()
            .iter()
            .map(|e| (idempotency::worker_event_key(e), record(PsyEvent::WorkerEventReported(e.into()))))
            .chain(
                body.user_events()
                    .iter()
                    .map(|e| (idempotency::user_event_key(e), record(PsyEvent::UserEventReported(e.into())))),
            )
            .collect(),
        TelemetryRequest::Leaves(body) => body
            .leaves
            .iter()
            .map(|leaf| (idempotency::leaf_key(leaf), record(PsyEvent::CheckpointLeafReported(leaf.into()))))
            .collect(),
        TelemetryRequest::Contract(report) => {
            vec![(idempotency::contract_key(report), record(PsyEvent::ContractReported(report.into())))]
        }
    }
}

/// Stores a telemetry post's records, each once, in one atomic flushed batch.
pub fn record_telemetry(log: &EventLog, request: &TelemetryRequest) -> Result<TelemetryOutcome> {
    let records = telemetry_records(request);
    let (seqs, stored) = log.append_api_records(&records)?;
    Ok(TelemetryOutcome { stored, duplicates: records.len() - stored, seqs })
}

/// A telemetry write's answer: `200` with the outcome, or the error.
pub fn telemetry_answer(result: Result<TelemetryOutcome>) -> (StatusCode, serde_json::Value) {
    match result {
        Ok(outcome) => (StatusCode::OK, serde_json::to_value(&outcome).unwrap_or_default()),
        Err(err) => {
            tracing::error!(%err, "telemetry write failed");
            let message = "the event log could not store the write";
            (StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": message }))
        }
    }
}

fn error_reply(status: StatusCode, message: &str) -> Response {
    warp::reply::with_status(warp::reply::json(&serde_json::json!({ "error": message })), status).into_response()
}

/// A write's answer: its status and JSON body (the HTTP endpoint and the NATS subjects answer
/// alike).
pub fn answer(
    result: Result<WriteOutcome>,
    created_status: StatusCode,
    existing_status: StatusCode,
) -> (StatusCode, serde_json::Value) {
    match result {
        Ok(outcome) => {
            let status = if outcome.created { created_status } else { existing_status };
            (status, serde_json::to_value(&outcome).unwrap_or_default())
        }
        Err(Error::InvalidWrite(message)) => (StatusCode::BAD_REQUEST, serde_json::json!({ "error": message })),
        Err(err) => {
            tracing::error!(%err, "control write failed");
            let message = "the event log could not store the write";
            (StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": message }))
        }
    }
}

/// Performs the write of a control `path` (`control/users`, `control/rewards`) from its JSON body
/// and answers it (blocking: the write is flushed before it returns).
pub fn submit(log: &EventLog, path: &str, body: &[u8]) -> (StatusCode, serde_json::Value) {
    let invalid = |what: &str, err: serde_json::Error| {
        (StatusCode::BAD_REQUEST, serde_json::json!({ "error": format!("invalid {what}: {err}") }))
    };
    match path {
        shared::control::REGISTER_PATH => match serde_json::from_slice::<UserRegistration>(body) {
            Ok(registration) => answer(register(log, registration), StatusCode::CREATED, StatusCode::CONFLICT),
            Err(err) => invalid("registration", err),
        },
        shared::control::REWARDS_PATH => match serde_json::from_slice::<RewardsRequest>(body) {
            Ok(request) => answer(record_rewards(log, request), StatusCode::OK, StatusCode::OK),
            Err(err) => invalid("reward calculation", err),
        },
        shared::control::TELEMETRY_PATH => match serde_json::from_slice::<TelemetryRequest>(body) {
            Ok(request) => telemetry_answer(record_telemetry(log, &request)),
            Err(err) => invalid("telemetry post", err),
        },
        _ => (StatusCode::NOT_FOUND, serde_json::json!({ "error": "no such control route" })),
    }
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
pub fn token_matches(given: &str, expected: &str) -> bool {
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The control routes over `log`, guarded by `token`.
pub fn routes(
    log: Arc<EventLog>,
    token: String,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let token = Arc::new(token);
    let authorized = warp::header::optional::<String>(TOKEN_HEADER).and_then(move |given: Option<String>| {
        let token = token.clone();
        async move {
            match given {
                Some(given) if token_matches(&given, &token) => Ok(()),
                _ => Err(warp::reject::custom(Unauthorized)),
            }
        }
    });
    let with_log = warp::any().map(move || log.clone());
    let write = warp::path!("control" / String)
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_log)
        .then(|name: String, bytes: warp::hyper::body::Bytes, log: Arc<EventLog>| async move {
            let path = format!("control/{name}");
            let (status, body) = match tokio::task::spawn_blocking(move || submit(&log, &path, &bytes)).await {
                Ok(answer) => answer,
                Err(err) => {
                    tracing::error!(%err, "control write task failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, serde_json::json!({ "error": "the write did not complete" }))
                }
            };
            warp::reply::with_status(warp::reply::json(&body), status).into_response()
        });
    warp::post()
        .and(authorized)
        .untuple_one()
        .and(write)
        .recover(|rejection: warp::Rejection| async move {
            let reply = if rejection.find::<Unauthorized>().is_some() {
                error_reply(StatusCode::UNAUTHORIZED, "missing or wrong x-control-token")
            } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
                error_reply(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
            } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
                error_reply(StatusCode::METHOD_NOT_ALLOWED, "the control endpoint takes POST")
            } else {
                error_reply(StatusCode::NOT_FOUND, "no such control route")
            };
            Ok::<_, std::convert::Infallible>(reply)
        })
        .unify()
}

#[derive(Debug)]
struct Unauthorized;
impl warp::reject::Reject for Unauthorized {}

/// Binds the control endpoint on a loopback `addr` and serves it until `shutdown`; returns the
/// bound address.
pub async fn serve(
    addr: SocketAddr,
    token: String,
    log: Arc<EventLog>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    if !addr.ip().is_loopback() {
        return Err(Error::Config(format!("--control-bind must be a loopback address, not {addr}")));
    }
    if token.trim().is_empty() {
        return Err(Error::Config("--control-token must not be empty".into()));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| Error::Config(format!("cannot listen on {addr} for the control endpoint: {err}")))?;
    let addr = listener.local_addr().map_err(|err| Error::Config(format!("control endpoint address: {err}")))?;
    tracing::info!(%addr, "control endpoint listening");
    let server = tokio::spawn(async move {
        warp::serve(routes(log, token))
            .incoming(listener)
            .graceful(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .run()
            .await;
    });
    Ok((addr, server))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::control::{CheckpointSettlement, JobReward};
    use shared::psy_model::telemetry::{CheckpointLeaf, CheckpointLeaves};
    use shared::psy_model::Timestamp;

    fn log() -> (tempfile::TempDir, Arc<EventLog>) {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(EventLog::open(dir.path(), 1 << 20).unwrap());
        (dir, log)
    }

    fn rewards(checkpoint_id: u64, distribution_checkpoint: u64) -> RewardsRequest {
        RewardsRequest {
            rewards: vec![JobReward {
                checkpoint_id: distribution_checkpoint,
                worker_public_key: "0x03".into(),
                job_id: "0-7-0-7-1-0-0-8-0".parse().unwrap(),
                reward_amount: 40,
                total_fees_at_checkpoint: 81,
                total_jobs_at_checkpoint: 2,
                timestamp_us: 10,
            }],
            settled: CheckpointSettlement {
                checkpoint_id,
                fees_collected: 81,
                jobs: 2,
                reward_per_job: 40,
                remainder: 1,
                processed_us: 11,
            },
        }
    }

    #[tokio::test]
    async fn writes_need_the_token_and_are_idempotent() {
        let (_dir, log) = log();
        let routes = routes(log.clone(), "secret".into());
        let registration = serde_json::json!({
            "public_key": format!("0x{}", "11".repeat(32)), "twitter_handle": "@a", "label": "rig", "registered_at": 5,
        });
        let post = |path: &str, token: Option<&str>, body: &serde_json::Value| {
            let mut request = warp::test::request().method("POST").path(path).json(body);
            if let Some(token) = token {
                request = request.header(TOKEN_HEADER, token);
            }
            request
        };
        assert_eq!(post("/control/users", None, &registration).reply(&routes).await.status(), 401);
        assert_eq!(post("/control/users", Some("wrong!"), &registration).reply(&routes).await.status(), 401);
        let created = post("/control/users", Some("secret"), &registration).reply(&routes).await;
        assert_eq!(created.status(), 201);
        assert_eq!(serde_json::from_slice::<WriteOutcome>(created.body()).unwrap().seqs, vec![1]);
        let again = post("/control/users", Some("secret"), &registration).reply(&routes).await;
        assert_eq!(again.status(), 409);
        let bad = post("/control/users", Some("secret"), &serde_json::json!({ "public_key": "0x1" })).reply(&routes);
        assert_eq!(bad.await.status(), 400);

        let body = serde_json::to_value(rewards(7, 7)).unwrap();
        let first = post("/control/rewards", Some("secret"), &body).reply(&routes).await;
        assert_eq!(serde_json::from_slice::<WriteOutcome>(first.body()).unwrap().seqs, vec![2, 3]);
        let second = post("/control/rewards", Some("secret"), &body).reply(&routes).await;
        let second: WriteOutcome = serde_json::from_slice(second.body()).unwrap();
        assert_eq!(second, WriteOutcome { created: false, seqs: vec![2, 3] });
        let stray = serde_json::to_value(rewards(8, 9)).unwrap();
        assert_eq!(post("/control/rewards", Some("secret"), &stray).reply(&routes).await.status(), 400);
        assert_eq!(log.last_seq(), 3);

        // A checkpoint paying more workers than an aggregation bucket limit (65,000) is one write.
        let mut many = rewards(10, 10);
        many.rewards = (0..70_000u32)
            .map(|index| JobReward { worker_public_key: format!("0x{index:040x}"), ..many.rewards[0].clone() })
            .collect();
        many.settled.jobs = 70_000;
        let body = serde_json::to_vec(&many).unwrap();
        assert!(body.len() > 4 << 20, "larger than the earlier limit: {} bytes", body.len());
        let request = warp::test::request()
            .method("POST")
            .path("/control/rewards")
            .header(TOKEN_HEADER, "secret")
            .header("content-type", "application/json")
            .body(body);
        let stored = request.reply(&routes).await;
        assert!(stored.status().is_success(), "{}", stored.status());
        assert_eq!(serde_json::from_slice::<WriteOutcome>(stored.body()).unwrap().seqs.len(), 70_001);
    }

    fn leaf(checkpoint_id: i64, fees: i64) -> CheckpointLeaf {
        CheckpointLeaf {
            checkpoint_id,
            fees_collected: fees,
            user_ops_processed: 1,
            total_transactions: 2,
            slots_modified: 3,
            metadata: None,
            timestamp: Timestamp::from_unix_seconds(1_717_243_200 + checkpoint_id),
        }
    }

    #[test]
    fn a_telemetry_post_stores_each_record_once() {
        let (_dir, log) = log();
        let post = |leaves: Vec<CheckpointLeaf>| {
            TelemetryRequest::Leaves(CheckpointLeaves { leaves, timestamp: Timestamp::from_unix_seconds(1) })
        };
        let first = record_telemetry(&log, &post(vec![leaf(1, 10), leaf(2, 20), leaf(1, 10)])).unwrap();
        assert_eq!(first, TelemetryOutcome { stored: 2, duplicates: 1, seqs: vec![1, 2, 1] });
        let retried = record_telemetry(&log, &post(vec![leaf(2, 20), leaf(3, 30)])).unwrap();
        assert_eq!(retried, TelemetryOutcome { stored: 1, duplicates: 1, seqs: vec![2, 3] });
        assert_eq!(log.last_seq(), 3);
        let Some(crate::log::LogRecord::Api(ApiEvent::Telemetry(TelemetryRecord(PsyEvent::CheckpointLeafReported(e))))) =
            log.record(3).unwrap()
        else {
            panic!("seq 3 holds the third leaf")
        };
        assert_eq!((e.checkpoint_id, e.fees_collected), (3, 30));
        let body = serde_json::to_vec(&post(vec![leaf(4, 40)])).unwrap();
        let (status, answer) = submit(&log, shared::control::TELEMETRY_PATH, &body);
        assert_eq!((status, answer["seqs"].clone()), (StatusCode::OK, serde_json::json!([4])));
        let (status, _) = submit(&log, shared::control::TELEMETRY_PATH, br#"{"route":"leaves","body":{}}"#);
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_accepted() {
        let (_dir, log) = log();
        let (_stop, shutdown) = watch::channel(false);
        let public: SocketAddr = "0.0.0.0:0".parse().unwrap();
        assert!(matches!(serve(public, "t".into(), log.clone(), shutdown.clone()).await, Err(Error::Config(_))));
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(matches!(serve(loopback, " ".into(), log, shutdown).await, Err(Error::Config(_))));
    }
}
