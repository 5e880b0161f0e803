//! Off-chain events and the control protocol that carries them.
//!
//! The Psy API has three writes: `POST /register`, the telemetry posts of a Psy deployment's
//! nodes (`POST /telemetry/*`) and the reward calculation of a checkpoint. The query service
//! never writes storage itself; it submits them to the indexer's control endpoint (loopback
//! only, shared token), which appends them to the event log beside the chain events (source
//! `api`), so the projections and a replay from genesis reproduce them exactly.
//!
//! Each write has an idempotency key (the registered public key, each telemetry record's
//! content, the checkpoint id) so that submitting it twice stores it once.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use crate::psy::PsyEvent;
use crate::psy_model::telemetry::{CheckpointLeaves, ContractReport, TelemetryEvents};
use crate::psy_model::QProvingJobDataID;

/// Path of the registration write on the control endpoint.
pub const REGISTER_PATH: &str = "control/users";
/// Path of the reward write on the control endpoint.
pub const REWARDS_PATH: &str = "control/rewards";
/// Path of the telemetry write on the control endpoint.
pub const TELEMETRY_PATH: &str = "control/telemetry";
/// Header carrying the shared control token.
pub const TOKEN_HEADER: &str = "x-control-token";
/// The NATS subject of a control write: `<stream>.` and the HTTP path with `/` as `.`
/// (`INDEXER_LOG.control.users`). The indexer answers on it, a replica's query service asks on it.
pub fn control_subject(stream: &str, path: &str) -> String {
    format!("{stream}.{}", path.replace('/', "."))
}
/// User ids of API registrations are this base plus the registration's log seq: unique,
/// stable across replays, and apart from the program's own sequential user ids.
pub const API_USER_ID_BASE: u64 = 1_000_000_000_000;

/// The user id of a registration stored at log `seq`.
pub fn api_user_id(seq: u64) -> u64 {
    API_USER_ID_BASE + seq
}

/// An off-chain event, as stored in the log. Borsh tags variants by position: new variants go
/// last and no layout changes, so every stored log stays readable.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ApiEvent {
    /// A user registered through `POST /register`.
    UserRegistered(UserRegistration),
    /// A reward of the invented per-circuit model (logs before the real Psy model); kept
    /// readable, folded into nothing.
    LegacyRewardDistributed(LegacyRewardDistribution),
    /// The closing record of an invented-model calculation; kept readable, folded into nothing.
    LegacyCheckpointRewardsProcessed(LegacyCheckpointRewards),
    /// A telemetry record posted by a Psy node, stored as the Psy event that states it.
    Telemetry(TelemetryRecord),
    /// One job's reward in a checkpoint (the real rule: fees / jobs).
    JobRewarded(JobReward),
    /// A checkpoint's reward calculation is complete (written after its rewards).
    CheckpointSettled(CheckpointSettlement),
}

/// A telemetry record as a Psy event (stored in its Anchor encoding, like chain events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryRecord(pub PsyEvent);

impl BorshSerialize for TelemetryRecord {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        BorshSerialize::serialize(&self.0.encode(), writer)
    }
}

impl BorshDeserialize for TelemetryRecord {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let payload: Vec<u8> = BorshDeserialize::deserialize_reader(reader)?;
        PsyEvent::decode(&payload)
            .map(Self)
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string()))
    }
}

/// A registration accepted by the API (its signature already verified).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct UserRegistration {
    /// ed25519 public key.
    #[serde(with = "hex_key")]
    pub public_key: [u8; 32],
    /// Twitter handle.
    pub twitter_handle: String,
    /// Label.
    pub label: String,
    /// Unix time of the registration (the API's clock).
    pub registered_at: i64,
}

/// The stored layout of an invented-model reward (circuit type as its old `u8` index).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LegacyRewardDistribution {
    /// Checkpoint rewarded.
    pub checkpoint_id: u64,
    /// Worker rewarded.
    pub worker_public_key: [u8; 32],
    /// Invented circuit type index.
    pub circuit_type: u8,
    /// Completed jobs rewarded.
    pub job_count: u64,
    /// Reward units.
    pub total_rewards: u64,
    /// Unix time the reward was dated at.
    pub created_at: i64,
}

/// The stored layout of an invented-model closing record.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LegacyCheckpointRewards {
    /// Checkpoint processed.
    pub checkpoint_id: u64,
    /// Distributions written.
    pub distributions: u32,
    /// Sum of their rewards.
    pub total_rewards: u64,
    /// Unix time the calculation ran.
    pub processed_at: i64,
}

