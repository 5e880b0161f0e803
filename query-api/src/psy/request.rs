//! The Psy query strings parsed into the typed filters of [`super::read`] and
//! [`super::views`]: every parameter checked by name (unknown ones refused), in the order the
//! error messages name them, and the real service's input forms accepted (`super::input`).

use std::collections::HashMap;

use projection::query::Order;

use super::input;
use super::read::buckets::{BucketQuery, BucketSize, DEFAULT_BUCKETS, MAX_BUCKETS, WEEK_OFFSET_SECS};
use super::read::events::{UserEventFilter, WorkerEventFilter};
use super::read::rewards::{Bucket, BucketPage};
use super::read::workers::LEADERBOARD_LIMIT;
use super::read::Window;
use super::views::JobStatusFilter;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::timefmt::parse;

/// A query string.
pub type Query = HashMap<String, String>;

/// Default `limit` of the event lists.
pub const DEFAULT_EVENTS_LIMIT: usize = 300;
/// Largest `limit` of the event lists; larger values are capped.
pub const MAX_EVENTS_LIMIT: usize = 1_000;
/// Default `limit` of `/contracts`.
pub const DEFAULT_CONTRACTS_LIMIT: usize = 100;
/// Default `limit` of the reward buckets.
pub const DEFAULT_REWARD_BUCKETS: usize = 100;
/// Largest `limit` of the reward buckets.
pub const MAX_REWARD_BUCKETS: usize = 1_000;

/// The `order` parameter (default `desc`).
fn order(params: &Params) -> Result<Order> {
    match params.text("order") {
        None | Some("desc") => Ok(Order::Desc),
        Some("asc") => Ok(Order::Asc),
        Some(other) => Err(ApiError::BadRequest(format!("`order` must be \"asc\" or \"desc\", got {other:?}"))),
    }
}

/// An RFC 3339 parameter in unix microseconds.
pub fn parse_time(name: &str, value: &str) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    let parsed = time::OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::BadRequest(format!("`{name}` must be an RFC 3339 time such as 2024-01-01T00:00:00Z, got {value:?}"))
    })?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000)
        .map_err(|_| ApiError::BadRequest(format!("`{name}` is out of range")))
}

/// The inclusive `start_time`/`end_time` window (unix microseconds; either may be absent).
fn time_window(params: &Params) -> Result<Window> {
    let start = params.text("start_time").map(|v| parse_time("start_time", v)).transpose()?;
    let end = params.text("end_time").map(|v| parse_time("end_time", v)).transpose()?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::BadRequest("`start_time` is after `end_time`".into()));
        }
    }
    Ok(Window { start, end })
}

/// The stored spellings of a worker key path segment.
pub fn worker_key(key: &str) -> Result<Vec<String>> {
    input::key_forms("worker_public_key", key)
}

