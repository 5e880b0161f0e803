//! The GET endpoints over the projections: events, statistics, checkpoints and rewards.

use std::sync::Arc;

use projection::schema::Family;
use warp::http::Method;
use warp::Filter;

use super::{listed, plain, with_id, with_key, with_state, Answer};
use crate::psy::read::{buckets, checkpoints, events, jobs, realms, rewards, workers};
use crate::psy::{request, views};
use crate::reply::{json, run, Surface};
use crate::routes::{route, Route};
use crate::State;

/// The read routes.
pub fn routes(state: Arc<State>) -> Vec<Route> {
    let mut routes = event_routes(&state);
    routes.extend(stats_routes(&state));
    routes.extend(checkpoint_routes(&state));
    routes.extend(reward_routes(&state));
    routes
}

fn get(
    path: &'static str,
    filter: impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + Send + Sync + 'static,
) -> Route {
    route(Method::GET, path, filter)
}

/// Events, users and contracts.
fn event_routes(state: &Arc<State>) -> Vec<Route> {
    let health = warp::path!("health").map(|| json(Surface::Psy, Ok(serde_json::json!(events::health()))));
    vec![
        get("/health", health),
        get(
            "/user_info",
            warp::path!("user_info").and(listed(state, |st, q| {
                let (forms, raw) = request::user_info(q)?;
                events::user_info(&st.projections, &forms, &raw)
            })),
        ),
        get(
            "/worker_events",
            warp::path!("worker_events")
                .and(listed(state, |st, q| events::worker_events(&st.projections, &request::worker_events(q)?))),
        ),
        get(
            "/user_events",
            warp::path!("user_events")
                .and(listed(state, |st, q| events::user_events(&st.projections, &request::user_events(q)?))),
        ),
        get(
            "/worker_events_aggregations",
            warp::path!("worker_events_aggregations").and(listed(state, |st, q| {
                let key = crate::cache::request_key("/worker_events_aggregations", &q);
                let request = request::buckets(q)?;
                views::cached(st, Family::WorkerEvents, key, || {
                    buckets::worker_events(&st.projections, &request, buckets::SINGLE_PASS_BUCKETS)
                })
            })),
        ),
        get(
            "/user_events_aggregations",
            warp::path!("user_events_aggregations").and(listed(state, |st, q| {
                let key = crate::cache::request_key("/user_events_aggregations", &q);
                let request = request::buckets(q)?;
                views::cached(st, Family::UserEvents, key, || buckets::user_events(&st.projections, &request))
            })),
        ),
        get(
            "/contracts",
            warp::path!("contracts").and(listed(state, |st, q| {
                let (deployer, limit, offset) = request::contracts(q)?;
                events::contracts(&st.projections, deployer.as_deref(), limit, offset)
            })),
        ),
        get(
            "/contracts/{contract_uuid}",
            warp::path!("contracts" / String).and(with_state(state)).then(move |uuid: String, st: Arc<State>| {
                run(Surface::Psy, st, move |st: &State| events::contract(&st.projections, &uuid))
            }),
        ),
    ]
}

