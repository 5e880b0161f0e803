//! Per-worker reads: `/stats/workers/{key}` and the leaderboard rows (the reward reads of one
//! worker are in `super::rewards`).
//!
//! A worker key matches every stored spelling of it (`input::key_forms`); answers echo it as
//! given. "Last 24 hours" is `[now − 24 h, now]` on the service's clock; `success_rate` is
//! completed over completed-or-failed worker events (0 without either).

use std::collections::BTreeMap;

use projection::aggregate::Agg;
use projection::query::{any_text, conjunction, i64_range, Order};
use projection::read::Projections;
use projection::schema::psy::{WorkerEvent, WorkerEventFields};
use serde::Serialize;
use shared::psy_model::WorkerEventStatus;

use super::{now_us, rate, statuses, DAY_US, MAX_DISTINCT};
use crate::error::{ApiError, Result};
use crate::psy::input;

/// Rows the leaderboard keeps (the default and largest `limit` of `/leaderboard/workers`).
pub const LEADERBOARD_LIMIT: usize = 100;
/// Statuses counted per worker (there are four).
const STATUS_BUCKETS: u64 = 10;

/// `GET /stats/workers/{key}`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStats {
    pub worker_public_key: String,
    pub jobs_completed_24h: u64,
    pub jobs_failed_24h: u64,
    pub average_completion_time: f64,
    pub success_rate: f64,
    pub total_rewards: u64,
    pub total_completed: u64,
    pub total_failed: u64,
    pub last_completed_block_height: Option<i64>,
}

/// `GET /stats/workers/{worker_public_key}` (404 for a key no worker event reports): the
/// document's `jobs_completed_24h`/`jobs_failed_24h` (the worker's `COMPLETED`/`FAILED` events in
/// the last 24 hours), `average_completion_time` (seconds; as the real `avg_proof_time`, over
/// all its `COMPLETED` events with a duration above 0), `success_rate` over the 24 hours and
/// `total_rewards` (all its distributions); then the real `total_completed`, `total_failed` and
/// `last_completed_block_height` (checkpoint of its newest `COMPLETED` event).
pub fn worker_stats(projections: &Projections, raw_key: &str, forms: &[String], now: i64) -> Result<WorkerStats> {
    let not_found = || ApiError::NotFound(format!("no worker events by worker {raw_key}"));
    let read = projections.read::<WorkerEventFields>()?.ok_or_else(not_found)?;
    let f = read.f;
    let worker = || any_text(f.public_key, forms);
    if read.count(&worker())? == 0 {
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
    let completed = read.count(&of_status(WorkerEventStatus::Completed, true))?;
    let failed = read.count(&of_status(WorkerEventStatus::Failed, true))?;
    let proven =
        conjunction(vec![of_status(WorkerEventStatus::Completed, false), i64_range(f.duration, Some(1), None)]);
    let average_ms = read.average(&proven, f.duration)?.unwrap_or(0.0);
    let keys = (f.timestamp_us, f.timestamp_us, f.seq);
    let newest: Vec<WorkerEvent> =
        read.page_by_keys(&of_status(WorkerEventStatus::Completed, false), keys, Order::Desc, 1, 0)?;
    Ok(WorkerStats {
        worker_public_key: raw_key.to_owned(),
        jobs_completed_24h: completed,
        jobs_failed_24h: failed,
        average_completion_time: average_ms / 1_000.0,
        success_rate: rate(completed, failed),
        total_rewards: super::rewards::worker_total(projections, forms)?,
        total_completed: read.count(&of_status(WorkerEventStatus::Completed, false))?,
        total_failed: read.count(&of_status(WorkerEventStatus::Failed, false))?,
        last_completed_block_height: newest.first().map(|e| e.checkpoint_id),
    })
}

/// A row of the worker leaderboard.
#[derive(Debug, Clone, Serialize)]
pub struct LeaderboardRow {
    pub rank: usize,
    pub worker_public_key: String,
    pub total_rewards_24h: u64,
    pub jobs_completed_24h: u64,
    pub success_rate: f64,
    pub twitter_username: Option<String>,
}

/// The leaderboard's first [`LEADERBOARD_LIMIT`] rows at `now`, as the real service ranks it:
/// workers with rewards above 0 dated in the last 24 hours, by those rewards descending, then
/// key ascending (no ties). `jobs_completed_24h` is the worker's rewarded jobs in the window (the
/// real `proofs_24h`), `success_rate` its worker events' over the window, and
/// `twitter_username` (real field) the handle of a user registered with the worker's key, else
/// null.
pub fn leaderboard_rows(projections: &Projections, now: i64) -> Result<Vec<LeaderboardRow>> {
    let now_us = now_us(now);
    // Exact sums per worker (an f64 `sum` aggregation is inexact above 2^53).
    let mut rewarded: Vec<(String, (u64, u64))> =
        super::rewards::rewards_per_worker(projections, now_us - DAY_US, now_us)?
            .into_iter()
            .filter(|(_, (rewards, _))| *rewards >= 1)
            .collect();
    rewarded.sort_by(|(a_key, a), (b_key, b)| b.0.cmp(&a.0).then(a_key.cmp(b_key)));
    rewarded.truncate(LEADERBOARD_LIMIT);
    let outcomes = outcomes_last_day(projections, now_us)?;
    rewarded
        .into_iter()
        .enumerate()
        .map(|(index, (worker, (rewards, jobs)))| {
            let (completed, failed) = outcomes.get(&worker).copied().unwrap_or_default();
            // Users are stored with lowercase `0x`-hex keys: a worker key in another spelling of
            // the same 32 bytes (base58) finds its user too.
            let forms = input::key_forms("worker_public_key", &worker).unwrap_or_else(|_| vec![worker.clone()]);
            let mut twitter = None;
            for form in &forms {
                if let Some(user) = super::events::registered_user(projections, form)? {
                    twitter = Some(user.twitter_handle);
                    break;
                }
            }
            Ok(LeaderboardRow {
                rank: index + 1,
                worker_public_key: worker,
                total_rewards_24h: rewards,
                jobs_completed_24h: jobs,
                success_rate: rate(completed, failed),
                twitter_username: twitter,
            })
        })
        .collect()
}

/// `COMPLETED` and `FAILED` worker events per worker key in the last 24 hours.
fn outcomes_last_day(projections: &Projections, now_us: i64) -> Result<BTreeMap<String, (u64, u64)>> {
    let mut outcomes = BTreeMap::new();
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(outcomes) };
    let f = read.f;
    let query = conjunction(vec![
        i64_range(f.timestamp_us, Some(now_us - DAY_US), Some(now_us)),
        statuses(f.status, &[WorkerEventStatus::Completed, WorkerEventStatus::Failed]),
    ]);
    let agg = Agg::terms(f.public_key, MAX_DISTINCT).with(Agg::terms(f.status, STATUS_BUCKETS));
    for bucket in read.aggregate(&query, &agg)?.buckets() {
        let Some(worker) = bucket.key_str() else { continue };
        let by_status = bucket.sub(0).counts();
        let count = |s: WorkerEventStatus| by_status.get(s.as_str()).copied().unwrap_or(0);
        outcomes.insert(worker.to_owned(), (count(WorkerEventStatus::Completed), count(WorkerEventStatus::Failed)));
    }
    Ok(outcomes)
}
