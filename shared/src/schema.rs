//! The tantivy projection schemas, shared by the writer (indexer) and the readers (query-api).
//!
//! One index per entity family, in `<data-dir>/projections/<family>`. Every field is stored, so
//! a document is the whole entity snapshot (the projector reloads entity state from it after a
//! restart); filters, sorts and aggregations use fast/indexed fields. The `seq` field orders
//! lists stably: the log seq of the entity's creation.

use tantivy::schema::{Field, Schema, SchemaBuilder, FAST, INDEXED, STORED, STRING, TEXT};

/// An entity family with its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// DFPN analysis requests.
    Requests,
    /// DFPN workers.
    Workers,
    /// DFPN detection models.
    Models,
    /// Psy registered users.
    Users,
    /// Psy user events (registrations, deployments, transactions), one document per event.
    UserEvents,
    /// Psy proving-job worker events, one document per event.
    WorkerEvents,
    /// Psy proving jobs folded from their worker events (start, end, duration, final status).
    Jobs,
    /// Psy realms.
    Realms,
    /// Psy checkpoints.
    Checkpoints,
    /// Psy deployed contracts.
    Contracts,
    /// Cluster telemetry: one document per performance sample, updated by every poll.
    Telemetry,
    /// Psy reward distributions (one worker, circuit type and checkpoint each), from the API.
    RewardDistributions,
    /// Psy checkpoints whose rewards were calculated, one document per checkpoint.
    RewardRuns,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 13] = [
        Family::Requests,
        Family::Workers,
        Family::Models,
        Family::Users,
        Family::UserEvents,
        Family::WorkerEvents,
        Family::Jobs,
        Family::Realms,
        Family::Checkpoints,
        Family::Contracts,
        Family::Telemetry,
        Family::RewardDistributions,
        Family::RewardRuns,
    ];

    /// The index directory name.
    pub fn dir_name(self) -> &'static str {
        match self {
            Family::Requests => "requests",
            Family::Workers => "workers",
            Family::Models => "models",
            Family::Users => "users",
            Family::UserEvents => "user_events",
            Family::WorkerEvents => "worker_events",
            Family::Jobs => "jobs",
            Family::Realms => "realms",
            Family::Checkpoints => "checkpoints",
            Family::Contracts => "contracts",
            Family::Telemetry => "telemetry",
            Family::RewardDistributions => "reward_distributions",
            Family::RewardRuns => "reward_runs",
        }
    }

    /// The schema of the family's index.
    pub fn schema(self) -> Schema {
        let mut builder = Schema::builder();
        match self {
            Family::Requests => RequestFields::declare(&mut builder),
            Family::Workers => WorkerFields::declare(&mut builder),
            Family::Models => ModelFields::declare(&mut builder),
            Family::Users => psy::UserFields::declare(&mut builder),
            Family::UserEvents => psy::UserEventFields::declare(&mut builder),
            Family::WorkerEvents => psy::WorkerEventFields::declare(&mut builder),
            Family::Jobs => psy::JobFields::declare(&mut builder),
            Family::Realms => psy::RealmFields::declare(&mut builder),
            Family::Checkpoints => psy::CheckpointFields::declare(&mut builder),
            Family::Contracts => psy::ContractFields::declare(&mut builder),
            Family::Telemetry => psy::TelemetrySampleFields::declare(&mut builder),
            Family::RewardDistributions => psy::RewardDistributionFields::declare(&mut builder),
            Family::RewardRuns => psy::RewardRunFields::declare(&mut builder),
        }
        builder.build()
    }
}

/// Name of the multi-valued field holding each set modality bit as its own value, so that
/// "supports all of these bits" is a conjunction of term queries.
pub const MODALITY_BITS: &str = "modality_bits";

