//! Idempotency keys of telemetry records, so that a retried post stores nothing twice.
//!
//! A key is a domain-separated SHA-512 (64 bytes, the size of the log's other idempotency keys
//! and of a transaction signature, see `crate::control`) of what the record says: every field the
//! real service keeps, and none that it ignores — a worker event's `id`, `created_at` and
//! `updated_at` are left out, so a retry that regenerates them is still the same record.
//! `metadata` is hashed as canonical JSON (object keys sorted at every depth), so key order does
//! not matter; a worker event without `metadata` is the one with `{}` (the real service stores
//! `{}` for it). Two reports identical in every kept field, down to the microsecond, are one
//! record. A leaf or contract re-reported with other values is a new record (in the fold the one
//! with the newest timestamp wins, then the later one). A missing `metadata` is keyed as `{}`
//! for every record kind, as it is stored.

use serde_json::Value;
use sha2::{Digest, Sha512};

use super::telemetry::{CheckpointLeaf, ContractReport, UserEvent, WorkerEvent};

/// Writes `value` as JSON with object keys sorted at every depth.
fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(&Value::String(key.clone()), out);
                out.push(b':');
                canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend(serde_json::to_vec(scalar).unwrap_or_default()),
    }
}

/// Builds a key from length-prefixed parts.
struct KeyBuilder(Sha512);

impl KeyBuilder {
    fn new(domain: &str) -> Self {
        let mut builder = Self(Sha512::new());
        builder.bytes(domain.as_bytes());
        builder
    }

    fn bytes(&mut self, part: &[u8]) -> &mut Self {
        self.0.update((part.len() as u64).to_be_bytes());
        self.0.update(part);
        self
    }

    fn text(&mut self, part: Option<&str>) -> &mut Self {
        match part {
            Some(text) => self.bytes(&[1]).bytes(text.as_bytes()),
            None => self.bytes(&[0]),
        }
    }

    fn number(&mut self, part: Option<i64>) -> &mut Self {
        match part {
            Some(n) => self.bytes(&[1]).bytes(&n.to_be_bytes()),
            None => self.bytes(&[0]),
        }
    }

    fn json(&mut self, part: Option<&Value>) -> &mut Self {
        let mut out = Vec::new();
        if let Some(value) = part {
            canonical(value, &mut out);
        }
        self.bytes(&out)
    }

    fn finish(&mut self) -> [u8; 64] {
        std::mem::take(&mut self.0).finalize().into()
    }
}

/// `{}`: what a record without `metadata` is stored with.
fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// The key of a worker event.
pub fn worker_event_key(event: &WorkerEvent) -> [u8; 64] {
    KeyBuilder::new("psy-telemetry/worker-event")
        .number(event.realm_id)
        .text(event.public_key.as_deref())
        .text(Some(event.status.as_str()))
        .text(Some(event.source.as_str()))
        .text(Some(&event.job_id.to_string()))
        .number(Some(event.checkpoint_id))
        .number(event.duration)
        .json(Some(event.metadata.as_ref().unwrap_or(&empty_object())))
        .number(Some(event.timestamp.unix_micros()))
        .finish()
}

/// The key of a user event.
pub fn user_event_key(event: &UserEvent) -> [u8; 64] {
    KeyBuilder::new("psy-telemetry/user-event")
        .text(Some(&event.user_id))
        .text(Some(&event.public_key))
        .text(Some(event.tx_type.as_str()))
        .json(Some(event.metadata.as_ref().unwrap_or(&empty_object())))
        .number(Some(event.timestamp.unix_micros()))
        .finish()
}

/// The key of a checkpoint leaf.
pub fn leaf_key(leaf: &CheckpointLeaf) -> [u8; 64] {
    KeyBuilder::new("psy-telemetry/checkpoint-leaf")
        .number(Some(leaf.checkpoint_id))
        .number(Some(leaf.fees_collected))
        .number(Some(leaf.user_ops_processed))
        .number(Some(leaf.total_transactions))
        .number(Some(leaf.slots_modified))
        .json(Some(leaf.metadata.as_ref().unwrap_or(&empty_object())))
        .number(Some(leaf.timestamp.unix_micros()))
        .finish()
}

