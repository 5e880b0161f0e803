//! The API document's spellings of the Psy enums (`Pending`, `InProgress`, ..., the job
//! categories), which the real enums of `status` and `category` render to and parse besides
//! their own spellings.

use crate::string_enum::string_enum;

string_enum! {
    /// The API document's spelling of a Psy worker event status (answers); the real statuses
    /// are `psy_model::WorkerEventStatus`.
    WorkerEventStatus {
        /// The job exists and waits for a worker.
        Pending,
        /// A worker is proving the job.
        InProgress,
        /// The proof was produced.
        Completed,
        /// The worker failed to produce the proof.
        Failed,
        /// The job was withdrawn before completion.
        Cancelled,
    }
}

string_enum! {
    /// The API document's spelling of a Psy user event kind (answers); the real kinds are
    /// `psy_model::UserEventTxType`.
    UserEventTxType {
        /// A user registered.
        RegisterUser,
        /// A user deployed a contract.
        DeployContract,
        /// A user called a contract function.
        UserTransaction,
    }
}

string_enum! {
    /// The API document's job categories of `/worker_events` (defined over the real circuit types
    /// by `psy_model::category`).
    JobFilterCategory {
        /// Every job.
        All,
        /// Jobs proving user registrations.
        UserRegistration,
        /// Jobs proving contract deployments.
        ContractDeployment,
        /// Jobs proving contract executions.
        ContractExecution,
        /// Aggregation and state maintenance jobs.
        Maintenance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialize_as_the_document_spelling() {
        assert_eq!(serde_json::to_string(&WorkerEventStatus::InProgress).unwrap(), "\"InProgress\"");
    }
}
