//! Tests of the telemetry bodies against the real example clients' payloads (reference §5).

use serde_json::json;

use super::*;
use crate::psy_model::telemetry::{ContractAccepted, EventsAccepted, LeavesAccepted};
use crate::psy_model::{ProvingJobCircuitType, UserEventTxType, WorkerEventSource, WorkerEventStatus};

fn job(circuit: u8, goal: u64) -> Value {
    json!({"topic":0,"goal_id":goal,"slot_id":0,"circuit_type":circuit,"group_id":0,"sub_group_id":0,"task_index":0,"data_type":8,"data_index":0})
}

/// The four events of `worker_events.rs`, as chrono writes `Utc::now()` (nanoseconds).
fn worker_events_example() -> Value {
    let now = "2024-06-01T12:00:00.123456789Z";
    let event = |status: &str, source: &str, realm: i64, cp: i64, duration: Option<i64>| {
        json!({
            "realm_id": realm, "public_key": "0x1234567890abcdef1234567890abcdef12345678",
            "status": status, "source": source, "job_id": job(6, 0), "checkpoint_id": cp,
            "duration": duration, "metadata": {"circuit_type": "UserEndCap"},
            "timestamp": now, "created_at": now, "updated_at": now
        })
    };
    json!({"worker_events": [
        event("PENDING", "REALM", 0, 100, None),
        event("PROCESSING", "REALM", 0, 101, None),
        event("COMPLETED", "REALM", 16384, 102, Some(15000)),
        event("FAILED", "COORDINATOR", 16384, 103, Some(8000)),
    ]})
}

fn body(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn field_of<T: std::fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::InvalidField { field, .. }) => field,
        other => format!("not a field error: {other:?}"),
    }
}

#[test]
fn accepts_the_real_worker_events_example() {
    let events = events(&body(&worker_events_example()));
    let events = events.map(|e| e.worker_events().to_vec()).unwrap_or_default();
    assert_eq!(events.len(), 4);
    let statuses: Vec<WorkerEventStatus> = events.iter().map(|e| e.status).collect();
    use WorkerEventStatus as S;
    assert_eq!(statuses, [S::Pending, S::Processing, S::Completed, S::Failed]);
    assert_eq!(events[3].source, WorkerEventSource::Coordinator);
    assert_eq!(events[2].realm_id, Some(16384));
    assert_eq!(events[2].duration, Some(15000));
    assert_eq!(events[0].duration, None);
    assert_eq!(events[2].job_id.circuit_type, ProvingJobCircuitType::UserEndCap);
    assert_eq!(events[0].timestamp.to_string(), "2024-06-01T12:00:00.123456Z");
    assert_eq!(events[0].slot_id(), 0);
}

