//! Per-worker endpoints: statistics, the leaderboard and rewards.
//!
//! "Last 24 hours" of jobs means jobs that ended in the 24 hours before the service's clock;
//! rewards of the last 24 hours are distributions dated (at their checkpoint's finalization) in
//! that window. `success_rate` is completed over completed-or-failed (0 without either).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use shared::enums::ProvingJobCircuitType;
use shared::schema::psy::{JobFields, RewardDistributionFields};
use shared::schema::Family;
use tantivy::query::Query;
use tantivy::Searcher;

use super::aggregations::{aggregate, average, buckets, distinct, sub_counts, BucketSize, MAX_DISTINCT_WORKERS};
use super::handlers::DAY_SECS;
use super::input;
use super::rewards::checkpoint;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{conjunction, count, i64_range, text_term, u64_term};
use crate::timefmt::rfc3339;

/// Default and largest `limit` of the leaderboard.
pub const LEADERBOARD_LIMIT: usize = 100;
/// Default number of reward buckets.
pub const DEFAULT_REWARD_BUCKETS: usize = 100;
/// Largest number of reward buckets; larger limits are capped.
pub const MAX_REWARD_BUCKETS: usize = 1_000;

fn rate(completed: u64, failed: u64) -> f64 {
    if completed + failed == 0 {
        0.0
    } else {
        completed as f64 / (completed + failed) as f64
    }
}

/// Sums of numeric fast fields over the matching documents (0 when none match).
fn sums(searcher: &Searcher, query: &dyn Query, fields: &[&str]) -> Result<Vec<f64>> {
    let request: serde_json::Map<String, Value> =
        fields.iter().map(|field| (field.to_string(), json!({ "sum": { "field": field } }))).collect();
    let result = aggregate(searcher, query, Value::Object(request))?;
    Ok(fields.iter().map(|field| result[*field]["value"].as_f64().unwrap_or(0.0)).collect())
}

/// The worker's reward distributions, optionally within a time range.
fn distributions_of(
    projections: &Projections,
    worker: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> Result<Option<(Searcher, Box<dyn Query>)>> {
    let Some(reader) = projections.family(Family::RewardDistributions)? else { return Ok(None) };
    let f = RewardDistributionFields::resolve(&reader.index.schema());
    let mut clauses = vec![text_term(f.worker_public_key, worker)];
    if start.is_some() || end.is_some() {
        clauses.push(i64_range(f.created_at, start, end));
    }
    Ok(Some((reader.searcher(), conjunction(clauses))))
}

fn total_rewards(projections: &Projections, worker: &str) -> Result<(u64, u64)> {
    match distributions_of(projections, worker, None, None)? {
        Some((searcher, query)) => {
            let totals = sums(&searcher, &*query, &["total_rewards", "job_count"])?;
            Ok((totals[0] as u64, totals[1] as u64))
        }
        None => Ok((0, 0)),
    }
}

/// The worker's jobs (404 when the worker has none).
fn worker_jobs<'a>(
    projections: &'a Projections,
    worker: &str,
) -> Result<(&'a crate::projections::FamilyReader, JobFields)> {
    let not_found = || ApiError::NotFound(format!("no jobs by worker {worker}"));
    let reader = projections.family(Family::Jobs)?.ok_or_else(not_found)?;
    let f = JobFields::resolve(&reader.index.schema());
    if count(&reader.searcher(), &*text_term(f.worker_public_key, worker))? == 0 {
        return Err(not_found());
    }
    Ok((reader, f))
}

/// `GET /stats/workers/{worker_public_key}`.
pub fn worker_stats(projections: &Projections, raw_key: &str, now: i64) -> Result<Value> {
    let worker = input::public_key("worker_public_key", raw_key)?;
    let (reader, f) = worker_jobs(projections, &worker)?;
    let searcher = reader.searcher();
    let ended = |status: &str| {
        conjunction(vec![
            text_term(f.worker_public_key, &worker),
            text_term(f.status, status),
            i64_range(f.end_time, Some(now - DAY_SECS), Some(now)),
        ])
    };
    let completed = count(&searcher, &*ended("Completed"))?;
    let failed = count(&searcher, &*ended("Failed"))?;
    let average_ms = average(&searcher, &*ended("Completed"), "duration_ms")?.unwrap_or(0.0);
    Ok(json!({
        "worker_public_key": worker,
        "jobs_completed_24h": completed,
        "jobs_failed_24h": failed,
        "average_completion_time": average_ms / 1_000.0,
        "success_rate": rate(completed, failed),
        "total_rewards": total_rewards(projections, &worker)?.0,
    }))
}

