//! Bounds and checks of the telemetry bodies, each error naming the field
//! (`worker_events[3].public_key`).
//!
//! A post is accepted whole or refused whole (400 naming the first bad field). The real service
//! inserts event by event and skips the ones that fail; refusing the whole post instead means a
//! corrected retry never stores half of a post twice. Checks the real database makes by its
//! column types and `CHECK`s are made here before anything is stored: key and id lengths,
//! non-negative counters. Ids and durations must also be non-negative (the real queries take
//! `realm_id` as u64 and skip negative checkpoints, so such rows could never be read back).

use serde_json::Value;

use super::keys;
use super::telemetry::{CheckpointLeaves, ContractReportBody, TelemetryEvents, UserEvent, WorkerEvent};
use crate::error::{Error, Result};

/// Largest telemetry body read, in bytes.
pub const MAX_BODY_BYTES: usize = 4 << 20;
/// Most worker events, and most user events, in one post.
pub const MAX_EVENTS_PER_POST: usize = 1000;
/// Most leaves in one post.
pub const MAX_LEAVES_PER_POST: usize = 1000;
/// Largest `metadata`, as compact JSON, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;
/// Longest `function_whitelist_root`.
pub const MAX_ROOT_LEN: usize = 128;

/// Reads a telemetry body of type `T`: at most [`MAX_BODY_BYTES`], then JSON of the real shape.
fn read<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::field("body", format!("{} bytes is more than the {MAX_BODY_BYTES} accepted", body.len())));
    }
    serde_json::from_slice(body).map_err(|err| Error::field("body", err.to_string()))
}

/// Parses and checks a `POST /telemetry/events` body.
pub fn events(body: &[u8]) -> Result<TelemetryEvents> {
    let events: TelemetryEvents = read(body)?;
    events.validate()?;
    Ok(events)
}

/// Parses and checks a `POST /telemetry/checkpoint/leaves` body.
pub fn leaves(body: &[u8]) -> Result<CheckpointLeaves> {
    let leaves: CheckpointLeaves = read(body)?;
    leaves.validate()?;
    Ok(leaves)
}

/// Parses and checks a `POST /telemetry/contract` body.
pub fn contract(body: &[u8]) -> Result<ContractReportBody> {
    let report: ContractReportBody = read(body)?;
    report.validate()?;
    Ok(report)
}

fn non_negative(field: impl FnOnce() -> String, value: i64) -> Result<()> {
    if value < 0 {
        return Err(Error::field(field(), format!("must not be negative, got {value}")));
    }
    Ok(())
}

fn metadata(field: impl FnOnce() -> String, value: Option<&Value>) -> Result<()> {
    let size = value.map_or(0, |v| serde_json::to_vec(v).map_or(usize::MAX, |bytes| bytes.len()));
    if size > MAX_METADATA_BYTES {
        return Err(Error::field(
            field(),
            format!("{size} bytes of JSON is more than the {MAX_METADATA_BYTES} accepted"),
        ));
    }
    Ok(())
}

fn count(field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(Error::field(field, format!("{len} items is more than the {max} accepted in one post")));
    }
    Ok(())
}

impl WorkerEvent {
    /// Checks the event; `at` is its path (`worker_events[0]`).
    pub fn validate(&self, at: &str) -> Result<()> {
        let field = |name: &str| format!("{at}.{name}");
        if let Some(id) = &self.id {
            keys::uuid(&field("id"), id)?;
        }
        if let Some(realm) = self.realm_id {
            non_negative(|| field("realm_id"), realm)?;
        }
        if let Some(key) = &self.public_key {
            keys::public_key(&field("public_key"), key)?;
        }
        non_negative(|| field("checkpoint_id"), self.checkpoint_id)?;
        if let Some(duration) = self.duration {
            non_negative(|| field("duration"), duration)?;
        }
        metadata(|| field("metadata"), self.metadata.as_ref())
    }
}

impl UserEvent {
    /// Checks the event; `at` is its path (`user_events[0]`).
    pub fn validate(&self, at: &str) -> Result<()> {
        keys::user_id(&format!("{at}.user_id"), &self.user_id)?;
        keys::public_key(&format!("{at}.public_key"), &self.public_key)?;
        metadata(|| format!("{at}.metadata"), self.metadata.as_ref())
    }
}

impl TelemetryEvents {
    /// Checks the counts and every event. A post with no events is valid (the real answer is
    /// 200 with `processed_count` 0).
    pub fn validate(&self) -> Result<()> {
        count("worker_events", self.worker_events().len(), MAX_EVENTS_PER_POST)?;
        count("user_events", self.user_events().len(), MAX_EVENTS_PER_POST)?;
        for (i, event) in self.worker_events().iter().enumerate() {
            event.validate(&format!("worker_events[{i}]"))?;
        }
        for (i, event) in self.user_events().iter().enumerate() {
            event.validate(&format!("user_events[{i}]"))?;
        }
        Ok(())
    }
}

impl CheckpointLeaves {
    /// Checks the leaves: at least one (the real service answers an empty list with 404), at most
    /// [`MAX_LEAVES_PER_POST`], every number non-negative (the real `CHECK ≥ 0`). Two leaves of
    /// one checkpoint are valid; in the fold the newest timestamp wins, then the later one.
    pub fn validate(&self) -> Result<()> {
        if self.leaves.is_empty() {
            return Err(Error::field("leaves", "must hold at least one leaf"));
        }
        count("leaves", self.leaves.len(), MAX_LEAVES_PER_POST)?;
        for (i, leaf) in self.leaves.iter().enumerate() {
            let numbers = [
                ("checkpoint_id", leaf.checkpoint_id),
                ("fees_collected", leaf.fees_collected),
                ("user_ops_processed", leaf.user_ops_processed),
                ("total_transactions", leaf.total_transactions),
                ("slots_modified", leaf.slots_modified),
            ];
            for (name, value) in numbers {
                non_negative(|| format!("leaves[{i}].{name}"), value)?;
            }
            metadata(|| format!("leaves[{i}].metadata"), leaf.metadata.as_ref())?;
        }
        Ok(())
    }
}

impl ContractReportBody {
    /// Checks the report: a UUID, a deployer key, a bounded whitelist root, ids within `i64`
    /// (the real columns).
    pub fn validate(&self) -> Result<()> {
        let report = &self.report;
        keys::uuid("report.contract_uuid", &report.contract_uuid)?;
        keys::public_key("report.deployer", &report.deployer)?;
        let root = &report.function_whitelist_root;
        if root.is_empty() || root.len() > MAX_ROOT_LEN || !root.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::field(
                "report.function_whitelist_root",
                format!("must be 1 to {MAX_ROOT_LEN} printable ASCII characters"),
            ));
        }
        for (name, value) in
            [("report.checkpoint_id", report.checkpoint_id), ("report.contract_id", report.contract_id)]
        {
            if i64::try_from(value).is_err() {
                return Err(Error::field(name, format!("{value} is above {}", i64::MAX)));
            }
        }
        metadata(|| "report.metadata".to_owned(), report.metadata.as_ref())
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
