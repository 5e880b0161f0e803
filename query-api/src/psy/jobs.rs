//! Job status summaries (`/stats/jobs`, `/stats/jobs/realm/{id}`) over the Jobs family (the real
//! `latest_job_status` view: one row per job id, its newest event): jobs by status and circuit
//! type (the document's `status`, `circuit_type`, `job_count`, `average_duration` in seconds over
//! the jobs whose latest event reports a duration), then the real service's `percentage` (share
//! of all the summary's jobs, in percent, rounded to 2 decimals) and `last_update` (newest latest
//! event time); ordered `Pending`, `InProgress`, `Completed`, `Failed`, then by circuit number;
//! and the periodically refreshed view that serves the dashboard statistics.
//!
//! The document's "job status refresh" runs every `job_refresh_interval` (10 s by default): it
//! recomputes the all-realms, all-time summary, which `/stats/jobs` without parameters serves as
//! is (its `query_time` is the refresh time), and the worker leaderboard (`/leaderboard/workers`
//! serves its first `limit` rows). `materialized_view_healthy` is true while the last successful
//! refresh is younger than two intervals. With `hours` or `realm_id` the summary is computed for
//! the request: as the real service, `hours` keeps the jobs whose latest event is at most `hours`
//! hours old and then ignores `realm_id`; `realm_id` alone keeps the jobs of that realm.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use projection::schema::psy::JobFields;
use projection::schema::Family;
use serde_json::{json, Value};
use shared::psy_model::WorkerEventStatus;
use tantivy::query::Query;

use super::aggregations::aggregate;
use super::handlers::{circuit_name, now_us, time_us, HOUR_US, MICROS};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{conjunction, field_name, i64_range, i64_term};

/// The last refresh of the dashboard statistics.
#[derive(Debug, Clone)]
struct Refreshed {
    summary: Vec<Value>,
    total_jobs: u64,
    leaderboard: Arc<Vec<Value>>,
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
        let (summary, total_jobs) = summaries(projections, Vec::new())?;
        let leaderboard = Arc::new(super::workers::leaderboard_rows(projections, now)?);
        let refreshed = Refreshed { summary, total_jobs, leaderboard, query_time: now, at: Instant::now() };
        *self.last.write().unwrap_or_else(|p| p.into_inner()) = Some(refreshed);
        Ok(())
    }

    fn last(&self) -> Option<Refreshed> {
        self.last.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The leaderboard of the last refresh, best first.
    pub fn leaderboard(&self) -> Option<Arc<Vec<Value>>> {
        self.last().map(|last| last.leaderboard)
    }

    /// Whether the last refresh is younger than two intervals.
    pub fn healthy(&self, interval: Duration) -> bool {
        self.last().is_some_and(|last| last.at.elapsed() < interval * 2)
    }
}

/// Jobs matching `clauses` by status and circuit type (statuses in their order, circuit types by
/// number, non-empty groups only), with the total.
fn summaries(projections: &Projections, clauses: Vec<Box<dyn Query>>) -> Result<(Vec<Value>, u64)> {
    let Some(reader) = projections.family(Family::Jobs)? else { return Ok((Vec::new(), 0)) };
    let f = JobFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let request = json!({ "statuses": { "terms": { "field": field_name(&searcher, f.status), "size": 10 }, "aggs": {
        "types": { "terms": { "field": field_name(&searcher, f.circuit_type), "size": 300 }, "aggs": {
            "duration": { "stats": { "field": field_name(&searcher, f.duration) } },
            "last": { "max": { "field": field_name(&searcher, f.timestamp_us) } } } } } } });
    let result = aggregate(&searcher, &*conjunction(clauses), request)?;
    // (status, circuit number) → (jobs, average ms, newest time)
    let mut groups: HashMap<(String, u64), (u64, f64, i64)> = HashMap::new();
    for status in result["statuses"]["buckets"].as_array().into_iter().flatten() {
        let Some(status_name) = status["key"].as_str() else { continue };
        for kind in status["types"]["buckets"].as_array().into_iter().flatten() {
            let Some(circuit) = kind["key"].as_f64() else { continue };
            let average_ms = super::aggregations::stats_average(&kind["duration"]).unwrap_or(0.0);
            let last = kind["last"]["value"].as_f64().unwrap_or(0.0) as i64;
            groups.insert(
                (status_name.to_owned(), circuit as u64),
                (kind["doc_count"].as_u64().unwrap_or(0), average_ms, last),
            );
        }
    }
    let total: u64 = groups.values().map(|g| g.0).sum();
    let mut keys: Vec<(usize, u64)> = groups
        .keys()
        .filter_map(|(status, circuit)| {
            Some((WorkerEventStatus::ALL.iter().position(|s| s.as_str() == status)?, *circuit))
        })
        .collect();
    keys.sort_unstable();
    let rows = keys
        .into_iter()
        .filter_map(|(position, circuit)| {
            let status = WorkerEventStatus::ALL[position];
            let (count, average_ms, last) = groups.get(&(status.as_str().to_owned(), circuit))?;
            Some(json!({
                "status": status.doc().as_str(),
                "circuit_type": circuit_name(circuit),
                "job_count": count,
                "average_duration": average_ms / 1_000.0,
                "percentage": percentage(*count, total),
                "last_update": time_us(*last),
            }))
        })
        .collect();
    Ok((rows, total))
}

