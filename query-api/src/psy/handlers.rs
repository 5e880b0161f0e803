//! The Psy endpoints as plain functions: typed parameters in, JSON documents (or errors) out.
//! Field names and JSON types follow `psy-api-services.md`: ids and counts are integers, user
//! ids and job ids strings where the document shows strings, timestamps RFC 3339 UTC.

use std::collections::HashMap;

use serde_json::{json, Value};
use shared::enums::{JobFilterCategory, ProvingJobCircuitType, QJobTopic, WorkerEventStatus};
use shared::schema::psy::{
    Contract, ContractFields, Job, JobFields, User, UserEvent, UserEventFields, UserFields, WorkerEvent,
    WorkerEventFields,
};
use shared::schema::Family;
use tantivy::Order;

use super::input::{self, UserIdFilter};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{conjunction, count, first, i64_range, page_by, text_term, u64_range, u64_term};
use crate::timefmt::{self, rfc3339};

/// Default `limit` of the event lists.
pub const DEFAULT_EVENTS_LIMIT: usize = 300;
/// Largest `limit` of the event lists; larger values are capped.
pub const MAX_EVENTS_LIMIT: usize = 1_000;
/// Default `limit` of `/contracts`.
pub const DEFAULT_CONTRACTS_LIMIT: usize = 100;

fn corrupt(err: shared::entity::MissingField) -> ApiError {
    ApiError::Internal(err.to_string())
}

fn order(params: &Params) -> Result<Order> {
    match params.text("order") {
        None | Some("desc") => Ok(Order::Desc),
        Some("asc") => Ok(Order::Asc),
        Some(other) => Err(ApiError::BadRequest(format!("`order` must be \"asc\" or \"desc\", got {other:?}"))),
    }
}

/// The inclusive `start_time`/`end_time` window of an event list (either may be absent).
pub(crate) fn time_window(params: &Params) -> Result<(Option<i64>, Option<i64>)> {
    let start = params.text("start_time").map(|v| timefmt::parse("start_time", v)).transpose()?;
    let end = params.text("end_time").map(|v| timefmt::parse("end_time", v)).transpose()?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::BadRequest("`start_time` is after `end_time`".into()));
        }
    }
    Ok((start, end))
}

/// `GET /health`.
pub fn health() -> Value {
    json!({ "status": "ok" })
}

/// `GET /user_info`.
pub fn user_info(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["public_key"])?;
    let raw = params.text("public_key").ok_or_else(|| ApiError::BadRequest("`public_key` is required".into()))?;
    let key = input::public_key("public_key", raw)?;
    let not_found = || ApiError::NotFound(format!("no user registered with public key {key}"));
    let reader = projections.family(Family::Users)?.ok_or_else(not_found)?;
    let fields = UserFields::resolve(&reader.index.schema());
    let doc = first(reader, fields.public_key, &key)?.ok_or_else(not_found)?;
    let user = User::from_document(&doc, &fields).map_err(corrupt)?;
    Ok(json!({
        "id": user.user_id,
        "public_key": user.public_key,
        "twitter_handle": user.twitter_handle,
        "label": user.label,
        "created_at": rfc3339(user.created_at),
    }))
}

