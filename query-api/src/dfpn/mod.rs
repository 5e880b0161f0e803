//! The DFPN indexer API surface (`dfpn-indexer-api.md`): routes on their own listener.
//!
//! Each route is a small warp filter calling a plain function in [`handlers`]; results and
//! errors become responses in [`crate::reply::json`], the one place that does it.

pub mod handlers;

use std::collections::HashMap;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::reply::{json, run, Surface};
use crate::State;

fn with_state(state: Arc<State>) -> impl Filter<Extract = (Arc<State>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// Every DFPN route, ending in a 404 for unknown paths; never rejects.
pub fn routes(state: Arc<State>) -> BoxedFilter<(Response,)> {
    let query = || warp::query::<HashMap<String, String>>();
    let s = || with_state(state.clone());
    let reply = |result| json(Surface::Dfpn, result);
    let health = warp::path!("health")
        .and(s())
        .then(move |st: Arc<State>| run(Surface::Dfpn, st, move |st: &State| handlers::health(&st.projections)));
    let requests_search = warp::path!("requests" / "search").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::search_requests(&st.projections, q).map(to_value))
    });
    let request = warp::path!("requests" / String).and(s()).then(move |id: String, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::request(&st.projections, &id).map(to_value))
    });
    let requests = warp::path!("requests").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::requests(&st.projections, q).map(to_value))
    });
    let worker = warp::path!("workers" / String).and(s()).then(move |operator: String, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::worker(&st.projections, &operator).map(to_value))
    });
    let workers = warp::path!("workers").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::workers(&st.projections, q).map(to_value))
    });
    let models_search = warp::path!("models" / "search").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::search_models(&st.projections, q).map(to_value))
    });
    let model = warp::path!("models" / String).and(s()).then(move |id: String, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::model(&st.projections, &id).map(to_value))
    });
    let models = warp::path!("models").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Dfpn, st, move |st: &State| handlers::models(&st.projections, q).map(to_value))
    });
    let not_found = warp::any().map(move || reply(Err(ApiError::NotFound("no such endpoint".into()))));
    warp::get()
        .and(
            health
                .or(requests_search)
                .unify()
                .or(request)
                .unify()
                .or(requests)
                .unify()
                .or(worker)
                .unify()
                .or(workers)
                .unify()
                .or(models_search)
                .unify()
                .or(model)
                .unify()
                .or(models)
                .unify(),
        )
        .or(not_found)
        .unify()
        .boxed()
}

fn to_value<T: serde::Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).expect("API objects serialize")
}
