//! The event, user and contract reads: `/user_info`, `/worker_events`, `/user_events`,
//! `/contracts` (+`/{uuid}`), `/stats`, `/stats/jobs/counts`, and the TPS message.

use std::collections::HashMap;

use projection::query::{any_of, any_text, any_u64, conjunction, i64_range, i64_term, i64_window, text_term, Order};
use projection::read::Projections;
use projection::schema::psy::{
    Contract, ContractFields, JobFields, User, UserEvent, UserEventFields, UserFields, WorkerEvent, WorkerEventFields,
};
use serde::Serialize;
use serde_json::Value;
use shared::psy_model::{CategoryFilter, ProvingJobCircuitType, QJobTopic, UserEventTxType, WorkerEventStatus};

use super::{circuit_name, now_us, statuses, time_us, topic_name, Window, DAY_US};
use crate::error::{ApiError, Result};

/// `GET /user_info`.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    /// User id: a number when decimal.
    pub id: Value,
    /// Key as registered.
    pub public_key: String,
    /// Twitter handle.
    pub twitter_handle: String,
    /// Label.
    pub label: String,
    /// Registration time.
    pub created_at: String,
}

/// The registered user of a public key (any of its spellings `forms`), the first registered.
pub fn user_info(projections: &Projections, forms: &[String], raw: &str) -> Result<UserInfo> {
    let not_found = || ApiError::NotFound(format!("no user registered with public key {raw}"));
    let read = projections.read::<UserFields>()?.ok_or_else(not_found)?;
    let users: Vec<User> = read.page(&any_text(read.f.public_key, forms), read.f.seq, Order::Asc, 1, 0)?;
    let user = users.into_iter().next().ok_or_else(not_found)?;
    let id = user.id.parse::<u64>().map_or_else(|_| Value::from(user.id.clone()), Value::from);
    Ok(UserInfo {
        id,
        public_key: user.public_key,
        twitter_handle: user.twitter_handle,
        label: user.label,
        created_at: time_us(user.created_us),
    })
}

/// The user registered with exactly `key` (a stored spelling), if any.
pub fn registered_user(projections: &Projections, key: &str) -> Result<Option<User>> {
    let Some(read) = projections.read::<UserFields>()? else { return Ok(None) };
    Ok(read.first(read.f.public_key, key)?)
}

/// A worker event in the document's row: `id` the log seq, `start_time` = time − duration for
/// an ended attempt, `end_time` its time once `COMPLETED` or `FAILED`, then the real `source`,
/// `checkpoint_id`, `topic`, `duration`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerEventRow {
    pub id: u64,
    pub realm_id: Option<i64>,
    pub worker_public_key: Option<String>,
    pub status: &'static str,
    pub start_time: String,
    pub end_time: Option<String>,
    pub job_id: String,
    pub circuit_type: &'static str,
    pub source: &'static str,
    pub checkpoint_id: i64,
    pub topic: &'static str,
    pub duration: Option<i64>,
}

impl From<&WorkerEvent> for WorkerEventRow {
    fn from(e: &WorkerEvent) -> Self {
        let ended = matches!(e.status, WorkerEventStatus::Completed | WorkerEventStatus::Failed);
        let start = match (ended, e.duration) {
            (true, Some(ms)) => e.timestamp_us.saturating_sub(ms.saturating_mul(1_000)),
            _ => e.timestamp_us,
        };
        Self {
            id: e.seq,
            realm_id: e.realm_id,
            worker_public_key: e.public_key.clone(),
            status: e.status.doc().as_str(),
            start_time: time_us(start),
            end_time: ended.then(|| time_us(e.timestamp_us)),
            job_id: e.job_id.clone(),
            circuit_type: circuit_name(e.circuit_type),
            source: e.source.as_str(),
            checkpoint_id: e.checkpoint_id,
            topic: topic_name(e.topic),
            duration: e.duration,
        }
    }
}

/// The filters of `/worker_events`.
#[derive(Debug, Clone)]
pub struct WorkerEventFilter {
    pub realm_id: Option<i64>,
    /// Statuses matched (empty: none).
    pub status: Option<&'static [WorkerEventStatus]>,
    /// Stored spellings of the worker key.
    pub public_key: Option<Vec<String>>,
    pub topic: Option<QJobTopic>,
    pub circuit_type: Option<ProvingJobCircuitType>,
    pub from_checkpoint: Option<i64>,
    pub to_checkpoint: Option<i64>,
    pub category: Option<CategoryFilter>,
    /// Event time.
    pub window: Window,
    pub order: Order,
    pub limit: usize,
    pub offset: usize,
}