/// `GET /worker_events`.
pub fn worker_events(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(
        query,
        &[
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
        ],
    )?;
    let realm_id = params.integer::<u64>("realm_id")?;
    let status = input::status(&params, "status")?;
    let public_key = params.text("public_key").map(|key| input::public_key("public_key", key)).transpose()?;
    let topic = params.parsed::<QJobTopic>("topic")?;
    let circuit_type = params.parsed::<ProvingJobCircuitType>("circuit_type")?;
    let from_checkpoint = params.integer::<u64>("from_checkpoint_id")?;
    let to_checkpoint = params.integer::<u64>("to_checkpoint_id")?;
    let category = params.parsed::<JobFilterCategory>("category")?;
    let (start, end) = time_window(&params)?;
    let order = order(&params)?;
    let (limit, offset) = params.page(DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT)?;
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(json!([])) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let mut clauses = Vec::new();
    if let Some(realm_id) = realm_id {
        clauses.push(u64_term(f.realm_id, realm_id));
    }
    if let Some(status) = status {
        clauses.push(text_term(f.status, status.as_str()));
    }
    if let Some(key) = &public_key {
        clauses.push(text_term(f.worker_public_key, key));
    }
    if let Some(topic) = topic {
        clauses.push(text_term(f.topic, topic.as_str()));
    }
    if let Some(circuit_type) = circuit_type {
        clauses.push(text_term(f.circuit_type, circuit_type.as_str()));
    }
    if from_checkpoint.is_some() || to_checkpoint.is_some() {
        clauses.push(u64_range(f.checkpoint_id, from_checkpoint, to_checkpoint));
    }
    if let Some(category) = category.filter(|c| *c != JobFilterCategory::All) {
        clauses.push(text_term(f.category, category.as_str()));
    }
    if start.is_some() || end.is_some() {
        clauses.push(i64_range(f.timestamp, start, end));
    }
    let docs = page_by(&reader.searcher(), &*conjunction(clauses), "sort_key", order, limit, offset)?;
    let events = docs
        .iter()
        .map(|doc| {
            let e = WorkerEvent::from_document(doc, &f).map_err(corrupt)?;
            Ok(json!({
                "id": e.seq,
                "realm_id": e.realm_id,
                "worker_public_key": e.worker_public_key,
                "status": e.status,
                "start_time": rfc3339(e.start_time),
                "end_time": e.end_time.map(rfc3339),
                "job_id": e.job_id.to_string(),
                "circuit_type": e.circuit_type,
            }))
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(events))
}

/// `GET /user_events`.
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
    match user_id {
        Some(UserIdFilter::Id(id)) => clauses.push(u64_term(f.user_id, id)),
        Some(UserIdFilter::Unknown) => return Ok(json!([])),
        None => {}
    }
    if start.is_some() || end.is_some() {
        clauses.push(i64_range(f.timestamp, start, end));
    }
    if let Some(tx_type) = tx_type {
        clauses.push(text_term(f.tx_type, tx_type.as_str()));
    }
    let docs = page_by(&reader.searcher(), &*conjunction(clauses), "sort_key", order, limit, offset)?;
    let events = docs
        .iter()
        .map(|doc| {
            let e = UserEvent::from_document(doc, &f).map_err(corrupt)?;
            Ok(json!({
                "id": e.seq,
                "user_id": e.user_id.to_string(),
                "public_key": e.public_key,
                "tx_type": e.tx_type,
                "checkpoint_id": e.checkpoint_id,
                "timestamp": rfc3339(e.timestamp),
            }))
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(events))
}

fn contract_json(contract: &Contract) -> Result<Value> {
    let functions: Value = serde_json::from_str(&contract.functions)
        .map_err(|err| ApiError::Internal(format!("contract functions: {err}")))?;
    Ok(json!({
        "uuid": contract.id,
        "deployer": contract.deployer,
        "state_tree_height": contract.state_tree_height,
        "function_count": contract.function_count,
        "functions": functions,
        "deployed_at": rfc3339(contract.deployed_at),
    }))
}

/// `GET /contracts`: newest deployment first.
pub fn contracts(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let params = Params::new(query, &["deployer", "limit", "offset"])?;
    let deployer = params.text("deployer").map(|key| input::public_key("deployer", key)).transpose()?;
    let (limit, offset) = params.page(DEFAULT_CONTRACTS_LIMIT, MAX_EVENTS_LIMIT)?;
    let Some(reader) = projections.family(Family::Contracts)? else { return Ok(json!([])) };
    let f = ContractFields::resolve(&reader.index.schema());
    let clauses = deployer.iter().map(|key| text_term(f.deployer, key)).collect();
    let docs = page_by(&reader.searcher(), &*conjunction(clauses), "seq", Order::Desc, limit, offset)?;
    let contracts = docs
        .iter()
        .map(|doc| contract_json(&Contract::from_document(doc, &f).map_err(corrupt)?))
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(contracts))
}