/// `GET /leaderboard/workers`: the first `limit` rows of the refreshed leaderboard (computed
/// now before the first refresh).
pub fn leaderboard(
    projections: &Projections,
    view: &super::jobs::JobStatusView,
    query: HashMap<String, String>,
    now: i64,
) -> Result<Value> {
    let params = Params::new(query, &["limit"])?;
    let (limit, _) = params.page(LEADERBOARD_LIMIT, LEADERBOARD_LIMIT)?;
    let rows = match view.leaderboard() {
        Some(rows) => rows,
        None => std::sync::Arc::new(leaderboard_rows(projections, now)?),
    };
    Ok(Value::Array(rows.iter().take(limit).cloned().collect()))
}

/// The leaderboard's first [`LEADERBOARD_LIMIT`] rows at `now`: workers with jobs ended or
/// rewards dated in the last 24 hours, ranked by rewards, then completed jobs, then key.
pub fn leaderboard_rows(projections: &Projections, now: i64) -> Result<Vec<Value>> {
    let window = (Some(now - DAY_SECS), Some(now));
    // worker → (rewards, completed, failed)
    let mut rows: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    if let Some(jobs) = projections.family(Family::Jobs)? {
        let f = JobFields::resolve(&jobs.index.schema());
        let request = json!({ "workers": { "terms": { "field": "worker_public_key", "size": MAX_DISTINCT_WORKERS },
            "aggs": { "by_key": { "terms": { "field": "status", "size": 10 } } } } });
        let result = aggregate(&jobs.searcher(), &*i64_range(f.end_time, window.0, window.1), request)?;
        for bucket in result["workers"]["buckets"].as_array().into_iter().flatten() {
            let Some(worker) = bucket["key"].as_str() else { continue };
            let by_status = sub_counts(bucket, "by_key");
            let row = rows.entry(worker.to_owned()).or_default();
            row.1 = by_status.get("Completed").copied().unwrap_or(0);
            row.2 = by_status.get("Failed").copied().unwrap_or(0);
        }
    }
    if let Some(reader) = projections.family(Family::RewardDistributions)? {
        let f = RewardDistributionFields::resolve(&reader.index.schema());
        let request = json!({ "workers": { "terms": { "field": "worker_public_key", "size": MAX_DISTINCT_WORKERS },
            "aggs": { "rewards": { "sum": { "field": "total_rewards" } } } } });
        let result = aggregate(&reader.searcher(), &*i64_range(f.created_at, window.0, window.1), request)?;
        for bucket in result["workers"]["buckets"].as_array().into_iter().flatten() {
            let (Some(worker), Some(rewards)) = (bucket["key"].as_str(), bucket["rewards"]["value"].as_f64()) else {
                continue;
            };
            rows.entry(worker.to_owned()).or_default().0 = rewards as u64;
        }
    }
    let mut ranked: Vec<(String, (u64, u64, u64))> = rows.into_iter().collect();
    ranked.sort_by(|(a_key, a), (b_key, b)| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a_key.cmp(b_key)));
    Ok(ranked
        .into_iter()
        .take(LEADERBOARD_LIMIT)
        .enumerate()
        .map(|(index, (worker, (rewards, completed, failed)))| {
            json!({
                "rank": index + 1,
                "worker_public_key": worker,
                "total_rewards_24h": rewards,
                "jobs_completed_24h": completed,
                "success_rate": rate(completed, failed),
            })
        })
        .collect())
}

