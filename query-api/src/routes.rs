//! A surface's routes as a table: each filter is registered with its method and documented path
//! template, so that a test can hold the table against the OpenAPI document (every documented
//! path routed, every routed path documented).

use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::error::ApiError;
use crate::reply::{json, Surface};

/// One route: method, documented path template, and the filter that serves it.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path template as the OpenAPI document writes it.
    pub template: &'static str,
    filter: BoxedFilter<(Response,)>,
}

/// A route serving `template` with `filter` (which matches the path itself).
pub fn route<F>(method: Method, template: &'static str, filter: F) -> Route
where
    F: Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static,
{
    Route { method, template, filter: filter.boxed() }
}

/// The routes as one filter, each under its method, ending in the surface's 400 (a routed path
/// and method whose filter refused the request), 405 (a routed path with another method, with
/// `Allow`) or 404; never rejects.
pub fn combine(surface: Surface, routes: Vec<Route>) -> BoxedFilter<(Response,)> {
    let table: Vec<(Method, &'static str)> = routes.iter().map(|r| (r.method.clone(), r.template)).collect();
    let fallback = warp::method()
        .and(warp::path::full())
        .map(move |method: Method, path: warp::path::FullPath| {
            let mut allowed: Vec<&str> =
                table.iter().filter(|(_, template)| matches(template, path.as_str())).map(|(m, _)| m.as_str()).collect();
            allowed.sort_unstable();
            allowed.dedup();
            let error = if allowed.is_empty() {
                ApiError::NotFound("no such endpoint".into())
            } else if allowed.contains(&method.as_str()) {
                // The route is there but refused the request: an unreadable query string, or
                // a plain GET of the WebSocket endpoint.
                ApiError::BadRequest(format!(
                    "{} cannot read this request: check its query string (URL-encoded UTF-8) or, for /ws/tps, its WebSocket upgrade",
                    path.as_str()
                ))
            } else {
                ApiError::MethodNotAllowed { method: method.to_string(), allowed: allowed.join(", ") }
            };
            json(surface, Err(error))
        })
        .boxed();
    routes
        .into_iter()
        .map(|route| {
            warp::method()
                .and_then(move |method: Method| {
                    let expected = route.method.clone();
                    async move {
                        if method == expected {
                            Ok(())
                        } else {
                            Err(warp::reject::not_found())
                        }
                    }
                })
                .untuple_one()
                .and(route.filter)
                .boxed()
        })
        .fold(None, |all: Option<BoxedFilter<(Response,)>>, next| {
            Some(match all {
                Some(all) => all.or(next).unify().boxed(),
                None => next,
            })
        })
        .map_or(fallback.clone(), |all| all.or(fallback).unify().boxed())
}

/// Whether `path` matches a documented path `template` (`{name}` matches one segment).
fn matches(template: &str, path: &str) -> bool {
    let mut segments = path.trim_end_matches('/').split('/');
    let mut parts = template.split('/');
    loop {
        match (parts.next(), segments.next()) {
            (None, None) => return true,
            (Some(part), Some(segment)) if part == segment || (part.starts_with('{') && !segment.is_empty()) => {}
            _ => return false,
        }
    }
}

/// The `/openapi.json` route of a surface.
pub fn openapi(surface: Surface) -> Route {
    route(
        Method::GET,
        "/openapi.json",
        warp::path!("openapi.json").map(move || {
            let mut response = Response::new(crate::openapi::document(surface).into());
            response.headers_mut().insert("content-type", warp::http::HeaderValue::from_static("application/json"));
            response
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::{Config, State};

    /// `(method, template)` pairs the OpenAPI document of a surface lists.
    fn documented(surface: Surface) -> BTreeSet<(String, String)> {
        let document: serde_json::Value = serde_json::from_str(crate::openapi::document(surface)).unwrap();
        let mut pairs = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys().filter(|m| ["get", "post"].contains(&m.as_str())) {
                pairs.insert((method.to_uppercase(), path.clone()));
            }
        }
        pairs
    }

    fn sample_path(template: &str) -> String {
        template
            .split('/')
            .map(|segment| match segment {
                "{operator}" => "11111111111111111111111111111111".to_owned(),
                "{worker_public_key}" => format!("0x{}", "ab".repeat(32)),
                s if s.starts_with('{') => "1".to_owned(),
                s => s.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    #[tokio::test]
    async fn every_documented_path_is_routed_and_every_routed_path_documented() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(State::new(&Config::new(dir.path().to_path_buf())));
        for (surface, routes) in
            [(Surface::Dfpn, crate::dfpn::routes(state.clone())), (Surface::Psy, crate::psy::routes(state.clone()))]
        {
            let table: BTreeSet<(String, String)> =
                routes.iter().map(|r| (r.method.to_string(), r.template.to_owned())).collect();
            assert_eq!(table, documented(surface), "{surface:?}: routes and OpenAPI paths differ");
            let filter = combine(surface, routes);
            for (method, template) in table {
                let mut request = warp::test::request().method(&method).path(&sample_path(&template));
                if template == "/ws/tps" {
                    request = request
                        .header("connection", "upgrade")
                        .header("upgrade", "websocket")
                        .header("sec-websocket-version", "13")
                        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
                }
                let response = request.reply(&filter).await;
                let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
                let said = |text: &str| {
                    ["details", "message"].iter().any(|key| body[key].as_str().is_some_and(|said| said.contains(text)))
                };
                let fallback = said("no such endpoint") || said("cannot read this request");
                assert!(!fallback, "{surface:?} {method} {template} is not routed: {body}");
            }
            let unknown = warp::test::request().path("/no/such/path").reply(&filter).await;
            assert_eq!(unknown.status(), 404);
            let wrong = warp::test::request().method("DELETE").path("/health").reply(&filter).await;
            assert_eq!(
                (wrong.status().as_u16(), &wrong.headers()["allow"]),
                (405, &"GET".parse::<warp::http::HeaderValue>().unwrap())
            );
        }
    }
}
