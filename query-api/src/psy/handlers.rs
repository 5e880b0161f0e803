//! The Psy endpoints as plain functions: typed parameters in, JSON documents (or errors) out,
//! over the real Psy model's projection families (`projection::schema::psy`).
//!
//! Answers keep `psy-api-services.md`'s paths, field names, types and spellings (`Completed`,
//! `InProgress`, `RegisterUser`, circuit types and topics by name, RFC 3339 UTC times) and add
//! the real fields the document lacks after its own (`source`, `checkpoint_id`, `topic`,
//! `duration` on worker events). Where the document is silent the real service's computation is
//! followed (`../shared/reference/psy-real.md` §3). Stored times are unix microseconds; the
//! service's clock is in seconds.

use std::collections::HashMap;

use projection::schema::psy::{
    Contract, ContractFields, User, UserEvent, UserEventFields, UserFields, WorkerEvent, WorkerEventFields,
};
use projection::schema::Family;
use serde_json::{json, Value};
use shared::psy_model::{ProvingJobCircuitType, QJobTopic, Timestamp, WorkerEventStatus};
use tantivy::query::Query;
use tantivy::Order;

use super::input;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{
    any_text, any_u64, conjunction, count, i64_bounds, i64_range, i64_term, page_by, page_by_keys, text_term,
};

/// Default `limit` of the event lists.
pub const DEFAULT_EVENTS_LIMIT: usize = 300;
/// Largest `limit` of the event lists; larger values are capped.
pub const MAX_EVENTS_LIMIT: usize = 1_000;
/// Default `limit` of `/contracts`.
pub const DEFAULT_CONTRACTS_LIMIT: usize = 100;
/// Seconds in the statistics' "last 24 hours".
pub const DAY_SECS: i64 = 86_400;
/// Microseconds in one second.
pub const MICROS: i64 = 1_000_000;
/// Microseconds in one hour.
pub const HOUR_US: i64 = 3_600 * MICROS;
/// Microseconds in the statistics' "last 24 hours".
pub const DAY_US: i64 = DAY_SECS * MICROS;

/// A stored document that lacks a declared field: the projections are corrupt.
pub(crate) fn corrupt(err: projection::entity::MissingField) -> ApiError {
    ApiError::Internal(err.to_string())
}

/// Unix microseconds as RFC 3339 UTC (fractions only when the time has them).
pub fn time_us(micros: i64) -> String {
    Timestamp::from_unix_micros(micros).to_string()
}

/// The service's clock (unix seconds) in microseconds.
pub fn now_us(now: i64) -> i64 {
    now.saturating_mul(MICROS)
}

/// A circuit type number's name (`Unknown` for a number the real enum lacks).
pub fn circuit_name(value: u64) -> &'static str {
    u8::try_from(value)
        .ok()
        .and_then(ProvingJobCircuitType::from_value)
        .unwrap_or(ProvingJobCircuitType::Unknown)
        .name()
}

/// A topic number's name (`Invalid` for a number the real enum lacks).
pub fn topic_name(value: u64) -> &'static str {
    u8::try_from(value).ok().and_then(QJobTopic::from_value).unwrap_or(QJobTopic::Invalid).name()
}

pub(crate) fn order(params: &Params) -> Result<Order> {
    match params.text("order") {
        None | Some("desc") => Ok(Order::Desc),
        Some("asc") => Ok(Order::Asc),
        Some(other) => Err(ApiError::BadRequest(format!("`order` must be \"asc\" or \"desc\", got {other:?}"))),
    }
}

/// An RFC 3339 parameter in unix microseconds.
pub(crate) fn parse_time(name: &str, value: &str) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    let parsed = time::OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::BadRequest(format!("`{name}` must be an RFC 3339 time such as 2024-01-01T00:00:00Z, got {value:?}"))
    })?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000)
        .map_err(|_| ApiError::BadRequest(format!("`{name}` is out of range")))
}

/// The inclusive `start_time`/`end_time` window (unix microseconds; either may be absent).
pub(crate) fn time_window(params: &Params) -> Result<(Option<i64>, Option<i64>)> {
    let start = params.text("start_time").map(|v| parse_time("start_time", v)).transpose()?;
    let end = params.text("end_time").map(|v| parse_time("end_time", v)).transpose()?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::BadRequest("`start_time` is after `end_time`".into()));
        }
    }
    Ok((start, end))
}

