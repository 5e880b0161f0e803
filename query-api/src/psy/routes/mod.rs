//! The Psy route table, by kind: [`reads`] (GET endpoints over the projections), [`writes`]
//! (registration, the telemetry feed, the reward calculation and its admin status) and
//! [`live`] (the TPS WebSocket and the dashboard page). Each route parses its input
//! (`super::request`), calls one typed read or write, and leaves the answer to
//! [`crate::reply`].

mod live;
mod reads;
mod writes;

use std::sync::Arc;

use serde::Serialize;
use warp::Filter;

use super::request::{self, Query};
use crate::error::ApiError;
use crate::reply::{run, Surface};
use crate::routes::Route;
use crate::State;

/// Every Psy route, with its documented path.
pub fn routes(state: Arc<State>) -> Vec<Route> {
    let mut routes = writes::routes(state.clone());
    routes.extend(reads::routes(state.clone()));
    routes.extend(live::routes(state));
    routes.push(crate::routes::openapi(Surface::Psy));
    routes
}

/// A filter handing out the state.
type WithState = warp::filters::BoxedFilter<(Arc<State>,)>;
/// A filter answering a request.
type Answer = warp::filters::BoxedFilter<(warp::reply::Response,)>;

fn with_state(state: &Arc<State>) -> WithState {
    let state = state.clone();
    warp::any().map(move || state.clone()).boxed()
}

/// A route answering its query string with `handler`.
fn listed<T: Serialize + Send + 'static>(
    state: &Arc<State>,
    handler: fn(&State, Query) -> Result<T, ApiError>,
) -> Answer {
    warp::query::<Query>()
        .and(with_state(state))
        .then(move |q, st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st, q)))
        .boxed()
}

/// A route answering without input.
fn plain<T: Serialize + Send + 'static>(state: &Arc<State>, handler: fn(&State) -> Result<T, ApiError>) -> Answer {
    with_state(state).then(move |st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st))).boxed()
}

/// A route answering a checkpoint or realm id, its last path segment.
fn with_id<T: Serialize + Send + 'static>(
    state: &Arc<State>,
    handler: fn(&State, u64) -> Result<T, ApiError>,
) -> Answer {
    warp::path::param::<String>()
        .and(warp::path::end())
        .and(with_state(state))
        .then(move |raw: String, st: Arc<State>| {
            run(Surface::Psy, st, move |st: &State| request::checkpoint_id(&raw).and_then(|id| handler(st, id)))
        })
        .boxed()
}

/// A route answering a public key, its last path segment, and a query string.
fn with_key<T: Serialize + Send + 'static>(
    state: &Arc<State>,
    handler: fn(&State, &str, Query) -> Result<T, ApiError>,
) -> Answer {
    warp::path::param::<String>()
        .and(warp::path::end())
        .and(warp::query::<Query>())
        .and(with_state(state))
        .then(move |key: String, q, st: Arc<State>| run(Surface::Psy, st, move |st: &State| handler(st, &key, q)))
        .boxed()
}
