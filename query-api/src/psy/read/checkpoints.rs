//! The checkpoint reads: leaves (the Checkpoints family, the real `checkpoint_stats`), the
//! current checkpoint, a checkpoint's reward jobs by the real rule, and `/checkpoint/stats`
//! (+`/{id}`), `/checkpoint/job-events/{id}`, `/checkpoint/summary/{id}`.
//!
//! Every answer has the document's fields first, then the real service's fields it lacks.
//! - A checkpoint exists once a leaf reported it. Its job figures are its jobs' latest
//!   statuses (the Jobs family); its rewards are its settlement and per-job distributions
//!   (`super::rewards`), 0 and empty until it is settled.
//! - `processing_time` / `processing_time_seconds` (both, as the document's example and struct
//!   disagree): seconds from the checkpoint's first job event to its newest job event, `null`
//!   without jobs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use projection::query::{all, conjunction, i64_range, text_term, Order};
use projection::read::{Projections, ReadError};
use projection::schema::psy::{Checkpoint, CheckpointFields, JobFields, WorkerEventFields};
use serde::Serialize;
use serde_json::{json, Value};
use shared::psy_model::reward::{reward_jobs, RewardJob};
use shared::psy_model::telemetry::WorkerEvent as RealWorkerEvent;
use shared::psy_model::{QProvingJobDataID, Timestamp, WorkerEventSource, WorkerEventStatus};

use super::rewards::{settlement, stored_rows};
use super::{circuit_name, time_us, MICROS};
use crate::error::{ApiError, Result};

/// Most checkpoints one `/checkpoint/stats` answer lists (from its start on).
pub const MAX_CHECKPOINTS: usize = 1_000;

fn internal(err: impl std::fmt::Display) -> ReadError {
    ReadError::Internal(err.to_string())
}

/// A checkpoint's leaf (the newest reported), if any.
pub fn leaf(projections: &Projections, checkpoint_id: u64) -> Result<Option<Checkpoint>> {
    let Some(read) = projections.read::<CheckpointFields>()? else { return Ok(None) };
    Ok(read.first(read.f.id, &checkpoint_id.to_string())?)
}

/// Reads a checkpoint's leaf, or answers 404.
pub fn checkpoint(projections: &Projections, checkpoint_id: u64) -> Result<Checkpoint> {
    leaf(projections, checkpoint_id)?
        .ok_or_else(|| ApiError::NotFound(format!("no checkpoint with id {checkpoint_id}")))
}

/// The current checkpoint: the highest `checkpoint_id` of a `COMPLETED` worker event.
pub fn current_checkpoint(projections: &Projections) -> Result<Option<u64>> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(None) };
    let completed = text_term(read.f.status, WorkerEventStatus::Completed.as_str());
    Ok(read.max_i64(&completed, read.f.checkpoint_id)?.and_then(|id| u64::try_from(id).ok()))
}

/// The highest `checkpoint_id` of any worker event (the `/ws/tps` block height).
pub fn highest_checkpoint(projections: &Projections) -> Result<Option<i64>> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(None) };
    Ok(read.max_i64(&all(), read.f.checkpoint_id)?)
}

/// The checkpoints in `[0, height]` with a `COMPLETED` worker event or a leaf.
pub fn known_up_to(projections: &Projections, height: u64) -> Result<BTreeSet<u64>> {
    let upper = Some(i64::try_from(height).unwrap_or(i64::MAX));
    let mut known = BTreeSet::new();
    if let Some(read) = projections.read::<WorkerEventFields>()? {
        let query = conjunction(vec![
            text_term(read.f.status, WorkerEventStatus::Completed.as_str()),
            i64_range(read.f.checkpoint_id, Some(0), upper),
        ]);
        known
            .extend(read.distinct_i64(&query, read.f.checkpoint_id)?.into_iter().filter_map(|v| u64::try_from(v).ok()));
    }
    if let Some(read) = projections.read::<CheckpointFields>()? {
        let query = i64_range(read.f.checkpoint_id, Some(0), upper);
        known
            .extend(read.distinct_i64(&query, read.f.checkpoint_id)?.into_iter().filter_map(|v| u64::try_from(v).ok()));
    }
    Ok(known)
}

