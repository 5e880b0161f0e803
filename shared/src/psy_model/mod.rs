//! The real Psy data model of `PsyProtocol/psy-sdk` (see `../shared/reference/psy-real.md`).
//!
//! It holds the real enums with their numbers and spellings and their mapping to the API
//! document's spellings (`status`, `category`, `job_enums`), the job id struct and its string form
//! (`job_id`), the telemetry payloads the real coordinator and realm nodes post, with their
//! validation (`telemetry`, `validate`, `keys`, `time`), and the real checkpoint reward rule as a
//! pure function (`reward`). Answers keep the document's form; inputs take both forms.

mod macros;

pub mod category;
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
