//! The Psy API Services surface (`psy-api-services.md`): every endpoint of the document on its
//! own listener, the JWT-guarded admin endpoints, the writes (`/register`, the real telemetry
//! feed `/telemetry/*`, the reward calculation) and the TPS WebSocket.

pub mod aggregations;
pub mod checkpoints;
pub mod dashboard;
pub mod handlers;
pub mod input;
pub mod jobs;
pub mod register;
pub mod rewards;
pub mod telemetry;
pub mod tps;
pub mod workers;

use std::collections::HashMap;
use std::sync::Arc;

use warp::http::Method;
use warp::{Filter, Reply};

use crate::error::ApiError;
use crate::reply::{bounded, json, run, Surface, MAX_BODY_BYTES};
use crate::routes::{route, Route};
use crate::State;

/// Checks the bearer token of an admin request: 503 without a configured secret, 401 without a
/// valid token.
fn admin(state: &State, authorization: Option<&str>) -> Result<(), ApiError> {
    let auth = state
        .auth
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("admin endpoints are disabled: the service has no JWT_SECRET".into()))?;
    let header =
        authorization.ok_or_else(|| ApiError::Unauthorized("missing `Authorization: Bearer <token>` header".into()))?;
    auth.verify_header(header).map(|_| ()).map_err(|err| ApiError::Unauthorized(err.to_string()))
}

/// `POST /register`: validates and verifies the body, refuses known keys, stores through the
/// control endpoint.
async fn register_user(state: Arc<State>, body: warp::hyper::body::Bytes) -> Result<serde_json::Value, ApiError> {
    let registration = register::verify(&body, state.clock.now())?;
    let key = registration.public_key;
    bounded(state.clone(), move |st| register::check_not_registered(&st.projections, &key)).await?;
    let control = state.control.clone().ok_or_else(|| {
        ApiError::Unavailable("registrations cannot be stored: the service has no control endpoint".into())
    })?;
    let outcome = control.register(&registration).await?;
    match (outcome.created, outcome.seqs.first()) {
        (true, Some(seq)) => Ok(register::registered(*seq)),
        _ => Err(ApiError::Conflict(format!(
            "public key 0x{} is already registered",
            shared::field::hex(&registration.public_key)
        ))),
    }
}

/// Answers a body refused by its size bound (413) or sent without a length (400); other
/// rejections pass on.
async fn body_refusal(rejection: warp::Rejection, limit: u64) -> Result<warp::reply::Response, warp::Rejection> {
    if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        Ok(json(Surface::Psy, Err(ApiError::PayloadTooLarge(limit))))
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        Ok(json(Surface::Psy, Err(ApiError::BadRequest("a Content-Length header is required".into()))))
    } else {
        Err(rejection)
    }
}

/// A telemetry post refused before its body is read (no secret, a missing or bad token).
#[derive(Debug)]
struct Refused(ApiError);
impl warp::reject::Reject for Refused {}

/// A telemetry route: bearer token, then a body of at most 4 MiB, then [`telemetry::post`].
fn telemetry_route(
    state: Arc<State>,
    path: &'static str,
    kind: telemetry::TelemetryRoute,
    filter: impl Filter<Extract = (), Error = warp::Rejection> + Clone + Send + Sync + 'static,
) -> Route {
    let limit = telemetry::MAX_TELEMETRY_BODY_BYTES;
    let with_state = warp::any().map(move || state.clone());
    // The token is checked before the body is read: a refusal is a rejection answered below.
    let authorized = warp::header::optional::<String>("authorization").and(with_state.clone()).and_then(
        |authorization: Option<String>, st: Arc<State>| async move {
            telemetry::authorize(&st, authorization.as_deref()).map_err(|err| warp::reject::custom(Refused(err)))
        },
    );
    let filter = filter
        .and(authorized)
        .and(warp::body::content_length_limit(limit).and(warp::body::bytes()))
        .and(with_state)
        .then(move |claims, bytes, st: Arc<State>| async move {
            json(Surface::Psy, telemetry::post(st, kind, claims, bytes).await)
        })
        .recover(move |rejection: warp::Rejection| async move {
            match rejection.find::<Refused>() {
                Some(Refused(err)) => Ok(json(Surface::Psy, Err(err.clone()))),
                None => body_refusal(rejection, limit).await,
            }
        })
        .unify();
    route(Method::POST, path, filter)
}

/// A handler of a route with a public key path segment and a query string.
type KeyHandler = fn(&State, &str, HashMap<String, String>) -> Result<serde_json::Value, ApiError>;