macro_rules! fields {
    (@add $builder:ident, text, $name:expr, $options:expr) => { $builder.add_text_field($name, $options) };
    (@add $builder:ident, u64, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    (@add $builder:ident, i64, $name:expr, $options:expr) => { $builder.add_i64_field($name, $options) };
    (@add $builder:ident, bool, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    ($(#[$meta:meta])* $name:ident { $($(#[doc = $fdoc:literal])* $field:ident : $kind:ident ($options:expr)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: Field,)*
        }

        impl $name {
            pub(crate) fn declare(builder: &mut SchemaBuilder) {
                $( fields!(@add builder, $kind, stringify!($field), $options); )*
            }

            /// Resolves the fields in a schema built by [`Family::schema`].
            pub fn resolve(schema: &Schema) -> Self {
                Self { $($field: schema.get_field(stringify!($field)).expect(concat!("schema declares ", stringify!($field))),)* }
            }
        }
    };
}

fn key() -> tantivy::schema::TextOptions {
    STRING | STORED | FAST
}
fn text() -> tantivy::schema::TextOptions {
    TEXT | STORED
}
fn number() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED | STORED | FAST)
}
fn stored() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(STORED)
}
fn bits() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED)
}

fields! {
    /// Fields of the requests index.
    RequestFields {
        /// Request account (base58), the document id.
        id: text(key()),
        /// Requester public key.
        requester: text(key()),
        /// SHA-256 of the media, hex.
        content_hash: text(key()),
        /// Media location, tokenized for full-text search.
        storage_uri: text(text()),
        /// Modality bitfield.
        modalities: u64(number()),
        /// Each set modality bit.
        modality_bits: u64(bits()),
        /// Status string.
        status: text(key()),
        /// Fee in base units.
        fee_amount: u64(number()),
        /// Reveal deadline (unix seconds).
        deadline: i64(number()),
        /// Commit deadline (unix seconds).
        commit_deadline: i64(number()),
        /// Creation time (unix seconds).
        created_at: i64(number()),
        /// Commits received.
        commit_count: u64(number()),
        /// Reveals received.
        reveal_count: u64(number()),
        /// Log seq of the creation event: list order.
        seq: u64(number()),
    }
}

fields! {
    /// Fields of the workers index.
    WorkerFields {
        /// Worker account (base58), the document id.
        id: text(key()),
        /// Operator public key (unique per worker).
        operator: text(key()),
        /// Stake in base units.
        stake: u64(number()),
        /// Reputation 0-10000.
        reputation: u64(number()),
        /// Modality bitfield.
        modalities: u64(number()),
        /// Each set modality bit.
        modality_bits: u64(bits()),
        /// Status string.
        status: text(key()),
        /// Lifetime successful tasks.
        tasks_completed: u64(number()),
        /// Lifetime failed tasks.
        tasks_failed: u64(number()),
        /// Slot of last activity.
        last_active_slot: u64(number()),
        /// Log seq of the registration: list order.
        seq: u64(number()),
        /// Version (see `entity::version`) of the event that set `stake`.
        stake_version: u64(stored()),
        /// Version of the event that set `status`.
        status_version: u64(stored()),
        /// Version of the event that set `reputation`.
        reputation_version: u64(stored()),
    }
}

fields! {
    /// Fields of the models index.
    ModelFields {
        /// Model account (base58), the document id.
        id: text(key()),
        /// Developer public key.
        developer: text(key()),
        /// Model name, tokenized.
        name: text(text()),
        /// Semantic version.
        version: text(key()),
        /// Modality bitfield.
        modalities: u64(number()),
        /// Each set modality bit.
        modality_bits: u64(bits()),
        /// Weights/code URL, tokenized.
        model_uri: text(text()),
        /// Status string.
        status: text(key()),
        /// Score 0-10000.
        score: u64(number()),
        /// Lifetime uses.
        total_uses: u64(number()),
        /// Registration time (unix seconds).
        created_at: i64(number()),
        /// Log seq of the registration: list order.
        seq: u64(number()),
        /// Version of the event that set `status`.
        status_version: u64(stored()),
        /// Version of the event that set `score`.
        score_version: u64(stored()),
    }
}

