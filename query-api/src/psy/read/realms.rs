//! The realm statistics (`/stats/realms`, `/stats/realms/{id}`, `/stats/jobs/all-realms`):
//! counts and distinct values over the worker events, jobs and user events. Realms are the
//! `realm_id`s worker events report (there is no realm registry in the real model).

use std::collections::HashMap;

use projection::aggregate::Agg;
use projection::query::{all, conjunction, i64_range, i64_term, text_term, Q};
use projection::read::{Projections, Read};
use projection::schema::psy::{JobFields, UserEventFields, WorkerEventFields};
use serde::Serialize;
use shared::psy_model::{WorkerEventSource, WorkerEventStatus};

use super::{now_us, statuses, time_us, DAY_US, HOUR_US, MAX_DISTINCT};
use crate::error::{ApiError, Result};

/// Statuses counted by a terms aggregation (there are four).
const STATUS_BUCKETS: u64 = 100;

/// The realm ids worker events report, ascending.
pub fn realm_ids(projections: &Projections) -> Result<Vec<i64>> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(Vec::new()) };
    let keys = read.distinct(&all(), read.f.realm_id, MAX_DISTINCT)?;
    let mut realms: Vec<i64> = keys.iter().filter_map(|k| k.key_f64()).map(|k| k as i64).collect();
    realms.sort_unstable();
    Ok(realms)
}

/// Whether some worker event reports `realm_id`.
pub fn realm_exists(projections: &Projections, realm_id: i64) -> Result<bool> {
    let Some(read) = projections.read::<WorkerEventFields>()? else { return Ok(false) };
    Ok(read.count(&i64_term(read.f.realm_id, realm_id))? > 0)
}

/// Worker-event statistics of one realm or all over a window ending at `now_us`.
struct EventWindow<'a> {
    read: Read<'a, WorkerEventFields>,
    realm: Option<i64>,
    now_us: i64,
}

impl EventWindow<'_> {
    fn query(&self, window_us: Option<i64>, mut clauses: Vec<Q>) -> Q {
        let f = self.read.f;
        if let Some(realm) = self.realm {
            clauses.push(i64_term(f.realm_id, realm));
        }
        if let Some(window) = window_us {
            clauses.push(i64_range(f.timestamp_us, Some(self.now_us - window), Some(self.now_us)));
        }
        conjunction(clauses)
    }

    /// Distinct worker keys of the events in the window (of `source`, when given).
    fn workers(&self, window_us: i64, source: Option<WorkerEventSource>) -> Result<usize> {
        let clauses = source.map(|s| text_term(self.read.f.source, s.as_str())).into_iter().collect();
        Ok(self.read.distinct(&self.query(Some(window_us), clauses), self.read.f.public_key, MAX_DISTINCT)?.len())
    }

    /// Distinct realms of the events in the window.
    fn realms(&self, window_us: Option<i64>) -> Result<usize> {
        Ok(self.read.distinct(&self.query(window_us, Vec::new()), self.read.f.realm_id, MAX_DISTINCT)?.len())
    }

    /// Events with status `PROCESSING`, all time (raw rows, as the real service counts them).
    fn processing(&self) -> Result<u64> {
        Ok(self.read.count(&self.query(None, vec![statuses(self.read.f.status, &[WorkerEventStatus::Processing])]))?)
    }

    /// Average duration in seconds of the `COMPLETED` events with a duration in the last 24 hours.
    fn average_completion_secs(&self) -> Result<f64> {
        let completed = self.query(Some(DAY_US), vec![statuses(self.read.f.status, &[WorkerEventStatus::Completed])]);
        let average_ms = self.read.average(&completed, self.read.f.duration)?;
        Ok(average_ms.unwrap_or(0.0) / 1_000.0)
    }
}

fn event_window(projections: &Projections, realm: Option<i64>, now_us: i64) -> Result<Option<EventWindow<'_>>> {
    Ok(projections.read::<WorkerEventFields>()?.map(|read| EventWindow { read, realm, now_us }))
}

/// Jobs (latest status per job) whose latest event is in the last 24 hours, optionally of one
/// realm, by status.
fn jobs_last_day(projections: &Projections, realm: Option<i64>, now_us: i64) -> Result<HashMap<String, u64>> {
    let Some(read) = projections.read::<JobFields>()? else { return Ok(HashMap::new()) };
    let f = read.f;
    let mut clauses = vec![i64_range(f.timestamp_us, Some(now_us - DAY_US), Some(now_us))];
    if let Some(realm) = realm {
        clauses.push(i64_term(f.realm_id, realm));
    }
    Ok(read.aggregate(&conjunction(clauses), &Agg::terms(f.status, STATUS_BUCKETS))?.counts())
}

/// Distinct user keys of user events in the window before `now_us`.
fn active_users(projections: &Projections, window_us: i64, now_us: i64) -> Result<usize> {
    let Some(read) = projections.read::<UserEventFields>()? else { return Ok(0) };
    let query = i64_range(read.f.timestamp_us, Some(now_us - window_us), Some(now_us));
    Ok(read.distinct(&query, read.f.public_key, MAX_DISTINCT)?.len())
}

