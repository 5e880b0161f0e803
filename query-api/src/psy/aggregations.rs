//! `/worker_events_aggregations` and `/user_events_aggregations`: time buckets computed with
//! tantivy aggregations over fast fields (a histogram for fixed intervals, a range aggregation
//! over calendar months, terms for the per-status or per-type counts).
//!
//! Buckets: `2min`, `1h`, `1d` (UTC days), `1w` (weeks starting Monday 00:00 UTC), `1m` (calendar
//! months, UTC), `all_time` (one bucket stamped with the first event's time). Only buckets with
//! events are listed; `order` (default `desc`) sorts them by time before `offset`/`limit`
//! (default 100, capped at 1000). `unique_workers` is exact: a terms aggregation over worker keys
//! within each returned bucket.

use std::collections::HashMap;

use serde_json::{json, Value};
use shared::schema::psy::{UserEventFields, WorkerEventFields};
use shared::schema::Family;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::query::Query;
use tantivy::Searcher;

use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::projections::Projections;
use crate::query::{conjunction, i64_range};
use crate::timefmt::{self, month_bounds, rfc3339, END_OF_CALENDAR};

/// Default number of buckets returned.
pub const DEFAULT_BUCKETS: usize = 100;
/// Largest number of buckets returned; larger limits are capped.
pub const MAX_BUCKETS: usize = 1_000;
/// Buckets one aggregation may build (tantivy's default is 65,000; nested per-bucket worker
/// terms need more, and tantivy's memory limit of 500 MB still bounds them).
const MAX_AGGREGATION_BUCKETS: u32 = 2_000_000;
/// Distinct workers counted exactly per bucket.
pub(crate) const MAX_DISTINCT_WORKERS: u64 = 65_000;
/// Unix time of a Monday 00:00 UTC minus the epoch's weekday: aligns weekly buckets to Mondays.
const WEEK_OFFSET_SECS: f64 = 4.0 * 86_400.0;

/// A bucket size of the aggregation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSize {
    /// Fixed length in seconds, with an alignment offset.
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
            "1w" => Some(Self::Fixed { seconds: 604_800, offset: WEEK_OFFSET_SECS as i64 }),
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
    /// First second of the bucket.
    pub start: i64,
    /// First second after it.
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