/// The statuses as a query over a status field.
pub(crate) fn statuses(field: tantivy::schema::Field, statuses: &[WorkerEventStatus]) -> Box<dyn Query> {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    any_text(field, &names)
}

/// `GET /health`.
pub fn health() -> Value {
    json!({ "status": "ok" })
}

/// `GET /user_info`: the registered user of a public key (any of its spellings).
pub fn user_info(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["public_key"])?;
    let raw = params.text("public_key").ok_or_else(|| ApiError::BadRequest("`public_key` is required".into()))?;
    let forms = input::key_forms("public_key", raw)?;
    let not_found = || ApiError::NotFound(format!("no user registered with public key {raw}"));
    let reader = projections.family(Family::Users)?.ok_or_else(not_found)?;
    let f = UserFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let seq = crate::query::field_name(&searcher, f.seq);
    let docs = page_by(&searcher, &*any_text(f.public_key, &forms), &seq, Order::Asc, 1, 0)?;
    let doc = docs.first().ok_or_else(not_found)?;
    let user = User::from_document(doc, &f).map_err(corrupt)?;
    let id = user.id.parse::<u64>().map_or_else(|_| Value::from(user.id.clone()), Value::from);
    Ok(json!({
        "id": id,
        "public_key": user.public_key,
        "twitter_handle": user.twitter_handle,
        "label": user.label,
        "created_at": time_us(user.created_us),
    }))
}

/// A worker event in the document's row: `id` the log seq, `start_time` = time − duration for an ended attempt, `end_time` its time
/// once `COMPLETED` or `FAILED`, then the real `source`, `checkpoint_id`, `topic`, `duration`.
pub fn worker_event_row(e: &WorkerEvent) -> Value {
    let ended = matches!(e.status, WorkerEventStatus::Completed | WorkerEventStatus::Failed);
    let start = match (ended, e.duration) {
        (true, Some(ms)) => e.timestamp_us.saturating_sub(ms.saturating_mul(1_000)),
        _ => e.timestamp_us,
    };
    json!({
        "id": e.seq,
        "realm_id": e.realm_id,
        "worker_public_key": e.public_key,
        "status": e.status.doc().as_str(),
        "start_time": time_us(start),
        "end_time": ended.then(|| time_us(e.timestamp_us)),
        "job_id": e.job_id,
        "circuit_type": circuit_name(e.circuit_type),
        "source": e.source.as_str(),
        "checkpoint_id": e.checkpoint_id,
        "topic": topic_name(e.topic),
        "duration": e.duration,
    })
}

/// The parameters `/worker_events` accepts.
const WORKER_EVENT_PARAMS: &[&str] = &[
    "realm_id",
    "status",
    "public_key",
    "topic",
    "circuit_type",
    "from_checkpoint_id",
    "to_checkpoint_id",
    "offset",
    "limit",
    "order",
    "category",
    "start_time",
    "end_time",
];

