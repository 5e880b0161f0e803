//! Tests of the reward rule's edge cases, worked out by hand from reference §3.10 and §3.12.

use super::*;
use crate::psy_model::{ProvingJobCircuitType, ProvingJobDataType, QJobTopic, WorkerEventSource};

fn event(worker: &str, status: WorkerEventStatus, cp: i64, task: u32, slot: u64, at: i64) -> WorkerEvent {
    WorkerEvent {
        id: None,
        realm_id: Some(0),
        public_key: (!worker.is_empty()).then(|| worker.to_owned()),
        status,
        source: WorkerEventSource::Realm,
        job_id: QProvingJobDataID {
            topic: QJobTopic::GenerateStandardProof,
            goal_id: cp.unsigned_abs(),
            slot_id: slot,
            circuit_type: ProvingJobCircuitType::GUTATwoEndCap,
            group_id: 0,
            sub_group_id: 0,
            task_index: task,
            data_type: ProvingJobDataType::OutputProof,
            data_index: 0,
        },
        checkpoint_id: cp,
        duration: Some(1000),
        metadata: None,
        timestamp: Timestamp::from_unix_seconds(at),
        created_at: None,
        updated_at: None,
    }
}

#[test]
fn finality_waits_five_checkpoints() {
    assert!(!is_final(10, None));
    assert!(!is_final(10, Some(14)));
    assert!(is_final(10, Some(15)));
    assert!(is_final(3, Some(15)));
    // current − 5 must be above 0: checkpoint 0 (and 1) wait for current 6.
    assert!(!is_final(0, Some(5)));
    assert!(is_final(0, Some(6)));
    assert!(is_final(1, Some(6)));
    assert_eq!(finalized_height(Some(5)), None);
    assert_eq!(finalized_height(Some(3)), None);
    assert_eq!(finalized_height(Some(105)), Some(100));
}

#[test]
fn not_final_says_how_far() {
    assert_eq!(checkpoint_reward(100, Some(102), Some(900), 3), CheckpointReward::NotFinal { checkpoints_to_go: 3 });
    assert_eq!(checkpoint_reward(100, None, Some(900), 3), CheckpointReward::NotFinal { checkpoints_to_go: 105 });
    assert_eq!(checkpoint_reward(0, Some(5), Some(900), 3), CheckpointReward::NotFinal { checkpoints_to_go: 1 });
    assert!(matches!(checkpoint_reward(100, Some(105), Some(900), 3), CheckpointReward::Paid(_)));
}

#[test]
fn splits_by_integer_division_and_discards_the_remainder() {
    let paid = checkpoint_reward(100, Some(200), Some(1000), 3);
    let expected = RewardSplit { fees_collected: 1000, jobs: 3, reward_per_job: 333, remainder: 1 };
    assert_eq!(paid, CheckpointReward::Paid(expected));
    assert_eq!(expected.paid(), 999);
    let exact = split(900, 3);
    assert_eq!(exact.map(|s| (s.reward_per_job, s.remainder)), Some((300, 0)));
    let one = split(7, 1);
    assert_eq!(one.map(|s| (s.reward_per_job, s.remainder, s.paid())), Some((7, 0, 7)));
}

#[test]
fn nothing_to_pay_is_its_own_outcome() {
    assert_eq!(split(1000, 0), None);
    assert_eq!(checkpoint_reward(100, Some(200), Some(1000), 0), CheckpointReward::NoJobs);
    assert_eq!(checkpoint_reward(100, Some(200), None, 4), CheckpointReward::NoLeaf);
    assert_eq!(checkpoint_reward(100, Some(200), Some(0), 4), CheckpointReward::NoFees);
    let below = RewardSplit { fees_collected: 3, jobs: 4, reward_per_job: 0, remainder: 3 };
    assert_eq!(checkpoint_reward(100, Some(200), Some(3), 4), CheckpointReward::BelowOnePerJob(below));
    assert_eq!(
        checkpoint_reward(100, Some(200), Some(4), 4),
        CheckpointReward::Paid(RewardSplit { reward_per_job: 1, fees_collected: 4, remainder: 0, ..below })
    );
}

#[test]
fn reward_jobs_are_distinct_completed_jobs_on_the_highest_slot() {
    use WorkerEventStatus::{Completed, Failed, Processing};
    let events = vec![
        event("w1", Completed, 50, 0, 0, 30),
        event("w2", Completed, 50, 1, 0, 10),
        // The same job completed again later by another worker: the earlier completion is kept.
        event("w3", Completed, 50, 1, 0, 20),
        event("w1", Failed, 50, 2, 0, 5),
        event("w1", Processing, 50, 3, 0, 6),
        event("", Completed, 50, 4, 0, 40),
        event("w9", Completed, 51, 0, 0, 1),
    ];
    let jobs = reward_jobs(&events, 50);
    let summary: Vec<(u32, &str, i64)> =
        jobs.iter().map(|j| (j.job_id.task_index, j.worker_public_key.as_str(), j.timestamp.unix_seconds())).collect();
    assert_eq!(summary, vec![(1, "w2", 10), (0, "w1", 30), (4, UNKNOWN_WORKER, 40)]);
    assert!(reward_jobs(&events, 49).is_empty());
}

#[test]
fn a_higher_slot_replaces_the_lower_ones() {
    use WorkerEventStatus::Completed;
    let mut on_metadata_slot = event("w4", Completed, 60, 7, 0, 5);
    on_metadata_slot.metadata = Some(serde_json::json!({"slot_id": 2}));
    let events = vec![
        event("w1", Completed, 60, 0, 1, 1),
        event("w2", Completed, 60, 1, 2, 2),
        event("w3", Completed, 60, 2, 2, 3),
        on_metadata_slot,
    ];
    let workers: Vec<String> = reward_jobs(&events, 60).into_iter().map(|j| j.worker_public_key).collect();
    assert_eq!(workers, ["w2", "w3", "w4"]);
}

#[test]
fn negative_checkpoints_never_match() {
    let events = vec![event("w1", WorkerEventStatus::Completed, -1, 0, 0, 1)];
    assert!(reward_jobs(&events, u64::MAX).is_empty());
}
