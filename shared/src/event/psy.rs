//! Events of the Psy program, on the real Psy data model (`PsyProtocol/psy-sdk`, see
//! `../shared/reference/psy-real.md` and [`crate::psy_model`]).
//!
//! The program records on chain what a Psy deployment's coordinator and realm nodes post as
//! telemetry: worker (proving job) events, user events, checkpoint leaves and contract reports.
//! Each event carries exactly the fields of its telemetry record (what the real service keeps),
//! so one fold serves both feeds: a telemetry post is stored as the same event
//! ([`crate::control::ApiEvent::Telemetry`]). `metadata` is the record's JSON as text (`{}` when
//! the record had none); `timestamp` is unix microseconds (the real feed's RFC 3339 precision).

#![allow(missing_docs)] // `#[event]` adds derives whose generated items carry no docs.

use anchor_lang::prelude::*;
use serde_json::Value;

use crate::psy_model::telemetry::{CheckpointLeaf, ContractReport, UserEvent, WorkerEvent};
use crate::psy_model::{QProvingJobDataID, Timestamp, UserEventTxType, WorkerEventSource, WorkerEventStatus};

super::define_events! {
    /// Any Psy program event.
    PsyEvent {
        /// A node reported a proving job's status (the real `WorkerEvent`).
        WorkerEventReported {
            /// Realm of the job, when reported.
            realm_id: Option<i64>,
            /// Worker public key, when reported (any of the real feed's key forms).
            public_key: Option<String>,
            /// Status after this event.
            status: WorkerEventStatus,
            /// Reporting node kind.
            source: WorkerEventSource,
            /// The job.
            job_id: QProvingJobDataID,
            /// Checkpoint the job belongs to.
            checkpoint_id: i64,
            /// Proving time in milliseconds, when reported.
            duration: Option<i64>,
            /// The record's JSON metadata as text.
            metadata: String,
            /// When it happened (unix microseconds).
            timestamp: i64,
        }
        /// A node reported a user's transaction (the real `UserEvent`).
        UserEventReported {
            /// User id: a UUID, or a name like `user_001`.
            user_id: String,
            /// User public key.
            public_key: String,
            /// Kind of transaction.
            tx_type: UserEventTxType,
            /// The record's JSON metadata as text.
            metadata: String,
            /// When it happened (unix microseconds).
            timestamp: i64,
        }
        /// A checkpoint's statistics (the real checkpoint leaf); the report with the newest
        /// timestamp, then the later one, is the checkpoint's.
        CheckpointLeafReported {
            /// Checkpoint id.
            checkpoint_id: i64,
            /// Fees collected: the pool the checkpoint's completed jobs share.
            fees_collected: i64,
            /// User operations processed.
            user_ops_processed: i64,
            /// Transactions in the checkpoint.
            total_transactions: i64,
            /// State slots modified.
            slots_modified: i64,
            /// The record's JSON metadata as text.
            metadata: String,
            /// When the checkpoint was made (unix microseconds).
            timestamp: i64,
        }
        /// A deployed contract (the real contract report).
        ContractReported {
            /// Contract UUID.
            contract_uuid: String,
            /// Checkpoint of the deployment.
            checkpoint_id: u64,
            /// Numeric contract id.
            contract_id: u64,
            /// Deployer's public key.
            deployer: String,
            /// Root of the contract's function whitelist.
            function_whitelist_root: String,
            /// The record's JSON metadata as text (`state_tree_height`, `functions`).
            metadata: String,
            /// When it was reported (unix microseconds).
            timestamp: i64,
        }
    }
}

/// The IDL `types` entries of the enums and structs Psy events use.
pub fn idl_support_types() -> Vec<Value> {
    use crate::field::IdlDefinedType;
    vec![
        QProvingJobDataID::idl_definition(),
        WorkerEventStatus::idl_definition(),
        WorkerEventSource::idl_definition(),
        UserEventTxType::idl_definition(),
    ]
}

/// A record's metadata as stored: its JSON text, `{}` when absent.
fn metadata_text(metadata: &Option<Value>) -> String {
    metadata.as_ref().map_or_else(|| "{}".to_owned(), Value::to_string)
}

/// A stored metadata text read back (an object `{}` if it is not JSON).
pub fn metadata_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Default::default()))
}

