//! The reward reads: the stored distributions (RewardDistributions, one per rewarded job) and
//! settlements (RewardRuns, one per settled checkpoint), a checkpoint's distribution rows, and
//! one worker's rewards (`/checkpoint/rewards/{pk}` (+`/stats`), `/rewards/{pk}`,
//! `/rewards_aggregations/{pk}`).
//!
//! Reward windows (`total_rewards_24h`, buckets) are over each distribution's time, the time of
//! the job's kept completion. A worker key matches every stored spelling of it
//! (`input::key_forms`); answers echo it as given.

use std::collections::{BTreeMap, BTreeSet};

use projection::query::{any_text, conjunction, i64_range, u64_term, Q};
use projection::read::Projections;
use projection::schema::psy::{RewardDistributionFields, RewardRun, RewardRunFields};
use serde::Serialize;
use shared::psy_model::Timestamp;

use super::{circuit_name, MICROS};
use crate::error::{ApiError, Result};
use crate::timefmt::{month_bounds, rfc3339};

/// One distribution as the rows are built from.
#[derive(Debug, Clone)]
pub struct Paid {
    pub seq: u64,
    pub worker: String,
    pub circuit_type: u8,
    pub reward_amount: u64,
    pub total_fees_at_checkpoint: u64,
    pub total_jobs_at_checkpoint: u64,
    pub timestamp_us: i64,
}

/// A checkpoint's settlement, if its rewards were calculated.
pub fn settlement(projections: &Projections, checkpoint_id: u64) -> Result<Option<RewardRun>> {
    let Some(read) = projections.read::<RewardRunFields>()? else { return Ok(None) };
    Ok(read.first(read.f.id, &checkpoint_id.to_string())?)
}

/// The settled checkpoints, ascending.
pub fn settled_checkpoints(projections: &Projections) -> Result<BTreeSet<u64>> {
    let Some(read) = projections.read::<RewardRunFields>()? else { return Ok(BTreeSet::new()) };
    Ok(read.distinct_u64(&projection::query::all(), read.f.checkpoint_id)?)
}

/// The stored per-job distributions matching `query`, with their checkpoints, in seq order (read
/// from fast fields).
pub fn stored_paid(
    projections: &Projections,
    query: impl Fn(&RewardDistributionFields) -> Q,
) -> Result<Vec<(u64, Paid)>> {
    let Some(read) = projections.read::<RewardDistributionFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let mut paid = Vec::new();
    read.scan(&query(f), |segment| {
        let (seq, checkpoint, circuit) =
            (segment.u64s(f.seq)?, segment.u64s(f.checkpoint_id)?, segment.u64s(f.circuit_type)?);
        let (amount, fees, jobs) = (
            segment.u64s(f.reward_amount)?,
            segment.u64s(f.total_fees_at_checkpoint)?,
            segment.u64s(f.total_jobs_at_checkpoint)?,
        );
        let (time, workers) = (segment.i64s(f.timestamp_us)?, segment.texts(f.worker_public_key)?);
        for (i, worker) in workers.into_iter().enumerate() {
            let p = Paid {
                seq: seq[i].unwrap_or(0),
                worker: worker.unwrap_or_default(),
                circuit_type: circuit[i].and_then(|c| u8::try_from(c).ok()).unwrap_or(u8::MAX),
                reward_amount: amount[i].unwrap_or(0),
                total_fees_at_checkpoint: fees[i].unwrap_or(0),
                total_jobs_at_checkpoint: jobs[i].unwrap_or(0),
                timestamp_us: time[i].unwrap_or(0),
            };
            paid.push((checkpoint[i].unwrap_or(0), p));
        }
        Ok(())
    })?;
    paid.sort_by_key(|(_, p)| p.seq);
    Ok(paid)
}

/// Rewards and rewarded jobs per worker key of the distributions dated in `[start, end]`
/// (unix microseconds), exact.
pub fn rewards_per_worker(projections: &Projections, start: i64, end: i64) -> Result<BTreeMap<String, (u64, u64)>> {
    let mut per_worker: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let Some(read) = projections.read::<RewardDistributionFields>()? else { return Ok(per_worker) };
    let f = read.f;
    read.scan(&i64_range(f.timestamp_us, Some(start), Some(end)), |segment| {
        let amounts = segment.u64s(f.reward_amount)?;
        for (amount, worker) in amounts.into_iter().zip(segment.texts(f.worker_public_key)?) {
            let entry = per_worker.entry(worker.unwrap_or_default()).or_default();
            entry.0 = entry.0.saturating_add(amount.unwrap_or(0));
            entry.1 += 1;
        }
        Ok(())
    })?;
    Ok(per_worker)
}

