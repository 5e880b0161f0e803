//! `/worker_events_aggregations` and `/user_events_aggregations` (one row per time bucket in the
//! document's fields), and the realm statistics (`/stats/realms`, `/stats/realms/{id}`,
//! `/stats/jobs/all-realms`): tantivy aggregations over fast fields (a histogram for fixed
//! intervals, a range aggregation over calendar months, terms for the per-status or per-type
//! counts and the distinct workers, realms and users).
//!
//! Buckets: `2min`, `1h`, `1d` (UTC days), `1w` (weeks starting Monday 00:00 UTC), `1m` (calendar
//! months, UTC), `all_time` (one bucket stamped with the first event's time), over event times in
//! unix microseconds. Only buckets with events are listed; `order` (default `desc`) sorts them by
//! time before `offset`/`limit` (default 100, capped at 1000). `unique_workers` is exact: a terms
//! aggregation over worker keys within each returned bucket (events without a key count in no
//! worker). `user_tx_count` counts `GUTA` and `USER_ENDCAP` events (the document's
//! `UserTransaction`).
//!
//! Realms are the `realm_id`s worker events report (there is no realm registry in the real
//! model).

use std::collections::HashMap;

use projection::schema::psy::{JobFields, UserEventFields, WorkerEventFields};
use projection::schema::Family;
use serde_json::{json, Value};
use shared::psy_model::{UserEventTxType, WorkerEventSource, WorkerEventStatus};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::query::Query;
use tantivy::Searcher;

use super::handlers::{now_us, statuses, time_us, time_window, DAY_US, HOUR_US, MICROS};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{conjunction, count, field_name, i64_range, i64_term, text_term};
use crate::timefmt::{month_bounds, END_OF_CALENDAR};

/// Default number of buckets returned.
pub const DEFAULT_BUCKETS: usize = 100;
/// Largest number of buckets returned; larger limits are capped.
pub const MAX_BUCKETS: usize = 1_000;
/// Buckets one aggregation may build (tantivy's default is 65,000; nested per-bucket worker
/// terms need more, and tantivy's memory limit of 500 MB still bounds them).
const MAX_AGGREGATION_BUCKETS: u32 = 2_000_000;
/// Distinct workers counted exactly per bucket.
pub(crate) const MAX_DISTINCT_WORKERS: u64 = 65_000;
/// Seconds from the epoch (a Thursday) to the first Monday 00:00 UTC: aligns weekly buckets.
const WEEK_OFFSET_SECS: i64 = 4 * 86_400;

/// A bucket size of the aggregation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSize {
    /// Fixed length in seconds, with an alignment offset in seconds.
    Fixed { seconds: i64, offset: i64 },
    /// Calendar months (UTC).
    Month,
    /// Everything in one bucket.
    AllTime,
}

impl BucketSize {
    /// Parses the `bucket` parameter of the event aggregations.
    pub fn parse(value: &str) -> Result<Self> {
        Self::parse_among("bucket", value, &["2min", "1h", "1d", "1w", "1m", "all_time"])
    }

    /// Parses a bucket name among those an endpoint accepts (`2min`/`2m` two minutes, `1h`, `1d`,
    /// `1w`, `1m` a calendar month, `all_time`).
    pub fn parse_among(param: &str, value: &str, accepted: &[&str]) -> Result<Self> {
        let size = match value {
            "2min" | "2m" => Some(Self::Fixed { seconds: 120, offset: 0 }),
            "1h" => Some(Self::Fixed { seconds: 3_600, offset: 0 }),
            "1d" => Some(Self::Fixed { seconds: 86_400, offset: 0 }),
            "1w" => Some(Self::Fixed { seconds: 604_800, offset: WEEK_OFFSET_SECS }),
            "1m" => Some(Self::Month),
            "all_time" => Some(Self::AllTime),
            _ => None,
        };
        size.filter(|_| accepted.contains(&value)).ok_or_else(|| {
            ApiError::BadRequest(format!("`{param}` must be one of {}, got {value:?}", accepted.join(", ")))
        })
    }
}

