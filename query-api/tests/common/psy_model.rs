//! The Psy state the tests expect, folded from the fixture ground truth alone (never from the
//! projections): jobs with their final status, checkpoints, and the reward rule's distributions.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shared::enums::ProvingJobCircuitType;

/// A job's final state.
#[derive(Debug, Clone)]
pub struct ExpectedJob {
    pub realm_id: u64,
    pub worker: String,
    pub circuit_type: String,
    pub status: String,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub checkpoint_id: u64,
}

/// A checkpoint's creation and finalization.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedCheckpoint {
    pub created_at: i64,
    pub finalized_at: Option<i64>,
}

/// The folded Psy ground truth.
pub struct PsyModel {
    pub jobs: BTreeMap<u64, ExpectedJob>,
    pub checkpoints: BTreeMap<u64, ExpectedCheckpoint>,
}

fn hex_key(value: &Value) -> String {
    format!("0x{}", value.as_str().unwrap())
}

fn rank(status: &str) -> u8 {
    match status {
        "Pending" => 0,
        "InProgress" => 1,
        _ => 2,
    }
}

impl PsyModel {
    /// Folds the ground-truth lines.
    pub fn new(truth_lines: &[String]) -> Self {
        let mut jobs: BTreeMap<u64, ExpectedJob> = BTreeMap::new();
        let mut checkpoints = BTreeMap::new();
        for line in truth_lines {
            let event: Value = serde_json::from_str(line).unwrap();
            if event["program"] != "psy" {
                continue;
            }
            let f = &event["fields"];
            match event["name"].as_str().unwrap() {
                "WorkerJobUpdated" => {
                    let job = ExpectedJob {
                        realm_id: f["realm_id"].as_u64().unwrap(),
                        worker: hex_key(&f["worker_public_key"]),
                        circuit_type: f["circuit_type"].as_str().unwrap().to_owned(),
                        status: f["status"].as_str().unwrap().to_owned(),
                        start_time: f["start_time"].as_i64().unwrap(),
                        end_time: f["end_time"].as_i64(),
                        checkpoint_id: f["checkpoint_id"].as_u64().unwrap(),
                    };
                    let id = f["job_id"].as_u64().unwrap();
                    if jobs.get(&id).is_none_or(|known| rank(&job.status) >= rank(&known.status)) {
                        jobs.insert(id, job);
                    }
                }
                "CheckpointCreated" => {
                    checkpoints.insert(
                        f["checkpoint_id"].as_u64().unwrap(),
                        ExpectedCheckpoint { created_at: f["created_at"].as_i64().unwrap(), finalized_at: None },
                    );
                }
                "CheckpointFinalized" => {
                    let id = f["checkpoint_id"].as_u64().unwrap();
                    checkpoints.get_mut(&id).unwrap().finalized_at = f["finalized_at"].as_i64();
                }
                _ => {}
            }
        }
        Self { jobs, checkpoints }
    }

    /// Finalized checkpoint ids, ascending.
    pub fn finalized(&self) -> Vec<u64> {
        self.checkpoints.iter().filter(|(_, c)| c.finalized_at.is_some()).map(|(id, _)| *id).collect()
    }

    /// The first checkpoint still open.
    pub fn open(&self) -> Option<u64> {
        self.checkpoints.iter().find(|(_, c)| c.finalized_at.is_none()).map(|(id, _)| *id)
    }

    /// The documented default rate of a circuit type.
    pub fn rate(circuit_type: &str) -> u64 {
        match circuit_type {
            "UserRegistration" => 10,
            "ContractDeployment" => 25,
            "ContractExecution" => 15,
            "CheckpointAggregation" => 50,
            "StateTreeUpdate" => 20,
            "RealmBlock" => 40,
            other => panic!("unknown circuit type {other}"),
        }
    }

    /// The distributions of a finalized checkpoint under the default rule, without ids, ordered
    /// by worker key then circuit type (the enum's order).
    pub fn distributions(&self, checkpoint_id: u64) -> Vec<Value> {
        let finalized_at = self.checkpoints[&checkpoint_id].finalized_at.unwrap();
        let mut counts: BTreeMap<(String, usize), u64> = BTreeMap::new();
        for job in self.jobs.values().filter(|j| j.checkpoint_id == checkpoint_id && j.status == "Completed") {
            let order = ProvingJobCircuitType::ALL.iter().position(|c| c.as_str() == job.circuit_type).unwrap();
            *counts.entry((job.worker.clone(), order)).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|((worker, order), job_count)| {
                let circuit_type = ProvingJobCircuitType::ALL[order].as_str();
                json!({
                    "checkpoint_id": checkpoint_id,
                    "worker_public_key": worker,
                    "circuit_type": circuit_type,
                    "job_count": job_count,
                    "total_rewards": job_count * Self::rate(circuit_type),
                    "created_at": query_api::timefmt::rfc3339(finalized_at),
                })
            })
            .collect()
    }

    /// Every distribution of every finalized checkpoint.
    pub fn all_distributions(&self) -> Vec<Value> {
        self.finalized().into_iter().flat_map(|id| self.distributions(id)).collect()
    }
}

/// The items of a list answer without their `id` (checked to be an integer).
pub fn without_ids(items: &Value) -> Vec<Value> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("an array: {items}"))
        .iter()
        .map(|item| {
            let mut item = item.clone();
            assert!(item["id"].is_u64(), "ids are integers: {item}");
            item.as_object_mut().unwrap().remove("id");
            item
        })
        .collect()
}
