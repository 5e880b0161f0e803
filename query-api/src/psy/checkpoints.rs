//! Checkpoint and reward reads over the real model: `/checkpoint/stats` (+`/{id}`),
//! `/checkpoint/job-events/{id}`, `/checkpoint/summary/{id}`, `/checkpoint/distributions/{id}`,
//! `/checkpoint/rewards/{pk}` (+`/stats`), `/rewards/{pk}` and `/rewards_aggregations/{pk}`.
//!
//! Every answer has the document's fields first, then the real service's fields it lacks.
//! - A checkpoint exists once a leaf reported it (the Checkpoints family, the real
//!   `checkpoint_stats`). Its job figures are its jobs' latest statuses (the Jobs family); its
//!   rewards are its settlement (RewardRuns) and per-job distributions (RewardDistributions),
//!   0 and empty until it is settled.
//! - `processing_time` / `processing_time_seconds` (both, as the document's example and struct
//!   disagree): seconds from the checkpoint's first job event to its newest job event, `null`
//!   without jobs.
//! - Reward windows (`total_rewards_24h`, buckets) are over each distribution's time, the time
//!   of the job's kept completion.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use projection::schema::psy::{Checkpoint, CheckpointFields, JobFields};
use projection::schema::Family;
use serde_json::{json, Value};
use shared::psy_model::{Timestamp, WorkerEventStatus};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur};
use tantivy::Order;

use super::handlers::circuit_name;
use super::input::key_forms;
use super::rewards::{
    checkpoint, checkpoint_jobs, current_checkpoint, leaf, scan, settlement, stored_paid, stored_rows, text_values,
    Paid,
};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{i64_range, text_term};
use crate::timefmt::{month_bounds, parse};

/// Most checkpoints one `/checkpoint/stats` answer lists (from `start_checkpoint` on).
pub const MAX_CHECKPOINTS: usize = 1_000;

const MICROS: i64 = 1_000_000;

fn time(micros: i64) -> String {
    Timestamp::from_unix_micros(micros).to_string()
}

