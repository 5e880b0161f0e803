//! `/worker_events_aggregations` and `/user_events_aggregations`: one row per time bucket in
//! the document's fields, from aggregations over fast fields (a histogram for fixed intervals,
//! a range aggregation over calendar months, terms for the per-status or per-type counts and
//! the distinct workers).
//!
//! Buckets: `2min`, `1h`, `1d` (UTC days), `1w` (weeks starting Monday 00:00 UTC), `1m` (calendar
//! months, UTC), `all_time` (one bucket stamped with the first event's time), over event times in
//! unix microseconds. Only buckets with events are listed; `order` (default `desc`) sorts them by
//! time before `offset`/`limit` (default 100, capped at 1000). `unique_workers` is exact: a terms
//! aggregation over worker keys within each returned bucket (events without a key count in no
//! worker). `user_tx_count` counts `GUTA` and `USER_ENDCAP` events (the document's
//! `UserTransaction`).

use std::collections::HashMap;

use projection::aggregate::{Agg, Bucket as AggBucket};
use projection::query::{conjunction, i64_window, Field, Q};
use projection::read::{Projections, Read};
use projection::schema::psy::{UserEventFields, WorkerEventFields};
use serde::Serialize;
use shared::psy_model::{UserEventTxType, WorkerEventStatus};

use super::{time_us, Window, MAX_DISTINCT, MICROS};
use crate::error::Result;
use crate::timefmt::{month_bounds, END_OF_CALENDAR};

/// Default number of buckets returned.
pub const DEFAULT_BUCKETS: usize = 100;
/// Largest number of buckets returned; larger limits are capped.
pub const MAX_BUCKETS: usize = 1_000;
/// Seconds from the epoch (a Thursday) to the first Monday 00:00 UTC: aligns weekly buckets.
pub const WEEK_OFFSET_SECS: i64 = 4 * 86_400;
/// Largest number of buckets computed with their distinct workers in a single pass.
pub const SINGLE_PASS_BUCKETS: i64 = 48;
/// Values of a few-valued text field (a status, a transaction type) counted per bucket.
const FEW_VALUES: u64 = 100;

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

/// A parsed aggregation request (times in unix microseconds).
#[derive(Debug, Clone, Copy)]
pub struct BucketQuery {
    pub window: Window,
    pub size: BucketSize,
    pub descending: bool,
    pub limit: usize,
    pub offset: usize,
}

/// One time bucket: its bounds, its document count and its sub-aggregation results.
struct TimeBucket {
    /// First microsecond of the bucket.
    start: i64,
    /// First microsecond after it.
    end: i64,
    /// Documents in it.
    total: u64,
    /// The bucket with the results of its sub-aggregations.
    aggs: AggBucket,
}

/// Computes the non-empty buckets of `query` over `time` (unix microseconds), each with the
/// `subs` aggregations.
fn buckets<F>(read: &Read<'_, F>, query: &Q, time: Field, subs: &[Agg], size: BucketSize) -> Result<Vec<TimeBucket>> {
    let span = || -> Result<Option<(i64, i64)>> { Ok(read.aggregate(query, &Agg::stats(time))?.stats().span()) };
    let to_bucket = |start: i64, end: i64, b: AggBucket| TimeBucket { start, end, total: b.doc_count(), aggs: b };
    let all: Vec<TimeBucket> = match size {
        BucketSize::AllTime => {
            let Some((min, max)) = span()? else { return Ok(Vec::new()) };
            let agg = Agg::range(time, vec![(min, max.saturating_add(1))]).with_all(subs.iter().cloned());
            read.aggregate(query, &agg)?
                .buckets()
                .into_iter()
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
                ranges.push((start * MICROS, next * MICROS));
                start = next;
            }
            let agg = Agg::range(time, ranges).with_all(subs.iter().cloned());
            read.aggregate(query, &agg)?
                .buckets()
                .into_iter()
                .filter_map(|b| {
                    let from = b.from()? as i64;
                    Some(to_bucket(from, month_bounds(from.div_euclid(MICROS))?.1 * MICROS, b))
                })
                .collect()
        }
        BucketSize::Fixed { seconds, offset } => {
            let interval = seconds * MICROS;
            let agg = Agg::histogram(time, interval, offset * MICROS).with_all(subs.iter().cloned());
            read.aggregate(query, &agg)?
                .buckets()
                .into_iter()
                .filter_map(|b| {
                    let start = b.key_f64()? as i64;
                    Some(to_bucket(start, start.saturating_add(interval), b))
                })
                .collect()
        }
    };
    Ok(all.into_iter().filter(|b| b.total > 0).collect())
}