/// `GET /contracts/{uuid}`.
pub fn contract(projections: &Projections, uuid: &str) -> Result<Value> {
    let not_found = || ApiError::NotFound(format!("no contract with uuid {uuid:?}"));
    let reader = projections.family(Family::Contracts)?.ok_or_else(not_found)?;
    let f = ContractFields::resolve(&reader.index.schema());
    let doc = first(reader, f.id, uuid)?.ok_or_else(not_found)?;
    contract_json(&Contract::from_document(&doc, &f).map_err(corrupt)?)
}

/// `GET /checkpoint/job-events/{checkpoint_id}`: the checkpoint's jobs (folded from their
/// worker events), in job order.
pub fn checkpoint_job_events(projections: &Projections, checkpoint_id: u64) -> Result<Value> {
    let Some(reader) = projections.family(Family::Jobs)? else { return Ok(json!([])) };
    let f = JobFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let query = u64_term(f.checkpoint_id, checkpoint_id);
    let total = count(&searcher, &*query)? as usize;
    let docs = page_by(&searcher, &*query, "job_id", Order::Asc, total, 0)?;
    let jobs = docs
        .iter()
        .map(|doc| {
            let job = Job::from_document(doc, &f).map_err(corrupt)?;
            Ok(json!({
                "id": job.job_id,
                "checkpoint_id": job.checkpoint_id,
                "job_id": job.job_id.to_string(),
                "worker_public_key": job.worker_public_key,
                "circuit_type": job.circuit_type,
                "status": job.status,
                "duration_ms": job.duration_ms,
                "start_time": rfc3339(job.start_time),
                "end_time": job.end_time.map(rfc3339),
            }))
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(Value::Array(jobs))
}

/// Seconds in the statistics' "last 24 hours".
pub const DAY_SECS: i64 = 86_400;

/// `GET /stats`: events of the last 24 hours (by event time, relative to the service's clock) and
/// the newest block height the indexer's telemetry saw (0 before its first poll).
pub fn stats(projections: &Projections, now: i64) -> Result<Value> {
    let window = |family: Family| -> Result<u64> {
        let Some(reader) = projections.family(family)? else { return Ok(0) };
        let field = reader.index.schema().get_field("timestamp")?;
        count(&reader.searcher(), &*i64_range(field, Some(now - DAY_SECS), Some(now)))
    };
    let block_height = match projections.family(Family::Telemetry)? {
        Some(reader) => {
            let f = shared::schema::psy::TelemetrySampleFields::resolve(&reader.index.schema());
            let newest = page_by(&reader.searcher(), &tantivy::query::AllQuery, "sample_slot", Order::Desc, 1, 0)?;
            match newest.first() {
                Some(doc) => {
                    shared::schema::psy::TelemetrySample::from_document(doc, &f).map_err(corrupt)?.block_height
                }
                None => 0,
            }
        }
        None => 0,
    };
    Ok(json!({
        "status": "ok",
        "worker_events_24h": window(Family::WorkerEvents)?,
        "user_events_24h": window(Family::UserEvents)?,
        "block_height": block_height,
        "timestamp": rfc3339(now),
    }))
}

/// `GET /stats/jobs/counts`: jobs by current status (every status, zeros included).
pub fn job_counts(projections: &Projections) -> Result<Value> {
    let mut counts = serde_json::Map::new();
    let reader = projections.family(Family::Jobs)?;
    for status in WorkerEventStatus::ALL {
        let n = match reader {
            Some(reader) => {
                let f = JobFields::resolve(&reader.index.schema());
                count(&reader.searcher(), &*text_term(f.status, status.as_str()))?
            }
            None => 0,
        };
        counts.insert(status.as_str().to_owned(), n.into());
    }
    Ok(Value::Object(counts))
}
