//! The tantivy projection schemas, shared by the writer (indexer) and the readers (query-api).
//!
//! One index per entity family, in `<data-dir>/projections/<family>`. Every field is stored, so
//! a document is the whole entity snapshot (the projector reloads entity state from it after a
//! restart); filters, sorts and aggregations use fast/indexed fields. The `seq` field orders
//! lists stably: the log seq of the entity's creation.

use tantivy::schema::{Schema, FAST, INDEXED, STORED, STRING};

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
    /// Psy checkpoints.
    Checkpoints,
    /// Psy deployed contracts.
    Contracts,
    /// Cluster telemetry: one document per performance sample, updated by every poll.
    Telemetry,
    /// Psy reward distributions (one per rewarded job), from the reward calculation.
    RewardDistributions,
    /// Psy checkpoints whose rewards were calculated, one document per checkpoint.
    RewardRuns,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 12] = [
        Family::Requests,
        Family::Workers,
        Family::Models,
        Family::Users,
        Family::UserEvents,
        Family::WorkerEvents,
        Family::Jobs,
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
            Family::Requests => dfpn::RequestFields::declare(&mut builder),
            Family::Workers => dfpn::WorkerFields::declare(&mut builder),
            Family::Models => dfpn::ModelFields::declare(&mut builder),
            Family::Users => psy::UserFields::declare(&mut builder),
            Family::UserEvents => psy::UserEventFields::declare(&mut builder),
            Family::WorkerEvents => psy::WorkerEventFields::declare(&mut builder),
            Family::Jobs => psy::JobFields::declare(&mut builder),
            Family::Checkpoints => psy::CheckpointFields::declare(&mut builder),
            Family::Contracts => psy::ContractFields::declare(&mut builder),
            Family::Telemetry => psy::TelemetrySampleFields::declare(&mut builder),
            Family::RewardDistributions => psy::RewardDistributionFields::declare(&mut builder),
            Family::RewardRuns => psy::RewardRunFields::declare(&mut builder),
        }
        builder.build()
    }

    /// The field that identifies an entity's document (its key in the projector): the worker's
    /// operator for workers (every worker event names it; the account is derived from it),
    /// `id` elsewhere.
    pub fn key_field(self) -> &'static str {
        match self {
            Family::Workers => "operator",
            _ => "id",
        }
    }
}

/// A family's fields struct, resolved from its index's schema (readers resolve it once).
pub trait ResolveFields: Sized + Send + Sync + 'static {
    /// Resolves every field in `schema`.
    fn resolve_in(schema: &Schema) -> Self;
}

/// Name of the tokenizer of URIs, content ids and model names: splits on every character that
/// is not a letter or digit, lowercases, and keeps long tokens (tantivy's default drops tokens
/// over 40 bytes, which loses Arweave ids and IPFS CIDs).
pub const WORDS_TOKENIZER: &str = "dfpn_words";
/// Longest token kept by [`WORDS_TOKENIZER`] (tantivy's hard limit is 65,530 bytes).
const MAX_TOKEN_BYTES: usize = 255;

fn words_analyzer() -> tantivy::tokenizer::TextAnalyzer {
    use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .build()
}

/// Registers the projections' tokenizers on an opened index (writer and readers alike).
pub fn register_tokenizers(index: &tantivy::Index) {
    index.tokenizers().register(WORDS_TOKENIZER, words_analyzer());
}

