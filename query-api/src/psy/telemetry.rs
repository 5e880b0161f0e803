//! The real telemetry feed (reference §1.1): `POST /telemetry/events`,
//! `POST /telemetry/checkpoint/leaves` and `POST /telemetry/contract`, as a Psy deployment's
//! coordinator and realm nodes post them.
//!
//! A post is handled in this order (a `Content-Length` over 4 MiB is refused 413 before any of
//! it, and a body without one 400):
//! 1. **Auth**, before any of the body is read. Without a configured JWT secret the routes answer 503 (nothing could verify a
//!    token; the real service refuses to start). Otherwise the bearer token is verified as the
//!    real service does ([`crate::auth::Auth::verify_telemetry`]); a refusal is 401 with
//!    `{"error": <the real message>, "status": 401}`.
//! 2. **Bounds and shape.** The real body shape and `psy_model::validate`'s checks (counts, key
//!    forms, signs, metadata size); a refusal is 400 naming the first bad field and stores
//!    nothing. A leaves post with an empty `leaves` array is 404, as the real service answers it.
//! 3. **Store.** The post goes to the indexer's control endpoint as one
//!    `shared::control::TelemetryRequest` (HTTP, or NATS on a replica); the indexer appends
//!    every record not yet in the log, by its idempotency key, in one flushed batch, and only
//!    then does this route answer. Without a control endpoint the answer is 503, as for
//!    `/register`. A post with no records (`{}` to `/telemetry/events`) stores nothing and is
//!    answered at once.
//! 4. **Answer.** The real one: [`EventsAccepted`] (`service` = the token's `sub`),
//!    [`LeavesAccepted`], [`ContractAccepted`]. `processed_count` counts the post's records,
//!    stored now or by an earlier try of the same post: a retried post answers the same and
//!    stores nothing twice.

use std::sync::Arc;

use serde_json::Value;
use shared::control::{TelemetryOutcome, TelemetryRequest};
use shared::psy_model::telemetry::{
    CheckpointLeaves, ContractAccepted, EventsAccepted, LeavesAccepted, TelemetryClaims,
};
use shared::psy_model::validate;

use crate::error::{ApiError, Result};
use crate::reply::bounded;
use crate::State;

/// Largest telemetry body accepted, in bytes (the real nodes' batches; the shared bound).
pub const MAX_TELEMETRY_BODY_BYTES: u64 = validate::MAX_BODY_BYTES as u64;

/// Which telemetry route a post came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelemetryRoute {
    /// `POST /telemetry/events`.
    Events,
    /// `POST /telemetry/checkpoint/leaves`.
    Leaves,
    /// `POST /telemetry/contract`.
    Contract,
}

/// Parses and checks a post's body into the request the control endpoint takes.
pub fn parse(route: TelemetryRoute, body: &[u8]) -> Result<TelemetryRequest> {
    let bad = |err: shared::error::Error| ApiError::BadRequest(err.to_string());
    Ok(match route {
        TelemetryRoute::Events => TelemetryRequest::Events(validate::events(body).map_err(bad)?),
        TelemetryRoute::Leaves => {
            // The real service answers an empty list 404 (a shape error stays 400 below).
            if serde_json::from_slice::<CheckpointLeaves>(body).is_ok_and(|leaves| leaves.leaves.is_empty()) {
                return Err(ApiError::NotFound("no checkpoint leaves to report: `leaves` is empty".into()));
            }
            TelemetryRequest::Leaves(validate::leaves(body).map_err(bad)?)
        }
        TelemetryRoute::Contract => TelemetryRequest::Contract(validate::contract(body).map_err(bad)?.report),
    })
}

/// Records in a request: the events, the leaves, or the one report.
pub fn record_count(request: &TelemetryRequest) -> usize {
    match request {
        TelemetryRequest::Events(events) => events.worker_events().len() + events.user_events().len(),
        TelemetryRequest::Leaves(leaves) => leaves.leaves.len(),
        TelemetryRequest::Contract(_) => 1,
    }
}

