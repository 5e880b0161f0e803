//! The Psy API Services surface (`psy-api-services.md`): every endpoint of the document on its
//! own listener, the JWT-guarded admin endpoints, the two writes and the TPS WebSocket.

pub mod aggregations;
pub mod checkpoints;
pub mod handlers;
pub mod jobs;
pub mod register;
pub mod rewards;
pub mod tps;
pub mod workers;

use std::collections::HashMap;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::error::ApiError;
use crate::reply::{blocking, json, run, Surface, MAX_BODY_BYTES};
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
    blocking(state.clone(), move |st| register::check_not_registered(&st.projections, &key)).await?;
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

/// A handler of a route with a public key path segment and a query string.
type KeyHandler = fn(&State, &str, HashMap<String, String>) -> Result<serde_json::Value, ApiError>;

/// Every Psy route, ending in a 404 for other paths; never rejects.
pub fn routes(state: Arc<State>) -> BoxedFilter<(Response,)> {
    let query = || warp::query::<HashMap<String, String>>();
    let s = {
        let state = state.clone();
        move || {
            let state = state.clone();
            warp::any().map(move || state.clone())
        }
    };
    let reply = |result| json(Surface::Psy, result);
    let sync = |handler: fn(&State, HashMap<String, String>) -> Result<serde_json::Value, ApiError>| {
        query().and(s()).then(move |q, st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st, q)))
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
    let get_routes = vec![
        warp::path!("health").map(move || reply(Ok(handlers::health()))).boxed(),
        warp::path("user_info").and(sync(|st, q| handlers::user_info(&st.projections, q))).boxed(),
        warp::path("worker_events").and(sync(|st, q| handlers::worker_events(&st.projections, q))).boxed(),
        warp::path("user_events").and(sync(|st, q| handlers::user_events(&st.projections, q))).boxed(),
        warp::path!("contracts" / String)
            .and(s())
            .then(move |uuid: String, st: Arc<State>| {
                run(Surface::Psy, st, move |st: &State| handlers::contract(&st.projections, &uuid))
            })
            .boxed(),
        warp::path("contracts").and(sync(|st, q| handlers::contracts(&st.projections, q))).boxed(),
        warp::path("worker_events_aggregations")
            .and(sync(|st, q| aggregations::worker_events(&st.projections, q)))
            .boxed(),
        warp::path("user_events_aggregations").and(sync(|st, q| aggregations::user_events(&st.projections, q))).boxed(),
        warp::path!("stats" / "jobs" / "counts").and(sync(|st, _| handlers::job_counts(&st.projections))).boxed(),
        warp::path!("stats" / "jobs" / "all-realms")
            .and(sync(|st, _| aggregations::jobs_by_realm(&st.projections)))
            .boxed(),
        warp::path!("stats" / "jobs" / "realm" / ..)
            .and(with_id(|st, id| jobs::realm_job_status(&st.projections, id)))
            .boxed(),
        warp::path!("stats" / "jobs")
            .and(sync(|st, q| {
                jobs::job_status(&st.projections, &st.job_view, st.intervals.job_refresh, q, st.clock.now())
            }))
            .boxed(),
        warp::path!("stats").and(sync(|st, _| handlers::stats(&st.projections, st.clock.now()))).boxed(),
        warp::path!("stats" / "realms")
            .and(sync(|st, _| aggregations::realms_stats(&st.projections, st.clock.now())))
            .boxed(),
        warp::path!("stats" / "realms" / ..)
            .and(with_id(|st, id| aggregations::realm_stats(&st.projections, id, st.clock.now())))
            .boxed(),
        warp::path!("stats" / "workers" / ..)
            .and(with_key(|st, key, _| workers::worker_stats(&st.projections, key, st.clock.now())))
            .boxed(),
        warp::path!("rewards" / ..)
            .and(with_key(|st, key, q| workers::checkpoint_rewards(&st.projections, key, q)))
            .boxed(),
        warp::path!("rewards_aggregations" / ..)
            .and(with_key(|st, key, q| workers::rewards_aggregations(&st.projections, key, q)))
            .boxed(),
        warp::path!("leaderboard" / "workers")
            .and(sync(|st, q| workers::leaderboard(&st.projections, q, st.clock.now())))
            .boxed(),
        warp::path!("checkpoint" / "stats").and(sync(|st, q| checkpoints::stats_range(&st.projections, q))).boxed(),
        warp::path!("checkpoint" / "stats" / ..)
            .and(with_id(|st, id| checkpoints::stats_one(&st.projections, id)))
            .boxed(),
        warp::path!("checkpoint" / "job-events" / ..)
            .and(with_id(|st, id| handlers::checkpoint_job_events(&st.projections, id)))
            .boxed(),
        warp::path!("checkpoint" / "summary" / ..)
            .and(with_id(|st, id| checkpoints::summary(&st.projections, id)))
            .boxed(),
        warp::path!("checkpoint" / "distributions" / ..)
            .and(with_id(|st, id| checkpoints::distributions(&st.projections, id)))
            .boxed(),
        warp::path!("checkpoint" / "rewards" / String / "stats")
            .and(s())
            .then(move |key: String, st: Arc<State>| {
                run(Surface::Psy, st, move |st: &State| workers::worker_reward_stats(&st.projections, &key))
            })
            .boxed(),
        warp::path!("checkpoint" / "rewards" / ..)
            .and(with_key(|st, key, q| workers::worker_rewards(&st.projections, key, q)))
            .boxed(),
        warp::path!("admin" / "checkpoint-processing-status")
            .and(warp::header::optional::<String>("authorization"))
            .and(s())
            .then(move |authorization: Option<String>, st: Arc<State>| {
                run(Surface::Psy, st, move |st: &State| {
                    admin(st, authorization.as_deref())?;
                    rewards::processing_status(&st.projections)
                })
            })
            .boxed(),
        warp::path!("ws" / "tps")
            .and(warp::ws())
            .and(s())
            .map(|ws: warp::ws::Ws, st: Arc<State>| {
                let hub = st.tps.clone();
                ws.on_upgrade(move |socket| hub.serve(socket)).into_response()
            })
            .boxed(),
    ];
    let body = || warp::body::content_length_limit(MAX_BODY_BYTES).and(warp::body::bytes());
    let post_routes = vec![
        warp::path!("register")
            .and(body())
            .and(s())
            .then(move |bytes, st: Arc<State>| async move { reply(register_user(st, bytes).await) })
            .recover(|rejection: warp::Rejection| async move {
                if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
                    Ok(json(Surface::Psy, Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES))))
                } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
                    Ok(json(Surface::Psy, Err(ApiError::BadRequest("a Content-Length header is required".into()))))
                } else {
                    Err(rejection)
                }
            })
            .unify()
            .boxed(),
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
            })
            .boxed(),
    ];
    let get = get_routes.into_iter().reduce(|a, b| a.or(b).unify().boxed()).expect("routes listed");
    let post = post_routes.into_iter().reduce(|a, b| a.or(b).unify().boxed()).expect("routes listed");
    let not_found = warp::any().map(move || reply(Err(ApiError::NotFound("no such endpoint".into()))));
    warp::get().and(get).or(warp::post().and(post)).unify().or(not_found).unify().boxed()
}

/// Parses a checkpoint id path segment.
fn checkpoint_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::BadRequest(format!("checkpoint id must be a non-negative integer, got {raw:?}")))
}
