//! The Psy API Services surface (`psy-api-services.md`): routes on their own listener.
//! Implemented so far: health, user info, worker and user events, contracts, a checkpoint's
//! job events and job counts; the other endpoints of the document follow.

pub mod aggregations;
pub mod handlers;

use std::collections::HashMap;
use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::reply::{json, run, Surface};
use crate::State;

/// Every Psy route implemented so far, ending in a 404 for other paths; never rejects.
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
    let health = warp::path!("health").map(move || reply(Ok(handlers::health())));
    let user_info = warp::path!("user_info").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Psy, st, move |st: &State| handlers::user_info(&st.projections, q))
    });
    let worker_events = warp::path!("worker_events").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Psy, st, move |st: &State| handlers::worker_events(&st.projections, q))
    });
    let user_events = warp::path!("user_events").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Psy, st, move |st: &State| handlers::user_events(&st.projections, q))
    });
    let contract = warp::path!("contracts" / String).and(s()).then(move |uuid: String, st: Arc<State>| {
        run(Surface::Psy, st, move |st: &State| handlers::contract(&st.projections, &uuid))
    });
    let contracts = warp::path!("contracts").and(query()).and(s()).then(move |q, st: Arc<State>| {
        run(Surface::Psy, st, move |st: &State| handlers::contracts(&st.projections, q))
    });
    let job_events =
        warp::path!("checkpoint" / "job-events" / String).and(s()).then(move |id: String, st: Arc<State>| {
            run(Surface::Psy, st, move |st: &State| {
                checkpoint_id(&id).and_then(|id| handlers::checkpoint_job_events(&st.projections, id))
            })
        });
    let job_counts = warp::path!("stats" / "jobs" / "counts")
        .and(s())
        .then(move |st: Arc<State>| run(Surface::Psy, st, move |st: &State| handlers::job_counts(&st.projections)));
    let worker_aggregations =
        warp::path!("worker_events_aggregations").and(query()).and(s()).then(move |q, st: Arc<State>| {
            run(Surface::Psy, st, move |st: &State| aggregations::worker_events(&st.projections, q))
        });
    let user_aggregations =
        warp::path!("user_events_aggregations").and(query()).and(s()).then(move |q, st: Arc<State>| {
            run(Surface::Psy, st, move |st: &State| aggregations::user_events(&st.projections, q))
        });
    let all_realms = warp::path!("stats" / "jobs" / "all-realms").and(s()).then(move |st: Arc<State>| {
        run(Surface::Psy, st, move |st: &State| aggregations::jobs_by_realm(&st.projections))
    });
    let stats = warp::path!("stats").and(s()).then(move |st: Arc<State>| {
        let now = st.clock.now();
        run(Surface::Psy, st, move |st: &State| handlers::stats(&st.projections, now))
    });
    let realms_stats = warp::path!("stats" / "realms").and(s()).then(move |st: Arc<State>| {
        let now = st.clock.now();
        run(Surface::Psy, st, move |st: &State| aggregations::realms_stats(&st.projections, now))
    });
    let realm_stats = warp::path!("stats" / "realms" / String).and(s()).then(move |id: String, st: Arc<State>| {
        let now = st.clock.now();
        run(Surface::Psy, st, move |st: &State| {
            let realm_id = id
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("realm id must be a non-negative integer, got {id:?}")))?;
            aggregations::realm_stats(&st.projections, realm_id, now)
        })
    });
    let not_found = warp::any().map(move || reply(Err(ApiError::NotFound("no such endpoint".into()))));
    warp::get()
        .and(
            health
                .or(user_info)
                .unify()
                .or(worker_events)
                .unify()
                .or(user_events)
                .unify()
                .or(contract)
                .unify()
                .or(contracts)
                .unify()
                .or(job_events)
                .unify()
                .or(job_counts)
                .unify()
                .or(worker_aggregations)
                .unify()
                .or(user_aggregations)
                .unify()
                .or(all_realms)
                .unify()
                .or(stats)
                .unify()
                .or(realms_stats)
                .unify()
                .or(realm_stats)
                .unify(),
        )
        .or(not_found)
        .unify()
        .boxed()
}

/// Parses a checkpoint id path segment.
fn checkpoint_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::BadRequest(format!("checkpoint id must be a non-negative integer, got {raw:?}")))
}
