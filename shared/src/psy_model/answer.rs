//! Rows of the API document's answers built from the real records (a proposal for phase 2 of
//! issue 14, used by no handler yet).
//!
//! The document's worker event row is `{id, realm_id, worker_public_key, status, start_time,
//! end_time, job_id, circuit_type}` and its user event row `{id, user_id, public_key, tx_type,
//! checkpoint_id, timestamp}` (reference §4). Their values over the real records:
//! - `id`: the record's log seq (the document's numeric id; the real UUID is not kept).
//! - `status`, `tx_type`, `circuit_type`: the document's spelling and the circuit's name.
//! - `job_id`: the string form of [`QProvingJobDataID`].
//! - `end_time`: the event's `timestamp` once the attempt ended (`COMPLETED` or `FAILED`), else
//!   null; `start_time`: `timestamp − duration` for an ended attempt with a duration, else
//!   `timestamp` (a real event reports the moment of its status; `duration` is the proving time).
//! - `checkpoint_id` of a user event: `metadata.checkpoint_id` when it is an integer (where the
//!   real legacy reward model reads it), else null — the real user event has none.
//!
//! The real fields the document lacks are added after the document's: `source`,
//! `checkpoint_id`, `topic` (name) and `duration` (ms) on worker events.

use serde::Serialize;
use serde_json::Value;

use super::job_enums::ProvingJobCircuitType;
use super::status::WorkerEventStatus;
use super::telemetry::{UserEvent, WorkerEvent};
use super::time::Timestamp;

/// A worker event as the document's `/worker_events` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocWorkerEventRow {
    /// Log seq.
    pub id: u64,
    /// Realm, when reported.
    pub realm_id: Option<i64>,
    /// Worker key, when reported.
    pub worker_public_key: Option<String>,
    /// Document spelling (`InProgress`).
    pub status: &'static str,
    /// RFC 3339 start of the attempt.
    pub start_time: String,
    /// RFC 3339 end of the attempt, once ended.
    pub end_time: Option<String>,
    /// The job id's string form.
    pub job_id: String,
    /// Circuit name.
    pub circuit_type: &'static str,
    /// Reporting node kind (real field).
    pub source: &'static str,
    /// Checkpoint (real field).
    pub checkpoint_id: i64,
    /// Topic name (real field).
    pub topic: &'static str,
    /// Proving time in ms (real field).
    pub duration: Option<i64>,
}

impl DocWorkerEventRow {
    /// The row of `event` stored at log `seq`.
    pub fn new(seq: u64, event: &WorkerEvent) -> Self {
        let ended = matches!(event.status, WorkerEventStatus::Completed | WorkerEventStatus::Failed);
        let start = match (ended, event.duration) {
            (true, Some(ms)) => {
                Timestamp::from_unix_micros(event.timestamp.unix_micros().saturating_sub(ms.saturating_mul(1000)))
            }
            _ => event.timestamp,
        };
        Self {
            id: seq,
            realm_id: event.realm_id,
            worker_public_key: event.public_key.clone(),
            status: event.status.doc().as_str(),
            start_time: start.to_string(),
            end_time: ended.then(|| event.timestamp.to_string()),
            job_id: event.job_id.to_string(),
            circuit_type: ProvingJobCircuitType::name(event.job_id.circuit_type),
            source: event.source.as_str(),
            checkpoint_id: event.checkpoint_id,
            topic: event.job_id.topic.name(),
            duration: event.duration,
        }
    }
}

/// A user event as the document's `/user_events` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocUserEventRow {
    /// Log seq.
    pub id: u64,
    /// User id string.
    pub user_id: String,
    /// User key.
    pub public_key: String,
    /// Document spelling (`UserTransaction` for `GUTA` and `USER_ENDCAP`).
    pub tx_type: &'static str,
    /// `metadata.checkpoint_id`, when an integer.
    pub checkpoint_id: Option<i64>,
    /// RFC 3339 time.
    pub timestamp: String,
}