/// `GET /worker_events`: ordered by checkpoint, then time, then log seq (the real service orders
/// by `checkpoint_id, timestamp`), newest first by default. `start_time`/`end_time` bound the
/// event time (the real service ignores them).
pub fn worker_events(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, WORKER_EVENT_PARAMS)?;
    let realm_id = params.integer::<i64>("realm_id")?;
    let status = input::status(&params, "status")?;
    let public_key = params.text("public_key").map(|key| input::key_forms("public_key", key)).transpose()?;
    let topic = input::topic(&params, "topic")?;
    let circuit_type = input::circuit_type(&params, "circuit_type")?;
    let from_checkpoint = params.integer::<i64>("from_checkpoint_id")?;
    let to_checkpoint = params.integer::<i64>("to_checkpoint_id")?;
    let category = input::category(&params, "category")?;
    let (start, end) = time_window(&params)?;
    let order = order(&params)?;
    let (limit, offset) = params.page(DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT)?;
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(json!([])) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let mut clauses = Vec::new();
    if let Some(realm_id) = realm_id {
        clauses.push(i64_term(f.realm_id, realm_id));
    }
    if let Some(status) = status {
        clauses.push(statuses(f.status, status));
    }
    if let Some(forms) = &public_key {
        clauses.push(any_text(f.public_key, forms));
    }
    if let Some(topic) = topic {
        clauses.push(any_u64(f.topic, [u64::from(topic.value())]));
    }
    if let Some(circuit_type) = circuit_type {
        clauses.push(any_u64(f.circuit_type, [u64::from(circuit_type.value())]));
    }
    if from_checkpoint.is_some() || to_checkpoint.is_some() {
        clauses.push(i64_range(f.checkpoint_id, from_checkpoint, to_checkpoint));
    }
    if let Some(category) = category {
        if let Some(set) = category.circuit_types {
            clauses.push(any_u64(f.circuit_type, set.iter().map(|c| u64::from(c.value()))));
        }
        if let Some(status) = category.status {
            clauses.push(statuses(f.status, &[status]));
        }
    }
    if start.is_some() || end.is_some() {
        clauses.push(i64_range(f.timestamp_us, start, end));
    }
    let keys = (f.checkpoint_id, f.timestamp_us, f.seq);
    let docs = page_by_keys(&reader.searcher(), &*conjunction(clauses), keys, order, limit, offset)?;
    let events = docs
        .iter()
        .map(|doc| Ok(worker_event_row(&WorkerEvent::from_document(doc, &f).map_err(corrupt)?)))
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(events))
}

/// A user event in the document's row: `id` the log seq, `tx_type` in the document's spelling, `checkpoint_id` = `metadata.checkpoint_id`.
pub fn user_event_row(e: &UserEvent) -> Value {
    json!({
        "id": e.seq,
        "user_id": e.user_id,
        "public_key": e.public_key,
        "tx_type": e.tx_type.doc().as_str(),
        "checkpoint_id": e.checkpoint_id,
        "timestamp": time_us(e.timestamp_us),
    })
}

/// `GET /user_events`: ordered by time, then log seq (the real service orders by `timestamp`).
pub fn user_events(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["user_id", "start_time", "end_time", "tx_type", "offset", "limit", "order"])?;
    let user_id = input::user_id(&params, "user_id")?;
    let (start, end) = time_window(&params)?;
    let tx_type = input::tx_type(&params, "tx_type")?;
    let order = order(&params)?;
    let (limit, offset) = params.page(DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT)?;
    let Some(reader) = projections.family(Family::UserEvents)? else { return Ok(json!([])) };
    let f = UserEventFields::resolve(&reader.index.schema());
    let mut clauses = Vec::new();
    if let Some(id) = &user_id {
        clauses.push(text_term(f.user_id, id));
    }
    if start.is_some() || end.is_some() {
        clauses.push(i64_range(f.timestamp_us, start, end));
    }
    if let Some(types) = tx_type {
        let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        clauses.push(any_text(f.tx_type, &names));
    }
    let keys = (f.timestamp_us, f.timestamp_us, f.seq);
    let docs = page_by_keys(&reader.searcher(), &*conjunction(clauses), keys, order, limit, offset)?;
    let events = docs
        .iter()
        .map(|doc| Ok(user_event_row(&UserEvent::from_document(doc, &f).map_err(corrupt)?)))
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(events))
}

/// A contract in the document's form, with the real `contract_id`, `checkpoint_id` and
/// `function_whitelist_root` after it.
fn contract_json(contract: &Contract) -> Result<Value> {
    let functions: Value = serde_json::from_str(&contract.functions)
        .map_err(|err| ApiError::Internal(format!("contract functions: {err}")))?;
    Ok(json!({
        "uuid": contract.id,
        "deployer": contract.deployer,
        "state_tree_height": contract.state_tree_height,
        "function_count": contract.function_count,
        "functions": functions,
        "deployed_at": time_us(contract.deployed_us),
        "contract_id": contract.contract_id,
        "checkpoint_id": contract.checkpoint_id,
        "function_whitelist_root": contract.function_whitelist_root,
    }))
}