/// Runs an aggregation request (tantivy's JSON form) and returns its JSON result.
pub(crate) fn aggregate(searcher: &Searcher, query: &dyn Query, request: Value) -> Result<Value> {
    let aggregations: Aggregations =
        serde_json::from_value(request).map_err(|err| ApiError::Internal(format!("aggregation request: {err}")))?;
    let limits = tantivy::aggregation::AggregationLimitsGuard::new(None, Some(MAX_AGGREGATION_BUCKETS));
    let context = AggContextParams::new(limits, tantivy::tokenizer::TokenizerManager::default());
    let collector = AggregationCollector::from_aggs(aggregations, context);
    let results = searcher.search(query, &collector)?;
    serde_json::to_value(results).map_err(|err| ApiError::Internal(format!("aggregation result: {err}")))
}

/// One time bucket: its bounds, its document count and its sub-aggregation results.
pub(crate) struct Bucket {
    /// First microsecond of the bucket.
    pub start: i64,
    /// First microsecond after it.
    pub end: i64,
    /// Documents in it.
    pub total: u64,
    /// The results of the sub-aggregations, by name.
    pub aggs: Value,
}

/// The document count of every key of a terms (sub-)aggregation result.
pub(crate) fn sub_counts(bucket: &Value, name: &str) -> HashMap<String, u64> {
    bucket[name]["buckets"]
        .as_array()
        .map(|buckets| {
            buckets.iter().filter_map(|b| Some((b["key"].as_str()?.to_owned(), b["doc_count"].as_u64()?))).collect()
        })
        .unwrap_or_default()
}

/// Computes the non-empty buckets of `query` over `time_field` (unix microseconds), each with
/// the `sub` aggregations.
pub(crate) fn buckets(
    searcher: &Searcher,
    query: &dyn Query,
    time_field: &str,
    sub: Value,
    size: BucketSize,
) -> Result<Vec<Bucket>> {
    let span = || -> Result<Option<(i64, i64)>> {
        let stats = aggregate(searcher, query, json!({ "span": { "stats": { "field": time_field } } }))?;
        Ok(stats["span"]["min"].as_f64().zip(stats["span"]["max"].as_f64()).map(|(min, max)| (min as i64, max as i64)))
    };
    let to_bucket = |start: i64, end: i64, value: &Value| Bucket {
        start,
        end,
        total: value["doc_count"].as_u64().unwrap_or(0),
        aggs: value.clone(),
    };
    let all: Vec<Bucket> = match size {
        BucketSize::AllTime => {
            let Some((min, max)) = span()? else { return Ok(Vec::new()) };
            let result = aggregate(
                searcher,
                query,
                json!({ "all": { "range": { "field": time_field, "ranges": [{ "from": min as f64, "to": max.saturating_add(1) as f64 }] }, "aggs": sub } }),
            )?;
            result["all"]["buckets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| to_bucket(min, max.saturating_add(1), b))
                .collect()
        }
        BucketSize::Month => {
            let Some((min, max)) = span()? else { return Ok(Vec::new()) };
            let first = time::OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp();
            let seconds = |us: i64| us.div_euclid(MICROS).clamp(first, END_OF_CALENDAR - 1);
            let (min, max) = (seconds(min), seconds(max));
            let mut ranges = Vec::new();
            let mut start = month_bounds(min).map_or(first, |(start, _)| start);
            while start <= max {
                let Some((_, next)) = month_bounds(start) else { break };
                ranges.push(json!({ "from": (start * MICROS) as f64, "to": (next * MICROS) as f64 }));
                start = next;
            }
            let result = aggregate(
                searcher,
                query,
                json!({ "months": { "range": { "field": time_field, "ranges": ranges }, "aggs": sub } }),
            )?;
            result["months"]["buckets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    let from = b["from"].as_f64()? as i64;
                    Some(to_bucket(from, month_bounds(from.div_euclid(MICROS))?.1 * MICROS, b))
                })
                .collect()
        }
        BucketSize::Fixed { seconds, offset } => {
            let (interval, offset) = (seconds * MICROS, offset * MICROS);
            let request = json!({ "hist": {
                "histogram": { "field": time_field, "interval": interval as f64, "offset": offset as f64, "min_doc_count": 1 },
                "aggs": sub,
            }});
            let result = aggregate(searcher, query, request)?;
            result["hist"]["buckets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    let start = b["key"].as_f64()? as i64;
                    Some(to_bucket(start, start.saturating_add(interval), b))
                })
                .collect()
        }
    };
    Ok(all.into_iter().filter(|b| b.total > 0).collect())
}

