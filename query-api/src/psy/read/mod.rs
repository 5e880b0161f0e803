//! The Psy reads: typed filters in, answer structs (DTOs) out, over the real Psy model's
//! projection families (`projection::schema::psy`). Nothing here knows HTTP: the routes parse
//! query strings into the filters (`super::request`) and serialize the answers.
//!
//! Answers keep `psy-api-services.md`'s field names, types and spellings (`Completed`,
//! `InProgress`, `RegisterUser`, circuit types and topics by name, RFC 3339 UTC times) and add
//! the real fields the document lacks after its own. Where the document is silent the real
//! service's computation is followed (§3 of the project's reference `psy-real.md`, kept outside
//! this repository). Stored times are unix microseconds; the service's clock is in seconds.
//!
//! Within `read`, `rewards`, `buckets` and `realms` read families only; `checkpoints` builds on
//! `rewards` (settlements), `events` on `checkpoints` (the TPS block height), `jobs` on `realms`,
//! `workers` on `events` and `rewards`. The dashboard view and the reward calculation
//! (`super::views`, `super::rewards`) use these reads, never the reverse.

pub mod buckets;
pub mod checkpoints;
pub mod events;
pub mod jobs;
pub mod realms;
pub mod rewards;
pub mod workers;

use projection::query::{any_of, Field, Q};
use shared::psy_model::{ProvingJobCircuitType, QJobTopic, Timestamp, WorkerEventStatus};

/// Seconds in the statistics' "last 24 hours".
pub const DAY_SECS: i64 = 86_400;
/// Microseconds in one second.
pub const MICROS: i64 = 1_000_000;
/// Microseconds in one hour.
pub const HOUR_US: i64 = 3_600 * MICROS;
/// Microseconds in the statistics' "last 24 hours".
pub const DAY_US: i64 = DAY_SECS * MICROS;
/// Distinct values (workers, realms, users) counted exactly by one terms aggregation.
pub const MAX_DISTINCT: u64 = 65_000;

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

/// The statuses as a query over a status field (their stored spelling).
pub fn statuses(field: Field, statuses: &[WorkerEventStatus]) -> Q {
    any_of(field, statuses, WorkerEventStatus::as_str)
}

/// Completed over completed-or-failed (0 without either).
pub fn rate(completed: u64, failed: u64) -> f64 {
    if completed + failed == 0 {
        0.0
    } else {
        completed as f64 / (completed + failed) as f64
    }
}

/// A time window: inclusive bounds in unix microseconds, either may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// First microsecond.
    pub start: Option<i64>,
    /// Last microsecond.
    pub end: Option<i64>,
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
    }
}