/// A worker's rewards (any of its stored spellings `forms`) and rewarded jobs, all time.
pub fn worker_total(projections: &Projections, forms: &[String]) -> Result<u64> {
    let Some(read) = projections.read::<RewardDistributionFields>()? else { return Ok(0) };
    Ok(read.exact_sum(&conjunction(vec![any_text(read.f.worker_public_key, forms)]), read.f.reward_amount)?.0)
}

/// A row of `/checkpoint/distributions/{id}`: one per (worker, circuit type).
#[derive(Debug, Clone, Serialize)]
pub struct DistributionRow {
    pub id: u64,
    pub checkpoint_id: u64,
    pub worker_public_key: String,
    pub circuit_type: &'static str,
    pub job_count: usize,
    pub total_rewards: u64,
    pub created_at: String,
    pub circuit_type_id: u8,
    pub reward_per_job: u64,
    pub total_fees_at_checkpoint: u64,
    pub total_jobs_at_checkpoint: u64,
}

/// The document's distribution rows of a checkpoint, from its per-job distributions: one row per
/// (worker, circuit type) with `job_count` and `total_rewards`, ordered by worker then circuit
/// number; `id` is the row's first distribution's seq, `created_at` the settlement time. Real
/// fields follow: the circuit number, the reward per job, and the checkpoint's fees and jobs.
pub fn distribution_rows(checkpoint_id: u64, paid: &[Paid], processed_us: i64) -> Vec<DistributionRow> {
    let mut groups: BTreeMap<(&str, u8), Vec<&Paid>> = BTreeMap::new();
    for p in paid {
        groups.entry((p.worker.as_str(), p.circuit_type)).or_default().push(p);
    }
    let created_at = Timestamp::from_unix_micros(processed_us).to_string();
    groups
        .into_iter()
        .map(|((worker, circuit), rows)| DistributionRow {
            id: rows.iter().map(|p| p.seq).min().unwrap_or(0),
            checkpoint_id,
            worker_public_key: worker.to_owned(),
            circuit_type: circuit_name(u64::from(circuit)),
            job_count: rows.len(),
            total_rewards: rows.iter().fold(0u64, |sum, p| sum.saturating_add(p.reward_amount)),
            created_at: created_at.clone(),
            circuit_type_id: circuit,
            reward_per_job: rows.first().map_or(0, |p| p.reward_amount),
            total_fees_at_checkpoint: rows.first().map_or(0, |p| p.total_fees_at_checkpoint),
            total_jobs_at_checkpoint: rows.first().map_or(0, |p| p.total_jobs_at_checkpoint),
        })
        .collect()
}

/// The stored distribution rows of a checkpoint, once it is settled (`None` before).
pub fn stored_rows(projections: &Projections, checkpoint_id: u64) -> Result<Option<(RewardRun, Vec<DistributionRow>)>> {
    let Some(run) = settlement(projections, checkpoint_id)? else { return Ok(None) };
    let paid: Vec<Paid> =
        stored_paid(projections, |f| u64_term(f.checkpoint_id, checkpoint_id))?.into_iter().map(|(_, p)| p).collect();
    if paid.len() as u64 != run.distributions {
        // The settlement is written after its rewards in one batch; a reader between two
        // commits could see part of it.
        return Ok(None);
    }
    let rows = distribution_rows(checkpoint_id, &paid, run.processed_us);
    Ok(Some((run, rows)))
}

/// A reward time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
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

/// Which reward buckets to list: the newest `limit` dated within `[start, end]` (unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct BucketPage {
    pub bucket: Bucket,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub limit: usize,
}

/// Per-bucket reward figures of one worker.
#[derive(Debug, Default, Clone)]
struct BucketFigures {
    jobs: u64,
    rewards: u64,
    checkpoints: BTreeSet<u64>,
    last_us: i64,
}

impl BucketFigures {
    fn average(&self) -> f64 {
        if self.jobs == 0 {
            0.0
        } else {
            self.rewards as f64 / self.jobs as f64
        }
    }
}

/// A worker's distributions with their checkpoints (any of its stored spellings `forms`).
fn with_checkpoints(projections: &Projections, forms: &[String]) -> Result<Vec<(u64, Paid)>> {
    stored_paid(projections, |f| any_text(f.worker_public_key, forms))
}