/// `GET /stats/realms`.
#[derive(Debug, Clone, Serialize)]
pub struct RealmsStats {
    pub total_realms: usize,
    pub active_realms: usize,
    pub total_jobs_24h: u64,
    pub average_completion_time: f64,
    pub total_processing_tasks: u64,
    pub active_workers_1h: usize,
    pub active_workers_24h: usize,
    pub active_realms_1h: usize,
    pub active_realms_24h: usize,
    pub active_users_1h: usize,
    pub active_users_24h: usize,
    pub last_updated: String,
}

/// `GET /stats/realms`: the document's `total_realms` (realms any worker event reports),
/// `active_realms` (realms with worker events in the last 24 hours), `total_jobs_24h` (jobs
/// whose latest event is in the last 24 hours) and `average_completion_time` (seconds, over the
/// last 24 hours' `COMPLETED` events with a duration); then the real service's
/// `total_processing_tasks`, `active_workers_1h`/`_24h`, `active_realms_1h`/`_24h`,
/// `active_users_1h`/`_24h` (distinct user keys of user events) and `last_updated`.
pub fn realms_stats(projections: &Projections, now: i64) -> Result<RealmsStats> {
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
    Ok(RealmsStats {
        total_realms: total,
        active_realms: active_24h,
        total_jobs_24h: jobs,
        average_completion_time: average,
        total_processing_tasks: processing,
        active_workers_1h: workers_1h,
        active_workers_24h: workers_24h,
        active_realms_1h: active_1h,
        active_realms_24h: active_24h,
        active_users_1h: active_users(projections, HOUR_US, now_us)?,
        active_users_24h: active_users(projections, DAY_US, now_us)?,
        last_updated: time_us(now_us),
    })
}

/// `GET /stats/realms/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct RealmStats {
    pub realm_id: i64,
    pub jobs_24h: u64,
    pub active_workers: usize,
    pub average_completion_time: f64,
    pub success_rate: f64,
    pub processing_tasks: u64,
    pub active_workers_1h: usize,
    pub active_workers_24h: usize,
    pub active_users_1h: usize,
    pub active_users_24h: usize,
    pub last_updated: String,
}

/// `GET /stats/realms/{realm_id}` (404 for a realm no worker event reports): the document's
/// `jobs_24h` (the realm's jobs whose latest event is in the last 24 hours), `active_workers`
/// (distinct workers of its events in the last 24 hours), `average_completion_time` (seconds)
/// and `success_rate` (completed over completed-or-failed among those jobs, 0 without either);
/// then the real service's `processing_tasks`, `active_workers_1h`/`_24h`, `active_users_1h`/
/// `_24h` (distinct keys of the realm's `REALM`-sourced events) and `last_updated`.
pub fn realm_stats(projections: &Projections, realm_id: u64, now: i64) -> Result<RealmStats> {
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
    let workers_24h = events.workers(DAY_US, None)?;
    Ok(RealmStats {
        realm_id: realm,
        jobs_24h: jobs.values().sum::<u64>(),
        active_workers: workers_24h,
        average_completion_time: events.average_completion_secs()?,
        success_rate: super::rate(completed, failed),
        processing_tasks: events.processing()?,
        active_workers_1h: events.workers(HOUR_US, None)?,
        active_workers_24h: workers_24h,
        active_users_1h: events.workers(HOUR_US, Some(WorkerEventSource::Realm))?,
        active_users_24h: events.workers(DAY_US, Some(WorkerEventSource::Realm))?,
        last_updated: time_us(now_us),
    })
}

/// A row of `/stats/jobs/all-realms`.
#[derive(Debug, Clone, Serialize)]
pub struct RealmJobs {
    pub realm_id: i64,
    pub total_jobs: u64,
    pub completed_jobs: u64,
    pub failed_jobs: u64,
    pub success_rate: f64,
}

/// `GET /stats/jobs/all-realms`: every realm worker events report, ascending, with its jobs
/// (latest status per job, all time, counted in the realm of the job's latest event) by outcome;
/// `success_rate` is completed over total (0 for a realm without jobs).
pub fn jobs_by_realm(projections: &Projections) -> Result<Vec<RealmJobs>> {
    let realms = realm_ids(projections)?;
    let mut counts: HashMap<i64, (u64, HashMap<String, u64>)> = HashMap::new();
    if let Some(read) = projections.read::<JobFields>()? {
        let agg = Agg::terms(read.f.realm_id, MAX_DISTINCT).with(Agg::terms(read.f.status, STATUS_BUCKETS));
        for bucket in read.aggregate(&all(), &agg)?.buckets() {
            if let Some(realm) = bucket.key_f64() {
                counts.insert(realm as i64, (bucket.doc_count(), bucket.sub(0).counts()));
            }
        }
    }
    Ok(realms
        .into_iter()
        .map(|realm| {
            let (total, by_status) = counts.remove(&realm).unwrap_or_default();
            let count = |s: WorkerEventStatus| by_status.get(s.as_str()).copied().unwrap_or(0);
            let completed = count(WorkerEventStatus::Completed);
            RealmJobs {
                realm_id: realm,
                total_jobs: total,
                completed_jobs: completed,
                failed_jobs: count(WorkerEventStatus::Failed),
                success_rate: if total == 0 { 0.0 } else { completed as f64 / total as f64 },
            }
        })
        .collect())
}
