//! The enums of the DFPN programs, with their Borsh variant order (declaration order in the
//! programs' source), and the on-chain worker status with its `Unbonding { unlock_slot }` payload.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize};
use serde_json::{json, Value};

use crate::field::{EventField, IdlDefinedType};
use crate::string_enum::string_enum;

string_enum! {
    /// On-chain status of an analysis request (`AnalysisRequest.status`).
    RequestStatus {
        /// Accepting commits (and, after the first reveal, no longer).
        Open,
        /// The first reveal closed the commit phase.
        CommitClosed,
        /// Consensus reached.
        Finalized,
        /// The deadline passed with too few reveals.
        Expired,
        /// Cancelled by the requester before any commit.
        Cancelled,
        /// A finalized result is under dispute.
        Disputed,
    }
}

string_enum! {
    /// On-chain status of a detection model (`ModelAccount.status`).
    ModelStatus {
        /// Registered or updated, awaiting activation.
        Pending,
        /// Activated.
        Active,
        /// Retired (voluntarily or forced).
        Retired,
        /// Suspended by an authority.
        Suspended,
    }
}

string_enum! {
    /// A worker's verdict on the analysed media.
    Verdict {
        /// The media is authentic.
        Authentic,
        /// The media was manipulated.
        Manipulated,
        /// No conclusion.
        Inconclusive,
    }
}

string_enum! {
    /// How the reveals of a finalized request agreed.
    ConsensusType {
        /// Every reveal agreed.
        Unanimous,
        /// One verdict had more than half of the votes.
        Majority,
        /// No majority.
        Split,
        /// A single reveal.
        Single,
    }
}

string_enum! {
    /// Why a challenger disputes a reveal.
    DisputeReason {
        /// The result is wrong.
        InvalidResult,
        /// Workers colluded.
        Collusion,
        /// A worker copied another's result.
        ResultCopying,
        /// The wrong model was used.
        IncorrectModel,
        /// The analysed content differs from the request's.
        ContentMismatch,
        /// Anything else.
        Other,
    }
}

string_enum! {
    /// Status of a dispute account.
    DisputeStatus {
        /// Opened, not yet resolved.
        Open,
        /// Under review (no instruction sets it).
        UnderReview,
        /// Resolved for the challenger.
        ResolvedForChallenger,
        /// Resolved for the worker.
        ResolvedForWorker,
        /// Closed after the timeout.
        Dismissed,
    }
}

string_enum! {
    /// Media type of registered content.
    MediaType {
        /// A still image.
        Image,
        /// A video.
        Video,
        /// An audio recording.
        Audio,
    }
}

string_enum! {
    /// Why a worker was slashed (worker-registry).
    SlashReason {
        /// It revealed an invalid result.
        InvalidResult,
        /// It missed a deadline.
        MissedDeadline,
        /// Fraud.
        Fraud,
        /// Collusion.
        Collusion,
    }
}

string_enum! {
    /// Why a model was retired (model-registry).
    RetirementReason {
        /// The developer retired it.
        Voluntary,
        /// It performed poorly.
        LowPerformance,
        /// It has a security issue.
        SecurityIssue,
        /// Governance decided so.
        Governance,
    }
}

string_enum! {
    /// Kind of a provenance claim (content-registry).
    ClaimType {
        /// The attestor is the original author.
        OriginalAuthor,
        /// Licensed from another work.
        LicensedFrom,
        /// Derived from another work.
        DerivedFrom,
        /// Verified by a third party.
        ThirdPartyVerified,
        /// Member of a collection.
        CollectionMember,
    }
}

/// On-chain status of a worker (`WorkerAccount.status`), Borsh index 0..=3.
#[derive(AnchorSerialize, AnchorDeserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerStatus {
    /// Accepting tasks.
    Active,
    /// Registered but not accepting tasks.
    Inactive,
    /// Slashed below the minimum stake.
    Slashed,
    /// Unbonding its whole stake until `unlock_slot`.
    Unbonding {
        /// Slot from which the stake can be withdrawn.
        unlock_slot: u64,
    },
}

impl WorkerStatus {
    /// The variant's name (the payload dropped), which is also the API's status string.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerStatus::Active => "Active",
            WorkerStatus::Inactive => "Inactive",
            WorkerStatus::Slashed => "Slashed",
            WorkerStatus::Unbonding { .. } => "Unbonding",
        }
    }
}

impl EventField for WorkerStatus {
    fn idl_type() -> Value {
        json!({ "defined": { "name": "WorkerStatus" } })
    }
    fn to_json(&self) -> Value {
        match self {
            WorkerStatus::Unbonding { unlock_slot } => json!({ "Unbonding": { "unlock_slot": unlock_slot } }),
            other => json!(other.as_str()),
        }
    }
}

impl IdlDefinedType for WorkerStatus {
    fn idl_definition() -> Value {
        json!({
            "name": "WorkerStatus",
            "docs": ["On-chain status of a worker (`WorkerAccount.status`)."],
            "type": { "kind": "enum", "variants": [
                { "name": "Active" },
                { "name": "Inactive" },
                { "name": "Slashed" },
                { "name": "Unbonding", "fields": [{ "name": "unlock_slot", "type": "u64" }] },
            ] }
        })
    }
}

/// Minimum stake of an active worker (`MIN_WORKER_STAKE`, 5,000 DFPN at 9 decimals).
pub const MIN_WORKER_STAKE: u64 = 5_000_000_000_000;
/// Minimum stake of a model (`MIN_MODEL_STAKE`).
pub const MIN_MODEL_STAKE: u64 = 20_000_000_000_000;
/// Reputation of a newly registered worker (`INITIAL_REPUTATION`).
pub const INITIAL_REPUTATION: u32 = 5_000;
/// Largest reputation and model score (`MAX_REPUTATION`).
pub const MAX_REPUTATION: u32 = 10_000;
/// Slots a full unstake waits before withdrawal (`UNBONDING_PERIOD_SLOTS`).
pub const UNBONDING_PERIOD_SLOTS: u64 = 432_000;
/// Share of the request window open to commits, in basis points (`DEFAULT_COMMIT_RATIO_BPS`).
pub const COMMIT_RATIO_BPS: i64 = 7_000;
/// Stake a challenger deposits to open a dispute (`MIN_DISPUTE_STAKE`).
pub const MIN_DISPUTE_STAKE: u64 = 1_000_000_000_000;
/// Seconds after which anyone may close an open dispute (`DISPUTE_TIMEOUT_SECONDS`).
pub const DISPUTE_TIMEOUT_SECONDS: i64 = 604_800;

/// The IDL `types` entries of the enums DFPN events and accounts use.
pub fn idl_enum_types() -> Vec<Value> {
    vec![
        RequestStatus::idl_definition(),
        WorkerStatus::idl_definition(),
        ModelStatus::idl_definition(),
        Verdict::idl_definition(),
        ConsensusType::idl_definition(),
        DisputeReason::idl_definition(),
        DisputeStatus::idl_definition(),
        MediaType::idl_definition(),
        SlashReason::idl_definition(),
        RetirementReason::idl_definition(),
        ClaimType::idl_definition(),
    ]
}