/// `GET /rewards/{worker_public_key}?checkpoint_id=`: the worker's rewards in one checkpoint.
pub fn checkpoint_rewards(projections: &Projections, raw_key: &str, query: HashMap<String, String>) -> Result<Value> {
    let worker = input::public_key("worker_public_key", raw_key)?;
    let params = Params::new(query, &["checkpoint_id"])?;
    let checkpoint_id = params
        .integer::<u64>("checkpoint_id")?
        .ok_or_else(|| ApiError::BadRequest("`checkpoint_id` is required".into()))?;
    checkpoint(projections, checkpoint_id)?;
    let mut breakdown = Vec::new();
    let (mut total, mut jobs) = (0, 0);
    if let Some(reader) = projections.family(Family::RewardDistributions)? {
        let f = RewardDistributionFields::resolve(&reader.index.schema());
        let query =
            conjunction(vec![text_term(f.worker_public_key, &worker), u64_term(f.checkpoint_id, checkpoint_id)]);
        let request = json!({ "types": { "terms": { "field": "circuit_type", "size": 100 }, "aggs": {
            "rewards": { "sum": { "field": "total_rewards" } }, "jobs": { "sum": { "field": "job_count" } } } } });
        let result = aggregate(&reader.searcher(), &*query, request)?;
        let by_type: HashMap<String, (u64, u64)> = result["types"]["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| {
                let sum = |name: &str| b[name]["value"].as_f64().unwrap_or(0.0) as u64;
                Some((b["key"].as_str()?.to_owned(), (sum("jobs"), sum("rewards"))))
            })
            .collect();
        for circuit_type in ProvingJobCircuitType::ALL {
            if let Some((job_count, rewards)) = by_type.get(circuit_type.as_str()) {
                total += rewards;
                jobs += job_count;
                breakdown.push(json!({ "circuit_type": circuit_type, "job_count": job_count, "rewards": rewards }));
            }
        }
    }
    Ok(json!({
        "worker_public_key": worker,
        "checkpoint_id": checkpoint_id,
        "total_rewards": total,
        "job_count": jobs,
        "reward_breakdown": breakdown,
    }))
}

/// A reward time bucket: start, rewards, rewarded jobs, distinct checkpoints.
struct RewardBucket {
    start: i64,
    rewards: u64,
    jobs: u64,
    checkpoints: u64,
}

/// The worker's reward buckets, newest first, at most `limit`.
fn reward_buckets(
    projections: &Projections,
    worker: &str,
    range: (Option<i64>, Option<i64>),
    size: BucketSize,
    limit: usize,
) -> Result<Vec<RewardBucket>> {
    let Some((searcher, query)) = distributions_of(projections, worker, range.0, range.1)? else {
        return Ok(Vec::new());
    };
    let sub = json!({
        "rewards": { "sum": { "field": "total_rewards" } },
        "jobs": { "sum": { "field": "job_count" } },
        "checkpoints": { "terms": { "field": "checkpoint_id", "size": MAX_DISTINCT_WORKERS } },
    });
    let mut found = buckets(&searcher, &*query, "created_at", sub, size)?;
    found.sort_by_key(|b| std::cmp::Reverse(b.start));
    Ok(found
        .into_iter()
        .take(limit)
        .map(|b| RewardBucket {
            start: b.start,
            rewards: b.aggs["rewards"]["value"].as_f64().unwrap_or(0.0) as u64,
            jobs: b.aggs["jobs"]["value"].as_f64().unwrap_or(0.0) as u64,
            checkpoints: b.aggs["checkpoints"]["buckets"].as_array().map_or(0, |c| c.len() as u64),
        })
        .collect())
}