/// The real answer to a stored request; `sub` is the token's subject.
pub fn answer(request: &TelemetryRequest, sub: &str) -> Value {
    let value = match request {
        TelemetryRequest::Events(_) => serde_json::to_value(EventsAccepted {
            success: true,
            processed_count: record_count(request),
            service: Some(sub.to_owned()),
        }),
        TelemetryRequest::Leaves(leaves) => serde_json::to_value(LeavesAccepted::new(&leaves.leaves)),
        TelemetryRequest::Contract(report) => serde_json::to_value(ContractAccepted::new(report)),
    };
    value.unwrap_or(Value::Null)
}

/// Checks the indexer's outcome against the request: every record has a seq.
fn check_outcome(request: &TelemetryRequest, outcome: &TelemetryOutcome) -> Result<()> {
    let records = record_count(request);
    if outcome.seqs.len() != records || outcome.stored + outcome.duplicates != records {
        return Err(ApiError::Internal(format!(
            "the indexer answered {} seqs ({} stored, {} duplicates) for {records} telemetry records",
            outcome.seqs.len(),
            outcome.stored,
            outcome.duplicates
        )));
    }
    Ok(())
}

/// Verifies a post's bearer token, before any of its body is read (an anonymous client cannot
/// make the service buffer 4 MiB bodies): 503 without a configured secret, 401 with the real
/// message for a missing or bad token.
pub fn authorize(state: &State, authorization: Option<&str>) -> Result<TelemetryClaims> {
    let auth = state.auth.as_ref().ok_or_else(|| {
        ApiError::Unavailable(
            "the telemetry feed is disabled: the service has no JWT_SECRET to verify the nodes' tokens".into(),
        )
    })?;
    auth.verify_telemetry(authorization).map_err(ApiError::TelemetryAuth)
}