/// A `by_key` terms sub-aggregation over a text field with few values.
fn by_key(field: &str) -> Value {
    json!({ "by_key": { "terms": { "field": field, "size": 100 } } })
}

/// Largest number of buckets computed with their distinct workers in a single pass.
const SINGLE_PASS_BUCKETS: i64 = 48;

/// An upper bound of the buckets a request spans, from the time field's column bounds.
fn bucket_estimate(searcher: &Searcher, time_field: &str, request: &Request) -> Result<i64> {
    let Some((min, max)) = crate::query::i64_bounds(searcher, time_field)? else { return Ok(0) };
    let (min, max) = (request.start.map_or(min, |s| s.max(min)), request.end.map_or(max, |e| e.min(max)));
    let seconds = max.saturating_sub(min).max(0) / MICROS;
    Ok(match request.size {
        BucketSize::Fixed { seconds: interval, .. } => seconds / interval + 2,
        BucketSize::Month => seconds / (28 * 86_400) + 2,
        BucketSize::AllTime => 1,
    })
}

/// A parsed aggregation request (times in unix microseconds).
struct Request {
    start: Option<i64>,
    end: Option<i64>,
    size: BucketSize,
    descending: bool,
    limit: usize,
    offset: usize,
}

fn request(query: HashMap<String, String>) -> Result<Request> {
    let params = Params::new(query, &["start_time", "end_time", "bucket", "offset", "limit", "order"])?;
    let (start, end) = time_window(&params)?;
    let size = BucketSize::parse(params.text("bucket").unwrap_or("1h"))?;
    let descending = super::handlers::order(&params)? == tantivy::Order::Desc;
    let (limit, offset) = params.page(DEFAULT_BUCKETS, MAX_BUCKETS)?;
    Ok(Request { start, end, size, descending, limit, offset })
}

fn page(mut buckets: Vec<Bucket>, request: &Request) -> Vec<Bucket> {
    buckets.sort_by_key(|b| b.start);
    if request.descending {
        buckets.reverse();
    }
    buckets.into_iter().skip(request.offset).take(request.limit).collect()
}

/// `GET /worker_events_aggregations`, cached per index generation.
pub fn worker_events(state: &crate::State, query: HashMap<String, String>) -> Result<Value> {
    cached(state, Family::WorkerEvents, "/worker_events_aggregations", query, |projections, query| {
        worker_events_planned(projections, query, SINGLE_PASS_BUCKETS)
    })
}

/// Answers from the cache while `family`'s index is unchanged.
fn cached(
    state: &crate::State,
    family: Family,
    path: &str,
    query: HashMap<String, String>,
    compute: impl FnOnce(&Projections, HashMap<String, String>) -> Result<Value>,
) -> Result<Value> {
    let Some(reader) = state.projections.family(family)? else { return compute(&state.projections, query) };
    let key = crate::cache::request_key(path, &query);
    state.answers.get_or_compute(key, reader.generation(), || compute(&state.projections, query))
}

