//! Checkpoint rewards: the reward rule, the calculation of a finalized checkpoint, the background
//! processing of every pending checkpoint, and the admin endpoints.
//!
//! **The rule.** When a checkpoint is finalized its jobs are settled. Every `Completed` job of
//! the checkpoint earns its worker the rate of its circuit type; `Failed`, `Cancelled` and
//! unfinished jobs earn nothing. One distribution is written per (worker, circuit type) with the
//! job count and `job_count × rate`, dated at the checkpoint's finalization. Rates come from a
//! JSON file (`--reward-rates`, an object of circuit type → units) over these defaults:
//! UserRegistration 10, ContractDeployment 25, ContractExecution 15, CheckpointAggregation 50,
//! StateTreeUpdate 20, RealmBlock 40.
//!
//! A checkpoint is calculated once its finalization is final: `reward_finality` (60 s by
//! default) after its `finalized_at`, by which time a fork can no longer retract it and every
//! projection the calculation reads has long committed and reloaded.
//!
//! The distributions, then a closing record, are written through the indexer's control endpoint
//! under the checkpoint's idempotency key: a checkpoint is calculated once, recalculating it
//! answers the stored result, and a replay of the log reproduces it exactly.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use shared::control::{CheckpointRewards, RewardDistribution, RewardsRequest, WriteOutcome};
use shared::enums::ProvingJobCircuitType;
use shared::schema::psy::{Checkpoint, CheckpointFields, JobFields, RewardDistributionFields};
use shared::schema::Family;
use tantivy::query::{AllQuery, ExistsQuery};
use tantivy::Order;

use crate::error::{ApiError, Result};
use crate::projections::Projections;
use crate::query::{conjunction, count, first, i64_range, page_by, text_term, u64_term, u64_values};
use crate::reply::blocking;
use crate::timefmt::rfc3339;
use crate::State;

/// Reward units per completed job, by circuit type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRule {
    rates: BTreeMap<ProvingJobCircuitType, u64>,
}

impl Default for RewardRule {
    fn default() -> Self {
        use ProvingJobCircuitType::*;
        let rates = [
            (UserRegistration, 10),
            (ContractDeployment, 25),
            (ContractExecution, 15),
            (CheckpointAggregation, 50),
            (StateTreeUpdate, 20),
            (RealmBlock, 40),
        ];
        Self { rates: rates.into_iter().collect() }
    }
}

impl RewardRule {
    /// The defaults overridden by a JSON object of circuit type → units.
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let overrides: BTreeMap<String, u64> = serde_json::from_str(text)
            .map_err(|err| format!("reward rates must be a JSON object of circuit type to units: {err}"))?;
        let mut rule = Self::default();
        for (name, rate) in overrides {
            let circuit_type: ProvingJobCircuitType = name.parse().map_err(|err| format!("reward rates: {err}"))?;
            rule.rates.insert(circuit_type, rate);
        }
        Ok(rule)
    }

    /// Reads a rates file.
    pub fn from_file(path: &Path) -> std::result::Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        Self::from_json(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    /// Units one completed job of `circuit_type` earns.
    pub fn rate(&self, circuit_type: ProvingJobCircuitType) -> u64 {
        self.rates.get(&circuit_type).copied().unwrap_or(0)
    }
}

/// Reads a checkpoint, or answers 404.
pub(crate) fn checkpoint(projections: &Projections, checkpoint_id: u64) -> Result<Checkpoint> {
    let not_found = || ApiError::NotFound(format!("no checkpoint with id {checkpoint_id}"));
    let reader = projections.family(Family::Checkpoints)?.ok_or_else(not_found)?;
    let f = CheckpointFields::resolve(&reader.index.schema());
    let doc = first(reader, f.id, &checkpoint_id.to_string())?.ok_or_else(not_found)?;
    Checkpoint::from_document(&doc, &f).map_err(|err| ApiError::Internal(err.to_string()))
}

