//! The answers kept between requests: the periodically refreshed dashboard statistics (the job
//! status summary and the worker leaderboard) and the heaviest aggregations cached per index
//! generation. Both are built from the reads in [`super::read`].
//!
//! The document's "job status refresh" runs every `job_refresh_interval` (10 s by default): it
//! recomputes the all-realms, all-time summary, which `/stats/jobs` without parameters serves as
//! is (its `query_time` is the refresh time), and the worker leaderboard (`/leaderboard/workers`
//! serves its first `limit` rows). `materialized_view_healthy` is true while the last successful
//! refresh is younger than two intervals. With `hours` or `realm_id` the summary is computed for
//! the request: as the real service, `hours` keeps the jobs whose latest event is at most `hours`
//! hours old and then ignores `realm_id`; `realm_id` alone keeps the jobs of that realm.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use projection::read::Projections;
use projection::schema::Family;
use serde::Serialize;

use super::read::jobs::{summary, JobScope, JobSummaryRow, Summary};
use super::read::workers::{leaderboard_rows, LeaderboardRow};
use super::read::{now_us, time_us, HOUR_US, MICROS};
use crate::error::Result;
use crate::reply::to_json;
use crate::State;

/// The last refresh of the dashboard statistics.
#[derive(Debug, Clone)]
struct Refreshed {
    summary: Summary,
    leaderboard: Arc<Vec<LeaderboardRow>>,
    query_time: i64,
    at: Instant,
}

/// The periodically refreshed dashboard statistics: the job status summary and the leaderboard.
#[derive(Debug, Default)]
pub struct JobStatusView {
    last: RwLock<Option<Refreshed>>,
}

impl JobStatusView {
    /// Recomputes the unfiltered summary and the leaderboard at `now` (unix seconds).
    pub fn refresh(&self, projections: &Projections, now: i64) -> Result<()> {
        let summary = summary(projections, JobScope::All)?;
        let leaderboard = Arc::new(leaderboard_rows(projections, now)?);
        let refreshed = Refreshed { summary, leaderboard, query_time: now, at: Instant::now() };
        *self.last.write().unwrap_or_else(|p| p.into_inner()) = Some(refreshed);
        Ok(())
    }

    fn last(&self) -> Option<Refreshed> {
        self.last.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the last refresh is younger than two intervals.
    pub fn healthy(&self, interval: Duration) -> bool {
        self.last().is_some_and(|last| last.at.elapsed() < interval * 2)
    }
}

/// The filters of `/stats/jobs` (`hours` ≥ 1).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobStatusFilter {
    pub hours: Option<u32>,
    pub realm_id: Option<i64>,
}

/// `GET /stats/jobs`.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub summary: Vec<JobSummaryRow>,
    pub total_jobs: u64,
    pub query_time: String,
    pub materialized_view_healthy: bool,
}

/// `GET /stats/jobs`: the refreshed summary without filters, else computed now.
pub fn job_status(
    projections: &Projections,
    view: &JobStatusView,
    refresh_interval: Duration,
    filter: JobStatusFilter,
    now: i64,
) -> Result<JobStatus> {
    let healthy = view.healthy(refresh_interval);
    let answer = |summary: Summary, query_time: i64| JobStatus {
        summary: summary.rows,
        total_jobs: summary.total,
        query_time: time_us(query_time.saturating_mul(MICROS)),
        materialized_view_healthy: healthy,
    };
    let scope = match (filter.hours, filter.realm_id) {
        (Some(hours), _) => JobScope::Since(now_us(now).saturating_sub(i64::from(hours).saturating_mul(HOUR_US))),
        (None, Some(realm_id)) => JobScope::Realm(realm_id),
        (None, None) => match view.last() {
            Some(last) => return Ok(answer(last.summary, last.query_time)),
            None => JobScope::All,
        },
    };
    Ok(answer(summary(projections, scope)?, now))
}

/// `GET /leaderboard/workers`: the first `limit` rows of the refreshed leaderboard (computed
/// now before the first refresh).
pub fn leaderboard(
    projections: &Projections,
    view: &JobStatusView,
    limit: usize,
    now: i64,
) -> Result<Vec<LeaderboardRow>> {
    let rows = match view.last() {
        Some(last) => last.leaderboard,
        None => Arc::new(leaderboard_rows(projections, now)?),
    };
    Ok(rows.iter().take(limit).cloned().collect())
}

/// The answer of `compute` kept while `family`'s index is unchanged, under `key` (the request's
/// path and parameters, `crate::cache::request_key`).
pub fn cached<T: Serialize>(
    state: &State,
    family: Family,
    key: String,
    compute: impl FnOnce() -> Result<T>,
) -> Result<serde_json::Value> {
    let Some(generation) = state.projections.generation(family)? else { return to_json(compute()?) };
    state.answers.get_or_compute(key, generation, || to_json(compute()?))
}