/// Declares a family whose entity is stored field by field: the fields struct, the entity
/// struct, and the conversions between them.
macro_rules! family {
    (
        $(#[doc = $doc:literal])* $entity:ident / $fields:ident {
            $( $(#[doc = $fdoc:literal])* $field:ident : $ty:ty => $kind:ident ($options:expr) ),* $(,)?
        }
    ) => {
        fields! {
            #[doc = concat!("Fields of the [`", stringify!($entity), "`] index.")]
            $fields { $( $(#[doc = $fdoc])* $field: $kind($options) ),* }
        }

        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $entity {
            $( $(#[doc = $fdoc])* pub $field: $ty, )*
        }

        impl $entity {
            /// The entity as a document of its index.
            pub fn to_document(&self, f: &$fields) -> tantivy::TantivyDocument {
                let mut doc = tantivy::TantivyDocument::new();
                $( $crate::doc_value::DocValue::add(&self.$field, &mut doc, f.$field); )*
                doc
            }

            /// Reads the entity back from its document.
            pub fn from_document(doc: &tantivy::TantivyDocument, f: &$fields) -> Result<Self, $crate::entity::MissingField> {
                Ok(Self {
                    $( $field: <$ty as $crate::doc_value::DocValue>::read(doc, f.$field)
                        .ok_or($crate::entity::MissingField(stringify!($field)))?, )*
                })
            }
        }
    };
}

/// The Psy families. Every entity has a text `id` (the document key) and the `seq` of the log
/// record that created it; timestamps are unix seconds.
pub mod psy {
    use super::{key, number};
    use crate::enums::{JobFilterCategory, ProvingJobCircuitType, QJobTopic, UserEventTxType, WorkerEventStatus};
    use tantivy::schema::{Field, Schema, SchemaBuilder};

    family! {
        /// A registered user.
        User / UserFields {
            /// Decimal user id (document key).
            id: String => text(key()),
            /// User id.
            user_id: u64 => u64(number()),
            /// `0x`-hex ed25519 public key.
            public_key: String => text(key()),
            /// Twitter handle.
            twitter_handle: String => text(key()),
            /// Label.
            label: String => text(key()),
            /// Checkpoint of the registration.
            checkpoint_id: u64 => u64(number()),
            /// Registration time.
            created_at: i64 => i64(number()),
            /// Log seq of the registration.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// One user event.
        UserEvent / UserEventFields {
            /// Decimal log seq (document key).
            id: String => text(key()),
            /// Log seq: the event's API id and tie-breaker.
            seq: u64 => u64(number()),
            /// Time order: `entity::time_order(timestamp, seq)`.
            sort_key: u64 => u64(number()),
            /// User id.
            user_id: u64 => u64(number()),
            /// `0x`-hex public key of the user.
            public_key: String => text(key()),
            /// Kind of event.
            tx_type: UserEventTxType => text(key()),
            /// Checkpoint it was included in.
            checkpoint_id: u64 => u64(number()),
            /// When it happened.
            timestamp: i64 => i64(number()),
        }
    }

    family! {
        /// One proving-job worker event.
        WorkerEvent / WorkerEventFields {
            /// Decimal log seq (document key).
            id: String => text(key()),
            /// Log seq: the event's API id and tie-breaker.
            seq: u64 => u64(number()),
            /// Time order: `entity::time_order(timestamp, seq)`.
            sort_key: u64 => u64(number()),
            /// Realm of the job.
            realm_id: u64 => u64(number()),
            /// `0x`-hex worker public key.
            worker_public_key: String => text(key()),
            /// Status after the event.
            status: WorkerEventStatus => text(key()),
            /// Job id.
            job_id: u64 => u64(number()),
            /// Queue topic.
            topic: QJobTopic => text(key()),
            /// Circuit type.
            circuit_type: ProvingJobCircuitType => text(key()),
            /// Category of the circuit type.
            category: JobFilterCategory => text(key()),
            /// Start (or queue) time.
            start_time: i64 => i64(number()),
            /// End time, once ended.
            end_time: Option<i64> => i64(number()),
            /// Checkpoint proven.
            checkpoint_id: u64 => u64(number()),
            /// Block time of the event.
            timestamp: i64 => i64(number()),
        }
    }

    family! {
        /// A proving job folded from its worker events.
        Job / JobFields {
            /// Decimal job id (document key).
            id: String => text(key()),
            /// Job id.
            job_id: u64 => u64(number()),
            /// Realm.
            realm_id: u64 => u64(number()),
            /// `0x`-hex worker public key.
            worker_public_key: String => text(key()),
            /// Queue topic.
            topic: QJobTopic => text(key()),
            /// Circuit type.
            circuit_type: ProvingJobCircuitType => text(key()),
            /// Category of the circuit type.
            category: JobFilterCategory => text(key()),
            /// Latest status.
            status: WorkerEventStatus => text(key()),
            /// Start time (queue time until a worker starts it).
            start_time: i64 => i64(number()),
            /// End time, once ended.
            end_time: Option<i64> => i64(number()),
            /// End minus start in milliseconds, once ended.
            duration_ms: Option<i64> => i64(number()),
            /// Checkpoint proven.
            checkpoint_id: u64 => u64(number()),
            /// Block time of the latest event.
            updated_at: i64 => i64(number()),
            /// Log seq of the first event.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// A realm.
        Realm / RealmFields {
            /// Decimal realm id (document key).
            id: String => text(key()),
            /// Realm id.
            realm_id: u64 => u64(number()),
            /// Name.
            name: String => text(key()),
            /// Whether it accepts jobs.
            active: bool => bool(number()),
            /// Version of the event that set `active`.
            active_version: u64 => u64(super::stored()),
            /// Creation time.
            created_at: i64 => i64(number()),
            /// Log seq of the creation.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// A checkpoint.
        Checkpoint / CheckpointFields {
            /// Decimal checkpoint id (document key).
            id: String => text(key()),
            /// Checkpoint id.
            checkpoint_id: u64 => u64(number()),
            /// Block height at creation, then at finalization.
            block_height: u64 => u64(number()),
            /// Creation time.
            created_at: i64 => i64(number()),
            /// Finalization time, once finalized.
            finalized_at: Option<i64> => i64(number()),
            /// Log seq of the creation.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// A deployed contract.
        Contract / ContractFields {
            /// Contract UUID (document key).
            id: String => text(key()),
            /// `0x`-hex deployer public key.
            deployer: String => text(key()),
            /// Deploying user.
            user_id: u64 => u64(number()),
            /// State tree height.
            state_tree_height: u64 => u64(number()),
            /// Functions as a JSON array of `{name, method_id, description}`.
            functions: String => text(key()),
            /// Number of functions.
            function_count: u64 => u64(number()),
            /// Checkpoint of the deployment.
            checkpoint_id: u64 => u64(number()),
            /// Deployment time.
            deployed_at: i64 => i64(number()),
            /// Log seq of the deployment.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// A performance sample of the cluster with the newest poll that saw it.
        TelemetrySample / TelemetrySampleFields {
            /// Decimal sample slot (document key).
            id: String => text(key()),
            /// Slot closing the sample.
            sample_slot: u64 => u64(number()),
            /// Transactions in the sample.
            num_transactions: u64 => u64(number()),
            /// Slots in the sample.
            num_slots: u64 => u64(number()),
            /// Seconds the sample covers.
            sample_period_secs: u64 => u64(number()),
            /// Unix time of the newest poll that saw the sample.
            observed_at: i64 => i64(number()),
            /// Tip slot at that poll.
            slot: u64 => u64(number()),
            /// Block height at that poll.
            block_height: u64 => u64(number()),
        }
    }

    family! {
        /// One reward distribution: a worker's reward for one circuit type in one checkpoint.
        RewardDistribution / RewardDistributionFields {
            /// Decimal log seq (document key).
            id: String => text(key()),
            /// Log seq: the distribution's API id.
            seq: u64 => u64(number()),
            /// Checkpoint rewarded.
            checkpoint_id: u64 => u64(number()),
            /// `0x`-hex worker public key.
            worker_public_key: String => text(key()),
            /// Circuit type of the rewarded jobs.
            circuit_type: ProvingJobCircuitType => text(key()),
            /// Completed jobs rewarded.
            job_count: u64 => u64(number()),
            /// Reward units.
            total_rewards: u64 => u64(number()),
            /// Date of the reward: the checkpoint's finalization.
            created_at: i64 => i64(number()),
        }
    }

    family! {
        /// A checkpoint whose rewards were calculated.
        RewardRun / RewardRunFields {
            /// Decimal checkpoint id (document key).
            id: String => text(key()),
            /// Checkpoint processed.
            checkpoint_id: u64 => u64(number()),
            /// Distributions written.
            distributions: u64 => u64(number()),
            /// Sum of their rewards.
            total_rewards: u64 => u64(number()),
            /// When the calculation ran.
            processed_at: i64 => i64(number()),
            /// Log seq of the closing record.
            seq: u64 => u64(number()),
        }
    }
}
