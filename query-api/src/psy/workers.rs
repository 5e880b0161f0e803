//! Per-worker endpoints: `/stats/workers/{key}` and the leaderboard (the reward reads of one
//! worker are in `checkpoints`, beside the checkpoint reads).
//!
//! Rewards are the RewardDistributions family: one row per rewarded job with its
//! `reward_amount`, dated at the job's completion. A worker key path segment takes any real
//! form and matches every spelling of the key ([`input::key_forms`]); answers echo it as given.
//! "Last 24 hours" is `[now − 24 h, now]` on the service's clock; `success_rate` is completed
//! over completed-or-failed worker events (0 without either).

use std::collections::{BTreeMap, HashMap};

use projection::schema::psy::{RewardDistributionFields, User, UserFields, WorkerEvent, WorkerEventFields};
use projection::schema::Family;
use serde_json::{json, Value};
use shared::psy_model::WorkerEventStatus;
use tantivy::query::Query;
use tantivy::{Order, Searcher};

use super::aggregations::{aggregate, average, sub_counts, MAX_DISTINCT_WORKERS};
use super::handlers::{corrupt, now_us, statuses, DAY_US};
use super::input;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{any_text, conjunction, count, field_name, i64_range, page_by_keys};

/// Default and largest `limit` of the leaderboard.
pub const LEADERBOARD_LIMIT: usize = 100;

/// Completed over completed-or-failed (0 without either).
pub fn rate(completed: u64, failed: u64) -> f64 {
    if completed + failed == 0 {
        0.0
    } else {
        completed as f64 / (completed + failed) as f64
    }
}