impl DocUserEventRow {
    /// The row of `event` stored at log `seq`.
    pub fn new(seq: u64, event: &UserEvent) -> Self {
        Self {
            id: seq,
            user_id: event.user_id.clone(),
            public_key: event.public_key.clone(),
            tx_type: event.tx_type.doc().as_str(),
            checkpoint_id: event.metadata.as_ref().and_then(|m| m.get("checkpoint_id")).and_then(Value::as_i64),
            timestamp: event.timestamp.to_string(),
        }
    }
}

/// `/stats/jobs/counts` in the document's keys (`Completed`, `Failed`, `InProgress`, `Pending`),
/// every key present, from a count per real status.
pub fn doc_status_counts(count: impl Fn(WorkerEventStatus) -> u64) -> serde_json::Map<String, Value> {
    WorkerEventStatus::ALL.iter().map(|s| (s.doc().as_str().to_owned(), Value::from(count(*s)))).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn worker(status: &str, duration: Option<i64>) -> WorkerEvent {
        let event = json!({
            "realm_id": 16384, "public_key": "0x1234567890abcdef1234567890abcdef12345678", "status": status,
            "source": "COORDINATOR", "job_id": {"topic": 0, "goal_id": 102, "slot_id": 0, "circuit_type": 6,
            "group_id": 0, "sub_group_id": 0, "task_index": 0, "data_type": 8, "data_index": 0},
            "checkpoint_id": 102, "duration": duration, "timestamp": "2024-06-01T12:00:15Z"
        });
        serde_json::from_value(event).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn worker_rows_have_the_document_shape() {
        let row = serde_json::to_value(DocWorkerEventRow::new(7, &worker("COMPLETED", Some(15000)))).ok();
        let expected = json!({
            "id": 7, "realm_id": 16384, "worker_public_key": "0x1234567890abcdef1234567890abcdef12345678",
            "status": "Completed", "start_time": "2024-06-01T12:00:00Z", "end_time": "2024-06-01T12:00:15Z",
            "job_id": "0-102-0-6-0-0-0-8-0", "circuit_type": "UserEndCap",
            "source": "COORDINATOR", "checkpoint_id": 102, "topic": "GenerateStandardProof", "duration": 15000
        });
        assert_eq!(row, Some(expected));
        let processing = DocWorkerEventRow::new(8, &worker("PROCESSING", None));
        assert_eq!((processing.status, processing.end_time), ("InProgress", None));
        assert_eq!(processing.start_time, "2024-06-01T12:00:15Z");
        let failed = DocWorkerEventRow::new(9, &worker("FAILED", None));
        assert_eq!(
            (failed.start_time.as_str(), failed.end_time.as_deref()),
            ("2024-06-01T12:00:15Z", Some("2024-06-01T12:00:15Z"))
        );
    }

    #[test]
    fn user_rows_have_the_document_shape() {
        let event: UserEvent = serde_json::from_value(json!({
            "user_id": "user_003", "public_key": "k3", "tx_type": "GUTA",
            "metadata": {"checkpoint_id": 100}, "timestamp": "2024-06-01T12:00:00Z"
        }))
        .unwrap_or_else(|err| panic!("{err}"));
        let row = serde_json::to_value(DocUserEventRow::new(3, &event)).ok();
        let expected = json!({"id": 3, "user_id": "user_003", "public_key": "k3", "tx_type": "UserTransaction", "checkpoint_id": 100, "timestamp": "2024-06-01T12:00:00Z"});
        assert_eq!(row, Some(expected));
    }

    #[test]
    fn counts_use_the_document_keys() {
        let counts = doc_status_counts(|s| match s {
            WorkerEventStatus::Processing => 200,
            WorkerEventStatus::Completed => 4500,
            _ => 0,
        });
        assert_eq!(Value::Object(counts), json!({"Completed": 4500, "Failed": 0, "InProgress": 200, "Pending": 0}));
    }
}