/// `GET /rewards_aggregations/{worker_public_key}`: buckets `1d` (default), `1w`, `1m`,
/// `all_time`, newest first.
pub fn rewards_aggregations(projections: &Projections, raw_key: &str, query: HashMap<String, String>) -> Result<Value> {
    let worker = input::public_key("worker_public_key", raw_key)?;
    let params = Params::new(query, &["bucket", "start_time", "end_time", "limit"])?;
    let size =
        BucketSize::parse_among("bucket", params.text("bucket").unwrap_or("1d"), &["1d", "1w", "1m", "all_time"])?;
    let range = super::handlers::time_window(&params)?;
    let (limit, _) = params.page(DEFAULT_REWARD_BUCKETS, MAX_REWARD_BUCKETS)?;
    let items = reward_buckets(projections, &worker, range, size, limit)?
        .into_iter()
        .map(|b| {
            let average = if b.jobs == 0 { 0.0 } else { b.rewards as f64 / b.jobs as f64 };
            json!({
                "time_bucket": rfc3339(b.start),
                "total_rewards": b.rewards,
                "job_count": b.jobs,
                "average_reward_per_job": average,
            })
        })
        .collect();
    Ok(Value::Array(items))
}

/// `GET /checkpoint/rewards/{worker_public_key}`: buckets of `time_period` (`2m`, `1h`, `1d`
/// default, `1w`, `1m`), newest first; the totals cover the whole time range.
pub fn worker_rewards(projections: &Projections, raw_key: &str, query: HashMap<String, String>) -> Result<Value> {
    let worker = input::public_key("worker_public_key", raw_key)?;
    let params = Params::new(query, &["time_period", "start_time", "end_time", "limit"])?;
    let period = params.text("time_period").unwrap_or("1d").to_owned();
    let size = BucketSize::parse_among("time_period", &period, &["2m", "1h", "1d", "1w", "1m"])?;
    let range = super::handlers::time_window(&params)?;
    let (limit, _) = params.page(DEFAULT_REWARD_BUCKETS, MAX_REWARD_BUCKETS)?;
    let aggregations: Vec<Value> = reward_buckets(projections, &worker, range, size, limit)?
        .into_iter()
        .map(|b| {
            json!({
                "time_bucket": rfc3339(b.start),
                "total_rewards": b.rewards,
                "jobs_completed": b.jobs,
                "checkpoints_participated": b.checkpoints,
            })
        })
        .collect();
    let (mut rewards, mut jobs, mut checkpoints) = (0, 0, 0);
    if let Some((searcher, query)) = distributions_of(projections, &worker, range.0, range.1)? {
        let totals = sums(&searcher, &*query, &["total_rewards", "job_count"])?;
        (rewards, jobs) = (totals[0] as u64, totals[1] as u64);
        checkpoints = distinct(&searcher, &*query, "checkpoint_id")? as u64;
    }
    Ok(json!({
        "worker_public_key": worker,
        "time_period": period,
        "aggregations": aggregations,
        "total_rewards": rewards,
        "total_jobs": jobs,
        "total_checkpoints": checkpoints,
    }))
}

/// `GET /checkpoint/rewards/{worker_public_key}/stats`: all-time totals; jobs and checkpoints
/// from the worker's jobs, rewards (and the average per rewarded job) from its distributions.
pub fn worker_reward_stats(projections: &Projections, raw_key: &str) -> Result<Value> {
    let worker = input::public_key("worker_public_key", raw_key)?;
    let (reader, f) = worker_jobs(projections, &worker)?;
    let searcher = reader.searcher();
    let all = text_term(f.worker_public_key, &worker);
    let completed = count(&searcher, &*conjunction(vec![all.box_clone(), text_term(f.status, "Completed")]))?;
    let checkpoints = distinct(&searcher, &*all, "checkpoint_id")?;
    let span = aggregate(
        &searcher,
        &*all,
        json!({ "first": { "min": { "field": "start_time" } }, "last": { "max": { "field": "end_time" } } }),
    )?;
    let (rewards, rewarded_jobs) = total_rewards(projections, &worker)?;
    let average = if rewarded_jobs == 0 { 0.0 } else { rewards as f64 / rewarded_jobs as f64 };
    Ok(json!({
        "worker_public_key": worker,
        "total_rewards_all_time": rewards,
        "total_jobs_completed": completed,
        "total_checkpoints_participated": checkpoints,
        "average_reward_per_job": average,
        "first_job_date": span["first"]["value"].as_f64().map(|t| rfc3339(t as i64)),
        "last_job_date": span["last"]["value"].as_f64().map(|t| rfc3339(t as i64)),
    }))
}
