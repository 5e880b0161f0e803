//! The Psy families, on the real Psy model (`shared::psy_model`). Every entity has a text `id`
//! (the document key) and the `seq` of the log record that created it. Psy times are unix
//! **microseconds** (`*_us`), the real feed's precision; chain and telemetry records fold alike.
//! Enums are stored in their real spelling (`COMPLETED`), job enums as their real numbers.

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
