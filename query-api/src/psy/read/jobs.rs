//! Job status summaries over the Jobs family (the real `latest_job_status` view: one row per
//! job id, its newest event): jobs by status and circuit type (the document's `status`,
//! `circuit_type`, `job_count`, `average_duration` in seconds over the jobs whose latest event
//! reports a duration), then the real service's `percentage` (share of all the summary's jobs,
//! in percent, rounded to 2 decimals) and `last_update` (newest latest event time); ordered
//! `Pending`, `InProgress`, `Completed`, `Failed`, then by circuit number.

use std::collections::HashMap;

use projection::aggregate::Agg;
use projection::query::{conjunction, i64_range, i64_term};
use projection::read::Projections;
use projection::schema::psy::JobFields;
use serde::Serialize;
use shared::psy_model::WorkerEventStatus;

use super::{circuit_name, time_us};
use crate::error::{ApiError, Result};

/// Statuses counted by the summary's terms aggregation (there are four).
const STATUS_BUCKETS: u64 = 10;
/// Circuit types counted per status (the real enum has fewer than 256).
const CIRCUIT_BUCKETS: u64 = 300;

/// A row of a job status summary.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummaryRow {
    pub status: &'static str,
    pub circuit_type: &'static str,
    pub job_count: u64,
    pub average_duration: f64,
    pub percentage: f64,
    pub last_update: String,
}

/// Which jobs a summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobScope {
    /// Every job.
    All,
    /// The jobs whose latest event is at or after this time (unix microseconds).
    Since(i64),
    /// The jobs whose latest event is of this realm.
    Realm(i64),
}

/// A summary: its rows and the jobs they count.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub rows: Vec<JobSummaryRow>,
    pub total: u64,
}

/// `part` of `total` in percent, rounded to 2 decimals (0 without a total).
pub fn percentage(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 100.0 / total as f64 * 100.0).round() / 100.0
    }
}

/// The jobs of `scope` by status and circuit type (statuses in their order, circuit types by
/// number, non-empty groups only), with the total.
pub fn summary(projections: &Projections, scope: JobScope) -> Result<Summary> {
    let Some(read) = projections.read::<JobFields>()? else { return Ok(Summary::default()) };
    let f = read.f;
    let clauses = match scope {
        JobScope::All => Vec::new(),
        JobScope::Since(start) => vec![i64_range(f.timestamp_us, Some(start), None)],
        JobScope::Realm(realm) => vec![i64_term(f.realm_id, realm)],
    };
    let agg = Agg::terms(f.status, STATUS_BUCKETS)
        .with(Agg::terms(f.circuit_type, CIRCUIT_BUCKETS).with(Agg::stats(f.duration)).with(Agg::max(f.timestamp_us)));
    let result = read.aggregate(&conjunction(clauses), &agg)?;
    // (status, circuit number) → (jobs, average ms, newest time)
    let mut groups: HashMap<(String, u64), (u64, f64, i64)> = HashMap::new();
    for status in result.buckets() {
        let Some(status_name) = status.key_str() else { continue };
        for kind in status.sub(0).buckets() {
            let Some(circuit) = kind.key_f64() else { continue };
            let average_ms = kind.sub(0).stats().average().unwrap_or(0.0);
            let last = kind.sub(1).value().unwrap_or(0.0) as i64;
            groups.insert((status_name.to_owned(), circuit as u64), (kind.doc_count(), average_ms, last));
        }
    }
    let total: u64 = groups.values().map(|g| g.0).sum();
    let mut keys: Vec<(usize, u64)> = groups
        .keys()
        .filter_map(|(status, circuit)| {
            Some((WorkerEventStatus::ALL.iter().position(|s| s.as_str() == status)?, *circuit))
        })
        .collect();
    keys.sort_unstable();
    let rows = keys
        .into_iter()
        .filter_map(|(position, circuit)| {
            let status = WorkerEventStatus::ALL[position];
            let (count, average_ms, last) = groups.get(&(status.as_str().to_owned(), circuit))?;
            Some(JobSummaryRow {
                status: status.doc().as_str(),
                circuit_type: circuit_name(circuit),
                job_count: *count,
                average_duration: average_ms / 1_000.0,
                percentage: percentage(*count, total),
                last_update: time_us(*last),
            })
        })
        .collect();
    Ok(Summary { rows, total })
}

/// `GET /stats/jobs/realm/{realm_id}`: the realm's summary over all time (404 for a realm no
/// worker event reports).
pub fn realm_job_status(projections: &Projections, realm_id: u64) -> Result<Vec<JobSummaryRow>> {
    let not_found = || ApiError::NotFound(format!("no realm with id {realm_id}"));
    let realm = i64::try_from(realm_id).map_err(|_| not_found())?;
    if !super::realms::realm_exists(projections, realm)? {
        return Err(not_found());
    }
    Ok(summary(projections, JobScope::Realm(realm))?.rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_to_two_decimals() {
        assert_eq!(percentage(1, 3), 33.33);
        assert_eq!(percentage(2, 3), 66.67);
        assert_eq!(percentage(5, 5), 100.0);
        assert_eq!(percentage(0, 0), 0.0);
    }
}
