//! Turns handler results into HTTP responses, and decorates every response with the
//! rate-limit headers: the one place results and errors become HTTP.

use std::sync::Arc;

use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::ratelimit::{client_key, Quota};
use crate::State;

/// Which API document an error body follows.
#[derive(Debug, Clone, Copy)]
pub enum Surface {
    /// `{"error", "message", "status"}`.
    Dfpn,
    /// `{"error", "details"?}`.
    Psy,
}

impl Surface {
    /// Its name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Dfpn => "dfpn",
            Surface::Psy => "psy",
        }
    }
}

/// Largest request body accepted (the Psy writes are small JSON objects).
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// Bodies smaller than this are sent uncompressed even when the client accepts gzip.
const GZIP_MIN_BYTES: usize = 1_024;

/// The serialized JSON of a response, kept so that the compression step can reuse it.
#[derive(Clone)]
struct JsonBody(Vec<u8>);

fn json_response(value: &serde_json::Value, status: StatusCode) -> Response {
    let bytes = serde_json::to_vec(value).expect("JSON values serialize");
    let mut response = Response::new(bytes.clone().into());
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(JsonBody(bytes));
    response
}

/// Runs a handler on the blocking pool (tantivy searches are synchronous), bounded by the
/// configured request timeout, and answers with its result: a slow query never stalls the
/// server's async workers, and its client gets a 503 instead of waiting forever.
pub async fn run<F>(surface: Surface, state: Arc<State>, handler: F) -> Response
where
    F: FnOnce(&State) -> Result<serde_json::Value, ApiError> + Send + 'static,
{
    let timeout = state.request_timeout;
    let task = tokio::task::spawn_blocking(move || handler(&state));
    let result = match tokio::time::timeout(timeout, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(failure)) => Err(ApiError::Internal(format!("handler failed: {failure}"))),
        Err(_) => Err(ApiError::Timeout(timeout)),
    };
    json(surface, result)
}

/// Runs synchronous work (tantivy searches) on the blocking pool from an async handler.
pub async fn blocking<T, F>(state: Arc<State>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&State) -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .map_err(|failure| ApiError::Internal(format!("handler failed: {failure}")))?
}

/// A JSON response for a handler result.
pub fn json(surface: Surface, result: Result<serde_json::Value, ApiError>) -> Response {
    match result {
        Ok(value) => json_response(&value, StatusCode::OK),
        Err(error) => error_response(surface, &error),
    }
}

fn error_response(surface: Surface, error: &ApiError) -> Response {
    let body = match surface {
        Surface::Dfpn => error.dfpn_body(),
        Surface::Psy => error.psy_body(),
    };
    json_response(&body, error.status())
}

/// Gzips a JSON response when the client accepts it and the body is worth compressing.
fn maybe_gzip(mut response: Response, accept_encoding: Option<&str>) -> Response {
    let accepts = accept_encoding.is_some_and(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.trim().split(';');
            parts.next().is_some_and(|name| name.trim().eq_ignore_ascii_case("gzip"))
                && !parts.any(|param| param.trim().replace(' ', "") == "q=0")
        })
    });
    let Some(JsonBody(bytes)) = response.extensions_mut().remove::<JsonBody>() else { return response };
    if !accepts || bytes.len() < GZIP_MIN_BYTES {
        return response;
    }
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    if encoder.write_all(&bytes).is_err() {
        return response;
    }
    let Ok(compressed) = encoder.finish() else { return response };
    *response.body_mut() = compressed.into();
    let headers = response.headers_mut();
    headers.insert("content-encoding", HeaderValue::from_static("gzip"));
    headers.remove("content-length");
    headers.insert("vary", HeaderValue::from_static("accept-encoding"));
    response
}

fn add_quota_headers(mut response: Response, quota: &Quota) -> Response {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(quota.reset));
    response
}

/// Counts every request against its client's limit; over the limit answers 429, otherwise runs
/// `routes` (gzipping the answer when asked). Every response carries `X-RateLimit-Limit`,
/// `-Remaining` and `-Reset`.
pub fn rate_limited(
    state: Arc<State>,
    surface: Surface,
    routes: warp::filters::BoxedFilter<(Response,)>,
) -> warp::filters::BoxedFilter<(Response,)> {
    let accept_encoding = warp::header::optional::<String>("accept-encoding");
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
        .and(accept_encoding)
        .map(|quota: Quota, response: Response, encoding: Option<String>| {
            add_quota_headers(maybe_gzip(response, encoding.as_deref()), &quota)
        })
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
        ApiError::PayloadTooLarge(MAX_BODY_BYTES)
    } else {
        ApiError::BadRequest(format!("bad request: {rejection:?}"))
    };
    let mut response = error_response(surface, &error);
    if matches!(error, ApiError::NotFound(_)) {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn state(request_timeout: Duration) -> Arc<State> {
        let config = crate::Config { request_timeout, ..crate::Config::new("/nonexistent".into()) };
        Arc::new(State::new(&config))
    }

    #[tokio::test]
    async fn a_handler_slower_than_the_timeout_is_answered_503() {
        let slow = run(Surface::Dfpn, state(Duration::from_millis(50)), |_| {
            std::thread::sleep(Duration::from_millis(400));
            Ok(serde_json::json!([]))
        })
        .await;
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        let fast = run(Surface::Psy, state(Duration::from_secs(5)), |_| Ok(serde_json::json!({"status": "ok"}))).await;
        assert_eq!(fast.status(), StatusCode::OK);
    }

    #[test]
    fn gzip_only_when_accepted_and_worth_it() {
        let big = json(Surface::Dfpn, Ok(serde_json::json!(vec!["x".repeat(100); 50])));
        assert_eq!(maybe_gzip(big, Some("br, gzip;q=0.8")).headers()["content-encoding"], "gzip");
        let refused = json(Surface::Dfpn, Ok(serde_json::json!(vec!["x".repeat(100); 50])));
        assert!(maybe_gzip(refused, Some("gzip;q=0")).headers().get("content-encoding").is_none());
        let small = json(Surface::Dfpn, Ok(serde_json::json!({"status": "ok"})));
        assert!(maybe_gzip(small, Some("gzip")).headers().get("content-encoding").is_none());
    }
}