#[test]
fn accepts_the_real_user_events_example_and_minimal_events() {
    let now = "2024-06-01T12:00:00Z";
    let user = |id: &str, tx: &str| json!({"user_id": id, "public_key": format!("{id}_key"), "tx_type": tx, "timestamp": now, "created_at": now, "updated_at": now});
    let post = json!({"user_events": [
        user("user_001", "REGISTER_USER"), user("user_002", "DEPLOY_CONTRACT"), user("user_003", "GUTA"),
        user("user_001", "DEPLOY_CONTRACT"), user("user_004", "REGISTER_USER"),
    ]});
    let parsed = events(&body(&post)).map(|e| e.user_events().iter().map(|u| u.tx_type).collect::<Vec<_>>());
    use UserEventTxType as T;
    assert_eq!(parsed, Ok(vec![T::RegisterUser, T::DeployContract, T::Guta, T::DeployContract, T::RegisterUser]));
    // The real struct's required minimum, without created_at/updated_at, public_key or realm.
    let minimal = json!({"worker_events": [{"status": "COMPLETED", "source": "REALM", "job_id": job(7, 5), "checkpoint_id": 5, "timestamp": now}]});
    assert!(events(&body(&minimal)).is_ok());
    assert_eq!(events(b"{}").map(|e| e.worker_events().len() + e.user_events().len()), Ok(0));
    assert!(events(br#"{"worker_events": null, "user_events": []}"#).is_ok());
}

#[test]
fn refuses_documents_spellings_and_missing_fields_in_the_feed() {
    let mut post = worker_events_example();
    post["worker_events"][0]["status"] = json!("Completed");
    assert_eq!(field_of(events(&body(&post))), "body");
    let mut post = worker_events_example();
    post["worker_events"][1].as_object_mut().map(|o| o.remove("source"));
    let err = events(&body(&post)).map_err(|e| e.to_string()).err().unwrap_or_default();
    assert!(err.contains("missing field `source`"), "{err}");
    let mut post = worker_events_example();
    post["worker_events"][0]["job_id"] = json!({"task_id": 123, "circuit_type": "AddDeposit"});
    assert_eq!(field_of(events(&body(&post))), "body");
}

#[test]
fn errors_name_the_bad_field() {
    let cases: [(&str, Value, &str); 7] = [
        ("/worker_events/2/public_key", json!("a".repeat(129)), "worker_events[2].public_key"),
        ("/worker_events/1/realm_id", json!(-1), "worker_events[1].realm_id"),
        ("/worker_events/3/checkpoint_id", json!(-5), "worker_events[3].checkpoint_id"),
        ("/worker_events/3/duration", json!(-1), "worker_events[3].duration"),
        ("/worker_events/0/id", json!("not-a-uuid"), "worker_events[0].id"),
        ("/worker_events/0/metadata", json!({"blob": "x".repeat(MAX_METADATA_BYTES)}), "worker_events[0].metadata"),
        ("/worker_events/2/public_key", json!("worker 1"), "worker_events[2].public_key"),
    ];
    for (pointer, value, field) in cases {
        let mut post = worker_events_example();
        let (parent, key) = pointer.rsplit_once('/').unwrap_or_default();
        match post.pointer_mut(parent).and_then(Value::as_object_mut) {
            Some(object) => object.insert(key.to_owned(), value),
            None => panic!("no {parent} in the example"),
        };
        assert_eq!(field_of(events(&body(&post))), field, "{pointer}");
    }
    let post = json!({"user_events": [{"user_id": "", "public_key": "k", "tx_type": "GUTA", "timestamp": "2024-06-01T12:00:00Z"}]});
    assert_eq!(field_of(events(&body(&post))), "user_events[0].user_id");
    // A user_id is a string in the feed; a number is a shape error.
    let post = json!({"user_events": [{"user_id": 12345, "public_key": "k", "tx_type": "GUTA", "timestamp": "2024-06-01T12:00:00Z"}]});
    assert_eq!(field_of(events(&body(&post))), "body");
}

#[test]
fn bounds_the_body_and_the_counts() {
    assert_eq!(field_of(events(&vec![b' '; MAX_BODY_BYTES + 1])), "body");
    let one = worker_events_example()["worker_events"][0].clone();
    let post = json!({"worker_events": vec![one.clone(); MAX_EVENTS_PER_POST + 1]});
    assert_eq!(field_of(events(&body(&post))), "worker_events");
    let post = json!({"worker_events": vec![one; MAX_EVENTS_PER_POST]});
    assert!(events(&body(&post)).is_ok());
}

#[test]
fn checkpoint_leaves_follow_the_real_shape_and_checks() {
    let leaf = |cp: i64, fees: i64| json!({"checkpoint_id": cp, "fees_collected": fees, "user_ops_processed": 3, "total_transactions": 9, "slots_modified": 4, "timestamp": "2024-06-01T12:00:00Z"});
    let post = json!({"leaves": [leaf(102, 1000), leaf(100, 7)], "timestamp": "2024-06-01T12:00:01Z"});
    let parsed = leaves(&body(&post));
    let answer = parsed.as_ref().map(|l| LeavesAccepted::new(&l.leaves));
    assert_eq!(
        answer.map(|a| a.message),
        Ok("Successfully reported 2 checkpoint leafs (checkpoints 100 to 102)".to_owned())
    );
    assert_eq!(parsed.map(|l| l.leaves[0].fees_collected), Ok(1000));
    let empty = json!({"leaves": [], "timestamp": "2024-06-01T12:00:01Z"});
    assert_eq!(field_of(leaves(&body(&empty))), "leaves");
    let negative = json!({"leaves": [leaf(1, 5), leaf(2, -1)], "timestamp": "2024-06-01T12:00:01Z"});
    assert_eq!(field_of(leaves(&body(&negative))), "leaves[1].fees_collected");
    let no_time = json!({"leaves": [leaf(1, 5)]});
    assert_eq!(field_of(leaves(&body(&no_time))), "body");
}

#[test]
fn contract_reports_follow_the_real_shape_and_checks() {
    let report = |uuid: &str, root: &str, id: u64| json!({"report": {"contract_uuid": uuid, "checkpoint_id": 40, "contract_id": id, "deployer": "0x1234567890abcdef1234567890abcdef12345678", "function_whitelist_root": root, "metadata": {}, "timestamp": "2024-06-01T12:00:00Z"}});
    let good = contract(&body(&report("67e55044-10b1-426f-9247-bb680e5fe0c8", "0xabc", 9)));
    assert_eq!(
        good.map(|r| ContractAccepted::new(&r.report).message),
        Ok("Contract 9 stored successfully at checkpoint 40".to_owned())
    );
    assert_eq!(field_of(contract(&body(&report("x", "0xabc", 9)))), "report.contract_uuid");
    assert_eq!(
        field_of(contract(&body(&report("67e55044-10b1-426f-9247-bb680e5fe0c8", "", 9)))),
        "report.function_whitelist_root"
    );
    assert_eq!(
        field_of(contract(&body(&report("67e55044-10b1-426f-9247-bb680e5fe0c8", "r", u64::MAX)))),
        "report.contract_id"
    );
}

#[test]
fn answers_have_the_real_shapes() {
    let answer = EventsAccepted { success: true, processed_count: 4, service: Some("realm-1".into()) };
    assert_eq!(
        serde_json::to_value(&answer).ok(),
        Some(json!({"success": true, "processed_count": 4, "service": "realm-1"}))
    );
    let answer = EventsAccepted { service: None, ..answer };
    assert_eq!(serde_json::to_value(&answer).ok(), Some(json!({"success": true, "processed_count": 4})));
    let unauthorized = crate::psy_model::telemetry::AuthError::new(crate::psy_model::telemetry::AUTH_EXPIRED);
    assert_eq!(serde_json::to_value(&unauthorized).ok(), Some(json!({"error": "Token has expired", "status": 401})));
}