/// `GET /contracts`: newest first (by the log seq of a contract's first report).
pub fn contracts(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["deployer", "limit", "offset"])?;
    let deployer = params.text("deployer").map(|key| input::key_forms("deployer", key)).transpose()?;
    let (limit, offset) = params.page(DEFAULT_CONTRACTS_LIMIT, MAX_EVENTS_LIMIT)?;
    let Some(reader) = projections.family(Family::Contracts)? else { return Ok(json!([])) };
    let f = ContractFields::resolve(&reader.index.schema());
    let clauses = deployer.iter().map(|forms| any_text(f.deployer, forms)).collect();
    let seq = reader.index.schema().get_field_name(f.seq).to_owned();
    let docs = page_by(&reader.searcher(), &*conjunction(clauses), &seq, Order::Desc, limit, offset)?;
    let contracts = docs
        .iter()
        .map(|doc| contract_json(&Contract::from_document(doc, &f).map_err(corrupt)?))
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(contracts))
}

/// `GET /contracts/{uuid}`.
pub fn contract(projections: &Projections, uuid: &str) -> Result<Value> {
    let not_found = || ApiError::NotFound(format!("no contract with uuid {}", crate::params::shown(uuid)));
    let reader = projections.family(Family::Contracts)?.ok_or_else(not_found)?;
    let f = ContractFields::resolve(&reader.index.schema());
    let doc = crate::query::first(reader, f.id, uuid)?.ok_or_else(not_found)?;
    contract_json(&Contract::from_document(&doc, &f).map_err(corrupt)?)
}

/// Worker events (or user events) in `[now − 24 h, now]`.
fn last_day(projections: &Projections, family: Family, now_us: i64) -> Result<u64> {
    let Some(reader) = projections.family(family)? else { return Ok(0) };
    let schema = reader.index.schema();
    let field = match family {
        Family::WorkerEvents => WorkerEventFields::resolve(&schema).timestamp_us,
        _ => UserEventFields::resolve(&schema).timestamp_us,
    };
    count(&reader.searcher(), &*i64_range(field, Some(now_us - DAY_US), Some(now_us)))
}

/// `GET /stats`: worker and user events of the last 24 hours (by event time, relative to the
/// service's clock) and, as the real service, the highest checkpoint id of any worker event as
/// `block_height` (0 without events).
pub fn stats(projections: &Projections, now: i64) -> Result<Value> {
    let now_us = now_us(now);
    let block_height = match projections.family(Family::WorkerEvents)? {
        Some(reader) => {
            let f = WorkerEventFields::resolve(&reader.index.schema());
            let searcher = reader.searcher();
            let name = crate::query::field_name(&searcher, f.checkpoint_id);
            i64_bounds(&searcher, &name)?.map_or(0, |(_, max)| max.max(0))
        }
        None => 0,
    };
    Ok(json!({
        "status": "ok",
        "worker_events_24h": last_day(projections, Family::WorkerEvents, now_us)?,
        "user_events_24h": last_day(projections, Family::UserEvents, now_us)?,
        "block_height": block_height,
        "timestamp": time_us(now_us),
    }))
}

/// `GET /stats/jobs/counts`: jobs (latest status per job id) by status in the document's keys
/// (`Pending`, `InProgress`, `Completed`, `Failed`), zeros included.
pub fn job_counts(projections: &Projections) -> Result<Value> {
    let reader = projections.family(Family::Jobs)?;
    let mut counts = HashMap::new();
    if let Some(reader) = reader {
        let f = projection::schema::psy::JobFields::resolve(&reader.index.schema());
        let searcher = reader.searcher();
        for status in WorkerEventStatus::ALL {
            counts.insert(*status, count(&searcher, &*statuses(f.status, &[*status]))?);
        }
    }
    Ok(Value::Object(shared::psy_model::answer::doc_status_counts(|s| counts.get(&s).copied().unwrap_or(0))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_times() {
        assert_eq!(circuit_name(7), "GUTATwoEndCap");
        assert_eq!(circuit_name(300), "Unknown");
        assert_eq!(topic_name(5), "AggregateJobs");
        assert_eq!(time_us(1_704_067_200 * MICROS), "2024-01-01T00:00:00Z");
        assert_eq!(time_us(1_704_067_200 * MICROS + 250_000), "2024-01-01T00:00:00.250Z");
        assert_eq!(parse_time("t", "2024-01-01T00:00:00.000001Z").ok(), Some(1_704_067_200 * MICROS + 1));
        assert!(parse_time("t", "yesterday").is_err());
    }
}