/// Tokenizes `text` as [`WORDS_TOKENIZER`] does (the query side builds phrase queries from it).
pub fn words(text: &str) -> Vec<String> {
    let mut analyzer = words_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

macro_rules! fields {
    (@add $builder:ident, text, $name:expr, $options:expr) => { $builder.add_text_field($name, $options) };
    (@add $builder:ident, u64, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    (@add $builder:ident, i64, $name:expr, $options:expr) => { $builder.add_i64_field($name, $options) };
    (@add $builder:ident, bool, $name:expr, $options:expr) => { $builder.add_u64_field($name, $options) };
    (@add $builder:ident, bytes, $name:expr, $options:expr) => { $builder.add_bytes_field($name, $options) };
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

        impl $crate::schema::ResolveFields for $name {
            fn resolve_in(schema: &Schema) -> Self {
                Self::resolve(schema)
            }
        }
    };
}

fn key() -> tantivy::schema::TextOptions {
    STRING | STORED | FAST
}
fn words_text() -> tantivy::schema::TextOptions {
    let indexing = tantivy::schema::TextFieldIndexing::default()
        .set_tokenizer(WORDS_TOKENIZER)
        .set_index_option(tantivy::schema::IndexRecordOption::WithFreqsAndPositions);
    tantivy::schema::TextOptions::default().set_indexing_options(indexing).set_stored()
}
fn stored_bytes() -> tantivy::schema::BytesOptions {
    tantivy::schema::BytesOptions::default().set_stored()
}
fn number() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED | STORED | FAST)
}
fn stored() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(STORED)
}
fn bits() -> tantivy::schema::NumericOptions {
    tantivy::schema::NumericOptions::from(INDEXED | STORED)
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

/// The DFPN families: the API document's Request, Worker and Model objects with what the fold
/// needs to keep them exact whatever order events reach the log in (`last_seq`: the newest log
/// record folded in, so a restart never counts one twice; `*_version`: the chain order of the
/// update that set a field, see `shared::order::version`).
pub mod dfpn {
    use super::{key, number, stored, stored_bytes, words_text};
    use crate::doc_value::{Modalities, Stored};
    use crate::entity::WorkerHistory;
    use shared::enums::{ModelStatus, RequestStatus, WorkerStatus};
    use shared::event::dfpn as chain;
    use tantivy::schema::{Field, Schema, SchemaBuilder};

    family! {
        /// An analysis request.
        Request / RequestFields {
            /// Request account (base58), the document key.
            id: String => text(key()),
            /// Requester public key.
            requester: String => text(key()),
            /// SHA-256 of the media, lowercase hex.
            content_hash: String => text(key()),
            /// Media location, tokenized by [`super::WORDS_TOKENIZER`].
            storage_uri: String => text(words_text()),
            /// Required modality bits.
            modalities: Modalities => u64(super::bits()),
            /// API status (`RequestStatus::from_chain`).
            status: RequestStatus => text(key()),
            /// On-chain status (the filter aliases `Open`, `CommitClosed` match it).
            chain_status: chain::RequestStatus => text(key()),
            /// Status set by the newest closing event (finalize, expire, cancel, dispute).
            closing_status: Option<chain::RequestStatus> => text(key()),
            /// Version of that event (0: none yet).
            closing_version: u64 => u64(stored()),
            /// Reveals the request needs.
            min_workers: u64 => u64(stored()),
            /// Fee in base units.
            fee_amount: u64 => u64(number()),
            /// Reveal deadline (unix seconds).
            deadline: i64 => i64(number()),
            /// Commit deadline (unix seconds).
            commit_deadline: i64 => i64(number()),
            /// Block time of the creation.
            created_at: i64 => i64(number()),
            /// `ResultCommitted` events (the account's u8 counter saturates at 255).
            commit_count: u64 => u64(number()),
            /// `ResultRevealed` events (saturating at 255).
            reveal_count: u64 => u64(number()),
            /// Log seq of the creation.
            seq: u64 => u64(number()),
            /// Chain order of the creation (`shared::order::version`): list order, the same live and
            /// backfilled.
            created_version: u64 => u64(number()),
            /// Newest log seq folded in.
            last_seq: u64 => u64(stored()),
        }
    }

    family! {
        /// A worker.
        Worker / WorkerFields {
            /// Worker account, the PDA `["worker", operator]` (base58).
            id: String => text(key()),
            /// Operator public key, the document key.
            operator: String => text(key()),
            /// Stake in base units (a pending unstake counts until withdrawn).
            stake: u64 => u64(number()),
            /// Reputation 0-10000.
            reputation: u64 => u64(number()),
            /// Supported modality bits.
            modalities: Modalities => u64(super::bits()),
            /// Status (the on-chain name).
            status: WorkerStatus => text(key()),
            /// Unlock slot of an unbonding worker.
            unlock_slot: Option<u64> => u64(stored()),
            /// Lifetime successful tasks.
            tasks_completed: u64 => u64(number()),
            /// Lifetime failed tasks.
            tasks_failed: u64 => u64(number()),
            /// Slot of the newest registration or reputation update.
            last_active_slot: u64 => u64(number()),
            /// Version of the reputation update that set reputation and tasks.
            reputation_version: u64 => u64(stored()),
            /// Stake and status changes in chain order, replayed to derive stake and status.
            history: Stored<WorkerHistory> => bytes(stored_bytes()),
            /// Log seq of the registration.
            seq: u64 => u64(number()),
            /// Chain order of the registration: list order.
            created_version: u64 => u64(number()),
            /// Newest log seq folded in.
            last_seq: u64 => u64(stored()),
        }
    }

    family! {
        /// A detection model.
        Model / ModelFields {
            /// Model account, the PDA `["model", developer, model_id]` (base58), the document key.
            id: String => text(key()),
            /// Developer public key.
            developer: String => text(key()),
            /// The 32-byte model id, lowercase hex.
            model_id: String => text(key()),
            /// Name, tokenized by [`super::WORDS_TOKENIZER`].
            name: String => text(words_text()),
            /// Semantic version.
            version: String => text(key()),
            /// Supported modality bits.
            modalities: Modalities => u64(super::bits()),
            /// Weights/code URL, tokenized by [`super::WORDS_TOKENIZER`].
            model_uri: String => text(words_text()),
            /// API status (`ModelStatus::from_chain`).
            status: ModelStatus => text(key()),
            /// On-chain status (the filter aliases `Pending`, `Retired`, `Suspended` match it).
            chain_status: chain::ModelStatus => text(key()),
            /// Version of the event that set the status.
            status_version: u64 => u64(stored()),
            /// Score 0-10000.
            score: u64 => u64(number()),
            /// Version of the event that set the score.
            score_version: u64 => u64(stored()),
            /// Version of the event that set version and URI.
            release_version: u64 => u64(stored()),
            /// Successful `increment_usage` instructions.
            total_uses: u64 => u64(number()),
            /// Block time of the registration.
            created_at: i64 => i64(number()),
            /// The account was closed by `withdraw_model_stake` (the document stays).
            closed: bool => bool(number()),
            /// Log seq of the first registration.
            seq: u64 => u64(number()),
            /// Chain order of the first registration: list order.
            created_version: u64 => u64(number()),
            /// Newest log seq folded in.
            last_seq: u64 => u64(stored()),
        }
    }
}

/// The Psy families, on the real Psy model (`crate::psy_model`). Every entity has a text `id`
/// (the document key) and the `seq` of the log record that created it. Psy times are unix
/// **microseconds** (`*_us`), the real feed's precision; chain and telemetry records fold alike.
/// Enums are stored in their real spelling (`COMPLETED`), job enums as their real numbers.
pub mod psy {
    use super::{key, number, stored};
    use shared::psy_model::{UserEventTxType, WorkerEventSource, WorkerEventStatus};
    use tantivy::schema::{Field, Schema, SchemaBuilder};

    family! {
        /// A user registered through `POST /register` (the real `user_info` row).
        User / UserFields {
            /// User id (document key): decimal, `control::api_user_id`.
            id: String => text(key()),
            /// Public key as registered (`0x`-hex).
            public_key: String => text(key()),
            /// Twitter handle.
            twitter_handle: String => text(key()),
            /// Label.
            label: String => text(key()),
            /// Registration time.
            created_us: i64 => i64(number()),
            /// Log seq of the registration.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// One user event (the real `user_events` row).
        UserEvent / UserEventFields {
            /// Decimal log seq (document key).
            id: String => text(key()),
            /// Log seq: the event's API id and tie-breaker.
            seq: u64 => u64(number()),
            /// User id string.
            user_id: String => text(key()),
            /// User public key.
            public_key: String => text(key()),
            /// Kind of transaction (real spelling).
            tx_type: UserEventTxType => text(key()),
            /// `metadata.checkpoint_id`, when an integer (the document's `checkpoint_id`).
            checkpoint_id: Option<i64> => i64(number()),
            /// The record's JSON metadata.
            metadata: String => text(key()),
            /// When it happened.
            timestamp_us: i64 => i64(number()),
        }
    }

    family! {
        /// One worker event (the real `worker_events` row).
        WorkerEvent / WorkerEventFields {
            /// Decimal log seq (document key).
            id: String => text(key()),
            /// Log seq: the event's API id and tie-breaker.
            seq: u64 => u64(number()),
            /// Realm, when reported.
            realm_id: Option<i64> => i64(number()),
            /// Worker public key, when reported.
            public_key: Option<String> => text(key()),
            /// Status after the event (real spelling).
            status: WorkerEventStatus => text(key()),
            /// Reporting node kind.
            source: WorkerEventSource => text(key()),
            /// The job id's string form (`QProvingJobDataID`'s `Display`).
            job_id: String => text(key()),
            /// The job's topic number.
            topic: u64 => u64(number()),
            /// The job's circuit type number.
            circuit_type: u64 => u64(number()),
            /// The slot the reward rule keeps events by (`WorkerEvent::slot_id`).
            slot_id: u64 => u64(number()),
            /// Checkpoint.
            checkpoint_id: i64 => i64(number()),
            /// Proving time in milliseconds, when reported.
            duration: Option<i64> => i64(number()),
            /// The record's JSON metadata.
            metadata: String => text(key()),
            /// When it happened.
            timestamp_us: i64 => i64(number()),
        }
    }

    family! {
        /// The latest status of a job (the real `latest_job_status` view): the job's event with
        /// the newest timestamp, then the newest chain order.
        Job / JobFields {
            /// The job id's string form (document key).
            id: String => text(key()),
            /// Realm of the latest event.
            realm_id: Option<i64> => i64(number()),
            /// Worker of the latest event.
            public_key: Option<String> => text(key()),
            /// Latest status.
            status: WorkerEventStatus => text(key()),
            /// Source of the latest event.
            source: WorkerEventSource => text(key()),
            /// Topic number.
            topic: u64 => u64(number()),
            /// Circuit type number.
            circuit_type: u64 => u64(number()),
            /// Checkpoint of the latest event.
            checkpoint_id: i64 => i64(number()),
            /// Duration of the latest event, when reported.
            duration: Option<i64> => i64(number()),
            /// Time of the latest event.
            timestamp_us: i64 => i64(number()),
            /// Chain order of the latest event (`shared::order::version`), the tie-breaker.
            latest_version: u64 => u64(stored()),
            /// Time of the job's earliest event.
            first_us: i64 => i64(number()),
            /// Log seq of the first event folded in.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// A checkpoint's statistics (the real `checkpoint_stats` row): the newest leaf
        /// reported for it.
        Checkpoint / CheckpointFields {
            /// Decimal checkpoint id (document key).
            id: String => text(key()),
            /// Checkpoint id.
            checkpoint_id: i64 => i64(number()),
            /// Fees collected.
            fees_collected: i64 => i64(number()),
            /// User operations processed.
            user_ops_processed: i64 => i64(number()),
            /// Transactions.
            total_transactions: i64 => i64(number()),
            /// State slots modified.
            slots_modified: i64 => i64(number()),
            /// The leaf's JSON metadata.
            metadata: String => text(key()),
            /// The leaf's timestamp.
            timestamp_us: i64 => i64(number()),
            /// Timestamp of the first leaf reported (the row's creation).
            created_us: i64 => i64(number()),
            /// Chain order of the leaf that set the values: a later report overwrites.
            leaf_version: u64 => u64(stored()),
            /// Log seq of the first leaf.
            seq: u64 => u64(number()),
        }
    }

    family! {
        /// A deployed contract: the newest report of its UUID.
        Contract / ContractFields {
            /// Contract UUID (document key).
            id: String => text(key()),
            /// Numeric contract id.
            contract_id: u64 => u64(number()),
            /// Checkpoint of the deployment.
            checkpoint_id: u64 => u64(number()),
            /// Deployer's public key.
            deployer: String => text(key()),
            /// Root of the function whitelist.
            function_whitelist_root: String => text(key()),
            /// `metadata.state_tree_height`, else 0.
            state_tree_height: u64 => u64(number()),
            /// `metadata.functions` as a JSON array of `{name, method_id, description}`, else `[]`.
            functions: String => text(key()),
            /// Number of functions.
            function_count: u64 => u64(number()),
            /// The report's JSON metadata.
            metadata: String => text(key()),
            /// The report's timestamp (the document's `deployed_at`).
            deployed_us: i64 => i64(number()),
            /// Chain order of the report that set the values.
            report_version: u64 => u64(stored()),
            /// Log seq of the first report.
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
        /// One job's reward (the real `checkpoint_reward_distributions` row), written once per
        /// checkpoint by the reward calculation.
        RewardDistribution / RewardDistributionFields {
            /// Decimal log seq (document key).
            id: String => text(key()),
            /// Log seq: the distribution's API id.
            seq: u64 => u64(number()),
            /// Checkpoint rewarded.
            checkpoint_id: u64 => u64(number()),
            /// Worker rewarded (`unknown` when the event had none).
            worker_public_key: String => text(key()),
            /// The job id's string form.
            job_id: String => text(key()),
            /// The job's circuit type number.
            circuit_type: u64 => u64(number()),
            /// Reward units (fees / jobs, rounded down).
            reward_amount: u64 => u64(number()),
            /// The checkpoint's fees.
            total_fees_at_checkpoint: u64 => u64(number()),
            /// The checkpoint's reward jobs.
            total_jobs_at_checkpoint: u64 => u64(number()),
            /// Time of the job's completion.
            timestamp_us: i64 => i64(number()),
        }
    }

    family! {
        /// A checkpoint whose rewards were calculated, one document per checkpoint.
        RewardRun / RewardRunFields {
            /// Decimal checkpoint id (document key).
            id: String => text(key()),
            /// Checkpoint processed.
            checkpoint_id: u64 => u64(number()),
            /// Fees collected.
            fees_collected: u64 => u64(number()),
            /// Reward jobs.
            jobs: u64 => u64(number()),
            /// Paid per job.
            reward_per_job: u64 => u64(number()),
            /// Not distributed (fees mod jobs).
            remainder: u64 => u64(number()),
            /// Distributions written.
            distributions: u64 => u64(number()),
            /// Sum of their rewards.
            total_rewards: u64 => u64(number()),
            /// When the calculation ran.
            processed_us: i64 => i64(number()),
            /// Log seq of the closing record.
            seq: u64 => u64(number()),
        }
    }
}