/// The worker's reward buckets newest first, dated at their start (`all_time`: at the last
/// reward).
fn newest_buckets(projections: &Projections, forms: &[String], page: BucketPage) -> Result<Vec<(i64, BucketFigures)>> {
    let paid = with_checkpoints(projections, forms)?;
    let mut buckets: BTreeMap<i64, BucketFigures> = BTreeMap::new();
    for (checkpoint, p) in &paid {
        let figures = buckets.entry(page.bucket.start(p.timestamp_us.div_euclid(MICROS))).or_default();
        figures.jobs += 1;
        figures.rewards = figures.rewards.saturating_add(p.reward_amount);
        figures.checkpoints.insert(*checkpoint);
        figures.last_us = figures.last_us.max(p.timestamp_us);
    }
    Ok(buckets
        .into_iter()
        .rev()
        .map(|(at, b)| (if page.bucket == Bucket::AllTime { b.last_us.div_euclid(MICROS) } else { at }, b))
        .filter(|(at, _)| page.start.is_none_or(|s| *at >= s) && page.end.is_none_or(|e| *at <= e))
        .take(page.limit)
        .collect())
}

/// A bucket of `/checkpoint/rewards/{pk}`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRewardBucket {
    pub time_bucket: String,
    pub total_rewards: u64,
    pub jobs_completed: u64,
    pub checkpoints_participated: usize,
    pub bucket: String,
    pub worker_public_key: String,
    pub avg_reward_per_job: f64,
    pub max_checkpoint: Option<u64>,
    pub min_checkpoint: Option<u64>,
}

/// `GET /checkpoint/rewards/{pk}`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRewards {
    pub worker_public_key: String,
    pub time_period: &'static str,
    pub total_rewards: u64,
    pub total_jobs: u64,
    pub total_checkpoints: u64,
    pub aggregations: Vec<WorkerRewardBucket>,
}

/// `GET /checkpoint/rewards/{pk}`: the worker's rewards per bucket, newest first, named
/// `period`; the totals are over the returned buckets, as the real service sums them.
pub fn worker_rewards(
    projections: &Projections,
    key: &str,
    forms: &[String],
    period: &'static str,
    page: BucketPage,
) -> Result<WorkerRewards> {
    let rows: Vec<WorkerRewardBucket> = newest_buckets(projections, forms, page)?
        .into_iter()
        .map(|(at, b)| WorkerRewardBucket {
            time_bucket: rfc3339(at),
            total_rewards: b.rewards,
            jobs_completed: b.jobs,
            checkpoints_participated: b.checkpoints.len(),
            bucket: rfc3339(at),
            worker_public_key: key.to_owned(),
            avg_reward_per_job: b.average(),
            max_checkpoint: b.checkpoints.last().copied(),
            min_checkpoint: b.checkpoints.first().copied(),
        })
        .collect();
    let sum = |value: fn(&WorkerRewardBucket) -> u64| rows.iter().fold(0u64, |sum, r| sum.saturating_add(value(r)));
    Ok(WorkerRewards {
        worker_public_key: key.to_owned(),
        time_period: period,
        total_rewards: sum(|r| r.total_rewards),
        total_jobs: sum(|r| r.jobs_completed),
        total_checkpoints: sum(|r| r.checkpoints_participated as u64),
        aggregations: rows,
    })
}

/// `GET /checkpoint/rewards/{pk}/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRewardStats {
    pub worker_public_key: String,
    pub total_rewards_all_time: u64,
    pub total_jobs_completed: usize,
    pub total_checkpoints_participated: usize,
    pub average_reward_per_job: f64,
    pub first_job_date: String,
    pub last_job_date: String,
    pub total_rewards: u64,
    pub checkpoints_participated: usize,
    pub avg_reward_per_job: f64,
    pub last_checkpoint_id: Option<u64>,
    pub last_reward_timestamp: String,
}

/// `GET /checkpoint/rewards/{pk}/stats`: the worker's all-time reward figures, 404 without any.
pub fn worker_reward_stats(projections: &Projections, key: &str, forms: &[String]) -> Result<WorkerRewardStats> {
    let paid = with_checkpoints(projections, forms)?;
    if paid.is_empty() {
        return Err(ApiError::NotFound(format!("no rewards for worker {key}")));
    }
    let total = paid.iter().fold(0u64, |sum, (_, p)| sum.saturating_add(p.reward_amount));
    let checkpoints: BTreeSet<u64> = paid.iter().map(|(c, _)| *c).collect();
    let first = paid.iter().map(|(_, p)| p.timestamp_us).min().unwrap_or(0);
    let last = paid.iter().map(|(_, p)| p.timestamp_us).max().unwrap_or(0);
    let average = total as f64 / paid.len() as f64;
    let time = |micros| Timestamp::from_unix_micros(micros).to_string();
    Ok(WorkerRewardStats {
        worker_public_key: key.to_owned(),
        total_rewards_all_time: total,
        total_jobs_completed: paid.len(),
        total_checkpoints_participated: checkpoints.len(),
        average_reward_per_job: average,
        first_job_date: time(first),
        last_job_date: time(last),
        total_rewards: total,
        checkpoints_participated: checkpoints.len(),
        avg_reward_per_job: average,
        last_checkpoint_id: checkpoints.last().copied(),
        last_reward_timestamp: time(last),
    })
}