/// `GET /worker_events`: ordered by checkpoint, then time, then log seq (the real service orders
/// by `checkpoint_id, timestamp`).
pub fn worker_events(projections: &Projections, filter: &WorkerEventFilter) -> Result<Vec<WorkerEventRow>> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let mut clauses = Vec::new();
    if let Some(realm_id) = filter.realm_id {
        clauses.push(i64_term(f.realm_id, realm_id));
    }
    if let Some(status) = filter.status {
        clauses.push(statuses(f.status, status));
    }
    if let Some(forms) = &filter.public_key {
        clauses.push(any_text(f.public_key, forms));
    }
    if let Some(topic) = filter.topic {
        clauses.push(any_u64(f.topic, [u64::from(topic.value())]));
    }
    if let Some(circuit_type) = filter.circuit_type {
        clauses.push(any_u64(f.circuit_type, [u64::from(circuit_type.value())]));
    }
    clauses.extend(i64_window(f.checkpoint_id, filter.from_checkpoint, filter.to_checkpoint));
    if let Some(category) = filter.category {
        if let Some(set) = category.circuit_types {
            clauses.push(any_u64(f.circuit_type, set.iter().map(|c| u64::from(c.value()))));
        }
        if let Some(status) = category.status {
            clauses.push(statuses(f.status, &[status]));
        }
    }
    clauses.extend(i64_window(f.timestamp_us, filter.window.start, filter.window.end));
    let keys = (f.checkpoint_id, f.timestamp_us, f.seq);
    let events: Vec<WorkerEvent> =
        read.page_by_keys(&conjunction(clauses), keys, filter.order, filter.limit, filter.offset)?;
    Ok(events.iter().map(WorkerEventRow::from).collect())
}

/// A user event in the document's row: `id` the log seq, `tx_type` in the document's spelling,
/// `checkpoint_id` = `metadata.checkpoint_id`.
#[derive(Debug, Clone, Serialize)]
pub struct UserEventRow {
    pub id: u64,
    pub user_id: String,
    pub public_key: String,
    pub tx_type: &'static str,
    pub checkpoint_id: Option<i64>,
    pub timestamp: String,
}

impl From<&UserEvent> for UserEventRow {
    fn from(e: &UserEvent) -> Self {
        Self {
            id: e.seq,
            user_id: e.user_id.clone(),
            public_key: e.public_key.clone(),
            tx_type: e.tx_type.doc().as_str(),
            checkpoint_id: e.checkpoint_id,
            timestamp: time_us(e.timestamp_us),
        }
    }
}

/// The filters of `/user_events`.
#[derive(Debug, Clone)]
pub struct UserEventFilter {
    pub user_id: Option<String>,
    pub window: Window,
    /// Transaction types matched.
    pub tx_type: Option<&'static [UserEventTxType]>,
    pub order: Order,
    pub limit: usize,
    pub offset: usize,
}

/// `GET /user_events`: ordered by time, then log seq (the real service orders by `timestamp`).
pub fn user_events(projections: &Projections, filter: &UserEventFilter) -> Result<Vec<UserEventRow>> {
    let Some(read) = projections.read::<UserEventFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let mut clauses = Vec::new();
    if let Some(id) = &filter.user_id {
        clauses.push(text_term(f.user_id, id));
    }
    clauses.extend(i64_window(f.timestamp_us, filter.window.start, filter.window.end));
    if let Some(types) = filter.tx_type {
        clauses.push(any_of(f.tx_type, types, UserEventTxType::as_str));
    }
    let keys = (f.timestamp_us, f.timestamp_us, f.seq);
    let events: Vec<UserEvent> =
        read.page_by_keys(&conjunction(clauses), keys, filter.order, filter.limit, filter.offset)?;
    Ok(events.iter().map(UserEventRow::from).collect())
}

/// A contract in the document's form, with the real `contract_id`, `checkpoint_id` and
/// `function_whitelist_root` after it.
#[derive(Debug, Clone, Serialize)]
pub struct ContractRow {
    pub uuid: String,
    pub deployer: String,
    pub state_tree_height: u64,
    pub function_count: u64,
    pub functions: Value,
    pub deployed_at: String,
    pub contract_id: u64,
    pub checkpoint_id: u64,
    pub function_whitelist_root: String,
}

impl TryFrom<Contract> for ContractRow {
    type Error = ApiError;

    fn try_from(contract: Contract) -> Result<Self> {
        let functions: Value = serde_json::from_str(&contract.functions)
            .map_err(|err| ApiError::Internal(format!("contract functions: {err}")))?;
        Ok(Self {
            uuid: contract.id,
            deployer: contract.deployer,
            state_tree_height: contract.state_tree_height,
            function_count: contract.function_count,
            functions,
            deployed_at: time_us(contract.deployed_us),
            contract_id: contract.contract_id,
            checkpoint_id: contract.checkpoint_id,
            function_whitelist_root: contract.function_whitelist_root,
        })
    }
}

/// `GET /contracts`: newest first (by the log seq of a contract's first report), optionally of
/// one deployer (its stored spellings).
pub fn contracts(
    projections: &Projections,
    deployer: Option<&[String]>,
    limit: usize,
    offset: usize,
) -> Result<Vec<ContractRow>> {
    let Some(read) = projections.read::<ContractFields>()? else { return Ok(Vec::new()) };
    let clauses = deployer.iter().map(|forms| any_text(read.f.deployer, forms)).collect();
    let found: Vec<Contract> = read.page(&conjunction(clauses), read.f.seq, Order::Desc, limit, offset)?;
    found.into_iter().map(ContractRow::try_from).collect()
}

