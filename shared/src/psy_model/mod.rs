//! The real Psy data model of `PsyProtocol/psy-sdk` (see `../shared/reference/psy-real.md`).
//!
//! It holds the real enums with their numbers and spellings and their mapping to the API
//! document's spellings (`status`, `category`, `job_enums`; the document's enums in `doc`), the job id struct and its string form
//! (`job_id`), the telemetry payloads the real coordinator and realm nodes post, with their
//! validation (`telemetry`, `validate`, `keys`, `time`) and idempotency keys (`idempotency`), and
//! the real checkpoint reward rule as pure functions (`reward`), and a proposal of the document's
//! answer rows over the real records (`answer`). Answers keep the document's form;
//! inputs take both forms.
//!
//! | value | real form (JSON, feed, queries) | document form (answers) | also accepted in filters |
//! |---|---|---|---|
//! | status | `PENDING` `PROCESSING` `COMPLETED` `FAILED` | `Pending` `InProgress` `Completed` `Failed` | `Cancelled`: matches nothing |
//! | source | `COORDINATOR` `REALM` | the real form (the document has none) | — |
//! | tx_type | `REGISTER_USER` `DEPLOY_CONTRACT` `GUTA` `USER_ENDCAP` | `RegisterUser` `DeployContract`, `UserTransaction` for both `GUTA` and `USER_ENDCAP` | `UserTransaction` = `GUTA` or `USER_ENDCAP` |
//! | category | `all` `reward_only` | (filter only) | `All`, and the document's four over circuit types ([`category::doc_category`]) |
//! | topic, circuit_type, data_type | numbers | names (`UserEndCap`) | numbers or names (`psy_core` and `psy_common` names) |
//! | job_id | the `QProvingJobDataID` object | `topic-goal_id-slot_id-circuit_type-group_id-sub_group_id-task_index-data_type-data_index` | that string or the object |

mod macros;

pub mod answer;
pub mod category;
pub mod doc;
pub mod idempotency;
pub mod job_enums;
pub mod job_id;
pub mod keys;
pub mod reward;
pub mod status;
pub mod telemetry;
pub mod time;
pub mod validate;

pub use category::{category_filter, doc_category, CategoryFilter, JobFilterCategory};
pub use job_enums::{ProvingJobCircuitType, ProvingJobDataType, QJobTopic};
pub use job_id::QProvingJobDataID;
pub use status::{status_filter, tx_type_filter, UserEventTxType, WorkerEventSource, WorkerEventStatus};
pub use telemetry::{
    CheckpointLeaf, CheckpointLeaves, ContractReport, ContractReportBody, TelemetryEvents, UserEvent, WorkerEvent,
};
pub use time::Timestamp;

#[cfg(test)]
mod tests {
    use anchor_lang::prelude::*;
    use anchor_lang::{Discriminator, Event};

    use super::*;

    /// An Anchor event carrying the real types, as phase 2's Psy events will.
    #[anchor_lang::event]
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct ProbeWorkerEvent {
        job_id: QProvingJobDataID,
        status: WorkerEventStatus,
        source: WorkerEventSource,
        tx_type: UserEventTxType,
    }

    #[test]
    fn real_types_are_anchor_event_fields() {
        let job_id = "0-100-0-7-1-2-3-8-0".parse::<QProvingJobDataID>();
        let Ok(job_id) = job_id else { panic!("{job_id:?}") };
        let event = ProbeWorkerEvent {
            job_id,
            status: WorkerEventStatus::Failed,
            source: WorkerEventSource::Realm,
            tx_type: UserEventTxType::UserEndCap,
        };
        let data = event.data();
        let body = &data[ProbeWorkerEvent::DISCRIMINATOR.len()..];
        assert_eq!(body.len(), 32 + 3);
        assert_eq!(&body[32..], [3, 1, 3], "status, source and tx type by variant index");
        let mut read = body;
        assert_eq!(ProbeWorkerEvent::deserialize(&mut read).ok(), Some(event));
    }
}