/// Every Psy route, with its documented path.
pub fn routes(state: Arc<State>) -> Vec<Route> {
    let query = || warp::query::<HashMap<String, String>>();
    let s = {
        let state = state.clone();
        move || {
            let state = state.clone();
            warp::any().map(move || state.clone())
        }
    };
    let reply = |result| json(Surface::Psy, result);
    let listed = |handler: fn(&State, HashMap<String, String>) -> Result<serde_json::Value, ApiError>| {
        query().and(s()).then(move |q, st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st, q)))
    };
    let plain = |handler: fn(&State) -> Result<serde_json::Value, ApiError>| {
        s().then(move |st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st)))
    };
    let with_id = |handler: fn(&State, u64) -> Result<serde_json::Value, ApiError>| {
        warp::path::param::<String>().and(warp::path::end()).and(s()).then(move |raw: String, st: Arc<State>| {
            run(Surface::Psy, st, move |st: &State| checkpoint_id(&raw).and_then(|id| handler(st, id)))
        })
    };
    let with_key =
        |handler: KeyHandler| {
            warp::path::param::<String>().and(warp::path::end()).and(query()).and(s()).then(
                move |key: String, q, st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st, &key, q)),
            )
        };
    let body = || warp::body::content_length_limit(MAX_BODY_BYTES).and(warp::body::bytes());
    let get = Method::GET;
    vec![
        route(get.clone(), "/health", warp::path!("health").map(move || reply(Ok(handlers::health())))),
        route(
            Method::POST,
            "/register",
            warp::path!("register")
                .and(body())
                .and(s())
                .then(move |bytes, st: Arc<State>| async move { reply(register_user(st, bytes).await) })
                .recover(|rejection| body_refusal(rejection, MAX_BODY_BYTES))
                .unify(),
        ),
        telemetry_route(
            state.clone(),
            "/telemetry/events",
            telemetry::TelemetryRoute::Events,
            warp::path!("telemetry" / "events"),
        ),
        telemetry_route(
            state.clone(),
            "/telemetry/checkpoint/leaves",
            telemetry::TelemetryRoute::Leaves,
            warp::path!("telemetry" / "checkpoint" / "leaves"),
        ),
        telemetry_route(
            state.clone(),
            "/telemetry/contract",
            telemetry::TelemetryRoute::Contract,
            warp::path!("telemetry" / "contract"),
        ),
        route(
            get.clone(),
            "/user_info",
            warp::path!("user_info").and(listed(|st, q| handlers::user_info(&st.projections, q))),
        ),
        route(
            get.clone(),
            "/worker_events",
            warp::path!("worker_events").and(listed(|st, q| handlers::worker_events(&st.projections, q))),
        ),
        route(
            get.clone(),
            "/user_events",
            warp::path!("user_events").and(listed(|st, q| handlers::user_events(&st.projections, q))),
        ),
        route(
            get.clone(),
            "/worker_events_aggregations",
            warp::path!("worker_events_aggregations").and(listed(aggregations::worker_events)),
        ),
        route(
            get.clone(),
            "/user_events_aggregations",
            warp::path!("user_events_aggregations").and(listed(aggregations::user_events)),
        ),
        route(
            get.clone(),
            "/stats",
            warp::path!("stats").and(plain(|st| handlers::stats(&st.projections, st.clock.now()))),
        ),
        route(
            get.clone(),
            "/stats/realms",
            warp::path!("stats" / "realms")
                .and(plain(|st| aggregations::realms_stats(&st.projections, st.clock.now()))),
        ),
        route(
            get.clone(),
            "/stats/realms/{realm_id}",
            warp::path!("stats" / "realms" / ..)
                .and(with_id(|st, id| aggregations::realm_stats(&st.projections, id, st.clock.now()))),
        ),
        route(
            get.clone(),
            "/stats/workers/{worker_public_key}",
            warp::path!("stats" / "workers" / ..)
                .and(with_key(|st, key, _| workers::worker_stats(&st.projections, key, st.clock.now()))),
        ),
        route(
            get.clone(),
            "/stats/jobs",
            warp::path!("stats" / "jobs").and(listed(|st, q| {
                jobs::job_status(&st.projections, &st.job_view, st.intervals.job_refresh, q, st.clock.now())
            })),
        ),
        route(
            get.clone(),
            "/stats/jobs/realm/{realm_id}",
            warp::path!("stats" / "jobs" / "realm" / ..)
                .and(with_id(|st, id| jobs::realm_job_status(&st.projections, id))),
        ),
        route(
            get.clone(),
            "/stats/jobs/all-realms",
            warp::path!("stats" / "jobs" / "all-realms").and(plain(|st| aggregations::jobs_by_realm(&st.projections))),
        ),
        route(
            get.clone(),
            "/stats/jobs/counts",
            warp::path!("stats" / "jobs" / "counts").and(plain(|st| handlers::job_counts(&st.projections))),
        ),
        route(
            get.clone(),
            "/rewards/{worker_public_key}",
            warp::path!("rewards" / ..)
                .and(with_key(|st, key, q| checkpoints::legacy_rewards(&st.projections, key, q, st.clock.now()))),
        ),
        route(
            get.clone(),
            "/rewards_aggregations/{worker_public_key}",
            warp::path!("rewards_aggregations" / ..)
                .and(with_key(|st, key, q| checkpoints::rewards_aggregations(&st.projections, key, q))),
        ),
        route(
            get.clone(),
            "/leaderboard/workers",
            warp::path!("leaderboard" / "workers")
                .and(listed(|st, q| workers::leaderboard(&st.projections, &st.job_view, q, st.clock.now()))),
        ),
        route(
            get.clone(),
            "/checkpoint/stats",
            warp::path!("checkpoint" / "stats").and(listed(|st, q| checkpoints::stats_range(&st.projections, q))),
        ),
        route(
            get.clone(),
            "/checkpoint/stats/{checkpoint_id}",
            warp::path!("checkpoint" / "stats" / ..).and(with_id(|st, id| checkpoints::stats_one(&st.projections, id))),
        ),
        route(
            get.clone(),
            "/checkpoint/job-events/{checkpoint_id}",
            warp::path!("checkpoint" / "job-events" / ..)
                .and(with_id(|st, id| checkpoints::job_events(&st.projections, id))),
        ),
        route(
            get.clone(),
            "/checkpoint/summary/{checkpoint_id}",
            warp::path!("checkpoint" / "summary" / ..).and(with_id(|st, id| checkpoints::summary(&st.projections, id))),
        ),
        route(
            get.clone(),
            "/checkpoint/distributions/{checkpoint_id}",
            warp::path!("checkpoint" / "distributions" / ..)
                .and(with_id(|st, id| checkpoints::distributions(&st.projections, id))),
        ),
        route(
            get.clone(),
            "/checkpoint/rewards/{worker_public_key}",
            warp::path!("checkpoint" / "rewards" / ..)
                .and(with_key(|st, key, q| checkpoints::worker_rewards(&st.projections, key, q))),
        ),
        route(
            get.clone(),
            "/checkpoint/rewards/{worker_public_key}/stats",
            warp::path!("checkpoint" / "rewards" / String / "stats").and(s()).then(
                move |key: String, st: Arc<State>| {
                    run(Surface::Psy, st, move |st: &State| checkpoints::worker_reward_stats(&st.projections, &key))
                },
            ),
        ),
        route(
            Method::POST,
            "/checkpoint/calculate-rewards/{checkpoint_id}",
            warp::path!("checkpoint" / "calculate-rewards" / String)
                .and(warp::header::optional::<String>("authorization"))
                .and(s())
                .then(move |raw: String, authorization: Option<String>, st: Arc<State>| async move {
                    let result = async {
                        admin(&st, authorization.as_deref())?;
                        let checkpoint_id = checkpoint_id(&raw)?;
                        rewards::calculate_and_store(st, checkpoint_id).await
                    };
                    reply(result.await)
                }),
        ),
        route(
            get.clone(),
            "/admin/checkpoint-processing-status",
            warp::path!("admin" / "checkpoint-processing-status")
                .and(warp::header::optional::<String>("authorization"))
                .and(s())
                .then(move |authorization: Option<String>, st: Arc<State>| {
                    run(Surface::Psy, st, move |st: &State| {
                        admin(st, authorization.as_deref())?;
                        rewards::processing_status(&st.projections)
                    })
                }),
        ),
        route(
            get.clone(),
            "/contracts",
            warp::path!("contracts").and(listed(|st, q| handlers::contracts(&st.projections, q))),
        ),
        route(
            get.clone(),
            "/contracts/{contract_uuid}",
            warp::path!("contracts" / String).and(s()).then(move |uuid: String, st: Arc<State>| {
                run(Surface::Psy, st, move |st: &State| handlers::contract(&st.projections, &uuid))
            }),
        ),
        route(
            get.clone(),
            "/ws/tps",
            warp::path!("ws" / "tps")
                .and(warp::ws())
                .and(query())
                .and(crate::reply::client(state.clone()))
                .and(s())
                .map(|ws: warp::ws::Ws, q: HashMap<String, String>, (key, _): (String, bool), st: Arc<State>| {
                    let form = match tps::TpsForm::parse(q.get("format").map(String::as_str)) {
                        Ok(form) => form,
                        Err(error) => return json(Surface::Psy, Err(error)),
                    };
                    let hub = st.tps.clone();
                    match hub.admit(&key) {
                        Ok(admission) => {
                            let limits = hub.limits();
                            ws.max_message_size(limits.max_message_bytes)
                                .max_frame_size(limits.max_frame_bytes)
                                .on_upgrade(move |socket| hub.serve(socket, admission, form))
                                .into_response()
                        }
                        Err(error) => json(Surface::Psy, Err(error)),
                    }
                }),
        ),
        route(
            get,
            "/dashboard",
            warp::path!("dashboard")
                .and(warp::header::optional::<String>("host"))
                .and(s())
                .map(|host: Option<String>, st: Arc<State>| dashboard::page(&st, host.as_deref())),
        ),
        crate::routes::openapi(Surface::Psy),
    ]
}

/// Parses a checkpoint id path segment.
fn checkpoint_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::BadRequest(format!("checkpoint id must be a non-negative integer, got {raw:?}")))
}