/// `part` of `total` in percent, rounded to 2 decimals (0 without a total).
pub fn percentage(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / total as f64 * 100.0).round() / 100.0
    }
}

/// `GET /stats/jobs`.
pub fn job_status(
    projections: &Projections,
    view: &JobStatusView,
    refresh_interval: Duration,
    query: HashMap<String, String>,
    now: i64,
) -> Result<Value> {
    let params = Params::new(query, &["hours", "realm_id"])?;
    let hours = params.integer::<u32>("hours")?;
    let realm_id = params.integer::<i64>("realm_id")?;
    if hours == Some(0) {
        return Err(ApiError::BadRequest("`hours` must be at least 1".into()));
    }
    let healthy = view.healthy(refresh_interval);
    let answer = |summary: Vec<Value>, total: u64, query_time: i64| {
        json!({
            "summary": summary,
            "total_jobs": total,
            "query_time": time_us(query_time.saturating_mul(MICROS)),
            "materialized_view_healthy": healthy,
        })
    };
    if hours.is_none() && realm_id.is_none() {
        if let Some(last) = view.last() {
            return Ok(answer(last.summary, last.total_jobs, last.query_time));
        }
    }
    let Some(reader) = projections.family(Family::Jobs)? else { return Ok(answer(Vec::new(), 0, now)) };
    let f = JobFields::resolve(&reader.index.schema());
    let clauses = match (hours, realm_id) {
        (Some(hours), _) => {
            vec![i64_range(
                f.timestamp_us,
                Some(now_us(now).saturating_sub(i64::from(hours).saturating_mul(HOUR_US))),
                None,
            )]
        }
        (None, Some(realm_id)) => vec![i64_term(f.realm_id, realm_id)],
        (None, None) => Vec::new(),
    };
    let (summary, total) = summaries(projections, clauses)?;
    Ok(answer(summary, total, now))
}

/// `GET /stats/jobs/realm/{realm_id}`: the realm's summary over all time (404 for a realm no
/// worker event reports).
pub fn realm_job_status(projections: &Projections, realm_id: u64) -> Result<Value> {
    let not_found = || ApiError::NotFound(format!("no realm with id {realm_id}"));
    let realm = i64::try_from(realm_id).map_err(|_| not_found())?;
    if !super::aggregations::realm_exists(projections, realm)? {
        return Err(not_found());
    }
    let clauses = match projections.family(Family::Jobs)? {
        Some(jobs) => vec![i64_term(JobFields::resolve(&jobs.index.schema()).realm_id, realm)],
        None => Vec::new(),
    };
    Ok(Value::Array(summaries(projections, clauses)?.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_to_two_decimals() {
        assert_eq!(percentage(1, 3), 33.33);
        assert_eq!(percentage(2, 3), 66.67);
        assert_eq!(percentage(5, 5), 100.0);
        assert_eq!(percentage(0, 0), 0.0);
    }
}