/// One job's reward in a checkpoint (a real `checkpoint_reward_distributions` row).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct JobReward {
    /// Checkpoint rewarded.
    pub checkpoint_id: u64,
    /// Worker of the job's kept completion (`psy_model::reward::UNKNOWN_WORKER` when none).
    pub worker_public_key: String,
    /// The job.
    pub job_id: QProvingJobDataID,
    /// Reward units: the checkpoint's fees / its jobs, rounded down.
    pub reward_amount: u64,
    /// The checkpoint's fees.
    pub total_fees_at_checkpoint: u64,
    /// The checkpoint's reward jobs.
    pub total_jobs_at_checkpoint: u64,
    /// Time of the job's completion (unix microseconds).
    pub timestamp_us: i64,
}

/// The closing record of a checkpoint's reward calculation.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CheckpointSettlement {
    /// Checkpoint processed.
    pub checkpoint_id: u64,
    /// Its leaf's fees.
    pub fees_collected: u64,
    /// Its reward jobs.
    pub jobs: u64,
    /// Paid per job.
    pub reward_per_job: u64,
    /// Not distributed (fees mod jobs).
    pub remainder: u64,
    /// Unix time the calculation ran (microseconds).
    pub processed_us: i64,
}

/// Body of a reward write: a checkpoint's job rewards and closing record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardsRequest {
    /// The job rewards (possibly none).
    pub rewards: Vec<JobReward>,
    /// The closing record.
    pub settled: CheckpointSettlement,
}

/// Body of a telemetry write: one validated post of a Psy node, as it was posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "route", content = "body", rename_all = "snake_case")]
pub enum TelemetryRequest {
    /// `POST /telemetry/events`.
    Events(TelemetryEvents),
    /// `POST /telemetry/checkpoint/leaves`.
    Leaves(CheckpointLeaves),
    /// `POST /telemetry/contract`.
    Contract(ContractReport),
}

/// Answer to a telemetry write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryOutcome {
    /// Records appended now.
    pub stored: usize,
    /// Records already in the log (a retried post).
    pub duplicates: usize,
    /// The log seq of every record of the post, in the post's order (stored earlier or now).
    pub seqs: Vec<u64>,
}

/// Answer to a write: the log seqs of its records, and whether they were already stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOutcome {
    /// `false` when the write was already in the log (nothing appended).
    pub created: bool,
    /// Seqs of the write's records in the log, in order.
    pub seqs: Vec<u64>,
}

/// The 64-byte idempotency key of a registration.
pub fn registration_key(public_key: &[u8; 32]) -> [u8; 64] {
    idempotency_key(b"psy-api/register", public_key)
}

/// The 64-byte idempotency key of a checkpoint's reward calculation.
pub fn rewards_key(checkpoint_id: u64) -> [u8; 64] {
    idempotency_key(b"psy-api/rewards", &checkpoint_id.to_be_bytes())
}

/// Domain-separated SHA-512: the key takes the place of a transaction signature in the log's
/// idempotency index, where it cannot collide with a real signature.
fn idempotency_key(domain: &[u8], id: &[u8]) -> [u8; 64] {
    let mut hasher = Sha512::new();
    hasher.update(domain);
    hasher.update([0]);
    hasher.update(id);
    hasher.finalize().into()
}

/// Serde for 32-byte keys as `0x`-hex strings.
mod hex_key {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::field::hex_0x(key))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("expected a 0x-hex 32-byte key, got {text:?}")))
    }

    fn parse(text: &str) -> Option<[u8; 32]> {
        let digits = text.strip_prefix("0x")?;
        if digits.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_write_and_json_round_trips() {
        assert_ne!(registration_key(&[1; 32]), registration_key(&[2; 32]));
        assert_ne!(rewards_key(1), rewards_key(2));
        let registration = UserRegistration {
            public_key: [0xab; 32],
            twitter_handle: "@a".into(),
            label: "rig".into(),
            registered_at: 5,
        };
        let json = serde_json::to_value(&registration).unwrap();
        assert_eq!(json["public_key"], format!("0x{}", "ab".repeat(32)));
        assert_eq!(serde_json::from_value::<UserRegistration>(json).unwrap(), registration);
        let bad = serde_json::json!({ "public_key": "0x12", "twitter_handle": "", "label": "", "registered_at": 0 });
        assert!(serde_json::from_value::<UserRegistration>(bad).is_err());
    }
}
