//! Job status summaries (`/stats/jobs`, `/stats/jobs/realm/{id}`): jobs by current status and
//! circuit type with their average duration, and the periodically refreshed view that serves the
//! dashboard statistics.
//!
//! The document's "job status refresh" runs every `job_refresh_interval` (10 s by default): it
//! recomputes the all-realms, all-time summary, which `/stats/jobs` without parameters serves as
//! is (its `query_time` is the refresh time), and the worker leaderboard (`/leaderboard/workers`
//! serves its first `limit` rows). `materialized_view_healthy` is true while the last successful
//! refresh is younger than two intervals. With `hours` or `realm_id` the summary is computed for
//! the request; `hours` keeps jobs that started in the last `hours` hours.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::enums::{ProvingJobCircuitType, WorkerEventStatus};
use shared::schema::psy::{JobFields, RealmFields};
use shared::schema::Family;
use tantivy::query::Query;

use super::aggregations::aggregate;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{conjunction, first, i64_range, u64_term};
use crate::timefmt::rfc3339;

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

/// Jobs matching `clauses` by status and circuit type (in the enums' order, non-empty groups
/// only), with the total.
fn summaries(projections: &Projections, clauses: Vec<Box<dyn Query>>) -> Result<(Vec<Value>, u64)> {
    let Some(reader) = projections.family(Family::Jobs)? else { return Ok((Vec::new(), 0)) };
    let request = json!({ "statuses": { "terms": { "field": "status", "size": 10 }, "aggs": {
        "types": { "terms": { "field": "circuit_type", "size": 100 }, "aggs": {
            "duration": { "avg": { "field": "duration_ms" } } } } } } });
    let result = aggregate(&reader.searcher(), &*conjunction(clauses), request)?;
    let mut groups: HashMap<(String, String), (u64, f64)> = HashMap::new();
    for status in result["statuses"]["buckets"].as_array().into_iter().flatten() {
        let Some(status_name) = status["key"].as_str() else { continue };
        for kind in status["types"]["buckets"].as_array().into_iter().flatten() {
            let Some(type_name) = kind["key"].as_str() else { continue };
            let average_ms = kind["duration"]["value"].as_f64().unwrap_or(0.0);
            groups.insert(
                (status_name.to_owned(), type_name.to_owned()),
                (kind["doc_count"].as_u64().unwrap_or(0), average_ms / 1_000.0),
            );
        }
    }
    let mut rows = Vec::new();
    let mut total = 0;
    for status in WorkerEventStatus::ALL {
        for circuit_type in ProvingJobCircuitType::ALL {
            let Some((count, average)) = groups.get(&(status.as_str().to_owned(), circuit_type.as_str().to_owned()))
            else {
                continue;
            };
            total += count;
            rows.push(json!({
                "status": status,
                "circuit_type": circuit_type,
                "job_count": count,
                "average_duration": average,
            }));
        }
    }
    Ok((rows, total))
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
    let realm_id = params.integer::<u64>("realm_id")?;
    if hours == Some(0) {
        return Err(ApiError::BadRequest("`hours` must be at least 1".into()));
    }
    let healthy = view.healthy(refresh_interval);
    let answer = |summary: Vec<Value>, total: u64, query_time: i64| {
        json!({
            "summary": summary,
            "total_jobs": total,
            "query_time": rfc3339(query_time),
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
    let mut clauses = Vec::new();
    if let Some(hours) = hours {
        clauses.push(i64_range(f.start_time, Some(now - i64::from(hours) * 3_600), Some(now)));
    }
    if let Some(realm_id) = realm_id {
        clauses.push(u64_term(f.realm_id, realm_id));
    }
    let (summary, total) = summaries(projections, clauses)?;
    Ok(answer(summary, total, now))
}

/// `GET /stats/jobs/realm/{realm_id}`: the realm's summary over all time.
pub fn realm_job_status(projections: &Projections, realm_id: u64) -> Result<Value> {
    let not_found = || ApiError::NotFound(format!("no realm with id {realm_id}"));
    let realms = projections.family(Family::Realms)?.ok_or_else(not_found)?;
    let f = RealmFields::resolve(&realms.index.schema());
    first(realms, f.id, &realm_id.to_string())?.ok_or_else(not_found)?;
    let clauses = match projections.family(Family::Jobs)? {
        Some(jobs) => vec![u64_term(JobFields::resolve(&jobs.index.schema()).realm_id, realm_id)],
        None => Vec::new(),
    };
    Ok(Value::Array(summaries(projections, clauses)?.0))
}
