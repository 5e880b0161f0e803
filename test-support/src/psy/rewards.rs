//! The reward rule's expected outcome, computed here from the truth model alone ([`Psy`],
//! folded from ground truth and posted telemetry), never from the service's code or
//! `shared::psy_model::reward`:
//! current = the highest checkpoint of a `COMPLETED` worker event; a checkpoint is final at or
//! below current − 5 (when that is above 0); its jobs are its `COMPLETED` events on its highest
//! slot, one per job id (the earliest completion kept); it pays fees / jobs to each job when
//! that is at least 1, and the remainder is not paid.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{Psy, W};

/// One paid job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidJob {
    /// Job id string.
    pub job_id: String,
    /// Worker of the kept completion (`unknown` without a key).
    pub worker: String,
    /// Circuit type number.
    pub circuit_type: u64,
    /// Time of the kept completion.
    pub timestamp_us: i64,
}

/// A checkpoint the rule pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// Its leaf's fees.
    pub fees: u64,
    /// Its jobs.
    pub jobs: Vec<PaidJob>,
    /// fees / jobs.
    pub reward_per_job: u64,
    /// fees mod jobs.
    pub remainder: u64,
}

/// The rule's outcome over a state.
#[derive(Debug, Clone, Default)]
pub struct RewardTruth {
    /// The highest completed checkpoint.
    pub current: Option<u64>,
    /// Final checkpoints that pay, by id.
    pub paid: BTreeMap<u64, Payout>,
    /// Checkpoints seen (with a completed event or a leaf) that are not final.
    pub not_final: BTreeSet<u64>,
    /// Final checkpoints with a completed job that do not pay (no leaf, fees 0 or below one
    /// unit per job): they wait.
    pub waiting: BTreeSet<u64>,
}

impl RewardTruth {
    /// Applies the rule to the folded records.
    pub fn of(psy: &Psy) -> Self {
        let completed: Vec<&W> = psy.worker.iter().filter(|w| w.status == "COMPLETED").collect();
        let checkpoint = |w: &W| u64::try_from(w.checkpoint_id).ok();
        let current = completed.iter().filter_map(|w| checkpoint(w)).max();
        let finalized = current.map(|c| c as i64 - 5).filter(|h| *h > 0).map(|h| h as u64);
        let mut by_checkpoint: BTreeMap<u64, Vec<&W>> = BTreeMap::new();
        for w in &completed {
            by_checkpoint.entry(checkpoint(w).expect("a completed checkpoint id is not negative")).or_default().push(w);
        }
        let mut truth = RewardTruth { current, ..Default::default() };
        let leaves: BTreeSet<u64> =
            psy.leaves.keys().map(|k| u64::try_from(*k).expect("a leaf's checkpoint id is not negative")).collect();
        for id in by_checkpoint.keys().chain(leaves.iter()) {
            if finalized.is_none_or(|h| *id > h) {
                truth.not_final.insert(*id);
            }
        }
        let Some(height) = finalized else { return truth };
        for (id, events) in by_checkpoint.range(..=height) {
            let slot = events.iter().map(|w| w.slot_id).max().unwrap();
            let mut kept: BTreeMap<String, PaidJob> = BTreeMap::new();
            for w in events.iter().filter(|w| w.slot_id == slot) {
                let job = PaidJob {
                    job_id: w.job_id.clone(),
                    worker: w.public_key.clone().unwrap_or_else(|| "unknown".to_owned()),
                    circuit_type: u64::from(w.circuit),
                    timestamp_us: w.ts,
                };
                match kept.get(&job.job_id) {
                    Some(earlier) if earlier.timestamp_us <= job.timestamp_us => {}
                    _ => {
                        kept.insert(job.job_id.clone(), job);
                    }
                }
            }
            let fees = psy.leaves.get(&(*id as i64)).and_then(|l| u64::try_from(l.leaf.fees_collected).ok());
            let n = kept.len() as u64;
            match fees {
                Some(fees) if fees >= n => {
                    let mut jobs: Vec<PaidJob> = kept.into_values().collect();
                    jobs.sort_by(|a, b| (a.timestamp_us, &a.job_id).cmp(&(b.timestamp_us, &b.job_id)));
                    truth.paid.insert(*id, Payout { fees, jobs, reward_per_job: fees / n, remainder: fees % n });
                }
                _ => {
                    truth.waiting.insert(*id);
                }
            }
        }
        truth
    }
}

impl Payout {
    /// The document's distribution rows of the checkpoint without the log-dependent `id` and
    /// the run time `created_at`: one per (worker, circuit type), by worker then circuit number.
    pub fn rows(&self, checkpoint_id: u64) -> Vec<Value> {
        let mut groups: BTreeMap<(&str, u64), u64> = BTreeMap::new();
        for job in &self.jobs {
            *groups.entry((job.worker.as_str(), job.circuit_type)).or_default() += 1;
        }
        groups
            .into_iter()
            .map(|((worker, circuit), n)| {
                let name = shared::psy_model::ProvingJobCircuitType::from_value(circuit as u8)
                    .map_or("Unknown", shared::psy_model::ProvingJobCircuitType::name);
                json!({
                    "checkpoint_id": checkpoint_id, "worker_public_key": worker, "circuit_type": name,
                    "job_count": n, "total_rewards": n * self.reward_per_job, "circuit_type_id": circuit,
                    "reward_per_job": self.reward_per_job, "total_fees_at_checkpoint": self.fees,
                    "total_jobs_at_checkpoint": self.jobs.len(),
                })
            })
            .collect()
    }
}

/// `rows` without `id` and `created_at`, for comparing with [`Payout::rows`].
pub fn without_run_fields(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not an array: {rows}"))
        .iter()
        .map(|row| {
            let mut row = row.clone();
            let object = row.as_object_mut().unwrap();
            object.remove("id");
            object.remove("created_at");
            row
        })
        .collect()
}