/// Applies the rule to a finalized checkpoint's settled jobs: the write to submit.
pub fn calculate(
    projections: &Projections,
    checkpoint_id: u64,
    rule: &RewardRule,
    now: i64,
    finality_secs: i64,
) -> Result<RewardsRequest> {
    let checkpoint = checkpoint(projections, checkpoint_id)?;
    let finalized_at = checkpoint.finalized_at.ok_or_else(|| {
        ApiError::BadRequest(format!("checkpoint {checkpoint_id} is not finalized yet; rewards follow finalization"))
    })?;
    if finalized_at + finality_secs > now {
        return Err(ApiError::BadRequest(format!(
            "checkpoint {checkpoint_id} was finalized at {}; its rewards are calculated once that is final, {finality_secs} s later",
            rfc3339(finalized_at)
        )));
    }
    let mut distributions = Vec::new();
    if let Some(jobs) = projections.family(Family::Jobs)? {
        let f = JobFields::resolve(&jobs.index.schema());
        let query = conjunction(vec![u64_term(f.checkpoint_id, checkpoint_id), text_term(f.status, "Completed")]);
        let completed = crate::query::pair_counts(&jobs.searcher(), &*query, "worker_public_key", "circuit_type")?;
        let mut by_worker: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((key, circuit), job_count) in completed {
            by_worker.entry(key).or_default().insert(circuit, job_count);
        }
        for (key, by_type) in by_worker {
            let worker_public_key = parse_key(&key)?;
            for &circuit_type in ProvingJobCircuitType::ALL.iter() {
                let Some(&job_count) = by_type.get(circuit_type.as_str()) else { continue };
                distributions.push(RewardDistribution {
                    checkpoint_id,
                    worker_public_key,
                    circuit_type,
                    job_count,
                    total_rewards: job_count * rule.rate(circuit_type),
                    created_at: finalized_at,
                });
            }
        }
    }
    let processed = CheckpointRewards {
        checkpoint_id,
        distributions: distributions.len() as u32,
        total_rewards: distributions.iter().map(|d| d.total_rewards).sum(),
        processed_at: now,
    };
    Ok(RewardsRequest { distributions, processed })
}

fn parse_key(hex: &str) -> Result<[u8; 32]> {
    let digits = hex.strip_prefix("0x").filter(|d| d.len() == 64);
    let bytes = digits.map(|d| {
        (0..32).map(|i| u8::from_str_radix(&d[2 * i..2 * i + 2], 16)).collect::<std::result::Result<Vec<u8>, _>>()
    });
    match bytes {
        Some(Ok(bytes)) => {
            bytes.try_into().map_err(|_| ApiError::Internal(format!("projected worker key {hex:?} is not 32 bytes")))
        }
        _ => Err(ApiError::Internal(format!("projected worker key {hex:?} is not 0x-hex"))),
    }
}

/// A distribution as the API writes it.
fn distribution_json(
    id: u64,
    checkpoint_id: u64,
    worker: &str,
    circuit_type: ProvingJobCircuitType,
    job_count: u64,
    total_rewards: u64,
    created_at: i64,
) -> Value {
    json!({
        "id": id,
        "checkpoint_id": checkpoint_id,
        "worker_public_key": worker,
        "circuit_type": circuit_type,
        "job_count": job_count,
        "total_rewards": total_rewards,
        "created_at": rfc3339(created_at),
    })
}

/// The stored distributions of a checkpoint (by id), as the projections show them.
pub fn stored_distributions(projections: &Projections, checkpoint_id: u64) -> Result<Vec<Value>> {
    let Some(reader) = projections.family(Family::RewardDistributions)? else { return Ok(Vec::new()) };
    let f = RewardDistributionFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let query = u64_term(f.checkpoint_id, checkpoint_id);
    let total = count(&searcher, &*query)? as usize;
    page_by(&searcher, &*query, "seq", Order::Asc, total, 0)?
        .iter()
        .map(|doc| {
            let d = shared::schema::psy::RewardDistribution::from_document(doc, &f)
                .map_err(|err| ApiError::Internal(err.to_string()))?;
            Ok(distribution_json(
                d.seq,
                d.checkpoint_id,
                &d.worker_public_key,
                d.circuit_type,
                d.job_count,
                d.total_rewards,
                d.created_at,
            ))
        })
        .collect()
}

/// The answer to a new calculation: its distributions with the seqs the log gave them.
fn calculation_answer(request: &RewardsRequest, outcome: &WriteOutcome) -> Value {
    let checkpoint_id = request.processed.checkpoint_id;
    Value::Array(
        request
            .distributions
            .iter()
            .zip(&outcome.seqs)
            .map(|(d, seq)| {
                let worker = format!("0x{}", shared::field::hex(&d.worker_public_key));
                distribution_json(
                    *seq,
                    checkpoint_id,
                    &worker,
                    d.circuit_type,
                    d.job_count,
                    d.total_rewards,
                    d.created_at,
                )
            })
            .collect(),
    )
}