/// A checkpoint's `COMPLETED` worker events as the real records the rule reads (each with its
/// log seq, in seq order), read from fast fields: the kept slot as `metadata.slot_id`.
fn completed_events(projections: &Projections, checkpoint_id: i64) -> Result<Vec<(u64, RealWorkerEvent)>> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let query = conjunction(vec![
        text_term(f.status, WorkerEventStatus::Completed.as_str()),
        i64_range(f.checkpoint_id, Some(checkpoint_id), Some(checkpoint_id)),
    ]);
    let mut events = Vec::new();
    read.scan(&query, |segment| {
        let (seq, slot, time) = (segment.u64s(f.seq)?, segment.u64s(f.slot_id)?, segment.i64s(f.timestamp_us)?);
        let (realm, duration) = (segment.i64s(f.realm_id)?, segment.i64s(f.duration)?);
        let keys = segment.texts(f.public_key)?;
        for (i, (job_id, key)) in segment.texts(f.job_id)?.into_iter().zip(keys).enumerate() {
            let text = job_id.ok_or_else(|| internal("a worker event without a job id"))?;
            let event = RealWorkerEvent {
                id: None,
                realm_id: realm[i],
                public_key: key,
                status: WorkerEventStatus::Completed,
                source: WorkerEventSource::Realm,
                job_id: text.parse::<QProvingJobDataID>().map_err(internal)?,
                checkpoint_id,
                duration: duration[i],
                metadata: Some(RealWorkerEvent::slot_metadata(slot[i].unwrap_or(0))),
                timestamp: Timestamp::from_unix_micros(time[i].unwrap_or(0)),
                created_at: None,
                updated_at: None,
            };
            events.push((seq[i].unwrap_or(0), event));
        }
        Ok(())
    })?;
    events.sort_by_key(|(seq, _)| *seq);
    Ok(events)
}

/// A checkpoint's reward jobs by the rule (`psy_model::reward::reward_jobs`), each with the log
/// seq of its kept completion.
pub fn checkpoint_jobs(projections: &Projections, checkpoint_id: u64) -> Result<Vec<(u64, RewardJob)>> {
    let Ok(id) = i64::try_from(checkpoint_id) else { return Ok(Vec::new()) };
    let events = completed_events(projections, id)?;
    let jobs = reward_jobs(events.iter().map(|(_, e)| e), checkpoint_id);
    let slot = events.iter().map(|(_, e)| e.slot_id()).max().unwrap_or(0);
    // The kept completion of a job: its earliest on the kept slot, the first in seq order on a tie.
    let mut seqs: HashMap<(QProvingJobDataID, i64), u64> = HashMap::new();
    for (seq, e) in events.iter().filter(|(_, e)| e.slot_id() == slot) {
        seqs.entry((e.job_id, e.timestamp.unix_micros())).or_insert(*seq);
    }
    Ok(jobs
        .into_iter()
        .map(|job| (seqs.get(&(job.job_id, job.timestamp.unix_micros())).copied().unwrap_or(0), job))
        .collect())
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
    let Some(read) = projections.read::<JobFields>()? else { return Ok(tallies) };
    let f = read.f;
    let completed = WorkerEventStatus::Completed.as_str();
    let failed = WorkerEventStatus::Failed.as_str();
    read.scan(&i64_range(f.checkpoint_id, Some(lower), Some(upper)), |segment| {
        let (checkpoint, first, time) =
            (segment.i64s(f.checkpoint_id)?, segment.i64s(f.first_us)?, segment.i64s(f.timestamp_us)?);
        let keys = segment.texts(f.public_key)?;
        for (i, (status, key)) in segment.texts(f.status)?.into_iter().zip(keys).enumerate() {
            let Some(id) = checkpoint[i] else { continue };
            let tally = tallies.entry(id).or_default();
            tally.total += 1;
            tally.completed += u64::from(status.as_deref() == Some(completed));
            tally.failed += u64::from(status.as_deref() == Some(failed));
            if let Some(key) = key {
                tally.workers.insert(key);
            }
            if let (Some(start), Some(end)) = (first[i], time[i]) {
                tally.first_us = Some(tally.first_us.map_or(start, |t| t.min(start)));
                tally.last_us = Some(tally.last_us.map_or(end, |t| t.max(end)));
            }
        }
        Ok(())
    })?;
    Ok(tallies)
}

