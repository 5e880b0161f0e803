//! The DFPN indexer API surface (`dfpn-indexer-api.md`): routes on their own listener.
//!
//! Each route is a small warp filter calling a plain function in [`handlers`]; results and
//! errors become responses in [`crate::reply::json`], the one place that does it.

pub mod handlers;

use std::collections::HashMap;
use std::sync::Arc;

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
    let query = || warp::query::<HashMap<String, String>>();
    let s = || with_state(state.clone());
    let listed = |handler: fn(&State, HashMap<String, String>) -> Result<serde_json::Value, ApiError>| {
        query().and(s()).then(move |q, st: Arc<State>| run(Surface::Dfpn, st, move |st: &State| handler(st, q)))
    };
    let by_id = |handler: fn(&State, &str) -> Result<serde_json::Value, ApiError>| {
        warp::path::param::<String>()
            .and(warp::path::end())
            .and(s())
            .then(move |id: String, st: Arc<State>| run(Surface::Dfpn, st, move |st: &State| handler(st, &id)))
    };
    vec![
        route(
            Method::GET,
            "/health",
            warp::path!("health").and(s()).then(move |st: Arc<State>| {
                run(Surface::Dfpn, st, move |st: &State| handlers::health(&st.projections))
            }),
        ),
        route(
            Method::GET,
            "/requests/search",
            warp::path!("requests" / "search")
                .and(listed(|st, q| handlers::search_requests(&st.projections, q).map(to_value))),
        ),
        route(
            Method::GET,
            "/requests/{id}",
            warp::path("requests").and(by_id(|st, id| handlers::request(&st.projections, id).map(to_value))),
        ),
        route(
            Method::GET,
            "/requests",
            warp::path!("requests").and(listed(|st, q| handlers::requests(&st.projections, q).map(to_value))),
        ),
        route(
            Method::GET,
            "/workers/{operator}",
            warp::path("workers").and(by_id(|st, operator| handlers::worker(&st.projections, operator).map(to_value))),
        ),
        route(
            Method::GET,
            "/workers",
            warp::path!("workers").and(listed(|st, q| handlers::workers(&st.projections, q).map(to_value))),
        ),
        route(
            Method::GET,
            "/models/search",
            warp::path!("models" / "search")
                .and(listed(|st, q| handlers::search_models(&st.projections, q).map(to_value))),
        ),
        route(
            Method::GET,
            "/models/{id}",
            warp::path("models").and(by_id(|st, id| handlers::model(&st.projections, id).map(to_value))),
        ),
        route(
            Method::GET,
            "/models",
            warp::path!("models").and(listed(|st, q| handlers::models(&st.projections, q).map(to_value))),
        ),
        crate::routes::openapi(Surface::Dfpn),
    ]
}

fn to_value<T: serde::Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).expect("API objects serialize")
}