fn metadata(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

/// A checkpoint's jobs by latest status.
#[derive(Debug, Default, Clone)]
struct JobTally {
    total: u64,
    completed: u64,
    failed: u64,
    workers: BTreeSet<String>,
    first_us: Option<i64>,
    last_us: Option<i64>,
}

/// The job tallies of the checkpoints in `[lower, upper]`.
fn job_tallies(projections: &Projections, lower: i64, upper: i64) -> Result<HashMap<i64, JobTally>> {
    let mut tallies: HashMap<i64, JobTally> = HashMap::new();
    let Some(reader) = projections.family(Family::Jobs)? else { return Ok(tallies) };
    let f = JobFields::resolve(&reader.index.schema());
    let completed = WorkerEventStatus::Completed.as_str();
    let failed = WorkerEventStatus::Failed.as_str();
    scan(&reader.searcher(), &*i64_range(f.checkpoint_id, Some(lower), Some(upper)), |segment, docs| {
        let fast = segment.fast_fields();
        let (checkpoint, first, time) = (fast.i64("checkpoint_id")?, fast.i64("first_us")?, fast.i64("timestamp_us")?);
        let statuses = text_values(fast.str("status")?.as_ref(), docs)?;
        let keys = text_values(fast.str("public_key")?.as_ref(), docs)?;
        for ((&doc, status), key) in docs.iter().zip(statuses).zip(keys) {
            let Some(id) = checkpoint.first(doc) else { continue };
            let tally = tallies.entry(id).or_default();
            tally.total += 1;
            tally.completed += u64::from(status.as_deref() == Some(completed));
            tally.failed += u64::from(status.as_deref() == Some(failed));
            if let Some(key) = key {
                tally.workers.insert(key);
            }
            if let (Some(start), Some(end)) = (first.first(doc), time.first(doc)) {
                tally.first_us = Some(tally.first_us.map_or(start, |t| t.min(start)));
                tally.last_us = Some(tally.last_us.map_or(end, |t| t.max(end)));
            }
        }
        Ok(())
    })?;
    Ok(tallies)
}

fn stats_json(projections: &Projections, checkpoint: &Checkpoint, tally: &JobTally) -> Result<Value> {
    let id = u64::try_from(checkpoint.checkpoint_id).unwrap_or(0);
    let run = settlement(projections, id)?;
    let processing_time = match (tally.first_us, tally.last_us) {
        (Some(first), Some(last)) => Some((last - first) as f64 / MICROS as f64),
        _ => None,
    };
    Ok(json!({
        "checkpoint_id": checkpoint.checkpoint_id,
        "total_jobs": tally.total,
        "completed_jobs": tally.completed,
        "failed_jobs": tally.failed,
        "total_rewards_distributed": run.as_ref().map_or(0, |run| run.total_rewards),
        "unique_workers": tally.workers.len(),
        "processing_time": processing_time,
        "processing_time_seconds": processing_time,
        "created_at": time(checkpoint.created_us),
        "fees_collected": checkpoint.fees_collected,
        "user_ops_processed": checkpoint.user_ops_processed,
        "total_transactions": checkpoint.total_transactions,
        "slots_modified": checkpoint.slots_modified,
        "metadata": metadata(&checkpoint.metadata),
        "timestamp": time(checkpoint.timestamp_us),
        "updated_at": time(checkpoint.timestamp_us),
    }))
}

/// `GET /checkpoint/stats`: the checkpoints from `start_checkpoint` (default 0) to
/// `end_checkpoint` (default: the newest), ascending, at most [`MAX_CHECKPOINTS`].
pub fn stats_range(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["start_checkpoint", "end_checkpoint"])?;
    let start = params.integer::<u64>("start_checkpoint")?.unwrap_or(0);
    let end = params.integer::<u64>("end_checkpoint")?.unwrap_or(u64::MAX);
    if start > end {
        return Err(ApiError::BadRequest("`start_checkpoint` is after `end_checkpoint`".into()));
    }
    let (start, end) = (i64::try_from(start).unwrap_or(i64::MAX), i64::try_from(end).unwrap_or(i64::MAX));
    let Some(reader) = projections.family(Family::Checkpoints)? else { return Ok(json!([])) };
    let f = CheckpointFields::resolve(&reader.index.schema());
    // The first MAX_CHECKPOINTS by the fast field, and only those documents read: the cost of an
    // answer is bounded whatever the range (a year of checkpoints is millions).
    let searcher = reader.searcher();
    let first = TopDocs::with_limit(MAX_CHECKPOINTS)
        .order_by_fast_field::<i64>(searcher.schema().get_field_name(f.checkpoint_id), Order::Asc);
    let hits = searcher.search(&*i64_range(f.checkpoint_id, Some(start), Some(end)), &first)?;
    let checkpoints = hits
        .into_iter()
        .map(|(_, address)| {
            let doc = searcher.doc(address)?;
            Checkpoint::from_document(&doc, &f).map_err(|err| ApiError::Internal(err.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let (Some(lower), Some(upper)) = (checkpoints.first(), checkpoints.last()) else { return Ok(json!([])) };
    let tallies = job_tallies(projections, lower.checkpoint_id, upper.checkpoint_id)?;
    let empty = JobTally::default();
    checkpoints
        .iter()
        .map(|c| stats_json(projections, c, tallies.get(&c.checkpoint_id).unwrap_or(&empty)))
        .collect::<Result<Vec<_>>>()
        .map(Value::Array)
}

/// `GET /checkpoint/stats/{checkpoint_id}`: 404 without a leaf.
pub fn stats_one(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    let checkpoint = checkpoint(projections, checkpoint_id)?;
    let tallies = job_tallies(projections, checkpoint.checkpoint_id, checkpoint.checkpoint_id)?;
    stats_json(projections, &checkpoint, tallies.get(&checkpoint.checkpoint_id).unwrap_or(&JobTally::default()))
}

/// `GET /checkpoint/job-events/{checkpoint_id}`: the checkpoint's reward jobs by the rule (its
/// `COMPLETED` events on its highest slot, one per job id; the real `worker_job_events`), in
/// time order, whether or not it is final yet. Document fields, then the real ones (`topic` and
/// `circuit_type_id` numbers, `duration`, `timestamp`).
pub fn job_events(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    let jobs = checkpoint_jobs(projections, checkpoint_id)?;
    Ok(Value::Array(
        jobs.iter()
            .map(|(seq, job)| {
                let end = job.timestamp.unix_micros();
                let start = job.duration.map_or(end, |ms| end.saturating_sub(ms.saturating_mul(1_000)));
                json!({
                    "id": seq,
                    "checkpoint_id": checkpoint_id,
                    "job_id": job.job_id.to_string(),
                    "worker_public_key": job.worker_public_key,
                    "circuit_type": circuit_name(u64::from(job.job_id.circuit_type.value())),
                    "status": WorkerEventStatus::Completed.doc().as_str(),
                    "duration_ms": job.duration,
                    "start_time": time(start),
                    "end_time": time(end),
                    "topic": job.job_id.topic.value(),
                    "circuit_type_id": job.job_id.circuit_type.value(),
                    "duration": job.duration,
                    "timestamp": time(end),
                })
            })
            .collect(),
    ))
}

/// `GET /checkpoint/summary/{checkpoint_id}` (404 without a leaf): rewards by circuit type and
/// the processing status — `Open` until final, `Pending` until settled, then `Completed`. Real
/// fields follow: `fees_collected`, `total_workers`, `reward_per_job`, `remainder`, `timestamp`.
pub fn summary(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    let leaf = checkpoint(projections, checkpoint_id)?;
    let settled = stored_rows(projections, checkpoint_id)?;
    let (total_jobs, workers, total_rewards, reward_per_job, remainder, mut by_type) = match &settled {
        Some((run, rows)) => {
            let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
            let mut workers = BTreeSet::new();
            for row in rows.as_array().into_iter().flatten() {
                let name = row["circuit_type"].as_str().unwrap_or("Unknown").to_owned();
                let total = by_type.entry(name).or_default();
                *total = total.saturating_add(row["total_rewards"].as_u64().unwrap_or(0));
                workers.insert(row["worker_public_key"].as_str().unwrap_or_default().to_owned());
            }
            (run.jobs, workers.len(), run.total_rewards, run.reward_per_job, Some(run.remainder), by_type)
        }
        None => {
            let jobs = checkpoint_jobs(projections, checkpoint_id)?;
            let workers: BTreeSet<&str> = jobs.iter().map(|(_, j)| j.worker_public_key.as_str()).collect();
            let fees = u64::try_from(leaf.fees_collected).unwrap_or(0);
            let per_job = if jobs.is_empty() { 0 } else { fees / jobs.len() as u64 };
            (jobs.len() as u64, workers.len(), 0, per_job, None, BTreeMap::new())
        }
    };
    let status = if settled.is_some() {
        "Completed"
    } else if shared::psy_model::reward::is_final(checkpoint_id, current_checkpoint(projections)?) {
        "Pending"
    } else {
        "Open"
    };
    let distribution: serde_json::Map<String, Value> =
        std::mem::take(&mut by_type).into_iter().map(|(k, v)| (k, Value::from(v))).collect();
    Ok(json!({
        "checkpoint_id": checkpoint_id,
        "total_rewards": total_rewards,
        "total_jobs": total_jobs,
        "unique_workers": workers,
        "reward_distribution": distribution,
        "processing_status": status,
        "fees_collected": leaf.fees_collected,
        "total_workers": workers,
        "reward_per_job": reward_per_job,
        "remainder": remainder,
        "timestamp": time(leaf.timestamp_us),
    }))
}

/// `GET /checkpoint/distributions/{checkpoint_id}`: the document's rows (one per worker and
/// circuit type, see `rewards::distribution_rows`), `[]` until settled; 404 for a checkpoint
/// with neither a leaf nor a settlement.
pub fn distributions(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    if let Some((_, rows)) = stored_rows(projections, checkpoint_id)? {
        return Ok(rows);
    }
    if leaf(projections, checkpoint_id)?.is_none() {
        return Err(ApiError::NotFound(format!("no checkpoint with id {checkpoint_id}")));
    }
    Ok(json!([]))
}

/// A reward time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Minutes2,
    Hour,
    Day,
    Week,
    Month,
    AllTime,
}

impl Bucket {
    /// Start (unix seconds) of the bucket holding `unix`.
    fn start(self, unix: i64) -> i64 {
        let floor = |width: i64, origin: i64| (unix - origin).div_euclid(width) * width + origin;
        match self {
            Bucket::Minutes2 => floor(120, 0),
            Bucket::Hour => floor(3_600, 0),
            Bucket::Day => floor(86_400, 0),
            // Weeks start on Monday, as TimescaleDB's `time_bucket('1 week')` (1970-01-05 was one).
            Bucket::Week => floor(604_800, 345_600),
            Bucket::Month => month_bounds(unix).map_or(unix, |(start, _)| start),
            Bucket::AllTime => 0,
        }
    }
}

/// Per-bucket reward figures of one worker.
#[derive(Debug, Default, Clone)]
struct BucketFigures {
    jobs: u64,
    rewards: u64,
    checkpoints: BTreeSet<u64>,
    last_us: i64,
}

fn bucketed(paid: &[(u64, &Paid)], bucket: Bucket) -> BTreeMap<i64, BucketFigures> {
    let mut buckets: BTreeMap<i64, BucketFigures> = BTreeMap::new();
    for (checkpoint, p) in paid {
        let figures = buckets.entry(bucket.start(p.timestamp_us.div_euclid(MICROS))).or_default();
        figures.jobs += 1;
        figures.rewards = figures.rewards.saturating_add(p.reward_amount);
        figures.checkpoints.insert(*checkpoint);
        figures.last_us = figures.last_us.max(p.timestamp_us);
    }
    buckets
}

/// A worker's distributions with their checkpoints; `key` in any real form (its spellings
/// matched as stored, `input::key_forms`).
fn with_checkpoints(projections: &Projections, key: &str) -> Result<Vec<(u64, Paid)>> {
    let forms = key_forms("worker_public_key", key)?;
    stored_paid(projections, |f| {
        let clauses = forms.iter().map(|form| (Occur::Should, text_term(f.worker_public_key, form))).collect();
        Box::new(BooleanQuery::new(clauses))
    })
}

/// The worker's reward buckets newest first, dated at their start (`all_time`: at the last
/// reward), within `start_time`/`end_time`, at most `limit` (default 100, at most 1000).
fn newest_buckets(
    projections: &Projections,
    key: &str,
    bucket: Bucket,
    params: &Params,
) -> Result<Vec<(i64, BucketFigures)>> {
    let limit = params.integer::<usize>("limit")?.unwrap_or(100).clamp(1, 1_000);
    let (start, end) = time_bounds(params)?;
    let paid = with_checkpoints(projections, key)?;
    let refs: Vec<(u64, &Paid)> = paid.iter().map(|(c, p)| (*c, p)).collect();
    Ok(bucketed(&refs, bucket)
        .into_iter()
        .rev()
        .map(|(at, b)| (if bucket == Bucket::AllTime { b.last_us.div_euclid(MICROS) } else { at }, b))
        .filter(|(at, _)| start.is_none_or(|s| *at >= s) && end.is_none_or(|e| *at <= e))
        .take(limit)
        .collect())
}

fn time_bounds(params: &Params) -> Result<(Option<i64>, Option<i64>)> {
    let start = params.text("start_time").map(|v| parse("start_time", v)).transpose()?;
    let end = params.text("end_time").map(|v| parse("end_time", v)).transpose()?;
    Ok((start, end))
}

/// `GET /checkpoint/rewards/{pk}?time_period=&start_time=&end_time=&limit=`: the worker's
/// rewards per bucket, newest first (`time_period` `2m`, `1h`, `1d`, `1w`, `1m` = month; any
/// other value falls back to `1d` as the real service does, and the answer says `1d`). `limit` defaults to
/// 100 (at most 1000); the totals are over the returned buckets, as the real service sums them.
pub fn worker_rewards(projections: &Projections, key: &str, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["time_period", "start_time", "end_time", "limit"])?;
    let key = key.to_owned();
    // As the real service, another value falls back to `1d`; the answer names the period used
    // (one of the document's five), not the value sent.
    let (bucket, period) = match params.text("time_period").unwrap_or("1d") {
        "2m" => (Bucket::Minutes2, "2m"),
        "1h" => (Bucket::Hour, "1h"),
        "1w" => (Bucket::Week, "1w"),
        "1m" => (Bucket::Month, "1m"),
        _ => (Bucket::Day, "1d"),
    };
    let rows: Vec<Value> = newest_buckets(projections, &key, bucket, &params)?
        .into_iter()
        .map(|(at, b)| {
            json!({
                "time_bucket": crate::timefmt::rfc3339(at),
                "total_rewards": b.rewards,
                "jobs_completed": b.jobs,
                "checkpoints_participated": b.checkpoints.len(),
                "bucket": crate::timefmt::rfc3339(at),
                "worker_public_key": key,
                "avg_reward_per_job": if b.jobs == 0 { 0.0 } else { b.rewards as f64 / b.jobs as f64 },
                "max_checkpoint": b.checkpoints.last(),
                "min_checkpoint": b.checkpoints.first(),
            })
        })
        .collect();
    let sum = |field: &str| rows.iter().fold(0u64, |sum, r| sum.saturating_add(r[field].as_u64().unwrap_or(0)));
    Ok(json!({
        "worker_public_key": key,
        "time_period": period,
        "total_rewards": sum("total_rewards"),
        "total_jobs": sum("jobs_completed"),
        "total_checkpoints": sum("checkpoints_participated"),
        "aggregations": rows,
    }))
}

/// `GET /checkpoint/rewards/{pk}/stats`: the worker's all-time reward figures, 404 without any.
pub fn worker_reward_stats(projections: &Projections, key: &str) -> Result<Value> {
    let key = key.to_owned();
    let paid = with_checkpoints(projections, &key)?;
    if paid.is_empty() {
        return Err(ApiError::NotFound(format!("no rewards for worker {key}")));
    }
    let total = paid.iter().fold(0u64, |sum, (_, p)| sum.saturating_add(p.reward_amount));
    let checkpoints: BTreeSet<u64> = paid.iter().map(|(c, _)| *c).collect();
    let first = paid.iter().map(|(_, p)| p.timestamp_us).min().unwrap_or(0);
    let last = paid.iter().map(|(_, p)| p.timestamp_us).max().unwrap_or(0);
    let average = total as f64 / paid.len() as f64;
    Ok(json!({
        "worker_public_key": key,
        "total_rewards_all_time": total,
        "total_jobs_completed": paid.len(),
        "total_checkpoints_participated": checkpoints.len(),
        "average_reward_per_job": average,
        "first_job_date": time(first),
        "last_job_date": time(last),
        "total_rewards": total,
        "checkpoints_participated": checkpoints.len(),
        "avg_reward_per_job": average,
        "last_checkpoint_id": checkpoints.last(),
        "last_reward_timestamp": time(last),
    }))
}

/// `GET /rewards/{pk}?checkpoint_id=` (required): the document's `total_rewards`, `job_count`
/// and `reward_breakdown` (per circuit type) over all the worker's rewards, then the real
/// fields: claimed (checkpoint < the parameter) and unclaimed (≥) proofs and rewards, totals,
/// and the rewards of the last 24 h, 7 d and 30 d before `now` (unix seconds).
pub fn legacy_rewards(projections: &Projections, key: &str, query: HashMap<String, String>, now: i64) -> Result<Value> {
    let params = Params::new(query, &["checkpoint_id"])?;
    let checkpoint_id = params
        .integer::<i64>("checkpoint_id")?
        .ok_or_else(|| ApiError::BadRequest("`checkpoint_id` is required".into()))?;
    let key = key.to_owned();
    let paid = with_checkpoints(projections, &key)?;
    let (mut claimed, mut unclaimed) = ((0u64, 0u64), (0u64, 0u64));
    let mut breakdown: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
    let mut windows = [0u64; 3];
    for (checkpoint, p) in &paid {
        let side = if (*checkpoint as i128) < checkpoint_id as i128 { &mut claimed } else { &mut unclaimed };
        side.0 += 1;
        side.1 = side.1.saturating_add(p.reward_amount);
        let entry = breakdown.entry(p.circuit_type).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(p.reward_amount);
        for (window, days) in windows.iter_mut().zip([1, 7, 30]) {
            if p.timestamp_us >= (now - days * 86_400) * MICROS && p.timestamp_us <= now * MICROS {
                *window = window.saturating_add(p.reward_amount);
            }
        }
    }
    let total = claimed.1 + unclaimed.1;
    let jobs = claimed.0 + unclaimed.0;
    let breakdown: Vec<Value> = breakdown
        .into_iter()
        .map(|(circuit, (n, sum))| json!({ "circuit_type": circuit_name(u64::from(circuit)), "job_count": n, "rewards": sum }))
        .collect();
    Ok(json!({
        "worker_public_key": key,
        "checkpoint_id": checkpoint_id,
        "total_rewards": total,
        "job_count": jobs,
        "reward_breakdown": breakdown,
        "claimed_proofs": claimed.0,
        "claimed_rewards": claimed.1,
        "unclaimed_proofs": unclaimed.0,
        "unclaimed_rewards": unclaimed.1,
        "total_proofs": jobs,
        "total_rewards_24h": windows[0],
        "total_rewards_7d": windows[1],
        "total_rewards_30d": windows[2],
        "last_updated": crate::timefmt::rfc3339(now),
    }))
}

/// `GET /rewards_aggregations/{pk}?bucket=&start_time=&end_time=&limit=`: `bucket` is required,
/// `1d`, `1w`, `1m` (month) or `all_time` (one row dated at the last reward); any other value is
/// 400, as the real service answers. Newest first; `limit` defaults to 100 (1..1000). Document
/// fields, then the real ones (`bucket`, `public_key`, `completed_proofs`, `max_checkpoint`).
pub fn rewards_aggregations(projections: &Projections, key: &str, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["bucket", "start_time", "end_time", "limit"])?;
    let bucket = match params.text("bucket") {
        Some("1d") => Bucket::Day,
        Some("1w") => Bucket::Week,
        Some("1m") => Bucket::Month,
        Some("all_time") => Bucket::AllTime,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "`bucket` must be one of 1d, 1w, 1m, all_time, got {:?}",
                crate::params::shown(other)
            )))
        }
        None => return Err(ApiError::BadRequest("`bucket` is required: 1d, 1w, 1m or all_time".into())),
    };
    let key = key.to_owned();
    let rows: Vec<Value> = newest_buckets(projections, &key, bucket, &params)?
        .into_iter()
        .map(|(at, b)| {
            json!({
                "time_bucket": crate::timefmt::rfc3339(at),
                "total_rewards": b.rewards,
                "job_count": b.jobs,
                "average_reward_per_job": if b.jobs == 0 { 0.0 } else { b.rewards as f64 / b.jobs as f64 },
                "bucket": crate::timefmt::rfc3339(at),
                "public_key": key,
                "completed_proofs": b.jobs,
                "max_checkpoint": b.checkpoints.last(),
            })
        })
        .collect();
    Ok(Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_where_timescale_starts_them() {
        // 2024-06-05 is a Wednesday; its week starts Monday 2024-06-03.
        let wednesday = 1_717_588_800;
        assert_eq!(crate::timefmt::rfc3339(Bucket::Week.start(wednesday)), "2024-06-03T00:00:00Z");
        assert_eq!(crate::timefmt::rfc3339(Bucket::Month.start(wednesday)), "2024-06-01T00:00:00Z");
        assert_eq!(crate::timefmt::rfc3339(Bucket::Day.start(wednesday + 3_700)), "2024-06-05T00:00:00Z");
        assert_eq!(Bucket::Minutes2.start(250), 240);
    }
}