/// `GET /checkpoint/stats/{id}` and the rows of `/checkpoint/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointStats {
    pub checkpoint_id: i64,
    pub total_jobs: u64,
    pub completed_jobs: u64,
    pub failed_jobs: u64,
    pub total_rewards_distributed: u64,
    pub unique_workers: usize,
    pub processing_time: Option<f64>,
    pub processing_time_seconds: Option<f64>,
    pub created_at: String,
    pub fees_collected: i64,
    pub user_ops_processed: i64,
    pub total_transactions: i64,
    pub slots_modified: i64,
    pub metadata: Value,
    pub timestamp: String,
    pub updated_at: String,
}

fn stats_of(projections: &Projections, checkpoint: &Checkpoint, tally: &JobTally) -> Result<CheckpointStats> {
    let id = u64::try_from(checkpoint.checkpoint_id).unwrap_or(0);
    let run = settlement(projections, id)?;
    let processing_time = match (tally.first_us, tally.last_us) {
        (Some(first), Some(last)) => Some((last - first) as f64 / MICROS as f64),
        _ => None,
    };
    Ok(CheckpointStats {
        checkpoint_id: checkpoint.checkpoint_id,
        total_jobs: tally.total,
        completed_jobs: tally.completed,
        failed_jobs: tally.failed,
        total_rewards_distributed: run.as_ref().map_or(0, |run| run.total_rewards),
        unique_workers: tally.workers.len(),
        processing_time,
        processing_time_seconds: processing_time,
        created_at: time_us(checkpoint.created_us),
        fees_collected: checkpoint.fees_collected,
        user_ops_processed: checkpoint.user_ops_processed,
        total_transactions: checkpoint.total_transactions,
        slots_modified: checkpoint.slots_modified,
        metadata: serde_json::from_str(&checkpoint.metadata).unwrap_or_else(|_| json!({})),
        timestamp: time_us(checkpoint.timestamp_us),
        updated_at: time_us(checkpoint.timestamp_us),
    })
}

/// `GET /checkpoint/stats`: the checkpoints in `[start, end]`, ascending, at most
/// [`MAX_CHECKPOINTS`].
pub fn stats_range(projections: &Projections, start: i64, end: i64) -> Result<Vec<CheckpointStats>> {
    let Some(read) = projections.read::<CheckpointFields>()? else { return Ok(Vec::new()) };
    // The first MAX_CHECKPOINTS by the fast field, and only those documents read: the cost of an
    // answer is bounded whatever the range (a year of checkpoints is millions).
    let range = i64_range(read.f.checkpoint_id, Some(start), Some(end));
    let checkpoints: Vec<Checkpoint> = read.top_by_i64(&range, read.f.checkpoint_id, Order::Asc, MAX_CHECKPOINTS)?;
    let (Some(lower), Some(upper)) = (checkpoints.first(), checkpoints.last()) else { return Ok(Vec::new()) };
    let tallies = job_tallies(projections, lower.checkpoint_id, upper.checkpoint_id)?;
    let empty = JobTally::default();
    checkpoints.iter().map(|c| stats_of(projections, c, tallies.get(&c.checkpoint_id).unwrap_or(&empty))).collect()
}

/// `GET /checkpoint/stats/{checkpoint_id}`: 404 without a leaf.
pub fn stats_one(projections: &Projections, checkpoint_id: u64) -> Result<CheckpointStats> {
    let checkpoint = checkpoint(projections, checkpoint_id)?;
    let tallies = job_tallies(projections, checkpoint.checkpoint_id, checkpoint.checkpoint_id)?;
    stats_of(projections, &checkpoint, tallies.get(&checkpoint.checkpoint_id).unwrap_or(&JobTally::default()))
}

/// A row of `/checkpoint/job-events/{id}`: document fields, then the real ones (`topic` and
/// `circuit_type_id` numbers, `duration`, `timestamp`).
#[derive(Debug, Clone, Serialize)]
pub struct JobEventRow {
    pub id: u64,
    pub checkpoint_id: u64,
    pub job_id: String,
    pub worker_public_key: String,
    pub circuit_type: &'static str,
    pub status: &'static str,
    pub duration_ms: Option<i64>,
    pub start_time: String,
    pub end_time: String,
    pub topic: u8,
    pub circuit_type_id: u8,
    pub duration: Option<i64>,
    pub timestamp: String,
}