/// `GET /worker_events_aggregations`, computing statuses and distinct workers in one pass when
/// the request spans at most `single_pass_buckets` buckets, else in two.
pub fn worker_events_planned(
    projections: &Projections,
    query: HashMap<String, String>,
    single_pass_buckets: i64,
) -> Result<Value> {
    let request = request(query)?;
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(json!([])) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let time = field_name(&searcher, f.timestamp_us);
    let time_filter = |from: Option<i64>, to: Option<i64>| {
        if from.is_some() || to.is_some() {
            vec![i64_range(f.timestamp_us, from, to)]
        } else {
            Vec::new()
        }
    };
    let base = conjunction(time_filter(request.start, request.end));
    let mut sub = by_key(&field_name(&searcher, f.status));
    sub["workers"] = json!({ "terms": { "field": field_name(&searcher, f.public_key), "size": MAX_DISTINCT_WORKERS } });
    let found = if bucket_estimate(&searcher, &time, &request)? <= single_pass_buckets {
        // Few buckets: statuses and distinct workers in one pass.
        page(buckets(&searcher, &*base, &time, sub, request.size)?, &request)
    } else {
        // Many buckets: which buckets the page holds first (counts only), then statuses and
        // distinct workers over the time the page spans.
        let listed = page(buckets(&searcher, &*base, &time, json!({}), request.size)?, &request);
        let (Some(first), Some(last)) = (listed.iter().map(|b| b.start).min(), listed.iter().map(|b| b.end).max())
        else {
            return Ok(json!([]));
        };
        let lower = request.start.map_or(first, |s| s.max(first));
        let upper = request.end.map_or(last - 1, |e| e.min(last - 1));
        let spanned = conjunction(time_filter(Some(lower), Some(upper)));
        let mut detailed: HashMap<i64, Bucket> =
            buckets(&searcher, &*spanned, &time, sub, request.size)?.into_iter().map(|b| (b.start, b)).collect();
        listed.into_iter().filter_map(|b| detailed.remove(&b.start)).collect()
    };
    let mut items = Vec::with_capacity(found.len());
    for bucket in found {
        let by_status = sub_counts(&bucket.aggs, "by_key");
        let count = |status: WorkerEventStatus| by_status.get(status.as_str()).copied().unwrap_or(0);
        items.push(json!({
            "time_bucket": time_us(bucket.start),
            "total_events": bucket.total,
            "completed_events": count(WorkerEventStatus::Completed),
            "failed_events": count(WorkerEventStatus::Failed),
            "unique_workers": bucket.aggs["workers"]["buckets"].as_array().map_or(0, Vec::len),
        }));
    }
    Ok(Value::Array(items))
}

/// `GET /user_events_aggregations`, cached per index generation.
pub fn user_events(state: &crate::State, query: HashMap<String, String>) -> Result<Value> {
    cached(state, Family::UserEvents, "/user_events_aggregations", query, user_events_uncached)
}

/// `GET /user_events_aggregations`, computed.
pub fn user_events_uncached(projections: &Projections, query: HashMap<String, String>) -> Result<Value> {
    let request = request(query)?;
    let Some(reader) = projections.family(Family::UserEvents)? else { return Ok(json!([])) };
    let f = UserEventFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let clauses = if request.start.is_some() || request.end.is_some() {
        vec![i64_range(f.timestamp_us, request.start, request.end)]
    } else {
        Vec::new()
    };
    let (time, tx_type) = (field_name(&searcher, f.timestamp_us), field_name(&searcher, f.tx_type));
    let found = page(buckets(&searcher, &*conjunction(clauses), &time, by_key(&tx_type), request.size)?, &request);
    Ok(Value::Array(
        found
            .into_iter()
            .map(|bucket| {
                let by_type = sub_counts(&bucket.aggs, "by_key");
                let count = |kind: UserEventTxType| by_type.get(kind.as_str()).copied().unwrap_or(0);
                json!({
                    "time_bucket": time_us(bucket.start),
                    "total_events": bucket.total,
                    "register_user_count": count(UserEventTxType::RegisterUser),
                    "deploy_contract_count": count(UserEventTxType::DeployContract),
                    "user_tx_count": count(UserEventTxType::Guta) + count(UserEventTxType::UserEndCap),
                })
            })
            .collect(),
    ))
}