/// An upper bound of the buckets a request spans, from the time field's column bounds.
fn bucket_estimate<F>(read: &Read<'_, F>, time: Field, request: &BucketQuery) -> Result<i64> {
    let Some((min, max)) = read.i64_bounds(time)? else { return Ok(0) };
    let (min, max) = (request.window.start.map_or(min, |s| s.max(min)), request.window.end.map_or(max, |e| e.min(max)));
    let seconds = max.saturating_sub(min).max(0) / MICROS;
    Ok(match request.size {
        BucketSize::Fixed { seconds: interval, .. } => seconds / interval + 2,
        BucketSize::Month => seconds / (28 * 86_400) + 2,
        BucketSize::AllTime => 1,
    })
}

fn page(mut buckets: Vec<TimeBucket>, request: &BucketQuery) -> Vec<TimeBucket> {
    buckets.sort_by_key(|b| b.start);
    if request.descending {
        buckets.reverse();
    }
    buckets.into_iter().skip(request.offset).take(request.limit).collect()
}

/// A row of `/worker_events_aggregations`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerEventBucket {
    pub time_bucket: String,
    pub total_events: u64,
    pub completed_events: u64,
    pub failed_events: u64,
    pub unique_workers: usize,
}

/// `GET /worker_events_aggregations`, computing statuses and distinct workers in one pass when
/// the request spans at most `single_pass_buckets` buckets, else in two.
pub fn worker_events(
    projections: &Projections,
    request: &BucketQuery,
    single_pass_buckets: i64,
) -> Result<Vec<WorkerEventBucket>> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let time = f.timestamp_us;
    let base = conjunction(i64_window(time, request.window.start, request.window.end));
    let subs = [Agg::terms(f.status, FEW_VALUES), Agg::terms(f.public_key, MAX_DISTINCT)];
    let found = if bucket_estimate(&read, time, request)? <= single_pass_buckets {
        // Few buckets: statuses and distinct workers in one pass.
        page(buckets(&read, &base, time, &subs, request.size)?, request)
    } else {
        // Many buckets: which buckets the page holds first (counts only), then statuses and
        // distinct workers over the time the page spans.
        let listed = page(buckets(&read, &base, time, &[], request.size)?, request);
        let (Some(first), Some(last)) = (listed.iter().map(|b| b.start).min(), listed.iter().map(|b| b.end).max())
        else {
            return Ok(Vec::new());
        };
        let lower = request.window.start.map_or(first, |s| s.max(first));
        let upper = request.window.end.map_or(last - 1, |e| e.min(last - 1));
        let spanned = conjunction(i64_window(time, Some(lower), Some(upper)));
        let mut detailed: HashMap<i64, TimeBucket> =
            buckets(&read, &spanned, time, &subs, request.size)?.into_iter().map(|b| (b.start, b)).collect();
        listed.into_iter().filter_map(|b| detailed.remove(&b.start)).collect()
    };
    Ok(found
        .into_iter()
        .map(|bucket| {
            let by_status = bucket.aggs.sub(0).counts();
            let count = |status: WorkerEventStatus| by_status.get(status.as_str()).copied().unwrap_or(0);
            WorkerEventBucket {
                time_bucket: time_us(bucket.start),
                total_events: bucket.total,
                completed_events: count(WorkerEventStatus::Completed),
                failed_events: count(WorkerEventStatus::Failed),
                unique_workers: bucket.aggs.sub(1).buckets().len(),
            }
        })
        .collect())
}

/// A row of `/user_events_aggregations`.
#[derive(Debug, Clone, Serialize)]
pub struct UserEventBucket {
    pub time_bucket: String,
    pub total_events: u64,
    pub register_user_count: u64,
    pub deploy_contract_count: u64,
    pub user_tx_count: u64,
}

/// `GET /user_events_aggregations`.
pub fn user_events(projections: &Projections, request: &BucketQuery) -> Result<Vec<UserEventBucket>> {
    let Some(read) = projections.read::<UserEventFields>()? else { return Ok(Vec::new()) };
    let f = read.f;
    let query = conjunction(i64_window(f.timestamp_us, request.window.start, request.window.end));
    let found =
        page(buckets(&read, &query, f.timestamp_us, &[Agg::terms(f.tx_type, FEW_VALUES)], request.size)?, request);
    Ok(found
        .into_iter()
        .map(|bucket| {
            let by_type = bucket.aggs.sub(0).counts();
            let count = |kind: UserEventTxType| by_type.get(kind.as_str()).copied().unwrap_or(0);
            UserEventBucket {
                time_bucket: time_us(bucket.start),
                total_events: bucket.total,
                register_user_count: count(UserEventTxType::RegisterUser),
                deploy_contract_count: count(UserEventTxType::DeployContract),
                user_tx_count: count(UserEventTxType::Guta) + count(UserEventTxType::UserEndCap),
            }
        })
        .collect())
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
    }
}