/// The exact sum of a u64 fast field over the matches (saturating), and the match count:
/// tantivy's `sum` aggregation is an f64, inexact above 2^53.
fn exact_sum(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<(u64, u64)> {
    let (mut sum, mut matches) = (0u64, 0u64);
    super::rewards::scan(searcher, query, |segment, docs| {
        let column = segment.fast_fields().u64(field)?;
        for &doc in docs {
            sum = sum.saturating_add(column.first(doc).unwrap_or(0));
        }
        matches += docs.len() as u64;
        Ok(())
    })?;
    Ok((sum, matches))
}

/// The worker's reward distributions (any spelling of its key), optionally within a time range.
struct Distributions {
    searcher: Searcher,
    f: RewardDistributionFields,
    query: Box<dyn Query>,
}

impl Distributions {
    fn of(projections: &Projections, forms: &[String], start: Option<i64>, end: Option<i64>) -> Result<Option<Self>> {
        let Some(reader) = projections.family(Family::RewardDistributions)? else { return Ok(None) };
        let f = RewardDistributionFields::resolve(&reader.index.schema());
        let mut clauses = vec![any_text(f.worker_public_key, forms)];
        if start.is_some() || end.is_some() {
            clauses.push(i64_range(f.timestamp_us, start, end));
        }
        Ok(Some(Self { searcher: reader.searcher(), f, query: conjunction(clauses) }))
    }

    fn name(&self, field: tantivy::schema::Field) -> String {
        field_name(&self.searcher, field)
    }

    /// Rewards and rewarded jobs.
    fn totals(&self) -> Result<(u64, u64)> {
        exact_sum(&self.searcher, &*self.query, &self.name(self.f.reward_amount))
    }
}

/// `GET /stats/workers/{worker_public_key}` (404 for a key no worker event reports): the
/// document's `jobs_completed_24h`/`jobs_failed_24h` (the worker's `COMPLETED`/`FAILED` events in
/// the last 24 hours), `average_completion_time` (seconds; as the real `avg_proof_time`, over
/// all its `COMPLETED` events with a duration above 0), `success_rate` over the 24 hours and
/// `total_rewards` (all its distributions); then the real `total_completed`, `total_failed` and
/// `last_completed_block_height` (checkpoint of its newest `COMPLETED` event).
pub fn worker_stats(projections: &Projections, raw_key: &str, now: i64) -> Result<Value> {
    let forms = input::key_forms("worker_public_key", raw_key)?;
    let not_found = || ApiError::NotFound(format!("no worker events by worker {raw_key}"));
    let reader = projections.family(Family::WorkerEvents)?.ok_or_else(not_found)?;
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let worker = || any_text(f.public_key, &forms);
    if count(&searcher, &*worker())? == 0 {
        return Err(not_found());
    }
    let now_us = now_us(now);
    let of_status = |status: WorkerEventStatus, day: bool| {
        let mut clauses = vec![worker(), statuses(f.status, &[status])];
        if day {
            clauses.push(i64_range(f.timestamp_us, Some(now_us - DAY_US), Some(now_us)));
        }
        conjunction(clauses)
    };
    let completed = count(&searcher, &*of_status(WorkerEventStatus::Completed, true))?;
    let failed = count(&searcher, &*of_status(WorkerEventStatus::Failed, true))?;
    let proven =
        conjunction(vec![of_status(WorkerEventStatus::Completed, false), i64_range(f.duration, Some(1), None)]);
    let average_ms = average(&searcher, &*proven, &field_name(&searcher, f.duration))?.unwrap_or(0.0);
    let keys = (f.timestamp_us, f.timestamp_us, f.seq);
    let newest = page_by_keys(&searcher, &*of_status(WorkerEventStatus::Completed, false), keys, Order::Desc, 1, 0)?;
    let last_completed = match newest.first() {
        Some(doc) => Some(WorkerEvent::from_document(doc, &f).map_err(corrupt)?.checkpoint_id),
        None => None,
    };
    let rewards = match Distributions::of(projections, &forms, None, None)? {
        Some(d) => d.totals()?.0,
        None => 0,
    };
    Ok(json!({
        "worker_public_key": raw_key,
        "jobs_completed_24h": completed,
        "jobs_failed_24h": failed,
        "average_completion_time": average_ms / 1_000.0,
        "success_rate": rate(completed, failed),
        "total_rewards": rewards,
        "total_completed": count(&searcher, &*of_status(WorkerEventStatus::Completed, false))?,
        "total_failed": count(&searcher, &*of_status(WorkerEventStatus::Failed, false))?,
        "last_completed_block_height": last_completed,
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

/// The leaderboard's first [`LEADERBOARD_LIMIT`] rows at `now`, as the real service ranks it:
/// workers with rewards above 0 dated in the last 24 hours, by those rewards descending, then
/// key ascending (no ties). `jobs_completed_24h` is the worker's rewarded jobs in the window (the
/// real `proofs_24h`), `success_rate` its worker events' over the window, and
/// `twitter_username` (real field) the handle of a user registered with the worker's key, else
/// null.
pub fn leaderboard_rows(projections: &Projections, now: i64) -> Result<Vec<Value>> {
    let now_us = now_us(now);
    // worker → (rewards, rewarded jobs)
    let mut rewarded: Vec<(String, (u64, u64))> = Vec::new();
    if let Some(reader) = projections.family(Family::RewardDistributions)? {
        let f = RewardDistributionFields::resolve(&reader.index.schema());
        let searcher = reader.searcher();
        // Exact sums per worker (an f64 `sum` aggregation is inexact above 2^53).
        let mut per_worker: HashMap<String, (u64, u64)> = HashMap::new();
        let (worker_field, amount_field) =
            (field_name(&searcher, f.worker_public_key), field_name(&searcher, f.reward_amount));
        let window = i64_range(f.timestamp_us, Some(now_us - DAY_US), Some(now_us));
        super::rewards::scan(&searcher, &*window, |segment, docs| {
            let fast = segment.fast_fields();
            let amounts = fast.u64(&amount_field)?;
            let workers = super::rewards::text_values(fast.str(&worker_field)?.as_ref(), docs)?;
            for (&doc, worker) in docs.iter().zip(workers) {
                let entry = per_worker.entry(worker.unwrap_or_default()).or_default();
                entry.0 = entry.0.saturating_add(amounts.first(doc).unwrap_or(0));
                entry.1 += 1;
            }
            Ok(())
        })?;
        rewarded.extend(per_worker.into_iter().filter(|(_, (rewards, _))| *rewards >= 1));
    }
    rewarded.sort_by(|(a_key, a), (b_key, b)| b.0.cmp(&a.0).then(a_key.cmp(b_key)));
    rewarded.truncate(LEADERBOARD_LIMIT);
    let outcomes = outcomes_last_day(projections, now_us)?;
    let users = projections.family(Family::Users)?;
    rewarded
        .into_iter()
        .enumerate()
        .map(|(index, (worker, (rewards, jobs)))| {
            let (completed, failed) = outcomes.get(&worker).copied().unwrap_or_default();
            let twitter = match users {
                Some(reader) => {
                    // Users are stored with lowercase `0x`-hex keys: a worker key in another
                    // spelling of the same 32 bytes (base58) finds its user too.
                    let f = UserFields::resolve(&reader.index.schema());
                    let forms = input::key_forms("worker_public_key", &worker).unwrap_or_else(|_| vec![worker.clone()]);
                    let mut handle = None;
                    for form in &forms {
                        if let Some(doc) = crate::query::first(reader, f.public_key, form)? {
                            handle = Some(User::from_document(&doc, &f).map_err(corrupt)?.twitter_handle);
                            break;
                        }
                    }
                    handle
                }
                None => None,
            };
            Ok(json!({
                "rank": index + 1,
                "worker_public_key": worker,
                "total_rewards_24h": rewards,
                "jobs_completed_24h": jobs,
                "success_rate": rate(completed, failed),
                "twitter_username": twitter,
            }))
        })
        .collect()
}

/// `COMPLETED` and `FAILED` worker events per worker key in the last 24 hours.
fn outcomes_last_day(projections: &Projections, now_us: i64) -> Result<BTreeMap<String, (u64, u64)>> {
    let mut outcomes = BTreeMap::new();
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(outcomes) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let query = conjunction(vec![
        i64_range(f.timestamp_us, Some(now_us - DAY_US), Some(now_us)),
        statuses(f.status, &[WorkerEventStatus::Completed, WorkerEventStatus::Failed]),
    ]);
    let request = json!({ "workers": {
        "terms": { "field": field_name(&searcher, f.public_key), "size": MAX_DISTINCT_WORKERS },
        "aggs": { "by_key": { "terms": { "field": field_name(&searcher, f.status), "size": 10 } } } } });
    let result = aggregate(&searcher, &*query, request)?;
    for bucket in result["workers"]["buckets"].as_array().into_iter().flatten() {
        let Some(worker) = bucket["key"].as_str() else { continue };
        let by_status = sub_counts(bucket, "by_key");
        let count = |s: WorkerEventStatus| by_status.get(s.as_str()).copied().unwrap_or(0);
        outcomes.insert(worker.to_owned(), (count(WorkerEventStatus::Completed), count(WorkerEventStatus::Failed)));
    }
    Ok(outcomes)
}
