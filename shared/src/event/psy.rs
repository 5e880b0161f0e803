//! Events of the Psy program: realms, users, contracts, proving jobs and checkpoints.
//!
//! Psy identities (users, workers, deployers) are 32-byte ed25519 public keys, written `0x`-hex
//! by the API. Every user event carries the checkpoint it was included in.

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;
use serde_json::{json, Value};

use crate::enums::{ProvingJobCircuitType, QJobTopic, WorkerEventStatus};
use crate::field::{idl_field, idl_struct, EventField, IdlDefinedType};

/// A callable function of a deployed contract.
#[derive(AnchorSerialize, AnchorDeserialize, Debug, Clone, PartialEq, Eq)]
pub struct ContractFunction {
    /// Function name.
    pub name: String,
    /// Method selector.
    pub method_id: u32,
    /// Human-readable description.
    pub description: String,
}

impl EventField for ContractFunction {
    fn idl_type() -> Value {
        json!({ "defined": { "name": "ContractFunction" } })
    }
    fn to_json(&self) -> Value {
        json!({ "name": self.name, "method_id": self.method_id, "description": self.description })
    }
}

impl IdlDefinedType for ContractFunction {
    fn idl_definition() -> Value {
        let fields = vec![
            idl_field("name", &["Function name."], String::idl_type()),
            idl_field("method_id", &["Method selector."], u32::idl_type()),
            idl_field("description", &["Human-readable description."], String::idl_type()),
        ];
        idl_struct("ContractFunction", &["A callable function of a deployed contract."], fields)
    }
}

super::define_events! {
    /// Any Psy program event.
    PsyEvent {
        /// A realm (a shard of users and contracts) was created.
        RealmCreated {
            /// Realm identifier.
            realm_id: u64,
            /// Realm name.
            name: String,
            /// Unix timestamp of creation.
            created_at: i64,
        }
        /// A realm was activated or paused.
        RealmStatusChanged {
            /// Realm identifier.
            realm_id: u64,
            /// Whether the realm accepts jobs.
            active: bool,
            /// Unix timestamp of the change.
            changed_at: i64,
        }
        /// A user registered.
        UserRegistered {
            /// Sequential user id.
            user_id: u64,
            /// User's ed25519 public key.
            public_key: [u8; 32],
            /// Twitter handle given at registration.
            twitter_handle: String,
            /// User-friendly label.
            label: String,
            /// Checkpoint the registration was included in.
            checkpoint_id: u64,
            /// Unix timestamp of registration.
            registered_at: i64,
        }
        /// A user deployed a contract.
        ContractDeployed {
            /// Contract UUID.
            uuid: String,
            /// Deploying user's id.
            user_id: u64,
            /// Deploying user's public key.
            deployer: [u8; 32],
            /// Height of the contract's state tree.
            state_tree_height: u8,
            /// Callable functions.
            functions: Vec<ContractFunction>,
            /// Checkpoint the deployment was included in.
            checkpoint_id: u64,
            /// Unix timestamp of deployment.
            deployed_at: i64,
        }
        /// A user called a contract function.
        UserTransactionExecuted {
            /// Calling user's id.
            user_id: u64,
            /// Calling user's public key.
            public_key: [u8; 32],
            /// Called contract UUID.
            contract_uuid: String,
            /// Called method selector.
            method_id: u32,
            /// Checkpoint the transaction was included in.
            checkpoint_id: u64,
            /// Unix timestamp of execution.
            executed_at: i64,
        }
        /// A proving job changed state for a worker.
        WorkerJobUpdated {
            /// Realm the job belongs to.
            realm_id: u64,
            /// Worker's public key.
            worker_public_key: [u8; 32],
            /// Job identifier.
            job_id: u64,
            /// Queue topic of the job.
            topic: QJobTopic,
            /// Circuit proven by the job.
            circuit_type: ProvingJobCircuitType,
            /// Status after this event.
            status: WorkerEventStatus,
            /// Unix timestamp the worker started (or the job was queued).
            start_time: i64,
            /// Unix timestamp the job ended, once it has.
            end_time: Option<i64>,
            /// Checkpoint the job proves.
            checkpoint_id: u64,
        }
        /// A checkpoint was opened.
        CheckpointCreated {
            /// Checkpoint identifier.
            checkpoint_id: u64,
            /// Psy block height at creation.
            block_height: u64,
            /// Unix timestamp of creation.
            created_at: i64,
        }
        /// A checkpoint was finalized; its jobs are settled.
        CheckpointFinalized {
            /// Checkpoint identifier.
            checkpoint_id: u64,
            /// Psy block height at finalization.
            block_height: u64,
            /// Unix timestamp of finalization.
            finalized_at: i64,
        }
    }
}

/// The IDL `types` entries of the enums and structs Psy events use.
pub fn idl_support_types() -> Vec<Value> {
    vec![
        ContractFunction::idl_definition(),
        QJobTopic::idl_definition(),
        ProvingJobCircuitType::idl_definition(),
        WorkerEventStatus::idl_definition(),
    ]
}
