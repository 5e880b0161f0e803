//! Checkpoint rewards by the real rule (`shared::psy_model::reward`, reference §3.10 and §3.12):
//! the calculation of one checkpoint, the background processing of every pending checkpoint, and
//! `/admin/checkpoint-processing-status`.
//!
//! **The rule.** The current checkpoint is the highest `checkpoint_id` of a `COMPLETED` worker
//! event; a checkpoint is final at or below current − 5. A final checkpoint's reward jobs are its
//! `COMPLETED` events on its highest slot, one per job id; each is paid its leaf's
//! `fees_collected` / the number of jobs, by integer division. The remainder is discarded (as the
//! real background task does) and recorded in the settlement (`remainder`).
//!
//! **What is settled, what waits** (a judgement; the real service retries such checkpoints
//! forever):
//! - *Paid*: the job rewards and the settlement are written.
//! - *No completed job* (a checkpoint known only from its leaf): settled with no rewards. No
//!   later leaf can change that outcome (there is nothing to pay). A completion reported after
//!   its checkpoint was settled is listed by `/checkpoint/job-events` but never paid: a
//!   settlement is written once.
//! - *No leaf*, *fees 0*, *fees below the job count* (a quotient of 0): kept pending and listed
//!   with the reason in `/admin/checkpoint-processing-status`: a leaf may still come, and a leaf
//!   of the checkpoint reported again overwrites the fees (the real upsert), which can make it
//!   payable.
//! - *Not final*: not pending yet (the real processor has not looked at it).
//!
//! **Idempotency.** A checkpoint's write carries its idempotency key
//! (`shared::control::rewards_key`, per checkpoint): the background pass and
//! `POST /checkpoint/calculate-rewards/{id}` run the same calculation and the indexer stores the
//! first write only, so a recalculation never distributes twice; a second call answers what is
//! stored.

use std::sync::Arc;

use projection::read::Projections;
use serde::Serialize;
use shared::control::{CheckpointSettlement, JobReward, RewardsRequest, WriteOutcome};
use shared::psy_model::reward::{checkpoint_reward, finalized_height, CheckpointReward, RewardJob};

use super::read::checkpoints::{checkpoint_jobs, current_checkpoint, known_up_to, leaf};
use super::read::rewards::{distribution_rows, settled_checkpoints, stored_rows, DistributionRow, Paid};
use crate::error::{ApiError, Result};
use crate::reply::blocking;
use crate::State;

/// A checkpoint's calculation: its outcome by the rule and its jobs.
#[derive(Debug, Clone)]
pub struct Calculation {
    /// The checkpoint.
    pub checkpoint_id: u64,
    /// What it pays.
    pub outcome: CheckpointReward,
    /// Its reward jobs (with the seqs of their completions).
    pub jobs: Vec<(u64, RewardJob)>,
    /// Its leaf's fees, if a leaf was reported.
    pub fees: Option<u64>,
}

impl Calculation {
    /// The write that settles the checkpoint, dated `processed_us`, or `None` while it waits
    /// (not final, no leaf, fees 0 or below one unit per job).
    pub fn request(&self, processed_us: i64) -> Option<RewardsRequest> {
        let (split, rewards) = match self.outcome {
            CheckpointReward::Paid(split) => {
                let rewards = self
                    .jobs
                    .iter()
                    .map(|(_, job)| JobReward {
                        checkpoint_id: self.checkpoint_id,
                        worker_public_key: job.worker_public_key.clone(),
                        job_id: job.job_id,
                        reward_amount: split.reward_per_job,
                        total_fees_at_checkpoint: split.fees_collected,
                        total_jobs_at_checkpoint: split.jobs,
                        timestamp_us: job.timestamp.unix_micros(),
                    })
                    .collect();
                (split, rewards)
            }
            CheckpointReward::NoJobs => {
                let fees = self.fees.unwrap_or(0);
                (
                    shared::psy_model::reward::RewardSplit {
                        fees_collected: fees,
                        jobs: 0,
                        reward_per_job: 0,
                        remainder: fees,
                    },
                    Vec::new(),
                )
            }
            _ => return None,
        };
        let settled = CheckpointSettlement {
            checkpoint_id: self.checkpoint_id,
            fees_collected: split.fees_collected,
            jobs: split.jobs,
            reward_per_job: split.reward_per_job,
            remainder: split.remainder,
            processed_us,
        };
        Some(RewardsRequest { rewards, settled })
    }

