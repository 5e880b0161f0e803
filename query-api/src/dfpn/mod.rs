//! The DFPN indexer API surface (`dfpn-indexer-api.md`): routes on their own listener.
//!
//! Each route is a small warp filter: [`request`] parses its query string into a typed filter,
//! [`read`] answers it with API objects, and [`crate::reply`] turns the result (or the error)
//! into the response, the one place that does it.

pub mod read;
pub mod request;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use warp::http::Method;
use warp::Filter;

use crate::error::ApiError;
use crate::reply::{run, Surface};
use crate::routes::{route, Route};
use crate::State;

fn with_state(state: Arc<State>) -> impl Filter<Extract = (Arc<State>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// Every DFPN route, with its documented path.
pub fn routes(state: Arc<State>) -> Vec<Route> {
    let s = || with_state(state.clone());
    vec![
        route(
            Method::GET,
            "/health",
            warp::path!("health")
                .and(s())
                .then(move |st: Arc<State>| run(Surface::Dfpn, st, move |st: &State| read::health(&st.projections))),
        ),
        route(
            Method::GET,
            "/requests/search",
            warp::path!("requests" / "search")
                .and(listed(s(), |st, q| read::search_requests(&st.projections, &request::search(q)?))),
        ),
        route(
            Method::GET,
            "/requests/{id}",
            warp::path("requests").and(by_id(s(), |st, id| read::request(&st.projections, id))),
        ),
        route(
            Method::GET,
            "/requests",
            warp::path!("requests").and(listed(s(), |st, q| read::requests(&st.projections, &request::requests(q)?))),
        ),
        route(
            Method::GET,
            "/workers/{operator}",
            warp::path("workers").and(by_id(s(), |st, operator| read::worker(&st.projections, operator))),
        ),
        route(
            Method::GET,
            "/workers",
            warp::path!("workers").and(listed(s(), |st, q| read::workers(&st.projections, &request::workers(q)?))),
        ),
        route(
            Method::GET,
            "/models/search",
            warp::path!("models" / "search")
                .and(listed(s(), |st, q| read::search_models(&st.projections, &request::search(q)?))),
        ),
        route(
            Method::GET,
            "/models/{id}",
            warp::path("models").and(by_id(s(), |st, id| read::model(&st.projections, id))),
        ),
        route(
            Method::GET,
            "/models",
            warp::path!("models").and(listed(s(), |st, q| read::models(&st.projections, &request::models(q)?))),
        ),
        crate::routes::openapi(Surface::Dfpn),
    ]
}

/// A route answering its query string with `handler`.
fn listed<T: Serialize + Send + 'static>(
    s: impl Filter<Extract = (Arc<State>,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    handler: fn(&State, HashMap<String, String>) -> Result<T, ApiError>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    warp::query::<HashMap<String, String>>()
        .and(s)
        .then(move |q, st: Arc<State>| run(Surface::Dfpn, st, move |st: &State| handler(st, q)))
}

/// A route answering its last path segment with `handler`.
fn by_id<T: Serialize + Send + 'static>(
    s: impl Filter<Extract = (Arc<State>,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    handler: fn(&State, &str) -> Result<T, ApiError>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    warp::path::param::<String>()
        .and(warp::path::end())
        .and(s)
        .then(move |id: String, st: Arc<State>| run(Surface::Dfpn, st, move |st: &State| handler(st, &id)))
}
