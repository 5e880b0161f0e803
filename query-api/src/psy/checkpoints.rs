//! Checkpoint endpoints: statistics over a range and of one checkpoint, the reward summary and
//! the distributions.
//!
//! Job figures come from the checkpoint's jobs (folded from their worker events); rewards from
//! the checkpoint's reward calculation, 0 until it ran. `processing_time` and
//! `processing_time_seconds` (both, as the document's example and struct disagree) are the seconds
//! from the checkpoint's creation to its finalization, `null` while it is open.

use std::collections::HashMap;

use serde_json::{json, Value};
use shared::enums::ProvingJobCircuitType;
use shared::schema::psy::{
    Checkpoint, CheckpointFields, JobFields, RewardDistributionFields, RewardRun, RewardRunFields,
};
use shared::schema::Family;
use tantivy::Order;

use super::aggregations::{aggregate, sub_counts};
use super::rewards::{checkpoint, stored_distributions};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{count, page_by, u64_range, u64_term};
use crate::timefmt::rfc3339;

/// Most checkpoints one `/checkpoint/stats` answer lists (from `start_checkpoint` on).
pub const MAX_CHECKPOINTS: usize = 1_000;
/// Checkpoints tallied per aggregation request (keeps nested buckets under tantivy's limit).
const TALLY_CHUNK: u64 = 200;

/// A checkpoint's jobs by outcome.
#[derive(Debug, Default, Clone, Copy)]
struct JobTally {
    total: u64,
    completed: u64,
    failed: u64,
    workers: u64,
}

/// The job tallies of the checkpoints in `[lower, upper]`.
fn job_tallies(projections: &Projections, lower: u64, upper: u64) -> Result<HashMap<u64, JobTally>> {
    let mut tallies = HashMap::new();
    let Some(jobs) = projections.family(Family::Jobs)? else { return Ok(tallies) };
    let f = JobFields::resolve(&jobs.index.schema());
    let searcher = jobs.searcher();
    let mut chunk_start = lower;
    while chunk_start <= upper {
        let chunk_end = chunk_start.saturating_add(TALLY_CHUNK - 1).min(upper);
        let request = json!({ "checkpoints": {
            "terms": { "field": "checkpoint_id", "size": TALLY_CHUNK },
            "aggs": {
                "by_key": { "terms": { "field": "status", "size": 10 } },
                "workers": { "terms": { "field": "worker_public_key", "size": 10_000 } },
            } } });
        let result = aggregate(&searcher, &*u64_range(f.checkpoint_id, Some(chunk_start), Some(chunk_end)), request)?;
        for bucket in result["checkpoints"]["buckets"].as_array().into_iter().flatten() {
            let Some(id) = bucket["key"].as_f64() else { continue };
            let by_status = sub_counts(bucket, "by_key");
            tallies.insert(
                id as u64,
                JobTally {
                    total: bucket["doc_count"].as_u64().unwrap_or(0),
                    completed: by_status.get("Completed").copied().unwrap_or(0),
                    failed: by_status.get("Failed").copied().unwrap_or(0),
                    workers: bucket["workers"]["buckets"].as_array().map_or(0, |b| b.len() as u64),
                },
            );
        }
        if chunk_end == u64::MAX {
            break;
        }
        chunk_start = chunk_end + 1;
    }
    Ok(tallies)
}

/// The reward calculations of the checkpoints in `[lower, upper]`.
fn reward_runs(projections: &Projections, lower: u64, upper: u64) -> Result<HashMap<u64, RewardRun>> {
    let Some(reader) = projections.family(Family::RewardRuns)? else { return Ok(HashMap::new()) };
    let f = RewardRunFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let query = u64_range(f.checkpoint_id, Some(lower), Some(upper));
    let total = count(&searcher, &*query)? as usize;
    page_by(&searcher, &*query, "checkpoint_id", Order::Asc, total, 0)?
        .iter()
        .map(|doc| {
            let run = RewardRun::from_document(doc, &f).map_err(|err| ApiError::Internal(err.to_string()))?;
            Ok((run.checkpoint_id, run))
        })
        .collect()
}