    /// Why the checkpoint is not settled (for the processing status), or `None` when it can be.
    pub fn waiting_reason(&self) -> Option<String> {
        match self.outcome {
            CheckpointReward::Paid(_) | CheckpointReward::NoJobs => None,
            CheckpointReward::NotFinal { checkpoints_to_go } => {
                Some(format!("not final: {checkpoints_to_go} more completed checkpoints needed"))
            }
            CheckpointReward::NoLeaf => Some("no checkpoint leaf reported: fees unknown".into()),
            CheckpointReward::NoFees => Some("fees collected are 0".into()),
            CheckpointReward::BelowOnePerJob(split) => Some(format!(
                "fees collected ({}) are below its {} jobs: less than one unit per job",
                split.fees_collected, split.jobs
            )),
        }
    }
}

/// Applies the rule to `checkpoint_id` as the projections show it now.
pub fn calculate(projections: &Projections, checkpoint_id: u64) -> Result<Calculation> {
    let current = current_checkpoint(projections)?;
    let fees = leaf(projections, checkpoint_id)?.map(|leaf| u64::try_from(leaf.fees_collected).unwrap_or(0));
    let jobs = checkpoint_jobs(projections, checkpoint_id)?;
    let outcome = checkpoint_reward(checkpoint_id, current, fees, jobs.len() as u64);
    Ok(Calculation { checkpoint_id, outcome, jobs, fees })
}

/// The answer to a new write: its distributions with the seqs the log gave them.
fn written_rows(request: &RewardsRequest, outcome: &WriteOutcome) -> Vec<DistributionRow> {
    let paid: Vec<Paid> = request
        .rewards
        .iter()
        .zip(&outcome.seqs)
        .map(|(r, seq)| Paid {
            seq: *seq,
            worker: r.worker_public_key.clone(),
            circuit_type: r.job_id.circuit_type.value(),
            reward_amount: r.reward_amount,
            total_fees_at_checkpoint: r.total_fees_at_checkpoint,
            total_jobs_at_checkpoint: r.total_jobs_at_checkpoint,
            timestamp_us: r.timestamp_us,
        })
        .collect();
    distribution_rows(request.settled.checkpoint_id, &paid, request.settled.processed_us)
}

/// Polls (100 ms apart) for a stored calculation to appear in the projections.
const STORED_WAIT_POLLS: usize = 50;