/// A circuit type's share of `/rewards/{pk}`.
#[derive(Debug, Clone, Serialize)]
pub struct RewardBreakdown {
    pub circuit_type: &'static str,
    pub job_count: u64,
    pub rewards: u64,
}

/// `GET /rewards/{pk}`.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyRewards {
    pub worker_public_key: String,
    pub checkpoint_id: i64,
    pub total_rewards: u64,
    pub job_count: u64,
    pub reward_breakdown: Vec<RewardBreakdown>,
    pub claimed_proofs: u64,
    pub claimed_rewards: u64,
    pub unclaimed_proofs: u64,
    pub unclaimed_rewards: u64,
    pub total_proofs: u64,
    pub total_rewards_24h: u64,
    pub total_rewards_7d: u64,
    pub total_rewards_30d: u64,
    pub last_updated: String,
}

/// `GET /rewards/{pk}?checkpoint_id=`: the document's `total_rewards`, `job_count` and
/// `reward_breakdown` (per circuit type) over all the worker's rewards, then the real fields:
/// claimed (checkpoint < `checkpoint_id`) and unclaimed (≥) proofs and rewards, totals, and the
/// rewards of the last 24 h, 7 d and 30 d before `now` (unix seconds).
pub fn legacy_rewards(
    projections: &Projections,
    key: &str,
    forms: &[String],
    checkpoint_id: i64,
    now: i64,
) -> Result<LegacyRewards> {
    let paid = with_checkpoints(projections, forms)?;
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
    let jobs = claimed.0 + unclaimed.0;
    Ok(LegacyRewards {
        worker_public_key: key.to_owned(),
        checkpoint_id,
        total_rewards: claimed.1 + unclaimed.1,
        job_count: jobs,
        reward_breakdown: breakdown
            .into_iter()
            .map(|(circuit, (n, sum))| RewardBreakdown {
                circuit_type: circuit_name(u64::from(circuit)),
                job_count: n,
                rewards: sum,
            })
            .collect(),
        claimed_proofs: claimed.0,
        claimed_rewards: claimed.1,
        unclaimed_proofs: unclaimed.0,
        unclaimed_rewards: unclaimed.1,
        total_proofs: jobs,
        total_rewards_24h: windows[0],
        total_rewards_7d: windows[1],
        total_rewards_30d: windows[2],
        last_updated: rfc3339(now),
    })
}

/// A row of `/rewards_aggregations/{pk}`: document fields, then the real ones.
#[derive(Debug, Clone, Serialize)]
pub struct RewardAggregationRow {
    pub time_bucket: String,
    pub total_rewards: u64,
    pub job_count: u64,
    pub average_reward_per_job: f64,
    pub bucket: String,
    pub public_key: String,
    pub completed_proofs: u64,
    pub max_checkpoint: Option<u64>,
}

/// `GET /rewards_aggregations/{pk}`: newest first.
pub fn rewards_aggregations(
    projections: &Projections,
    key: &str,
    forms: &[String],
    page: BucketPage,
) -> Result<Vec<RewardAggregationRow>> {
    Ok(newest_buckets(projections, forms, page)?
        .into_iter()
        .map(|(at, b)| RewardAggregationRow {
            time_bucket: rfc3339(at),
            total_rewards: b.rewards,
            job_count: b.jobs,
            average_reward_per_job: b.average(),
            bucket: rfc3339(at),
            public_key: key.to_owned(),
            completed_proofs: b.jobs,
            max_checkpoint: b.checkpoints.last().copied(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_where_timescale_starts_them() {
        // 2024-06-05 is a Wednesday; its week starts Monday 2024-06-03.
        let wednesday = 1_717_588_800;
        assert_eq!(rfc3339(Bucket::Week.start(wednesday)), "2024-06-03T00:00:00Z");
        assert_eq!(rfc3339(Bucket::Month.start(wednesday)), "2024-06-01T00:00:00Z");
        assert_eq!(rfc3339(Bucket::Day.start(wednesday + 3_700)), "2024-06-05T00:00:00Z");
        assert_eq!(Bucket::Minutes2.start(250), 240);
    }
}