/// Computes the non-empty buckets of `query` over `time_field`, each with the `sub` aggregations.
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
            let (min, max) = (min.clamp(first, END_OF_CALENDAR - 1), max.clamp(first, END_OF_CALENDAR - 1));
            let mut ranges = Vec::new();
            let mut start = month_bounds(min).map_or(first, |(start, _)| start);
            while start <= max {
                let Some((_, next)) = month_bounds(start) else { break };
                ranges.push(json!({ "from": start as f64, "to": next as f64 }));
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
                    Some(to_bucket(from, month_bounds(from)?.1, b))
                })
                .collect()
        }
        BucketSize::Fixed { seconds, offset } => {
            let request = json!({ "hist": {
                "histogram": { "field": time_field, "interval": seconds as f64, "offset": offset as f64, "min_doc_count": 1 },
                "aggs": sub,
            }});
            let result = aggregate(searcher, query, request)?;
            result["hist"]["buckets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| {
                    let start = b["key"].as_f64()? as i64;
                    Some(to_bucket(start, start.saturating_add(seconds), b))
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
fn bucket_estimate(searcher: &Searcher, request: &Request) -> Result<i64> {
    let Some((min, max)) = crate::query::i64_bounds(searcher, "timestamp")? else { return Ok(0) };
    let (min, max) = (request.start.map_or(min, |s| s.max(min)), request.end.map_or(max, |e| e.min(max)));
    let seconds = max.saturating_sub(min).max(0);
    Ok(match request.size {
        BucketSize::Fixed { seconds: interval, .. } => seconds / interval + 2,
        BucketSize::Month => seconds / (28 * 86_400) + 2,
        BucketSize::AllTime => 1,
    })
}

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
    let start = params.text("start_time").map(|v| timefmt::parse("start_time", v)).transpose()?;
    let end = params.text("end_time").map(|v| timefmt::parse("end_time", v)).transpose()?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::BadRequest("`start_time` is after `end_time`".into()));
        }
    }
    let size = BucketSize::parse(params.text("bucket").unwrap_or("1h"))?;
    let descending = match params.text("order") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => return Err(ApiError::BadRequest(format!("`order` must be \"asc\" or \"desc\", got {other:?}"))),
    };
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
    let time_filter = |from: Option<i64>, to: Option<i64>| {
        if from.is_some() || to.is_some() {
            vec![i64_range(f.timestamp, from, to)]
        } else {
            Vec::new()
        }
    };
    let base = conjunction(time_filter(request.start, request.end));
    let mut sub = by_key("status");
    sub["workers"] = json!({ "terms": { "field": "worker_public_key", "size": MAX_DISTINCT_WORKERS } });
    let found = if bucket_estimate(&searcher, &request)? <= single_pass_buckets {
        // Few buckets: statuses and distinct workers in one pass.
        page(buckets(&searcher, &*base, "timestamp", sub, request.size)?, &request)
    } else {
        // Many buckets: which buckets the page holds first (counts only), then statuses and
        // distinct workers over the time the page spans.
        let listed = page(buckets(&searcher, &*base, "timestamp", json!({}), request.size)?, &request);
        let (Some(first), Some(last)) = (listed.iter().map(|b| b.start).min(), listed.iter().map(|b| b.end).max())
        else {
            return Ok(json!([]));
        };
        let lower = request.start.map_or(first, |s| s.max(first));
        let upper = request.end.map_or(last - 1, |e| e.min(last - 1));
        let spanned = conjunction(time_filter(Some(lower), Some(upper)));
        let mut detailed: HashMap<i64, Bucket> =
            buckets(&searcher, &*spanned, "timestamp", sub, request.size)?.into_iter().map(|b| (b.start, b)).collect();
        listed.into_iter().filter_map(|b| detailed.remove(&b.start)).collect()
    };
    let mut items = Vec::with_capacity(found.len());
    for bucket in found {
        let by_status = sub_counts(&bucket.aggs, "by_key");
        let count = |status: &str| by_status.get(status).copied().unwrap_or(0);
        items.push(json!({
            "time_bucket": rfc3339(bucket.start),
            "total_events": bucket.total,
            "completed_events": count("Completed"),
            "failed_events": count("Failed"),
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
        vec![i64_range(f.timestamp, request.start, request.end)]
    } else {
        Vec::new()
    };
    let found =
        page(buckets(&searcher, &*conjunction(clauses), "timestamp", by_key("tx_type"), request.size)?, &request);
    Ok(Value::Array(
        found
            .into_iter()
            .map(|bucket| {
                let by_type = sub_counts(&bucket.aggs, "by_key");
                let count = |kind: &str| by_type.get(kind).copied().unwrap_or(0);
                json!({
                    "time_bucket": rfc3339(bucket.start),
                    "total_events": bucket.total,
                    "register_user_count": count("RegisterUser"),
                    "deploy_contract_count": count("DeployContract"),
                    "user_tx_count": count("UserTransaction"),
                })
            })
            .collect(),
    ))
}

/// `GET /stats/jobs/all-realms`: every realm with its jobs (all time) by outcome, by realm id;
/// `success_rate` is completed over total (0 for a realm without jobs).
pub fn jobs_by_realm(projections: &Projections) -> Result<Value> {
    let Some(realms) = projections.family(Family::Realms)? else { return Ok(json!([])) };
    let realm_fields = shared::schema::psy::RealmFields::resolve(&realms.index.schema());
    let searcher = realms.searcher();
    let all_realms = crate::query::count(&searcher, &tantivy::query::AllQuery)? as usize;
    let docs =
        crate::query::page_by(&searcher, &tantivy::query::AllQuery, "realm_id", tantivy::Order::Asc, all_realms, 0)?;
    let mut counts: HashMap<u64, (u64, HashMap<String, u64>)> = HashMap::new();
    if let Some(jobs) = projections.family(Family::Jobs)? {
        let request = json!({ "realms": { "terms": { "field": "realm_id", "size": 65_000 }, "aggs": {
            "by_key": { "terms": { "field": "status", "size": 10 } } } } });
        let result = aggregate(&jobs.searcher(), &tantivy::query::AllQuery, request)?;
        for bucket in result["realms"]["buckets"].as_array().into_iter().flatten() {
            if let (Some(realm), Some(total)) = (bucket["key"].as_f64(), bucket["doc_count"].as_u64()) {
                counts.insert(realm as u64, (total, sub_counts(bucket, "by_key")));
            }
        }
    }
    let mut items = Vec::with_capacity(docs.len());
    for doc in &docs {
        let realm = shared::schema::psy::Realm::from_document(doc, &realm_fields)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let (total, by_status) = counts.remove(&realm.realm_id).unwrap_or_default();
        let count = |status: &str| by_status.get(status).copied().unwrap_or(0);
        let success_rate = if total == 0 { 0.0 } else { count("Completed") as f64 / total as f64 };
        items.push(json!({
            "realm_id": realm.realm_id,
            "total_jobs": total,
            "completed_jobs": count("Completed"),
            "failed_jobs": count("Failed"),
            "success_rate": success_rate,
        }));
    }
    Ok(Value::Array(items))
}

/// Average of a numeric fast field over the matching documents (`None` when none match).
pub(crate) fn average(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<Option<f64>> {
    let result = aggregate(searcher, query, json!({ "avg": { "avg": { "field": field } } }))?;
    Ok(result["avg"]["value"].as_f64())
}

/// Distinct values of a fast field over the matching documents.
pub(crate) fn distinct(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<usize> {
    let result =
        aggregate(searcher, query, json!({ "values": { "terms": { "field": field, "size": MAX_DISTINCT_WORKERS } } }))?;
    Ok(result["values"]["buckets"].as_array().map_or(0, Vec::len))
}

/// Job statistics over the 24 hours before `now`, optionally for one realm: jobs started in the
/// window, the average duration (seconds) of jobs completed in it, and completed over
/// completed-or-failed among jobs that ended in it.
struct JobWindow {
    started: u64,
    average_completion_secs: f64,
    success_rate: f64,
}

fn job_window(projections: &Projections, realm: Option<u64>, now: i64) -> Result<JobWindow> {
    let Some(reader) = projections.family(Family::Jobs)? else {
        return Ok(JobWindow { started: 0, average_completion_secs: 0.0, success_rate: 0.0 });
    };
    let f = shared::schema::psy::JobFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let window = (Some(now - super::handlers::DAY_SECS), Some(now));
    let scoped = |mut clauses: Vec<Box<dyn Query>>| {
        if let Some(realm) = realm {
            clauses.push(crate::query::u64_term(f.realm_id, realm));
        }
        conjunction(clauses)
    };
    let started = crate::query::count(&searcher, &*scoped(vec![i64_range(f.start_time, window.0, window.1)]))?;
    let ended_with = |status: &str| {
        scoped(vec![i64_range(f.end_time, window.0, window.1), crate::query::text_term(f.status, status)])
    };
    let completed = crate::query::count(&searcher, &*ended_with("Completed"))?;
    let failed = crate::query::count(&searcher, &*ended_with("Failed"))?;
    let average_ms = average(&searcher, &*ended_with("Completed"), "duration_ms")?.unwrap_or(0.0);
    let success_rate = if completed + failed == 0 { 0.0 } else { completed as f64 / (completed + failed) as f64 };
    Ok(JobWindow { started, average_completion_secs: average_ms / 1_000.0, success_rate })
}

/// `GET /stats/realms`: realm counts and the last 24 hours of jobs over every realm.
pub fn realms_stats(projections: &Projections, now: i64) -> Result<Value> {
    let (total, active) = match projections.family(Family::Realms)? {
        Some(reader) => {
            let f = shared::schema::psy::RealmFields::resolve(&reader.index.schema());
            let searcher = reader.searcher();
            (
                crate::query::count(&searcher, &tantivy::query::AllQuery)?,
                crate::query::count(&searcher, &*crate::query::u64_term(f.active, 1))?,
            )
        }
        None => (0, 0),
    };
    let jobs = job_window(projections, None, now)?;
    Ok(json!({
        "total_realms": total,
        "active_realms": active,
        "total_jobs_24h": jobs.started,
        "average_completion_time": jobs.average_completion_secs,
    }))
}

/// `GET /stats/realms/{realm_id}`: the realm's last 24 hours.
pub fn realm_stats(projections: &Projections, realm_id: u64, now: i64) -> Result<Value> {
    let not_found = || ApiError::NotFound(format!("no realm with id {realm_id}"));
    let reader = projections.family(Family::Realms)?.ok_or_else(not_found)?;
    let f = shared::schema::psy::RealmFields::resolve(&reader.index.schema());
    crate::query::first(reader, f.id, &realm_id.to_string())?.ok_or_else(not_found)?;
    let jobs = job_window(projections, Some(realm_id), now)?;
    let active_workers = match projections.family(Family::WorkerEvents)? {
        Some(events) => {
            let ef = WorkerEventFields::resolve(&events.index.schema());
            let query = conjunction(vec![
                crate::query::u64_term(ef.realm_id, realm_id),
                i64_range(ef.timestamp, Some(now - super::handlers::DAY_SECS), Some(now)),
            ]);
            distinct(&events.searcher(), &*query, "worker_public_key")?
        }
        None => 0,
    };
    Ok(json!({
        "realm_id": realm_id,
        "jobs_24h": jobs.started,
        "active_workers": active_workers,
        "average_completion_time": jobs.average_completion_secs,
        "success_rate": jobs.success_rate,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(month_bounds(1_720_000_000), Some((1_719_792_000, 1_722_470_400))); // July 2024
        assert_eq!(month_bounds(1_735_689_599).unwrap().1, 1_735_689_600); // December 2024 → January 2025
        assert_eq!(month_bounds(END_OF_CALENDAR - 1).unwrap().1, END_OF_CALENDAR, "December 9999 ends");
        assert_eq!(month_bounds(i64::MAX), None);
        assert!(BucketSize::parse("5min").is_err());
    }
}
