//! The writes and the admin endpoints: `POST /register`, the real telemetry feed
//! `/telemetry/*`, `POST /checkpoint/calculate-rewards/{id}` and
//! `/admin/checkpoint-processing-status` (both JWT-guarded).

use std::sync::Arc;

use warp::http::Method;
use warp::Filter;

use super::with_state;
use crate::error::ApiError;
use crate::psy::{register, request, rewards, telemetry};
use crate::reply::{bounded, closing, json, run, to_json, Surface, MAX_BODY_BYTES};
use crate::routes::{route, Route};
use crate::State;

/// The write routes.
pub fn routes(state: Arc<State>) -> Vec<Route> {
    let body = || warp::body::content_length_limit(MAX_BODY_BYTES).and(warp::body::bytes());
    vec![
        route(
            Method::POST,
            "/register",
            warp::path!("register")
                .and(body())
                .and(with_state(&state))
                .then(move |bytes, st: Arc<State>| async move { json(Surface::Psy, register_user(st, bytes).await) })
                .recover(|rejection| body_refusal(rejection, MAX_BODY_BYTES))
                .unify(),
        ),
        telemetry_route(
            &state,
            "/telemetry/events",
            telemetry::TelemetryRoute::Events,
            warp::path!("telemetry" / "events"),
        ),
        telemetry_route(
            &state,
            "/telemetry/checkpoint/leaves",
            telemetry::TelemetryRoute::Leaves,
            warp::path!("telemetry" / "checkpoint" / "leaves"),
        ),
        telemetry_route(
            &state,
            "/telemetry/contract",
            telemetry::TelemetryRoute::Contract,
            warp::path!("telemetry" / "contract"),
        ),
        route(
            Method::POST,
            "/checkpoint/calculate-rewards/{checkpoint_id}",
            warp::path!("checkpoint" / "calculate-rewards" / String)
                .and(warp::header::optional::<String>("authorization"))
                .and(with_state(&state))
                .then(move |raw: String, authorization: Option<String>, st: Arc<State>| async move {
                    let result = async {
                        admin(&st, authorization.as_deref())?;
                        let checkpoint_id = request::checkpoint_id(&raw)?;
                        to_json(rewards::calculate_and_store(st, checkpoint_id).await?)
                    };
                    json(Surface::Psy, result.await)
                }),
        ),
        route(
            Method::GET,
            "/admin/checkpoint-processing-status",
            warp::path!("admin" / "checkpoint-processing-status")
                .and(warp::header::optional::<String>("authorization"))
                .and(with_state(&state))
                .then(move |authorization: Option<String>, st: Arc<State>| {
                    run(Surface::Psy, st, move |st: &State| {
                        admin(st, authorization.as_deref())?;
                        rewards::processing_status(&st.projections)
                    })
                }),
        ),
    ]
}

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
        (true, Some(seq)) => to_json(register::registered(*seq)),
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
        Ok(closing(json(Surface::Psy, Err(ApiError::PayloadTooLarge(limit)))))
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
    state: &Arc<State>,
    path: &'static str,
    kind: telemetry::TelemetryRoute,
    filter: impl Filter<Extract = (), Error = warp::Rejection> + Clone + Send + Sync + 'static,
) -> Route {
    let limit = telemetry::MAX_TELEMETRY_BODY_BYTES;
    // The token is checked before the body is read: a refusal is a rejection answered below.
    let authorized = warp::header::optional::<String>("authorization").and(with_state(state)).and_then(
        |authorization: Option<String>, st: Arc<State>| async move {
            telemetry::authorize(&st, authorization.as_deref()).map_err(|err| warp::reject::custom(Refused(err)))
        },
    );
    let filter = filter
        .and(authorized)
        .and(warp::body::content_length_limit(limit).and(warp::body::bytes()))
        .and(with_state(state))
        .then(move |claims, bytes, st: Arc<State>| async move {
            json(Surface::Psy, telemetry::post(st, kind, claims, bytes).await)
        })
        .recover(move |rejection: warp::Rejection| async move {
            match rejection.find::<Refused>() {
                Some(Refused(err)) => Ok(closing(json(Surface::Psy, Err(err.clone())))),
                None => body_refusal(rejection, limit).await,
            }
        })
        .unify();
    route(Method::POST, path, filter)
}