/// Calculates a checkpoint's rewards and, when it can be settled, stores them through the
/// control endpoint under its idempotency key. Answers the distribution rows: the stored ones
/// when it was settled before (never a second distribution), `[]` while it waits (the reason is
/// in `/admin/checkpoint-processing-status`), as the real endpoint answers `[]` when there is
/// nothing to pay. `POST /checkpoint/calculate-rewards/{id}` and the background pass.
pub async fn calculate_and_store(state: Arc<State>, checkpoint_id: u64) -> Result<Vec<DistributionRow>> {
    if let Some((_, rows)) = blocking(state.clone(), move |st| stored_rows(&st.projections, checkpoint_id)).await? {
        return Ok(rows);
    }
    let calculation = blocking(state.clone(), move |st| calculate(&st.projections, checkpoint_id)).await?;
    let processed_us = state.clock.now().saturating_mul(1_000_000);
    let Some(request) = calculation.request(processed_us) else { return Ok(Vec::new()) };
    let control = state.control.clone().ok_or_else(|| {
        ApiError::Unavailable("rewards cannot be stored: the service has no control endpoint (--control-token)".into())
    })?;
    let outcome = control.record_rewards(&request).await?;
    if outcome.created {
        return Ok(written_rows(&request, &outcome));
    }
    // Settled before (by the other path, or an earlier try): answer what is stored once the
    // projections show all of it.
    for _ in 0..STORED_WAIT_POLLS {
        if let Some((_, rows)) = blocking(state.clone(), move |st| stored_rows(&st.projections, checkpoint_id)).await? {
            return Ok(rows);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(ApiError::Unavailable(format!(
        "checkpoint {checkpoint_id}'s rewards are stored; see /checkpoint/distributions/{checkpoint_id} shortly"
    )))
}

/// Most checkpoints settled per background pass.
const CHECKPOINTS_PER_PASS: usize = 100;

/// The backlog of the reward processing.
#[derive(Debug, Clone, Default)]
pub struct Backlog {
    /// The current checkpoint (highest completed).
    pub current: Option<u64>,
    /// current − 5, when above 0.
    pub finalized_height: Option<u64>,
    /// Final, unsettled checkpoints that can be settled now (ascending).
    pub ready: Vec<u64>,
    /// Final, unsettled checkpoints that wait, with the reason (ascending).
    pub waiting: Vec<(u64, String)>,
    /// The newest settled checkpoint.
    pub last_processed: Option<u64>,
}

impl Backlog {
    /// Every pending checkpoint (ready or waiting), ascending.
    pub fn pending(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.ready.iter().copied().chain(self.waiting.iter().map(|(id, _)| *id)).collect();
        all.sort_unstable();
        all
    }
}

/// Final checkpoints (with a completed event or a leaf) not yet settled, each calculated.
pub fn backlog(projections: &Projections) -> Result<Backlog> {
    let current = current_checkpoint(projections)?;
    let height = finalized_height(current);
    let settled = settled_checkpoints(projections)?;
    let mut backlog =
        Backlog { current, finalized_height: height, last_processed: settled.last().copied(), ..Default::default() };
    let Some(height) = height else { return Ok(backlog) };
    for checkpoint_id in known_up_to(projections, height)?.difference(&settled) {
        let calculation = calculate(projections, *checkpoint_id)?;
        match calculation.waiting_reason() {
            None => backlog.ready.push(*checkpoint_id),
            Some(reason) => backlog.waiting.push((*checkpoint_id, reason)),
        }
    }
    Ok(backlog)
}

/// One pass of the background reward processing: settles the oldest checkpoints that can be
/// settled; returns how many were.
pub async fn process_pending(state: Arc<State>) -> Result<usize> {
    let backlog = blocking(state.clone(), |st| backlog(&st.projections)).await?;
    let mut stored = 0;
    for checkpoint_id in backlog.ready.into_iter().take(CHECKPOINTS_PER_PASS) {
        calculate_and_store(state.clone(), checkpoint_id).await?;
        stored += 1;
    }
    Ok(stored)
}

/// Most pending checkpoints listed by id in the processing status.
pub const MAX_LISTED_PENDING: usize = 100;

/// `GET /admin/checkpoint-processing-status`: the document's four fields (`pending_count` is
/// exact; `pending_checkpoints` lists the oldest [`MAX_LISTED_PENDING`]), then the real rule's
/// state: `current_checkpoint`, `finalized_height`, and `waiting` (each waiting checkpoint with
/// the reason it is not settled).
pub fn processing_status(projections: &Projections) -> Result<ProcessingStatus> {
    let backlog = backlog(projections)?;
    let pending = backlog.pending();
    let status = match pending.len() {
        0 => "All checkpoints processed".to_owned(),
        1 => "1 checkpoint pending".to_owned(),
        n => format!("{n} checkpoints pending"),
    };
    let waiting = backlog
        .waiting
        .iter()
        .take(MAX_LISTED_PENDING)
        .map(|(id, reason)| WaitingCheckpoint { checkpoint_id: *id, reason: reason.clone() })
        .collect();
    Ok(ProcessingStatus {
        pending_count: pending.len(),
        pending_checkpoints: pending.iter().take(MAX_LISTED_PENDING).copied().collect(),
        last_processed_checkpoint: backlog.last_processed,
        status,
        current_checkpoint: backlog.current,
        finalized_height: backlog.finalized_height,
        waiting,
    })
}

/// A pending checkpoint that waits, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingCheckpoint {
    pub checkpoint_id: u64,
    pub reason: String,
}

/// `GET /admin/checkpoint-processing-status`.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessingStatus {
    pub pending_count: usize,
    pub pending_checkpoints: Vec<u64>,
    pub last_processed_checkpoint: Option<u64>,
    pub status: String,
    pub current_checkpoint: Option<u64>,
    pub finalized_height: Option<u64>,
    pub waiting: Vec<WaitingCheckpoint>,
}

