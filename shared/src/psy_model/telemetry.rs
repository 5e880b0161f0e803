//! The bodies of the real telemetry routes, as the coordinator and realm nodes post them
//! (reference §1.1), and the answers the real service gives.
//!
//! - `POST /telemetry/events`: [`TelemetryEvents`] (optional `worker_events` and `user_events`),
//!   answered by [`EventsAccepted`].
//! - `POST /telemetry/checkpoint/leaves`: [`CheckpointLeaves`], answered by [`LeavesAccepted`].
//! - `POST /telemetry/contract`: [`ContractReportBody`], answered by [`ContractAccepted`].
//!
//! Field names and optionality are the real structs'. Unknown fields are ignored, as serde does
//! in the real service. Two deliberate widenings: `created_at` and `updated_at`, which the real
//! structs require but ignore, may be absent; a contract report's `metadata` may be absent.
//! Checks beyond the shape (bounds, key forms, signs) are in `validate`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::job_id::QProvingJobDataID;
use super::status::{UserEventTxType, WorkerEventSource, WorkerEventStatus};
use super::time::Timestamp;

/// Body of `POST /telemetry/events`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TelemetryEvents {
    /// Worker (proving job) events.
    #[serde(default)]
    pub worker_events: Option<Vec<WorkerEvent>>,
    /// User events.
    #[serde(default)]
    pub user_events: Option<Vec<UserEvent>>,
}

impl TelemetryEvents {
    /// The worker events (none when the array is absent).
    pub fn worker_events(&self) -> &[WorkerEvent] {
        self.worker_events.as_deref().unwrap_or_default()
    }

    /// The user events (none when the array is absent).
    pub fn user_events(&self) -> &[UserEvent] {
        self.user_events.as_deref().unwrap_or_default()
    }
}

/// One proving-job report of a node (the real `WorkerEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerEvent {
    /// UUID; ignored by the real service (its database generates one).
    #[serde(default)]
    pub id: Option<String>,
    /// Realm of the job.
    #[serde(default)]
    pub realm_id: Option<i64>,
    /// Worker public key.
    #[serde(default)]
    pub public_key: Option<String>,
    /// Status after this event.
    pub status: WorkerEventStatus,
    /// Reporting node kind.
    pub source: WorkerEventSource,
    /// The job.
    pub job_id: QProvingJobDataID,
    /// Checkpoint the job belongs to.
    pub checkpoint_id: i64,
    /// Proving time in milliseconds.
    #[serde(default)]
    pub duration: Option<i64>,
    /// Free-form JSON (`{}` when absent); the real processor reads `slot_id`, `topic` and
    /// `circuit_type` from it.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// When it happened.
    pub timestamp: Timestamp,
    /// Ignored (the real database sets it).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Ignored (the real database sets it).
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

impl WorkerEvent {
    /// The slot the real processor keeps events by: `metadata.slot_id` as an integer (where the
    /// real processor reads it), else the job id's `slot_id` (the real default is 0, which is
    /// what every real example's job id carries).
    pub fn slot_id(&self) -> u64 {
        self.metadata
            .as_ref()
            .and_then(|m| m.get(SLOT_ID_METADATA_KEY))
            .and_then(Value::as_u64)
            .unwrap_or(self.job_id.slot_id)
    }

    /// Metadata that carries only `slot_id`: what a stored event keeps of its metadata for the
    /// reward rule, so that [`Self::slot_id`] of the rebuilt event is the stored slot.
    pub fn slot_metadata(slot_id: u64) -> Value {
        Value::Object(serde_json::Map::from_iter([(SLOT_ID_METADATA_KEY.to_owned(), Value::from(slot_id))]))
    }
}

/// The metadata key the real processor reads a worker event's slot from.
pub const SLOT_ID_METADATA_KEY: &str = "slot_id";

/// One user report of a node (the real `UserEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEvent {
    /// User id: a UUID, or a name like `user_001`.
    pub user_id: String,
    /// User public key.
    pub public_key: String,
    /// Kind of transaction.
    pub tx_type: UserEventTxType,
    /// Free-form JSON.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// When it happened.
    pub timestamp: Timestamp,
    /// Ignored (the real database sets it).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Ignored (the real database sets it).
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
}

