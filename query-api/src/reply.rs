//! Turns handler results into HTTP responses, and decorates every response with the
//! rate-limit headers: the one place results and errors become HTTP.

use std::sync::Arc;

use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::ratelimit::Quota;
use crate::server::PeerAddr;
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
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(bytes.clone().into());
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response.extensions_mut().insert(JsonBody(bytes));
    response
}

/// Runs a handler on the blocking pool (tantivy searches are synchronous) within the bound of
/// blocking work in flight and the configured request timeout, and answers with its result: a
/// slow query never stalls the server's async workers, its client gets a 503 instead of waiting
/// forever, and past the bound a request is answered 503 before any work starts.
pub async fn run<F, T>(surface: Surface, state: Arc<State>, handler: F) -> Response
where
    F: FnOnce(&State) -> Result<T, ApiError> + Send + 'static,
    T: serde::Serialize + Send + 'static,
{
    json(surface, bounded(state, handler).await.and_then(to_json))
}

/// An answer as JSON: through `serde_json::Value`, so that object keys are written in one order
/// (sorted) whatever struct or map the answer is.
pub fn to_json<T: serde::Serialize>(answer: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(answer).map_err(|err| ApiError::Internal(format!("answer: {err}")))
}

/// Runs synchronous work of a request (tantivy searches) on the blocking pool from an async
/// handler, within the bound of work in flight and the request timeout.
pub async fn bounded<T, F>(state: Arc<State>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&State) -> Result<T, ApiError> + Send + 'static,
{
    let timeout = state.request_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let shared = state.clone();
    state.work.run(Some((deadline, timeout)), move || work(&shared)).await
}

/// Runs synchronous background work (the Psy services' passes) on the blocking pool, waiting
/// for a slot under the bound of work in flight however long it takes.
pub async fn blocking<T, F>(state: Arc<State>, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&State) -> Result<T, ApiError> + Send + 'static,
{
    let shared = state.clone();
    state.work.run(None, move || work(&shared)).await
}

/// A JSON response for a handler result.
pub fn json(surface: Surface, result: Result<serde_json::Value, ApiError>) -> Response {
    match result {
        Ok(value) => json_response(&value, StatusCode::OK),
        Err(error) => error_response(surface, &error),
    }
}

/// `response` with `connection: close`: for an answer given before the request's body was read
/// (a refused token, a body over its bound), so that a client does not send its next request on
/// a connection the server drops with the unread body.
pub fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(warp::http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The error body of `surface` for `error`.
pub fn error_body(surface: Surface, error: &ApiError) -> serde_json::Value {
    match surface {
        Surface::Dfpn => error.dfpn_body(),
        Surface::Psy => error.psy_body(),
    }
}

fn error_response(surface: Surface, error: &ApiError) -> Response {
    let mut response = json_response(&error_body(surface, error), error.status());
    if let ApiError::MethodNotAllowed { allowed, .. } = error {
        if let Ok(value) = HeaderValue::from_str(allowed) {
            response.headers_mut().insert("allow", value);
        }
    }
    response
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

/// The client of a request: its rate-limit key (the token's subject, else its address as
/// [`crate::ratelimit::ClientKeys`] finds it) and whether a valid token authenticated it.
pub fn client(
    state: Arc<State>,
) -> impl Filter<Extract = ((String, bool),), Error = std::convert::Infallible> + Clone + Send + Sync + 'static {
    warp::ext::optional::<PeerAddr>().and(warp::header::headers_cloned()).map(
        move |peer: Option<PeerAddr>, headers: warp::http::HeaderMap| {
            let subject = state
                .auth
                .as_ref()
                .zip(headers.get("authorization").and_then(|value| value.to_str().ok()))
                .and_then(|(auth, header)| auth.verify_header(header).ok())
                .map(|claims| claims.sub);
            match subject {
                Some(sub) => (format!("sub:{sub}"), true),
                None => {
                    let forwarded: Vec<&str> =
                        headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
                    (state.client_keys.key(peer.map(|p| p.0), &forwarded), false)
                }
            }
        },
    )
}

/// Counts every request against its client's limit; over the limit answers 429, otherwise runs
/// `routes` (gzipping the answer when asked). Every response carries `X-RateLimit-Limit`,
/// `-Remaining` and `-Reset`.
pub fn rate_limited(
    state: Arc<State>,
    surface: Surface,
    routes: warp::filters::BoxedFilter<(Response,)>,
) -> warp::filters::BoxedFilter<(Response,)> {
    let accept_encoding = warp::header::headers_cloned().map(|headers: warp::http::HeaderMap| {
        headers.get("accept-encoding").and_then(|value| value.to_str().ok()).map(str::to_owned)
    });
    let limiter = state.clone();
    client(state)
        .map(move |(key, authenticated): (String, bool)| {
            limiter.limiter.check(&key, authenticated, crate::unix_millis())
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

/// Answers what warp itself rejected (before any route ran) with the surface's error body, in
/// words of ours: no rejection's debug text reaches a client.
pub async fn recover(surface: Surface, rejection: warp::Rejection) -> Result<Response, std::convert::Infallible> {
    use warp::reject;
    let error = if rejection.is_not_found() {
        ApiError::NotFound("no such endpoint".into())
    } else if rejection.find::<reject::PayloadTooLarge>().is_some() {
        ApiError::PayloadTooLarge(MAX_BODY_BYTES)
    } else if rejection.find::<reject::LengthRequired>().is_some() {
        ApiError::BadRequest("a Content-Length header is required".into())
    } else if rejection.find::<reject::InvalidQuery>().is_some() {
        ApiError::BadRequest("the query string is not valid URL-encoded parameters".into())
    } else if let Some(header) = rejection.find::<reject::InvalidHeader>() {
        ApiError::BadRequest(format!("header `{}` is not valid", header.name()))
    } else if let Some(header) = rejection.find::<reject::MissingHeader>() {
        ApiError::BadRequest(format!("header `{}` is required", header.name()))
    } else if rejection.find::<reject::UnsupportedMediaType>().is_some() {
        ApiError::BadRequest("unsupported content type".into())
    } else {
        tracing::debug!(?rejection, "request refused");
        ApiError::BadRequest("the request could not be read".into())
    };
    Ok(error_response(surface, &error))
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