/// `GET /user_info`: the key's stored spellings and the key as given.
pub fn user_info(query: Query) -> Result<(Vec<String>, String)> {
    let params = Params::new(query, &["public_key"])?;
    let raw = params.text("public_key").ok_or_else(|| ApiError::BadRequest("`public_key` is required".into()))?;
    Ok((input::key_forms("public_key", raw)?, raw.to_owned()))
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

/// `GET /worker_events`: `start_time`/`end_time` bound the event time (the real service ignores
/// them).
pub fn worker_events(query: Query) -> Result<WorkerEventFilter> {
    let params = Params::new(query, WORKER_EVENT_PARAMS)?;
    let realm_id = params.integer::<i64>("realm_id")?;
    let status = input::status(&params, "status")?;
    let public_key = params.text("public_key").map(|key| input::key_forms("public_key", key)).transpose()?;
    let topic = input::topic(&params, "topic")?;
    let circuit_type = input::circuit_type(&params, "circuit_type")?;
    let from_checkpoint = params.integer::<i64>("from_checkpoint_id")?;
    let to_checkpoint = params.integer::<i64>("to_checkpoint_id")?;
    let category = input::category(&params, "category")?;
    let window = time_window(&params)?;
    let order = order(&params)?;
    let (limit, offset) = params.page(DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT)?;
    Ok(WorkerEventFilter {
        realm_id,
        status,
        public_key,
        topic,
        circuit_type,
        from_checkpoint,
        to_checkpoint,
        category,
        window,
        order,
        limit,
        offset,
    })
}

/// `GET /user_events`.
pub fn user_events(query: Query) -> Result<UserEventFilter> {
    let params = Params::new(query, &["user_id", "start_time", "end_time", "tx_type", "offset", "limit", "order"])?;
    let user_id = input::user_id(&params, "user_id")?;
    let window = time_window(&params)?;
    let tx_type = input::tx_type(&params, "tx_type")?;
    let order = order(&params)?;
    let (limit, offset) = params.page(DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT)?;
    Ok(UserEventFilter { user_id, window, tx_type, order, limit, offset })
}

/// The `bucket` parameter of the event aggregations (`2min`/`2m` two minutes, `1h`, `1d`, `1w`,
/// `1m` a calendar month, `all_time`), among those accepted.
fn bucket_size(param: &str, value: &str, accepted: &[&str]) -> Result<BucketSize> {
    let size = match value {
        "2min" | "2m" => Some(BucketSize::Fixed { seconds: 120, offset: 0 }),
        "1h" => Some(BucketSize::Fixed { seconds: 3_600, offset: 0 }),
        "1d" => Some(BucketSize::Fixed { seconds: 86_400, offset: 0 }),
        "1w" => Some(BucketSize::Fixed { seconds: 604_800, offset: WEEK_OFFSET_SECS }),
        "1m" => Some(BucketSize::Month),
        "all_time" => Some(BucketSize::AllTime),
        _ => None,
    };
    size.filter(|_| accepted.contains(&value))
        .ok_or_else(|| ApiError::BadRequest(format!("`{param}` must be one of {}, got {value:?}", accepted.join(", "))))
}

/// `GET /worker_events_aggregations`, `GET /user_events_aggregations`.
pub fn buckets(query: Query) -> Result<BucketQuery> {
    let params = Params::new(query, &["start_time", "end_time", "bucket", "offset", "limit", "order"])?;
    let window = time_window(&params)?;
    let accepted = ["2min", "1h", "1d", "1w", "1m", "all_time"];
    let size = bucket_size("bucket", params.text("bucket").unwrap_or("1h"), &accepted)?;
    let descending = order(&params)? == Order::Desc;
    let (limit, offset) = params.page(DEFAULT_BUCKETS, MAX_BUCKETS)?;
    Ok(BucketQuery { window, size, descending, limit, offset })
}

/// `GET /stats/jobs`.
pub fn job_status(query: Query) -> Result<JobStatusFilter> {
    let params = Params::new(query, &["hours", "realm_id"])?;
    let hours = params.integer::<u32>("hours")?;
    let realm_id = params.integer::<i64>("realm_id")?;
    if hours == Some(0) {
        return Err(ApiError::BadRequest("`hours` must be at least 1".into()));
    }
    Ok(JobStatusFilter { hours, realm_id })
}

/// `GET /leaderboard/workers`: the number of rows.
pub fn leaderboard(query: Query) -> Result<usize> {
    let params = Params::new(query, &["limit"])?;
    Ok(params.page(LEADERBOARD_LIMIT, LEADERBOARD_LIMIT)?.0)
}

/// `GET /checkpoint/stats`: `start_checkpoint` (default 0) to `end_checkpoint` (default: the
/// newest).
pub fn checkpoint_range(query: Query) -> Result<(i64, i64)> {
    let params = Params::new(query, &["start_checkpoint", "end_checkpoint"])?;
    let start = params.integer::<u64>("start_checkpoint")?.unwrap_or(0);
    let end = params.integer::<u64>("end_checkpoint")?.unwrap_or(u64::MAX);
    if start > end {
        return Err(ApiError::BadRequest("`start_checkpoint` is after `end_checkpoint`".into()));
    }
    Ok((i64::try_from(start).unwrap_or(i64::MAX), i64::try_from(end).unwrap_or(i64::MAX)))
}

/// `GET /contracts`: the deployer's stored spellings, limit and offset.
pub fn contracts(query: Query) -> Result<(Option<Vec<String>>, usize, usize)> {
    let params = Params::new(query, &["deployer", "limit", "offset"])?;
    let deployer = params.text("deployer").map(|key| input::key_forms("deployer", key)).transpose()?;
    let (limit, offset) = params.page(DEFAULT_CONTRACTS_LIMIT, MAX_EVENTS_LIMIT)?;
    Ok((deployer, limit, offset))
}

/// The reward buckets' `limit` (default 100, 1..1000) and `start_time`/`end_time` (unix
/// seconds).
fn bucket_page(params: &Params, bucket: Bucket) -> Result<BucketPage> {
    let limit = params.integer::<usize>("limit")?.unwrap_or(DEFAULT_REWARD_BUCKETS).clamp(1, MAX_REWARD_BUCKETS);
    let start = params.text("start_time").map(|v| parse("start_time", v)).transpose()?;
    let end = params.text("end_time").map(|v| parse("end_time", v)).transpose()?;
    Ok(BucketPage { bucket, start, end, limit })
}

/// `GET /checkpoint/rewards/{pk}`: `time_period` `2m`, `1h`, `1d`, `1w`, `1m` = month; any other
/// value falls back to `1d` as the real service does, and the answer names the period used.
/// Answers the key's spellings, the period's name and the page.
pub fn worker_rewards(key: &str, query: Query) -> Result<(Vec<String>, &'static str, BucketPage)> {
    let params = Params::new(query, &["time_period", "start_time", "end_time", "limit"])?;
    let (bucket, period) = match params.text("time_period").unwrap_or("1d") {
        "2m" => (Bucket::Minutes2, "2m"),
        "1h" => (Bucket::Hour, "1h"),
        "1w" => (Bucket::Week, "1w"),
        "1m" => (Bucket::Month, "1m"),
        _ => (Bucket::Day, "1d"),
    };
    let page = bucket_page(&params, bucket)?;
    Ok((worker_key(key)?, period, page))
}

/// `GET /rewards_aggregations/{pk}`: `bucket` is required, `1d`, `1w`, `1m` (month) or
/// `all_time` (one row dated at the last reward); any other value is 400, as the real service
/// answers.
pub fn rewards_aggregations(key: &str, query: Query) -> Result<(Vec<String>, BucketPage)> {
    let params = Params::new(query, &["bucket", "start_time", "end_time", "limit"])?;
    let bucket = match params.text("bucket") {
        Some("1d") => Bucket::Day,
        Some("1w") => Bucket::Week,
        Some("1m") => Bucket::Month,
        Some("all_time") => Bucket::AllTime,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "`bucket` must be one of 1d, 1w, 1m, all_time, got {:?}",
                crate::params::shown(other)
            )))
        }
        None => return Err(ApiError::BadRequest("`bucket` is required: 1d, 1w, 1m or all_time".into())),
    };
    let page = bucket_page(&params, bucket)?;
    Ok((worker_key(key)?, page))
}

/// `GET /rewards/{pk}?checkpoint_id=` (required): the key's spellings and the checkpoint.
pub fn legacy_rewards(key: &str, query: Query) -> Result<(Vec<String>, i64)> {
    let params = Params::new(query, &["checkpoint_id"])?;
    let checkpoint_id = params
        .integer::<i64>("checkpoint_id")?
        .ok_or_else(|| ApiError::BadRequest("`checkpoint_id` is required".into()))?;
    Ok((worker_key(key)?, checkpoint_id))
}

/// A checkpoint id path segment.
pub fn checkpoint_id(raw: &str) -> Result<u64> {
    raw.parse().map_err(|_| ApiError::BadRequest(format!("checkpoint id must be a non-negative integer, got {raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_times_parse() {
        let week = bucket_size("bucket", "1w", &["1w"]).ok();
        assert_eq!(week, Some(BucketSize::Fixed { seconds: 604_800, offset: 4 * 86_400 }));
        assert!(bucket_size("bucket", "5min", &["1h"]).is_err());
        assert_eq!(parse_time("t", "2024-01-01T00:00:00.000001Z").ok(), Some(1_704_067_200_000_001));
        assert!(parse_time("t", "yesterday").is_err());
    }
}