/// The key of a contract report.
pub fn contract_key(report: &ContractReport) -> [u8; 64] {
    KeyBuilder::new("psy-telemetry/contract")
        .text(Some(&report.contract_uuid))
        .bytes(&report.checkpoint_id.to_be_bytes())
        .bytes(&report.contract_id.to_be_bytes())
        .text(Some(&report.deployer))
        .text(Some(&report.function_whitelist_root))
        .json(Some(report.metadata.as_ref().unwrap_or(&empty_object())))
        .number(Some(report.timestamp.unix_micros()))
        .finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn worker(extra: Value) -> WorkerEvent {
        let mut event = json!({
            "realm_id": 16384, "public_key": "worker1_key_0xabc", "status": "COMPLETED", "source": "REALM",
            "job_id": "0-102-0-6-0-0-0-8-0", "checkpoint_id": 102, "duration": 15000,
            "metadata": {"a": 1, "b": {"c": [1, 2], "d": null}}, "timestamp": "2024-06-01T12:00:00.5Z"
        });
        if let (Some(base), Value::Object(changes)) = (event.as_object_mut(), extra) {
            base.extend(changes);
        }
        serde_json::from_value(event).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn a_retry_is_the_same_record() {
        let first = worker(json!({}));
        let retry = worker(json!({
            "id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "created_at": "2024-06-01T12:00:09Z", "updated_at": "2024-06-01T12:00:09Z",
            "metadata": {"b": {"d": null, "c": [1, 2]}, "a": 1},
            "timestamp": "2024-06-01T14:00:00.500+02:00"
        }));
        assert_eq!(worker_event_key(&first), worker_event_key(&retry));
        let absent = worker(json!({"metadata": null}));
        assert_eq!(worker_event_key(&absent), worker_event_key(&worker(json!({"metadata": {}}))));
    }

    #[test]
    fn any_kept_field_makes_another_record() {
        let base = worker_event_key(&worker(json!({})));
        for change in [
            json!({"status": "FAILED"}),
            json!({"source": "COORDINATOR"}),
            json!({"realm_id": 0}),
            json!({"realm_id": null}),
            json!({"public_key": null}),
            json!({"job_id": "0-102-1-6-0-0-0-8-0"}),
            json!({"checkpoint_id": 103}),
            json!({"duration": 15001}),
            json!({"duration": null}),
            json!({"metadata": {"a": 1, "b": {"c": [2, 1], "d": null}}}),
            json!({"metadata": null}),
            json!({"timestamp": "2024-06-01T12:00:00.500001Z"}),
        ] {
            assert_ne!(worker_event_key(&worker(change.clone())), base, "{change}");
        }
    }

    #[test]
    fn kinds_and_fields_do_not_collide() {
        let user = |id: &str, key: &str| -> UserEvent {
            serde_json::from_value(
                json!({"user_id": id, "public_key": key, "tx_type": "GUTA", "timestamp": "2024-06-01T12:00:00Z"}),
            )
            .unwrap_or_else(|err| panic!("{err}"))
        };
        // Length prefixes keep "ab"+"c" apart from "a"+"bc".
        assert_ne!(user_event_key(&user("ab", "c")), user_event_key(&user("a", "bc")));
        assert_eq!(user_event_key(&user("ab", "c")), user_event_key(&user("ab", "c")));
        let leaf: CheckpointLeaf = serde_json::from_value(json!({"checkpoint_id": 1, "fees_collected": 10, "user_ops_processed": 0, "total_transactions": 0, "slots_modified": 0, "timestamp": "2024-06-01T12:00:00Z"}))
            .unwrap_or_else(|err| panic!("{err}"));
        let mut more = leaf.clone();
        more.fees_collected = 11;
        assert_ne!(leaf_key(&leaf), leaf_key(&more));
        let report: ContractReport = serde_json::from_value(json!({"contract_uuid": "67e55044-10b1-426f-9247-bb680e5fe0c8", "checkpoint_id": 1, "contract_id": 2, "deployer": "k", "function_whitelist_root": "r", "timestamp": "2024-06-01T12:00:00Z"}))
            .unwrap_or_else(|err| panic!("{err}"));
        let mut moved = report.clone();
        moved.checkpoint_id = 2;
        assert_ne!(contract_key(&report), contract_key(&moved));
    }
}