/// Calculates a checkpoint's rewards and stores them through the control endpoint; answers the
/// distributions (`POST /checkpoint/calculate-rewards/{id}` and the background processing).
pub async fn calculate_and_store(state: Arc<State>, checkpoint_id: u64) -> Result<Value> {
    let control = state.control.clone().ok_or_else(|| {
        ApiError::Unavailable("rewards cannot be stored: the service has no control endpoint (--control-token)".into())
    })?;
    let now = state.clock.now();
    let finality = state.reward_finality.as_secs() as i64;
    let request =
        blocking(state.clone(), move |st| calculate(&st.projections, checkpoint_id, &st.reward_rule, now, finality))
            .await?;
    let outcome = control.record_rewards(&request).await?;
    if outcome.created {
        return Ok(calculation_answer(&request, &outcome));
    }
    // Calculated before: answer what is stored, once the projections show all of it.
    for _ in 0..STORED_WAIT_POLLS {
        let stored = blocking(state.clone(), move |st| stored_distributions(&st.projections, checkpoint_id)).await?;
        if stored.len() + 1 == outcome.seqs.len() {
            return Ok(Value::Array(stored));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(ApiError::Unavailable(format!(
        "checkpoint {checkpoint_id}'s rewards are stored; see /checkpoint/distributions/{checkpoint_id} shortly"
    )))
}

/// Polls (100 ms apart) for a stored calculation to appear in the projections.
const STORED_WAIT_POLLS: usize = 30;

/// Most checkpoints calculated per background pass.
const CHECKPOINTS_PER_PASS: usize = 100;

/// One pass of the background reward processing: calculates the oldest pending checkpoints;
/// returns how many were stored.
pub async fn process_pending(state: Arc<State>) -> Result<usize> {
    let (pending, _) = blocking(state.clone(), |st| processing_backlog(&st.projections)).await?;
    let eligible = blocking(state.clone(), |st| {
        final_checkpoints(&st.projections, st.clock.now() - st.reward_finality.as_secs() as i64)
    })
    .await?;
    let pending = pending.into_iter().filter(|id| eligible.binary_search(id).is_ok());
    let mut stored = 0;
    for checkpoint_id in pending.take(CHECKPOINTS_PER_PASS) {
        calculate_and_store(state.clone(), checkpoint_id).await?;
        stored += 1;
    }
    Ok(stored)
}

/// Checkpoints finalized at or before `final_before` (ascending).
fn final_checkpoints(projections: &Projections, final_before: i64) -> Result<Vec<u64>> {
    let Some(reader) = projections.family(Family::Checkpoints)? else { return Ok(Vec::new()) };
    let f = CheckpointFields::resolve(&reader.index.schema());
    u64_values(&reader.searcher(), &*i64_range(f.finalized_at, None, Some(final_before)), "checkpoint_id")
}

/// Finalized checkpoints without a reward calculation (ascending), and the newest calculated one.
pub fn processing_backlog(projections: &Projections) -> Result<(Vec<u64>, Option<u64>)> {
    let processed = match projections.family(Family::RewardRuns)? {
        Some(reader) => u64_values(&reader.searcher(), &AllQuery, "checkpoint_id")?,
        None => Vec::new(),
    };
    let finalized = match projections.family(Family::Checkpoints)? {
        Some(reader) => {
            u64_values(&reader.searcher(), &ExistsQuery::new("finalized_at".into(), false), "checkpoint_id")?
        }
        None => Vec::new(),
    };
    let pending = finalized.into_iter().filter(|id| processed.binary_search(id).is_err()).collect();
    Ok((pending, processed.last().copied()))
}

/// `GET /admin/checkpoint-processing-status`.
pub fn processing_status(projections: &Projections) -> Result<Value> {
    let (pending, last_processed) = processing_backlog(projections)?;
    let status = match pending.len() {
        0 => "up to date".to_owned(),
        1 => "1 checkpoint pending".to_owned(),
        n => format!("{n} checkpoints pending"),
    };
    Ok(json!({
        "pending_count": pending.len(),
        "pending_checkpoints": pending,
        "last_processed_checkpoint": last_processed,
        "status": status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_override_the_defaults_and_unknown_types_are_refused() {
        let rule = RewardRule::from_json(r#"{"RealmBlock": 7}"#).unwrap();
        assert_eq!(rule.rate(ProvingJobCircuitType::RealmBlock), 7);
        assert_eq!(rule.rate(ProvingJobCircuitType::UserRegistration), 10);
        assert!(RewardRule::from_json(r#"{"Mining": 7}"#).unwrap_err().contains("Mining"));
        assert!(RewardRule::from_json(r#"{"RealmBlock": -1}"#).is_err());
    }
}
