//! The real checkpoint reward rule (reference §3.10 and §3.12) as pure functions.
//!
//! - **Finality.** The current checkpoint is the highest `checkpoint_id` of a `COMPLETED` worker
//!   event; the finalized height is current − [`FINALITY_DEPTH`] (5). A checkpoint is final when
//!   it is at or below the finalized height and that height is above 0 (the real processor does
//!   nothing while it is 0 or less, so checkpoint 0 becomes final only at current 6).
//! - **Jobs.** A final checkpoint's reward jobs are its `COMPLETED` events on its highest slot
//!   (the real processor keeps the largest `slot_id` and records the others as a rollback), one
//!   per distinct job id ([`reward_jobs`]).
//! - **Split.** reward per job = fees collected / jobs, integer division ([`split`]).
//! - **Remainder: discarded.** The real background task — the one whose results the real
//!   service serves — gives every job the quotient and distributes nothing of the remainder (its
//!   "deflation model"); the real manual endpoint's copy, which gives +1 to the first `remainder`
//!   jobs, is not followed (it also doubles rows when called again). The remainder is reported in
//!   [`RewardSplit::remainder`].
//! - **Nothing to pay.** No leaf yet, no completed jobs, fees 0, or fees below the job count (a
//!   quotient of 0, which the real `CHECK reward_amount > 0` refuses, leaving the checkpoint
//!   retried forever) pay nothing; each is its own [`CheckpointReward`] outcome.
//!
//! Being functions of the folded state, a recalculation gives the same distribution and can never
//! add a second one (the real service's only guard is "no distribution rows yet").

use super::job_id::QProvingJobDataID;
use super::status::WorkerEventStatus;
use super::telemetry::WorkerEvent;
use super::time::Timestamp;

/// Checkpoints after a checkpoint before it is final (the real `BLOCK_FINALITY_DEPTH`).
pub const FINALITY_DEPTH: u64 = 5;

/// The worker key the real processor stores when an event has none.
pub const UNKNOWN_WORKER: &str = "unknown";

/// The finalized height when the highest completed checkpoint is `current`, or `None` while
/// nothing is final (current − 5 is 0 or less).
pub fn finalized_height(current: Option<u64>) -> Option<u64> {
    current.and_then(|c| c.checked_sub(FINALITY_DEPTH)).filter(|h| *h > 0)
}

/// Whether `checkpoint` is final when the highest completed checkpoint is `current`.
pub fn is_final(checkpoint: u64, current: Option<u64>) -> bool {
    finalized_height(current).is_some_and(|h| checkpoint <= h)
}

/// A checkpoint's fees split over its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardSplit {
    /// Fees collected.
    pub fees_collected: u64,
    /// Reward jobs.
    pub jobs: u64,
    /// fees / jobs, rounded down: what every job is paid.
    pub reward_per_job: u64,
    /// fees mod jobs: not distributed.
    pub remainder: u64,
}

impl RewardSplit {
    /// Total paid: reward per job × jobs (= fees − remainder).
    pub fn paid(&self) -> u64 {
        self.reward_per_job * self.jobs
    }
}

/// `fees` split over `jobs` by integer division; `None` with no jobs.
pub fn split(fees: u64, jobs: u64) -> Option<RewardSplit> {
    (jobs > 0).then(|| RewardSplit { fees_collected: fees, jobs, reward_per_job: fees / jobs, remainder: fees % jobs })
}

/// What a checkpoint pays, by the rule above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointReward {
    /// Not final yet; `checkpoints_to_go` more completed checkpoints make it final.
    NotFinal {
        /// How far the highest completed checkpoint must still rise.
        checkpoints_to_go: u64,
    },
    /// Final, but no leaf has reported its fees.
    NoLeaf,
    /// Final, with no completed job.
    NoJobs,
    /// Final, with fees 0.
    NoFees,
    /// Final, fees below the job count: the quotient is 0 and nothing is paid.
    BelowOnePerJob(RewardSplit),
    /// Final and paid.
    Paid(RewardSplit),
}

/// What `checkpoint` pays, given the highest completed checkpoint `current`, its leaf's fees
/// (`None` with no leaf) and its number of reward jobs.
pub fn checkpoint_reward(checkpoint: u64, current: Option<u64>, fees: Option<u64>, jobs: u64) -> CheckpointReward {
    if !is_final(checkpoint, current) {
        let needed = checkpoint.max(1).saturating_add(FINALITY_DEPTH);
        return CheckpointReward::NotFinal { checkpoints_to_go: needed.saturating_sub(current.unwrap_or(0)) };
    }
    let Some(fees) = fees else { return CheckpointReward::NoLeaf };
    match split(fees, jobs) {
        None => CheckpointReward::NoJobs,
        Some(_) if fees == 0 => CheckpointReward::NoFees,
        Some(s) if s.reward_per_job == 0 => CheckpointReward::BelowOnePerJob(s),
        Some(s) => CheckpointReward::Paid(s),
    }
}

/// A job a checkpoint pays for, and the worker paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardJob {
    /// The job.
    pub job_id: QProvingJobDataID,
    /// The worker of its kept completion ([`UNKNOWN_WORKER`] when the event had none).
    pub worker_public_key: String,
    /// Time of that completion.
    pub timestamp: Timestamp,
    /// Its proving time in milliseconds, if reported.
    pub duration: Option<i64>,
}

/// The reward jobs of `checkpoint` among `events`, in timestamp order: its `COMPLETED` events on
/// its highest slot ([`WorkerEvent::slot_id`]), one per job id. When a job id completed more than
/// once, the earliest completion is kept (ties: the first given) — a judgement: the real
/// processor skips job ids already stored for the checkpoint.
pub fn reward_jobs<'a>(events: impl IntoIterator<Item = &'a WorkerEvent>, checkpoint: u64) -> Vec<RewardJob> {
    let completed: Vec<&WorkerEvent> = events
        .into_iter()
        .filter(|e| e.status == WorkerEventStatus::Completed && u64::try_from(e.checkpoint_id) == Ok(checkpoint))
        .collect();
    let Some(slot) = completed.iter().map(|e| e.slot_id()).max() else { return Vec::new() };
    let mut kept: Vec<&WorkerEvent> = completed.into_iter().filter(|e| e.slot_id() == slot).collect();
    kept.sort_by_key(|e| e.timestamp);
    let mut seen = std::collections::HashSet::new();
    kept.into_iter()
        .filter(|e| seen.insert(e.job_id))
        .map(|e| RewardJob {
            job_id: e.job_id,
            worker_public_key: e.public_key.clone().unwrap_or_else(|| UNKNOWN_WORKER.to_owned()),
            timestamp: e.timestamp,
            duration: e.duration,
        })
        .collect()
}

#[cfg(test)]
#[path = "reward_tests.rs"]
mod tests;