/// `GET /contracts/{uuid}`.
pub fn contract(projections: &Projections, uuid: &str) -> Result<ContractRow> {
    let not_found = || ApiError::NotFound(format!("no contract with uuid {}", crate::params::shown(uuid)));
    let read = projections.read::<ContractFields>()?.ok_or_else(not_found)?;
    let found: Contract = read.first(read.f.id, uuid)?.ok_or_else(not_found)?;
    ContractRow::try_from(found)
}

/// The service's status in `/health` and `/stats`: always `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Up {
    /// Serving.
    Ok,
}

/// `GET /stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub status: Up,
    pub worker_events_24h: u64,
    pub user_events_24h: u64,
    pub block_height: i64,
    pub timestamp: String,
}

/// `GET /stats`: worker and user events of the last 24 hours (by event time, relative to the
/// service's clock) and, as the real service, the highest checkpoint id of any worker event as
/// `block_height` (0 without events).
pub fn stats(projections: &Projections, now: i64) -> Result<Stats> {
    let now_us = now_us(now);
    let (mut worker_events, mut block_height) = (0, 0);
    if let Some(read) = projections.read::<WorkerEventFields>()? {
        block_height = read.i64_bounds(read.f.checkpoint_id)?.map_or(0, |(_, max)| max.max(0));
        worker_events = read.count(&i64_range(read.f.timestamp_us, Some(now_us - DAY_US), Some(now_us)))?;
    }
    let user_events = match projections.read::<UserEventFields>()? {
        Some(read) => read.count(&i64_range(read.f.timestamp_us, Some(now_us - DAY_US), Some(now_us)))?,
        None => 0,
    };
    Ok(Stats {
        status: Up::Ok,
        worker_events_24h: worker_events,
        user_events_24h: user_events,
        block_height,
        timestamp: time_us(now_us),
    })
}

/// `GET /stats/jobs/counts`: jobs (latest status per job id) by status in the document's keys
/// (`Pending`, `InProgress`, `Completed`, `Failed`), zeros included.
pub fn job_counts(projections: &Projections) -> Result<serde_json::Map<String, Value>> {
    let mut counts = HashMap::new();
    if let Some(read) = projections.read::<JobFields>()? {
        for status in WorkerEventStatus::ALL {
            counts.insert(*status, read.count(&statuses(read.f.status, &[*status]))?);
        }
    }
    Ok(shared::psy_model::answer::doc_status_counts(|s| counts.get(&s).copied().unwrap_or(0)))
}

/// Seconds of the TPS window: `tps` is the weighted user events of the last 12 seconds over 12.
pub const TPS_WINDOW_SECS: i64 = 12;

/// The flat TPS message: the document's fields, then the real `transaction_count` and
/// `time_window_seconds`.
#[derive(Debug, Clone, Serialize)]
pub struct TpsMessage {
    pub timestamp: String,
    pub tps: f64,
    pub block_height: i64,
    pub total_transactions_24h: u64,
    pub transaction_count: u64,
    pub time_window_seconds: i64,
}

/// The weighted user events timed in `[now − secs, now]` (unix seconds).
fn weighted_events(projections: &Projections, now: i64, secs: i64) -> Result<u64> {
    let Some(read) = projections.read::<UserEventFields>()? else { return Ok(0) };
    let f = read.f;
    let window =
        || i64_range(f.timestamp_us, Some((now - secs).saturating_mul(1_000_000)), Some(now.saturating_mul(1_000_000)));
    let mut total = 0;
    for tx_type in UserEventTxType::ALL {
        if tx_type.tps_weight() == 0 {
            continue;
        }
        let query = conjunction(vec![text_term(f.tx_type, tx_type.as_str()), window()]);
        total += read.count(&query)? * tx_type.tps_weight();
    }
    Ok(total)
}

/// The TPS message at `now` (unix seconds).
pub fn tps_message(projections: &Projections, now: i64) -> Result<TpsMessage> {
    let transactions = weighted_events(projections, now, TPS_WINDOW_SECS)?;
    let day = weighted_events(projections, now, super::DAY_SECS)?;
    let block_height = super::checkpoints::highest_checkpoint(projections)?.unwrap_or(0);
    Ok(TpsMessage {
        timestamp: crate::timefmt::rfc3339(now),
        tps: transactions as f64 / TPS_WINDOW_SECS as f64,
        block_height,
        total_transactions_24h: day,
        transaction_count: transactions,
        time_window_seconds: TPS_WINDOW_SECS,
    })
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Always `ok`.
    pub status: Up,
}

/// `GET /health`.
pub fn health() -> Health {
    Health { status: Up::Ok }
}