#[cfg(test)]
mod tests {
    use shared::psy_model::reward::RewardSplit;
    use shared::psy_model::{QProvingJobDataID, Timestamp};

    use super::*;

    fn job(worker: &str, circuit: u8, micros: i64) -> (u64, RewardJob) {
        let job_id: QProvingJobDataID = format!("0-10-0-{circuit}-0-0-{micros}-8-0").parse().unwrap();
        (
            micros as u64,
            RewardJob {
                job_id,
                worker_public_key: worker.into(),
                timestamp: Timestamp::from_unix_micros(micros),
                duration: None,
            },
        )
    }

    #[test]
    fn a_paid_checkpoint_writes_one_reward_per_job_and_the_remainder_in_the_settlement() {
        let split = RewardSplit { fees_collected: 1003, jobs: 3, reward_per_job: 334, remainder: 1 };
        let calculation = Calculation {
            checkpoint_id: 10,
            outcome: CheckpointReward::Paid(split),
            jobs: vec![job("a", 7, 1), job("a", 7, 2), job("b", 12, 3)],
            fees: Some(1003),
        };
        let request = calculation.request(99).unwrap();
        assert_eq!(request.rewards.len(), 3);
        assert!(request.rewards.iter().all(|r| r.reward_amount == 334 && r.total_jobs_at_checkpoint == 3));
        assert_eq!(
            (request.settled.remainder, request.settled.reward_per_job, request.settled.processed_us),
            (1, 334, 99)
        );
        let rows = written_rows(&request, &WriteOutcome { created: true, seqs: vec![5, 6, 7, 8] });
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].worker_public_key.as_str(), rows[0].job_count, rows[0].total_rewards), ("a", 2, 668));
        assert_eq!((rows[0].id, rows[0].circuit_type), (5, "GUTATwoEndCap"));
        assert_eq!((rows[1].circuit_type, rows[1].total_rewards), ("GUTARegisterUsers", 334));
    }

    #[test]
    fn only_outcomes_that_cannot_change_are_settled_without_pay() {
        let base =
            Calculation { checkpoint_id: 4, outcome: CheckpointReward::NoJobs, jobs: Vec::new(), fees: Some(50) };
        let request = base.request(1).unwrap();
        assert!(request.rewards.is_empty());
        assert_eq!((request.settled.jobs, request.settled.remainder), (0, 50));
        let below = RewardSplit { fees_collected: 2, jobs: 3, reward_per_job: 0, remainder: 2 };
        for outcome in [
            CheckpointReward::NoLeaf,
            CheckpointReward::NoFees,
            CheckpointReward::BelowOnePerJob(below),
            CheckpointReward::NotFinal { checkpoints_to_go: 2 },
        ] {
            let waiting = Calculation { outcome, ..base.clone() };
            assert!(waiting.request(1).is_none(), "{outcome:?}");
            assert!(waiting.waiting_reason().is_some());
        }
    }
}