/// Handles an authorized post (steps 2–4 of the module doc).
pub async fn post(
    state: Arc<State>,
    route: TelemetryRoute,
    claims: TelemetryClaims,
    body: warp::hyper::body::Bytes,
) -> Result<Value> {
    let request = bounded(state.clone(), move |_| parse(route, &body)).await?;
    if record_count(&request) == 0 {
        return Ok(answer(&request, &claims.sub));
    }
    let control = state.control.clone().ok_or_else(|| {
        ApiError::Unavailable("telemetry cannot be stored: the service has no control endpoint".into())
    })?;
    let outcome = control.telemetry(&request).await?;
    check_outcome(&request, &outcome)?;
    if outcome.duplicates > 0 {
        tracing::info!(
            stored = outcome.stored,
            duplicates = outcome.duplicates,
            sub = claims.sub,
            "telemetry post retried: records already stored were not stored again"
        );
    }
    Ok(answer(&request, &claims.sub))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn worker(status: &str, checkpoint: i64) -> Value {
        json!({
            "realm_id": 16384, "public_key": "0x1234567890abcdef1234567890abcdef12345678", "status": status,
            "source": "REALM", "job_id": {"topic": 0, "goal_id": 0, "slot_id": 0, "circuit_type": 6,
            "group_id": 0, "sub_group_id": 0, "task_index": 0, "data_type": 8, "data_index": 0},
            "checkpoint_id": checkpoint, "duration": 15000, "metadata": {"circuit_type": "UserEndCap"},
            "timestamp": "2024-06-01T12:00:15Z", "created_at": "2024-06-01T12:00:15Z",
            "updated_at": "2024-06-01T12:00:15Z"
        })
    }

    fn bytes(value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).unwrap_or_default()
    }

    #[test]
    fn events_parse_and_answer_as_the_real_service() {
        let body = json!({"worker_events": [worker("COMPLETED", 102), worker("PENDING", 100)],
            "user_events": [{"user_id": "user_001", "public_key": "user1_key", "tx_type": "REGISTER_USER",
            "timestamp": "2024-06-01T12:00:00Z", "created_at": "2024-06-01T12:00:00Z",
            "updated_at": "2024-06-01T12:00:00Z"}]});
        let request = parse(TelemetryRoute::Events, &bytes(&body)).unwrap();
        assert_eq!(record_count(&request), 3);
        assert_eq!(
            answer(&request, "coordinator"),
            json!({"success": true, "processed_count": 3, "service": "coordinator"})
        );
        let outcome = TelemetryOutcome { stored: 0, duplicates: 3, seqs: vec![4, 5, 6] };
        assert!(check_outcome(&request, &outcome).is_ok(), "a retried post is answered the same");
        let short = TelemetryOutcome { stored: 2, duplicates: 0, seqs: vec![4, 5] };
        assert!(check_outcome(&request, &short).is_err());
        let empty = parse(TelemetryRoute::Events, b"{}").unwrap();
        assert_eq!(record_count(&empty), 0);
    }

    #[test]
    fn bad_bodies_are_refused_naming_the_field() {
        let status = |route, body: &[u8]| parse(route, body).err().map(|err| (err.status().as_u16(), err.to_string()));
        let (code, message) =
            status(TelemetryRoute::Events, &bytes(&json!({"worker_events": [worker("Completed", 1)]}))).unwrap();
        assert_eq!(code, 400, "{message}");
        let mut negative = worker("COMPLETED", 1);
        negative["checkpoint_id"] = json!(-1);
        let (code, message) = status(TelemetryRoute::Events, &bytes(&json!({"worker_events": [negative]}))).unwrap();
        assert_eq!(code, 400);
        assert!(message.contains("worker_events[0].checkpoint_id"), "{message}");
        let many: Vec<Value> = (0..=validate::MAX_EVENTS_PER_POST as i64).map(|i| worker("COMPLETED", i)).collect();
        let (code, message) = status(TelemetryRoute::Events, &bytes(&json!({"worker_events": many}))).unwrap();
        assert_eq!(code, 400);
        assert!(message.contains("worker_events"), "{message}");
        let empty = json!({"leaves": [], "timestamp": "2024-06-01T12:00:00Z"});
        assert_eq!(status(TelemetryRoute::Leaves, &bytes(&empty)).map(|s| s.0), Some(404));
        assert_eq!(status(TelemetryRoute::Leaves, b"{\"leaves\": 3}").map(|s| s.0), Some(400));
        assert_eq!(status(TelemetryRoute::Contract, b"not json").map(|s| s.0), Some(400));
    }

    #[test]
    fn leaves_and_contracts_answer_the_real_messages() {
        let leaf = |id: i64| {
            json!({"checkpoint_id": id, "fees_collected": 1000, "user_ops_processed": 3,
            "total_transactions": 4, "slots_modified": 5, "timestamp": "2024-06-01T12:00:00Z"})
        };
        let body = json!({"leaves": [leaf(7), leaf(3)], "timestamp": "2024-06-01T12:00:00Z"});
        let request = parse(TelemetryRoute::Leaves, &bytes(&body)).unwrap();
        assert_eq!(
            answer(&request, "realm"),
            json!({"success": true, "processed_count": 2,
                "message": "Successfully reported 2 checkpoint leafs (checkpoints 3 to 7)"})
        );
        let report = json!({"report": {"contract_uuid": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "checkpoint_id": 9,
            "contract_id": 42, "deployer": "0x1234567890abcdef1234567890abcdef12345678",
            "function_whitelist_root": "0xabc", "metadata": {}, "timestamp": "2024-06-01T12:00:00Z"}});
        let request = parse(TelemetryRoute::Contract, &bytes(&report)).unwrap();
        assert_eq!(
            answer(&request, "realm"),
            json!({"success": true, "contract_id": 42, "message": "Contract 42 stored successfully at checkpoint 9"})
        );
    }
}
