//! Turns handler results into HTTP responses, and decorates every response with the
//! rate-limit headers: the one place results and errors become HTTP.

use std::sync::Arc;

use warp::http::{HeaderValue, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::ApiError;
use crate::ratelimit::{client_key, Quota};
use crate::State;

/// Which API document an error body follows.
#[derive(Debug, Clone, Copy)]
pub enum Surface {
    /// `{"error", "message", "status"}`.
    Dfpn,
}

/// A JSON response for a handler result.
pub fn json(surface: Surface, result: Result<serde_json::Value, ApiError>) -> Response {
    match result {
        Ok(value) => warp::reply::json(&value).into_response(),
        Err(error) => error_response(surface, &error),
    }
}

fn error_response(surface: Surface, error: &ApiError) -> Response {
    let body = match surface {
        Surface::Dfpn => error.dfpn_body(),
    };
    warp::reply::with_status(warp::reply::json(&body), error.status()).into_response()
}

fn add_quota_headers(mut response: Response, quota: &Quota) -> Response {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(quota.reset));
    response
}

/// Counts every request against its client's limit; over the limit answers 429, otherwise runs
/// `routes`. Every response carries `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
pub fn rate_limited(
    state: Arc<State>,
    surface: Surface,
    routes: warp::filters::BoxedFilter<(Response,)>,
) -> warp::filters::BoxedFilter<(Response,)> {
    warp::addr::remote()
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("x-forwarded-for"))
        .map(move |peer, authorization: Option<String>, forwarded: Option<String>| {
            let subject = state
                .auth
                .as_ref()
                .zip(authorization.as_deref())
                .and_then(|(auth, header)| auth.verify_header(header).ok())
                .map(|claims| claims.sub);
            let key = match &subject {
                Some(sub) => format!("sub:{sub}"),
                None => client_key(peer, forwarded.as_deref(), state.trust_forwarded_for),
            };
            state.limiter.check(&key, subject.is_some(), crate::unix_millis())
        })
        .and_then(|quota: Quota| async move {
            if quota.exceeded {
                Err(warp::reject::custom(OverLimit(quota)))
            } else {
                Ok(quota)
            }
        })
        .and(routes)
        .map(|quota: Quota, response: Response| add_quota_headers(response, &quota))
        .recover(move |rejection: warp::Rejection| async move {
            match rejection.find::<OverLimit>() {
                Some(OverLimit(quota)) => {
                    let error = ApiError::RateLimited { limit: quota.limit };
                    Ok(add_quota_headers(error_response(surface, &error), quota))
                }
                None => recover(surface, rejection).await,
            }
        })
        .unify()
        .boxed()
}

/// A request over its client's limit.
#[derive(Debug)]
struct OverLimit(Quota);

impl warp::reject::Reject for OverLimit {}

/// Answers what warp itself rejected (before any route ran) with the surface's error body.
pub async fn recover(surface: Surface, rejection: warp::Rejection) -> Result<Response, std::convert::Infallible> {
    let error = if rejection.is_not_found() {
        ApiError::NotFound("no such endpoint".into())
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::BadRequest("request body too large".into())
    } else {
        ApiError::BadRequest(format!("bad request: {rejection:?}"))
    };
    let mut response = error_response(surface, &error);
    if matches!(error, ApiError::NotFound(_)) {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(response)
}