fn stats_json(checkpoint: &Checkpoint, tally: JobTally, run: Option<&RewardRun>) -> Value {
    let processing_time = checkpoint.finalized_at.map(|finalized| (finalized - checkpoint.created_at) as f64);
    json!({
        "checkpoint_id": checkpoint.checkpoint_id,
        "total_jobs": tally.total,
        "completed_jobs": tally.completed,
        "failed_jobs": tally.failed,
        "total_rewards_distributed": run.map_or(0, |run| run.total_rewards),
        "unique_workers": tally.workers,
        "processing_time": processing_time,
        "processing_time_seconds": processing_time,
        "created_at": rfc3339(checkpoint.created_at),
    })
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
    let Some(reader) = projections.family(Family::Checkpoints)? else { return Ok(json!([])) };
    let f = CheckpointFields::resolve(&reader.index.schema());
    let docs = page_by(
        &reader.searcher(),
        &*u64_range(f.checkpoint_id, Some(start), Some(end)),
        "checkpoint_id",
        Order::Asc,
        MAX_CHECKPOINTS,
        0,
    )?;
    let checkpoints = docs
        .iter()
        .map(|doc| Checkpoint::from_document(doc, &f).map_err(|err| ApiError::Internal(err.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let (Some(lower), Some(upper)) = (checkpoints.first(), checkpoints.last()) else { return Ok(json!([])) };
    let (lower, upper) = (lower.checkpoint_id, upper.checkpoint_id);
    let tallies = job_tallies(projections, lower, upper)?;
    let runs = reward_runs(projections, lower, upper)?;
    Ok(Value::Array(
        checkpoints
            .iter()
            .map(|c| {
                let tally = tallies.get(&c.checkpoint_id).copied().unwrap_or_default();
                stats_json(c, tally, runs.get(&c.checkpoint_id))
            })
            .collect(),
    ))
}

/// `GET /checkpoint/stats/{checkpoint_id}`.
pub fn stats_one(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    let checkpoint = checkpoint(projections, checkpoint_id)?;
    let tally = job_tallies(projections, checkpoint_id, checkpoint_id)?.remove(&checkpoint_id).unwrap_or_default();
    let runs = reward_runs(projections, checkpoint_id, checkpoint_id)?;
    Ok(stats_json(&checkpoint, tally, runs.get(&checkpoint_id)))
}

/// `GET /checkpoint/summary/{checkpoint_id}`: rewards by circuit type and the processing status
/// (`Open` until finalized, `Pending` until its rewards are calculated, then `Completed`).
pub fn summary(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    let checkpoint = checkpoint(projections, checkpoint_id)?;
    let tally = job_tallies(projections, checkpoint_id, checkpoint_id)?.remove(&checkpoint_id).unwrap_or_default();
    let run = reward_runs(projections, checkpoint_id, checkpoint_id)?.remove(&checkpoint_id);
    let mut by_type = serde_json::Map::new();
    if let Some(reader) = projections.family(Family::RewardDistributions)? {
        let f = RewardDistributionFields::resolve(&reader.index.schema());
        let request = json!({ "types": { "terms": { "field": "circuit_type", "size": 100 },
            "aggs": { "rewards": { "sum": { "field": "total_rewards" } } } } });
        let result = aggregate(&reader.searcher(), &*u64_term(f.checkpoint_id, checkpoint_id), request)?;
        let mut sums: HashMap<String, u64> = HashMap::new();
        for bucket in result["types"]["buckets"].as_array().into_iter().flatten() {
            if let (Some(key), Some(sum)) = (bucket["key"].as_str(), bucket["rewards"]["value"].as_f64()) {
                sums.insert(key.to_owned(), sum as u64);
            }
        }
        for circuit_type in ProvingJobCircuitType::ALL {
            if let Some(sum) = sums.get(circuit_type.as_str()) {
                by_type.insert(circuit_type.as_str().to_owned(), (*sum).into());
            }
        }
    }
    let status = match (&run, checkpoint.finalized_at) {
        (Some(_), _) => "Completed",
        (None, Some(_)) => "Pending",
        (None, None) => "Open",
    };
    Ok(json!({
        "checkpoint_id": checkpoint_id,
        "total_rewards": run.as_ref().map_or(0, |run| run.total_rewards),
        "total_jobs": tally.total,
        "unique_workers": tally.workers,
        "reward_distribution": by_type,
        "processing_status": status,
    }))
}

/// `GET /checkpoint/distributions/{checkpoint_id}`: in the order they were written.
pub fn distributions(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    checkpoint(projections, checkpoint_id)?;
    Ok(Value::Array(stored_distributions(projections, checkpoint_id)?))
}