/// The statistics: realms, jobs, workers and the leaderboard.
fn stats_routes(state: &Arc<State>) -> Vec<Route> {
    vec![
        get("/stats", warp::path!("stats").and(plain(state, |st| events::stats(&st.projections, st.clock.now())))),
        get(
            "/stats/realms",
            warp::path!("stats" / "realms")
                .and(plain(state, |st| realms::realms_stats(&st.projections, st.clock.now()))),
        ),
        get(
            "/stats/realms/{realm_id}",
            warp::path!("stats" / "realms" / ..)
                .and(with_id(state, |st, id| realms::realm_stats(&st.projections, id, st.clock.now()))),
        ),
        get(
            "/stats/workers/{worker_public_key}",
            warp::path!("stats" / "workers" / ..).and(with_key(state, |st, key, _| {
                workers::worker_stats(&st.projections, key, &request::worker_key(key)?, st.clock.now())
            })),
        ),
        get(
            "/stats/jobs",
            warp::path!("stats" / "jobs").and(listed(state, |st, q| {
                let filter = request::job_status(q)?;
                views::job_status(&st.projections, &st.job_view, st.intervals.job_refresh, filter, st.clock.now())
            })),
        ),
        get(
            "/stats/jobs/realm/{realm_id}",
            warp::path!("stats" / "jobs" / "realm" / ..)
                .and(with_id(state, |st, id| jobs::realm_job_status(&st.projections, id))),
        ),
        get(
            "/stats/jobs/all-realms",
            warp::path!("stats" / "jobs" / "all-realms").and(plain(state, |st| realms::jobs_by_realm(&st.projections))),
        ),
        get(
            "/stats/jobs/counts",
            warp::path!("stats" / "jobs" / "counts").and(plain(state, |st| events::job_counts(&st.projections))),
        ),
        get(
            "/leaderboard/workers",
            warp::path!("leaderboard" / "workers").and(listed(state, |st, q| {
                views::leaderboard(&st.projections, &st.job_view, request::leaderboard(q)?, st.clock.now())
            })),
        ),
    ]
}

/// The checkpoints.
fn checkpoint_routes(state: &Arc<State>) -> Vec<Route> {
    vec![
        get(
            "/checkpoint/stats",
            warp::path!("checkpoint" / "stats").and(listed(state, |st, q| {
                let (start, end) = request::checkpoint_range(q)?;
                checkpoints::stats_range(&st.projections, start, end)
            })),
        ),
        get(
            "/checkpoint/stats/{checkpoint_id}",
            warp::path!("checkpoint" / "stats" / ..)
                .and(with_id(state, |st, id| checkpoints::stats_one(&st.projections, id))),
        ),
        get(
            "/checkpoint/job-events/{checkpoint_id}",
            warp::path!("checkpoint" / "job-events" / ..)
                .and(with_id(state, |st, id| checkpoints::job_events(&st.projections, id))),
        ),
        get(
            "/checkpoint/summary/{checkpoint_id}",
            warp::path!("checkpoint" / "summary" / ..)
                .and(with_id(state, |st, id| checkpoints::summary(&st.projections, id))),
        ),
        get(
            "/checkpoint/distributions/{checkpoint_id}",
            warp::path!("checkpoint" / "distributions" / ..)
                .and(with_id(state, |st, id| checkpoints::distributions(&st.projections, id))),
        ),
    ]
}

/// One worker's rewards.
fn reward_routes(state: &Arc<State>) -> Vec<Route> {
    let stats: Answer = warp::path!("checkpoint" / "rewards" / String / "stats")
        .and(with_state(state))
        .then(move |key: String, st: Arc<State>| {
            run(Surface::Psy, st, move |st: &State| {
                rewards::worker_reward_stats(&st.projections, &key, &request::worker_key(&key)?)
            })
        })
        .boxed();
    vec![
        get(
            "/rewards/{worker_public_key}",
            warp::path!("rewards" / ..).and(with_key(state, |st, key, q| {
                let (forms, checkpoint_id) = request::legacy_rewards(key, q)?;
                rewards::legacy_rewards(&st.projections, key, &forms, checkpoint_id, st.clock.now())
            })),
        ),
        get(
            "/rewards_aggregations/{worker_public_key}",
            warp::path!("rewards_aggregations" / ..).and(with_key(state, |st, key, q| {
                let (forms, page) = request::rewards_aggregations(key, q)?;
                rewards::rewards_aggregations(&st.projections, key, &forms, page)
            })),
        ),
        get(
            "/checkpoint/rewards/{worker_public_key}",
            warp::path!("checkpoint" / "rewards" / ..).and(with_key(state, |st, key, q| {
                let (forms, period, page) = request::worker_rewards(key, q)?;
                rewards::worker_rewards(&st.projections, key, &forms, period, page)
            })),
        ),
        get("/checkpoint/rewards/{worker_public_key}/stats", stats),
    ]
}