impl From<&WorkerEvent> for WorkerEventReported {
    fn from(e: &WorkerEvent) -> Self {
        Self {
            realm_id: e.realm_id,
            public_key: e.public_key.clone(),
            status: e.status,
            source: e.source,
            job_id: e.job_id,
            checkpoint_id: e.checkpoint_id,
            duration: e.duration,
            metadata: metadata_text(&e.metadata),
            timestamp: e.timestamp.unix_micros(),
        }
    }
}

impl WorkerEventReported {
    /// The telemetry record this event states (`id`, `created_at`, `updated_at` absent).
    pub fn to_record(&self) -> WorkerEvent {
        WorkerEvent {
            id: None,
            realm_id: self.realm_id,
            public_key: self.public_key.clone(),
            status: self.status,
            source: self.source,
            job_id: self.job_id,
            checkpoint_id: self.checkpoint_id,
            duration: self.duration,
            metadata: Some(metadata_value(&self.metadata)),
            timestamp: Timestamp::from_unix_micros(self.timestamp),
            created_at: None,
            updated_at: None,
        }
    }
}

impl From<&UserEvent> for UserEventReported {
    fn from(e: &UserEvent) -> Self {
        Self {
            user_id: e.user_id.clone(),
            public_key: e.public_key.clone(),
            tx_type: e.tx_type,
            metadata: metadata_text(&e.metadata),
            timestamp: e.timestamp.unix_micros(),
        }
    }
}

impl UserEventReported {
    /// The telemetry record this event states.
    pub fn to_record(&self) -> UserEvent {
        UserEvent {
            user_id: self.user_id.clone(),
            public_key: self.public_key.clone(),
            tx_type: self.tx_type,
            metadata: Some(metadata_value(&self.metadata)),
            timestamp: Timestamp::from_unix_micros(self.timestamp),
            created_at: None,
            updated_at: None,
        }
    }
}

impl From<&CheckpointLeaf> for CheckpointLeafReported {
    fn from(e: &CheckpointLeaf) -> Self {
        Self {
            checkpoint_id: e.checkpoint_id,
            fees_collected: e.fees_collected,
            user_ops_processed: e.user_ops_processed,
            total_transactions: e.total_transactions,
            slots_modified: e.slots_modified,
            metadata: metadata_text(&e.metadata),
            timestamp: e.timestamp.unix_micros(),
        }
    }
}

impl CheckpointLeafReported {
    /// The telemetry record this event states.
    pub fn to_record(&self) -> CheckpointLeaf {
        CheckpointLeaf {
            checkpoint_id: self.checkpoint_id,
            fees_collected: self.fees_collected,
            user_ops_processed: self.user_ops_processed,
            total_transactions: self.total_transactions,
            slots_modified: self.slots_modified,
            metadata: Some(metadata_value(&self.metadata)),
            timestamp: Timestamp::from_unix_micros(self.timestamp),
        }
    }
}

impl From<&ContractReport> for ContractReported {
    fn from(e: &ContractReport) -> Self {
        Self {
            contract_uuid: e.contract_uuid.clone(),
            checkpoint_id: e.checkpoint_id,
            contract_id: e.contract_id,
            deployer: e.deployer.clone(),
            function_whitelist_root: e.function_whitelist_root.clone(),
            metadata: metadata_text(&e.metadata),
            timestamp: e.timestamp.unix_micros(),
        }
    }
}

impl ContractReported {
    /// The telemetry record this event states.
    pub fn to_record(&self) -> ContractReport {
        ContractReport {
            contract_uuid: self.contract_uuid.clone(),
            checkpoint_id: self.checkpoint_id,
            contract_id: self.contract_id,
            deployer: self.deployer.clone(),
            function_whitelist_root: self.function_whitelist_root.clone(),
            metadata: Some(metadata_value(&self.metadata)),
            timestamp: Timestamp::from_unix_micros(self.timestamp),
        }
    }
}

impl PsyEvent {
    /// The event's own time (unix microseconds): what the fold orders by, for chain and
    /// telemetry records alike.
    pub fn timestamp_micros(&self) -> i64 {
        match self {
            Self::WorkerEventReported(e) => e.timestamp,
            Self::UserEventReported(e) => e.timestamp,
            Self::CheckpointLeafReported(e) => e.timestamp,
            Self::ContractReported(e) => e.timestamp,
        }
    }
}