/// `GET /checkpoint/job-events/{checkpoint_id}`: the checkpoint's reward jobs by the rule (its
/// `COMPLETED` events on its highest slot, one per job id; the real `worker_job_events`), in
/// time order, whether or not it is final yet.
pub fn job_events(projections: &Projections, checkpoint_id: u64) -> Result<Vec<JobEventRow>> {
    let jobs = checkpoint_jobs(projections, checkpoint_id)?;
    Ok(jobs
        .iter()
        .map(|(seq, job)| {
            let end = job.timestamp.unix_micros();
            let start = job.duration.map_or(end, |ms| end.saturating_sub(ms.saturating_mul(1_000)));
            JobEventRow {
                id: *seq,
                checkpoint_id,
                job_id: job.job_id.to_string(),
                worker_public_key: job.worker_public_key.clone(),
                circuit_type: circuit_name(u64::from(job.job_id.circuit_type.value())),
                status: WorkerEventStatus::Completed.doc().as_str(),
                duration_ms: job.duration,
                start_time: time_us(start),
                end_time: time_us(end),
                topic: job.job_id.topic.value(),
                circuit_type_id: job.job_id.circuit_type.value(),
                duration: job.duration,
                timestamp: time_us(end),
            }
        })
        .collect())
}

/// A checkpoint's processing status, in the document's spelling (the variant's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Processing {
    /// Not final yet.
    Open,
    /// Final, not settled.
    Pending,
    /// Settled.
    Completed,
}

/// `GET /checkpoint/summary/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointSummary {
    pub checkpoint_id: u64,
    pub total_rewards: u64,
    pub total_jobs: u64,
    pub unique_workers: usize,
    pub reward_distribution: BTreeMap<String, u64>,
    pub processing_status: Processing,
    pub fees_collected: i64,
    pub total_workers: usize,
    pub reward_per_job: u64,
    pub remainder: Option<u64>,
    pub timestamp: String,
}

/// `GET /checkpoint/summary/{checkpoint_id}` (404 without a leaf): rewards by circuit type and
/// the processing status — `Open` until final, `Pending` until settled, then `Completed`. Real
/// fields follow: `fees_collected`, `total_workers`, `reward_per_job`, `remainder`, `timestamp`.
pub fn summary(projections: &Projections, checkpoint_id: u64) -> Result<CheckpointSummary> {
    let leaf = checkpoint(projections, checkpoint_id)?;
    let settled = stored_rows(projections, checkpoint_id)?;
    let (total_jobs, workers, total_rewards, reward_per_job, remainder, by_type) = match &settled {
        Some((run, rows)) => {
            let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
            let mut workers = BTreeSet::new();
            for row in rows {
                let total = by_type.entry(row.circuit_type.to_owned()).or_default();
                *total = total.saturating_add(row.total_rewards);
                workers.insert(row.worker_public_key.as_str());
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
        Processing::Completed
    } else if shared::psy_model::reward::is_final(checkpoint_id, current_checkpoint(projections)?) {
        Processing::Pending
    } else {
        Processing::Open
    };
    Ok(CheckpointSummary {
        checkpoint_id,
        total_rewards,
        total_jobs,
        unique_workers: workers,
        reward_distribution: by_type,
        processing_status: status,
        fees_collected: leaf.fees_collected,
        total_workers: workers,
        reward_per_job,
        remainder,
        timestamp: time_us(leaf.timestamp_us),
    })
}

/// `GET /checkpoint/distributions/{checkpoint_id}`: the document's rows (one per worker and
/// circuit type, see `super::rewards::distribution_rows`), `[]` until settled; 404 for a
/// checkpoint with neither a leaf nor a settlement.
pub fn distributions(projections: &Projections, checkpoint_id: u64) -> Result<Vec<super::rewards::DistributionRow>> {
    if let Some((_, rows)) = stored_rows(projections, checkpoint_id)? {
        return Ok(rows);
    }
    if leaf(projections, checkpoint_id)?.is_none() {
        return Err(ApiError::NotFound(format!("no checkpoint with id {checkpoint_id}")));
    }
    Ok(Vec::new())
}