/// Body of `POST /telemetry/checkpoint/leaves`, the only source of checkpoint statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointLeaves {
    /// The checkpoints' leaves; a leaf for a known checkpoint overwrites it.
    pub leaves: Vec<CheckpointLeaf>,
    /// When the report was made.
    pub timestamp: Timestamp,
}

/// One checkpoint's statistics (a `checkpoint_stats` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointLeaf {
    /// Checkpoint id.
    pub checkpoint_id: i64,
    /// Fees collected in the checkpoint: the pool its completed jobs share.
    pub fees_collected: i64,
    /// User operations processed.
    pub user_ops_processed: i64,
    /// Transactions in the checkpoint.
    pub total_transactions: i64,
    /// State slots modified.
    pub slots_modified: i64,
    /// Free-form JSON.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// When the checkpoint was made.
    pub timestamp: Timestamp,
}

/// Body of `POST /telemetry/contract`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractReportBody {
    /// The report.
    pub report: ContractReport,
}

/// A deployed contract as a node reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractReport {
    /// Contract UUID.
    pub contract_uuid: String,
    /// Checkpoint of the deployment.
    pub checkpoint_id: u64,
    /// Numeric contract id.
    pub contract_id: u64,
    /// Deployer's public key.
    pub deployer: String,
    /// Root of the contract's function whitelist.
    pub function_whitelist_root: String,
    /// Free-form JSON.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// When it was reported.
    pub timestamp: Timestamp,
}

/// Answer to `POST /telemetry/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsAccepted {
    /// Always true in an answer with status 200.
    pub success: bool,
    /// Number of events stored (worker and user).
    pub processed_count: usize,
    /// The JWT `sub` of the poster (absent in the real service's unauthenticated version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// Answer to `POST /telemetry/checkpoint/leaves`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeavesAccepted {
    /// Always true in an answer with status 200.
    pub success: bool,
    /// Number of leaves stored.
    pub processed_count: usize,
    /// `Successfully reported n checkpoint leafs (checkpoints MIN to MAX)`.
    pub message: String,
}

impl LeavesAccepted {
    /// The real answer to storing `leaves` (the real wording, "leafs" included).
    pub fn new(leaves: &[CheckpointLeaf]) -> Self {
        let ids = leaves.iter().map(|leaf| leaf.checkpoint_id);
        let (min, max) = (ids.clone().min().unwrap_or(0), ids.max().unwrap_or(0));
        let n = leaves.len();
        Self {
            success: true,
            processed_count: n,
            message: format!("Successfully reported {n} checkpoint leafs (checkpoints {min} to {max})"),
        }
    }
}

/// Answer to `POST /telemetry/contract`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractAccepted {
    /// Always true in an answer with status 200.
    pub success: bool,
    /// The stored contract's id.
    pub contract_id: i64,
    /// `Contract <id> stored successfully at checkpoint <cp>`.
    pub message: String,
}

impl ContractAccepted {
    /// The real answer to storing `report`.
    pub fn new(report: &ContractReport) -> Self {
        let id = i64::try_from(report.contract_id).unwrap_or(i64::MAX);
        Self {
            success: true,
            contract_id: id,
            message: format!("Contract {id} stored successfully at checkpoint {}", report.checkpoint_id),
        }
    }
}

/// The claims of a telemetry JWT (HS256, signed with `JWT_SECRET`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryClaims {
    /// The posting service; echoed as `service` in [`EventsAccepted`].
    pub sub: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issue time, unix seconds (required by the real claims struct).
    pub iat: i64,
    /// Optional service name.
    #[serde(default)]
    pub service: Option<String>,
}

/// The body of a telemetry 401: `{"error": <message>, "status": 401}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthError {
    /// One of the `AUTH_*` messages.
    pub error: String,
    /// Always 401.
    pub status: u16,
}

/// 401 message: no `Authorization` header.
pub const AUTH_MISSING: &str = "Missing authentication token";
/// 401 message: a header without `Bearer `, or an undecodable token.
pub const AUTH_INVALID: &str = "Invalid token";
/// 401 message: the signature does not verify.
pub const AUTH_BAD_SIGNATURE: &str = "Invalid token signature";
/// 401 message: `exp` has passed.
pub const AUTH_EXPIRED: &str = "Token has expired";

impl AuthError {
    /// The 401 body with `message`.
    pub fn new(message: &str) -> Self {
        Self { error: message.to_owned(), status: 401 }
    }
}
