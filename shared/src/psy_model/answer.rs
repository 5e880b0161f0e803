//! The document's answer forms over the real records that more than one reader needs:
//! `/stats/jobs/counts` in the document's keys. (The document's worker and user event rows are
//! built by the query service's reads, `query-api/src/psy/read/events.rs`: `id` the log seq,
//! `job_id` the string form, `start_time` = time − duration for an ended attempt, `end_time` its
//! time once `COMPLETED`/`FAILED`, a user event's `checkpoint_id` = `metadata.checkpoint_id`.)

use serde_json::Value;

use super::status::WorkerEventStatus;

/// `/stats/jobs/counts` in the document's keys (`Completed`, `Failed`, `InProgress`, `Pending`),
/// every key present, from a count per real status.
pub fn doc_status_counts(count: impl Fn(WorkerEventStatus) -> u64) -> serde_json::Map<String, Value> {
    WorkerEventStatus::ALL.iter().map(|s| (s.doc().as_str().to_owned(), Value::from(count(*s)))).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