/// Average of an integer fast field over the matching documents that have it (`None` when
/// none): their sum over their count, the same whatever the segments.
pub(crate) fn average(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<Option<f64>> {
    let result = aggregate(searcher, query, json!({ "stats": { "stats": { "field": field } } }))?;
    Ok(stats_average(&result["stats"]))
}

/// The average of a `stats` aggregation result over an integer field: its sum (rounded to the
/// integer it is: tantivy's float sum may be off in the last bits) over its count (`None`
/// without values).
pub(crate) fn stats_average(stats: &Value) -> Option<f64> {
    let count = stats["count"].as_u64().filter(|n| *n > 0)?;
    Some(stats["sum"].as_f64()?.round() / count as f64)
}

/// Distinct values of a fast field over the matching documents (documents without it count in
/// none).
pub(crate) fn distinct(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<usize> {
    Ok(distinct_values(searcher, query, field)?.len())
}

/// The distinct values of a fast field over the matching documents, as JSON keys.
pub(crate) fn distinct_values(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<Vec<Value>> {
    let result =
        aggregate(searcher, query, json!({ "values": { "terms": { "field": field, "size": MAX_DISTINCT_WORKERS } } }))?;
    Ok(result["values"]["buckets"].as_array().map(|b| b.iter().map(|b| b["key"].clone()).collect()).unwrap_or_default())
}

/// The realm ids worker events report, ascending.
pub(crate) fn realm_ids(projections: &Projections) -> Result<Vec<i64>> {
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(Vec::new()) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let keys = distinct_values(&searcher, &tantivy::query::AllQuery, &field_name(&searcher, f.realm_id))?;
    let mut realms: Vec<i64> = keys.iter().filter_map(|k| k.as_f64()).map(|k| k as i64).collect();
    realms.sort_unstable();
    Ok(realms)
}

/// Whether some worker event reports `realm_id`.
pub(crate) fn realm_exists(projections: &Projections, realm_id: i64) -> Result<bool> {
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(false) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    Ok(count(&reader.searcher(), &*i64_term(f.realm_id, realm_id))? > 0)
}

/// Worker-event statistics of one realm or all over a window ending at `now_us`.
struct EventWindow {
    searcher: Searcher,
    f: WorkerEventFields,
    realm: Option<i64>,
    now_us: i64,
}

impl EventWindow {
    fn query(&self, window_us: Option<i64>, mut clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
        if let Some(realm) = self.realm {
            clauses.push(i64_term(self.f.realm_id, realm));
        }
        if let Some(window) = window_us {
            clauses.push(i64_range(self.f.timestamp_us, Some(self.now_us - window), Some(self.now_us)));
        }
        conjunction(clauses)
    }

    /// Distinct worker keys of the events in the window (of `source`, when given).
    fn workers(&self, window_us: i64, source: Option<WorkerEventSource>) -> Result<usize> {
        let clauses = source.map(|s| text_term(self.f.source, s.as_str())).into_iter().collect();
        distinct(&self.searcher, &*self.query(Some(window_us), clauses), &field_name(&self.searcher, self.f.public_key))
    }

    /// Distinct realms of the events in the window.
    fn realms(&self, window_us: Option<i64>) -> Result<usize> {
        distinct(&self.searcher, &*self.query(window_us, Vec::new()), &field_name(&self.searcher, self.f.realm_id))
    }

    /// Events with status `PROCESSING`, all time (raw rows, as the real service counts them).
    fn processing(&self) -> Result<u64> {
        count(&self.searcher, &*self.query(None, vec![statuses(self.f.status, &[WorkerEventStatus::Processing])]))
    }

    /// Average duration in seconds of the `COMPLETED` events with a duration in the last 24 hours.
    fn average_completion_secs(&self) -> Result<f64> {
        let completed = self.query(Some(DAY_US), vec![statuses(self.f.status, &[WorkerEventStatus::Completed])]);
        let average_ms = average(&self.searcher, &*completed, &field_name(&self.searcher, self.f.duration))?;
        Ok(average_ms.unwrap_or(0.0) / 1_000.0)
    }
}

fn event_window(projections: &Projections, realm: Option<i64>, now_us: i64) -> Result<Option<EventWindow>> {
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(None) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    Ok(Some(EventWindow { searcher: reader.searcher(), f, realm, now_us }))
}

/// Jobs (latest status per job) whose latest event is in the last 24 hours, optionally of one
/// realm, by status.
fn jobs_last_day(projections: &Projections, realm: Option<i64>, now_us: i64) -> Result<HashMap<String, u64>> {
    let Some(reader) = projections.family(Family::Jobs)? else { return Ok(HashMap::new()) };
    let f = JobFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let mut clauses = vec![i64_range(f.timestamp_us, Some(now_us - DAY_US), Some(now_us))];
    if let Some(realm) = realm {
        clauses.push(i64_term(f.realm_id, realm));
    }
    let result = aggregate(&searcher, &*conjunction(clauses), by_key(&field_name(&searcher, f.status)))?;
    Ok(sub_counts(&result, "by_key"))
}

/// Distinct user keys of user events in the window before `now_us`.
fn active_users(projections: &Projections, window_us: i64, now_us: i64) -> Result<usize> {
    let Some(reader) = projections.family(Family::UserEvents)? else { return Ok(0) };
    let f = UserEventFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let query = i64_range(f.timestamp_us, Some(now_us - window_us), Some(now_us));
    distinct(&searcher, &*query, &field_name(&searcher, f.public_key))
}

/// `GET /stats/realms`: the document's `total_realms` (realms any worker event reports),
/// `active_realms` (realms with worker events in the last 24 hours), `total_jobs_24h` (jobs
/// whose latest event is in the last 24 hours) and `average_completion_time` (seconds, over the
/// last 24 hours' `COMPLETED` events with a duration); then the real service's
/// `total_processing_tasks`, `active_workers_1h`/`_24h`, `active_realms_1h`/`_24h`,
/// `active_users_1h`/`_24h` (distinct user keys of user events) and `last_updated`.
pub fn realms_stats(projections: &Projections, now: i64) -> Result<Value> {
    let now_us = now_us(now);
    let jobs: u64 = jobs_last_day(projections, None, now_us)?.values().sum();
    let (mut total, mut active_1h, mut active_24h, mut workers_1h, mut workers_24h) = (0, 0, 0, 0, 0);
    let (mut processing, mut average) = (0, 0.0);
    if let Some(events) = event_window(projections, None, now_us)? {
        total = events.realms(None)?;
        (active_1h, active_24h) = (events.realms(Some(HOUR_US))?, events.realms(Some(DAY_US))?);
        (workers_1h, workers_24h) = (events.workers(HOUR_US, None)?, events.workers(DAY_US, None)?);
        processing = events.processing()?;
        average = events.average_completion_secs()?;
    }
    Ok(json!({
        "total_realms": total,
        "active_realms": active_24h,
        "total_jobs_24h": jobs,
        "average_completion_time": average,
        "total_processing_tasks": processing,
        "active_workers_1h": workers_1h,
        "active_workers_24h": workers_24h,
        "active_realms_1h": active_1h,
        "active_realms_24h": active_24h,
        "active_users_1h": active_users(projections, HOUR_US, now_us)?,
        "active_users_24h": active_users(projections, DAY_US, now_us)?,
        "last_updated": time_us(now_us),
    }))
}

/// `GET /stats/realms/{realm_id}` (404 for a realm no worker event reports): the document's
/// `jobs_24h` (the realm's jobs whose latest event is in the last 24 hours), `active_workers`
/// (distinct workers of its events in the last 24 hours), `average_completion_time` (seconds)
/// and `success_rate` (completed over completed-or-failed among those jobs, 0 without either);
/// then the real service's `processing_tasks`, `active_workers_1h`/`_24h`, `active_users_1h`/
/// `_24h` (distinct keys of the realm's `REALM`-sourced events) and `last_updated`.
pub fn realm_stats(projections: &Projections, realm_id: u64, now: i64) -> Result<Value> {
    let not_found = || ApiError::NotFound(format!("no realm with id {realm_id}"));
    let realm = i64::try_from(realm_id).map_err(|_| not_found())?;
    let now_us = now_us(now);
    let events = event_window(projections, Some(realm), now_us)?.ok_or_else(not_found)?;
    if !realm_exists(projections, realm)? {
        return Err(not_found());
    }
    let jobs = jobs_last_day(projections, Some(realm), now_us)?;
    let status = |s: WorkerEventStatus| jobs.get(s.as_str()).copied().unwrap_or(0);
    let (completed, failed) = (status(WorkerEventStatus::Completed), status(WorkerEventStatus::Failed));
    let success_rate = if completed + failed == 0 { 0.0 } else { completed as f64 / (completed + failed) as f64 };
    let workers_24h = events.workers(DAY_US, None)?;
    Ok(json!({
        "realm_id": realm,
        "jobs_24h": jobs.values().sum::<u64>(),
        "active_workers": workers_24h,
        "average_completion_time": events.average_completion_secs()?,
        "success_rate": success_rate,
        "processing_tasks": events.processing()?,
        "active_workers_1h": events.workers(HOUR_US, None)?,
        "active_workers_24h": workers_24h,
        "active_users_1h": events.workers(HOUR_US, Some(WorkerEventSource::Realm))?,
        "active_users_24h": events.workers(DAY_US, Some(WorkerEventSource::Realm))?,
        "last_updated": time_us(now_us),
    }))
}

/// `GET /stats/jobs/all-realms`: every realm worker events report, ascending, with its jobs
/// (latest status per job, all time, counted in the realm of the job's latest event) by outcome;
/// `success_rate` is completed over total (0 for a realm without jobs).
pub fn jobs_by_realm(projections: &Projections) -> Result<Value> {
    let realms = realm_ids(projections)?;
    let mut counts: HashMap<i64, (u64, HashMap<String, u64>)> = HashMap::new();
    if let Some(jobs) = projections.family(Family::Jobs)? {
        let f = JobFields::resolve(&jobs.index.schema());
        let searcher = jobs.searcher();
        let request = json!({ "realms": { "terms": { "field": field_name(&searcher, f.realm_id), "size": 65_000 },
            "aggs": by_key(&field_name(&searcher, f.status)) } });
        let result = aggregate(&searcher, &tantivy::query::AllQuery, request)?;
        for bucket in result["realms"]["buckets"].as_array().into_iter().flatten() {
            if let (Some(realm), Some(total)) = (bucket["key"].as_f64(), bucket["doc_count"].as_u64()) {
                counts.insert(realm as i64, (total, sub_counts(bucket, "by_key")));
            }
        }
    }
    let items = realms
        .into_iter()
        .map(|realm| {
            let (total, by_status) = counts.remove(&realm).unwrap_or_default();
            let count = |s: WorkerEventStatus| by_status.get(s.as_str()).copied().unwrap_or(0);
            let completed = count(WorkerEventStatus::Completed);
            let success_rate = if total == 0 { 0.0 } else { completed as f64 / total as f64 };
            json!({
                "realm_id": realm,
                "total_jobs": total,
                "completed_jobs": completed,
                "failed_jobs": count(WorkerEventStatus::Failed),
                "success_rate": success_rate,
            })
        })
        .collect();
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(BucketSize::parse("1w").ok(), Some(BucketSize::Fixed { seconds: 604_800, offset: 4 * 86_400 }));
        assert_eq!(month_bounds(1_720_000_000), Some((1_719_792_000, 1_722_470_400))); // July 2024
        assert_eq!(month_bounds(1_735_689_599).unwrap().1, 1_735_689_600); // December 2024 → January 2025
        assert_eq!(month_bounds(END_OF_CALENDAR - 1).unwrap().1, END_OF_CALENDAR, "December 9999 ends");
        assert_eq!(month_bounds(i64::MAX), None);
        assert!(BucketSize::parse("5min").is_err());
    }
}
