//! The Psy read endpoints' answers of the truth model ([`Psy`]), in the document's forms:
//! statuses `Pending`/`InProgress`/`Completed`/`Failed`, tx types
//! `RegisterUser`/`DeployContract`/`UserTransaction` (`GUTA` and `USER_ENDCAP`), circuit types
//! and topics by name, times RFC 3339. The rules are the ones docs/api.md states for each
//! endpoint.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use shared::psy_model::{ProvingJobCircuitType, QJobTopic, Timestamp};

use super::{contract_functions, Psy, DAY, HOUR, U, W};

/// A value as a client reads it off the wire: serde_json's float parsing may differ from the
/// written float in the last bit, so expected floats are compared after the same round trip.
pub fn wire(value: Value) -> Value {
    serde_json::from_str(&value.to_string()).unwrap()
}

/// RFC 3339 of unix microseconds.
pub fn time(us: i64) -> String {
    Timestamp::from_unix_micros(us).to_string()
}

/// The document's spelling of a real status.
pub fn doc_status(real: &str) -> &'static str {
    match real {
        "PENDING" => "Pending",
        "PROCESSING" => "InProgress",
        "COMPLETED" => "Completed",
        "FAILED" => "Failed",
        other => panic!("unknown status {other}"),
    }
}

/// The document's spelling of a real tx type.
pub fn doc_tx_type(real: &str) -> &'static str {
    match real {
        "REGISTER_USER" => "RegisterUser",
        "DEPLOY_CONTRACT" => "DeployContract",
        "GUTA" | "USER_ENDCAP" => "UserTransaction",
        other => panic!("unknown tx type {other}"),
    }
}

fn circuit_name(n: u8) -> &'static str {
    ProvingJobCircuitType::from_value(n).unwrap().name()
}

fn average_secs(durations: impl Iterator<Item = i64>) -> f64 {
    let (sum, n) = durations.fold((0i64, 0u64), |(s, n), d| (s + d, n + 1));
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64 / 1_000.0
    }
}

fn rate(good: u64, bad: u64) -> f64 {
    if good + bad == 0 {
        0.0
    } else {
        good as f64 / (good + bad) as f64
    }
}

/// Start (unix microseconds) of the bucket holding `ts`; `first` is the `all_time` bucket's.
pub fn bucket_start(bucket: &str, ts: i64, first: i64) -> i64 {
    let s = ts.div_euclid(1_000_000);
    let start = match bucket {
        "2min" | "2m" => s - s.rem_euclid(120),
        "1h" => s - s.rem_euclid(3_600),
        "1d" => s - s.rem_euclid(86_400),
        "1w" => s - (s - 4 * 86_400).rem_euclid(604_800),
        "1m" => {
            let date = time::OffsetDateTime::from_unix_timestamp(s).unwrap();
            date.replace_day(1).unwrap().replace_time(time::Time::MIDNIGHT).unix_timestamp()
        }
        "all_time" => return first,
        other => panic!("bucket {other}"),
    };
    start * 1_000_000
}

impl Psy {
    /// A worker event's document row, without `id`.
    pub fn worker_row(w: &W) -> Value {
        let ended = w.status == "COMPLETED" || w.status == "FAILED";
        let start = if ended { w.ts - w.duration.unwrap_or(0) * 1_000 } else { w.ts };
        json!({
            "realm_id": w.realm_id, "worker_public_key": w.public_key, "status": doc_status(&w.status),
            "start_time": time(start), "end_time": if ended { Some(time(w.ts)) } else { None },
            "job_id": w.job_id, "circuit_type": circuit_name(w.circuit), "source": w.source,
            "checkpoint_id": w.checkpoint_id, "topic": QJobTopic::from_value(w.topic).unwrap().name(),
            "duration": w.duration,
        })
    }

    /// The worker events `keep` selects in `/worker_events`' order: by (checkpoint, time, log
    /// order).
    pub fn worker_records(&self, keep: impl Fn(&W) -> bool, ascending: bool) -> Vec<&W> {
        let mut events: Vec<&W> = self.worker.iter().filter(|w| keep(w)).collect();
        events.sort_by_key(|w| (w.checkpoint_id, w.ts, w.order));
        if !ascending {
            events.reverse();
        }
        events
    }

    /// `/worker_events` rows of the events `keep` selects, by (checkpoint, time, log order).
    pub fn worker_events(&self, keep: impl Fn(&W) -> bool, ascending: bool) -> Vec<Value> {
        self.worker_records(keep, ascending).into_iter().map(Self::worker_row).collect()
    }

    /// A user event's document row, without `id`.
    pub fn user_row(u: &U) -> Value {
        json!({"user_id": u.user_id, "public_key": u.public_key, "tx_type": doc_tx_type(&u.tx_type),
               "checkpoint_id": u.checkpoint_id, "timestamp": time(u.ts)})
    }

    /// The user events `keep` selects in `/user_events`' order: by (time, log order).
    pub fn user_records(&self, keep: impl Fn(&U) -> bool, ascending: bool) -> Vec<&U> {
        let mut events: Vec<&U> = self.user.iter().filter(|u| keep(u)).collect();
        events.sort_by_key(|u| (u.ts, u.order));
        if !ascending {
            events.reverse();
        }
        events
    }

    /// `/user_events` rows of the events `keep` selects, by (time, log order).
    pub fn user_events(&self, keep: impl Fn(&U) -> bool, ascending: bool) -> Vec<Value> {
        self.user_records(keep, ascending).into_iter().map(Self::user_row).collect()
    }

    /// `/contracts`, newest first reported first.
    pub fn contracts(&self) -> Vec<Value> {
        let mut all: Vec<&super::Contract> = self.contracts.values().collect();
        all.sort_by_key(|c| std::cmp::Reverse(c.first));
        all.into_iter()
            .map(|c| {
                let e = &c.report;
                let metadata = shared::psy::metadata_value(&e.metadata);
                let functions = contract_functions(&metadata);
                json!({
                    "uuid": e.contract_uuid, "deployer": e.deployer,
                    "state_tree_height": metadata.get("state_tree_height").and_then(Value::as_u64).unwrap_or(0),
                    "function_count": functions.len(), "functions": functions, "deployed_at": time(e.timestamp),
                    "contract_id": e.contract_id, "checkpoint_id": e.checkpoint_id,
                    "function_whitelist_root": e.function_whitelist_root,
                })
            })
            .collect()
    }

    /// `/stats`.
    pub fn stats(&self, now: i64) -> Value {
        let day = |ts: i64| (now - DAY..=now).contains(&ts);
        json!({
            "status": "ok",
            "worker_events_24h": self.worker.iter().filter(|w| day(w.ts)).count(),
            "user_events_24h": self.user.iter().filter(|u| day(u.ts)).count(),
            "block_height": self.worker.iter().map(|w| w.checkpoint_id).max().unwrap_or(0).max(0),
            "timestamp": time(now),
        })
    }

    /// Realm ids the worker events report, ascending.
    pub fn realms(&self) -> Vec<i64> {
        self.worker.iter().filter_map(|w| w.realm_id).collect::<BTreeSet<_>>().into_iter().collect()
    }

    fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> usize {
        items.collect::<BTreeSet<T>>().len()
    }

    /// `/stats/realms`.
    pub fn realms_stats(&self, now: i64) -> Value {
        let within = |ts: i64, window: i64| (now - window..=now).contains(&ts);
        let realms = |window: i64| {
            Self::distinct(self.worker.iter().filter(|w| within(w.ts, window)).filter_map(|w| w.realm_id))
        };
        let workers = |window: i64| {
            Self::distinct(self.worker.iter().filter(|w| within(w.ts, window)).filter_map(|w| w.public_key.clone()))
        };
        let users =
            |window: i64| Self::distinct(self.user.iter().filter(|u| within(u.ts, window)).map(|u| &u.public_key));
        let completed = self.worker.iter().filter(|w| w.status == "COMPLETED" && within(w.ts, DAY));
        wire(json!({
            "total_realms": self.realms().len(),
            "active_realms": realms(DAY),
            "total_jobs_24h": self.jobs().values().filter(|j| within(j.ts, DAY)).count(),
            "average_completion_time": average_secs(completed.filter_map(|w| w.duration)),
            "total_processing_tasks": self.worker.iter().filter(|w| w.status == "PROCESSING").count(),
            "active_workers_1h": workers(HOUR), "active_workers_24h": workers(DAY),
            "active_realms_1h": realms(HOUR), "active_realms_24h": realms(DAY),
            "active_users_1h": users(HOUR), "active_users_24h": users(DAY),
            "last_updated": time(now),
        }))
    }

    /// `/stats/realms/{realm}` (`None`: 404).
    pub fn realm_stats(&self, realm: i64, now: i64) -> Option<Value> {
        let of_realm: Vec<&W> = self.worker.iter().filter(|w| w.realm_id == Some(realm)).collect();
        if of_realm.is_empty() {
            return None;
        }
        let within = |ts: i64, window: i64| (now - window..=now).contains(&ts);
        let workers = |window: i64, realm_only: bool| {
            Self::distinct(
                of_realm
                    .iter()
                    .filter(|w| within(w.ts, window) && (!realm_only || w.source == "REALM"))
                    .filter_map(|w| w.public_key.clone()),
            )
        };
        let jobs: Vec<&W> =
            self.jobs().into_values().filter(|j| j.realm_id == Some(realm) && within(j.ts, DAY)).collect();
        let count = |s: &str| jobs.iter().filter(|j| j.status == s).count() as u64;
        let completed = of_realm.iter().filter(|w| w.status == "COMPLETED" && within(w.ts, DAY));
        Some(wire(json!({
            "realm_id": realm,
            "jobs_24h": jobs.len(),
            "active_workers": workers(DAY, false),
            "average_completion_time": average_secs(completed.filter_map(|w| w.duration)),
            "success_rate": rate(count("COMPLETED"), count("FAILED")),
            "processing_tasks": of_realm.iter().filter(|w| w.status == "PROCESSING").count(),
            "active_workers_1h": workers(HOUR, false), "active_workers_24h": workers(DAY, false),
            "active_users_1h": workers(HOUR, true), "active_users_24h": workers(DAY, true),
            "last_updated": time(now),
        })))
    }

    /// `/stats/jobs` summary items and total over the jobs `keep` selects.
    pub fn job_summary(&self, keep: impl Fn(&W) -> bool) -> (Vec<Value>, u64) {
        let order = ["PENDING", "PROCESSING", "COMPLETED", "FAILED"];
        let mut groups: BTreeMap<(usize, u8), Vec<&W>> = BTreeMap::new();
        for job in self.jobs().into_values().filter(|j| keep(j)) {
            let status = order.iter().position(|s| *s == job.status).unwrap();
            groups.entry((status, job.circuit)).or_default().push(job);
        }
        let total: u64 = groups.values().map(|g| g.len() as u64).sum();
        let rows = groups
            .into_iter()
            .map(|((status, circuit), jobs)| {
                let n = jobs.len() as u64;
                wire(json!({
                    "status": doc_status(order[status]), "circuit_type": circuit_name(circuit), "job_count": n,
                    "average_duration": average_secs(jobs.iter().filter_map(|j| j.duration)),
                    "percentage": (n as f64 * 100.0 / total as f64 * 100.0).round() / 100.0,
                    "last_update": time(jobs.iter().map(|j| j.ts).max().unwrap()),
                }))
            })
            .collect();
        (rows, total)
    }

    /// `/stats/jobs/all-realms`.
    pub fn all_realms(&self) -> Vec<Value> {
        let jobs = self.jobs();
        self.realms()
            .into_iter()
            .map(|realm| {
                let of: Vec<&&W> = jobs.values().filter(|j| j.realm_id == Some(realm)).collect();
                let count = |s: &str| of.iter().filter(|j| j.status == s).count();
                let total = of.len();
                let rate = if total == 0 { 0.0 } else { count("COMPLETED") as f64 / total as f64 };
                wire(json!({"realm_id": realm, "total_jobs": total, "completed_jobs": count("COMPLETED"),
                       "failed_jobs": count("FAILED"), "success_rate": rate}))
            })
            .collect()
    }

    /// `/stats/jobs/counts`.
    pub fn counts(&self) -> Value {
        let jobs = self.jobs();
        let count = |s: &str| jobs.values().filter(|j| j.status == s).count();
        json!({"Pending": count("PENDING"), "InProgress": count("PROCESSING"), "Completed": count("COMPLETED"),
               "Failed": count("FAILED")})
    }

    /// `/worker_events_aggregations` rows, oldest first, of the events in `[start, end]`.
    pub fn worker_buckets(&self, bucket: &str, start: Option<i64>, end: Option<i64>) -> Vec<Value> {
        let events: Vec<&W> =
            self.worker.iter().filter(|w| start.is_none_or(|s| w.ts >= s) && end.is_none_or(|e| w.ts <= e)).collect();
        let Some(first) = events.iter().map(|w| w.ts).min() else { return Vec::new() };
        let mut buckets: BTreeMap<i64, Vec<&W>> = BTreeMap::new();
        for w in events {
            buckets.entry(bucket_start(bucket, w.ts, first)).or_default().push(w);
        }
        buckets
            .into_iter()
            .map(|(at, events)| {
                let count = |s: &str| events.iter().filter(|w| w.status == s).count();
                json!({"time_bucket": time(at), "total_events": events.len(), "completed_events": count("COMPLETED"),
                       "failed_events": count("FAILED"),
                       "unique_workers": Self::distinct(events.iter().filter_map(|w| w.public_key.clone()))})
            })
            .collect()
    }

    /// `/user_events_aggregations` rows, oldest first, of the events in `[start, end]`.
    pub fn user_buckets(&self, bucket: &str, start: Option<i64>, end: Option<i64>) -> Vec<Value> {
        let events: Vec<&U> =
            self.user.iter().filter(|u| start.is_none_or(|s| u.ts >= s) && end.is_none_or(|e| u.ts <= e)).collect();
        let Some(first) = events.iter().map(|u| u.ts).min() else { return Vec::new() };
        let mut buckets: BTreeMap<i64, Vec<&U>> = BTreeMap::new();
        for u in events {
            buckets.entry(bucket_start(bucket, u.ts, first)).or_default().push(u);
        }
        buckets
            .into_iter()
            .map(|(at, events)| {
                let count = |kinds: &[&str]| events.iter().filter(|u| kinds.contains(&u.tx_type.as_str())).count();
                json!({"time_bucket": time(at), "total_events": events.len(),
                       "register_user_count": count(&["REGISTER_USER"]), "deploy_contract_count": count(&["DEPLOY_CONTRACT"]),
                       "user_tx_count": count(&["GUTA", "USER_ENDCAP"])})
            })
            .collect()
    }

    /// `/stats/workers/{raw}` for a worker whose events carry one of `keys` (`None`: 404), with
    /// its all-time rewards.
    pub fn worker_stats(&self, raw: &str, keys: &[&str], now: i64, total_rewards: u64) -> Option<Value> {
        let mine: Vec<&W> =
            self.worker.iter().filter(|w| w.public_key.as_deref().is_some_and(|k| keys.contains(&k))).collect();
        if mine.is_empty() {
            return None;
        }
        let day = |w: &&&W| (now - DAY..=now).contains(&w.ts);
        let count = |s: &str, in_day: bool| mine.iter().filter(|w| w.status == s && (!in_day || day(w))).count() as u64;
        let (completed, failed) = (count("COMPLETED", true), count("FAILED", true));
        let proven = mine.iter().filter(|w| w.status == "COMPLETED").filter_map(|w| w.duration).filter(|d| *d > 0);
        let newest = mine.iter().filter(|w| w.status == "COMPLETED").max_by_key(|w| (w.ts, w.order));
        Some(wire(json!({
            "worker_public_key": raw, "jobs_completed_24h": completed, "jobs_failed_24h": failed,
            "average_completion_time": average_secs(proven), "success_rate": rate(completed, failed),
            "total_rewards": total_rewards, "total_completed": count("COMPLETED", false),
            "total_failed": count("FAILED", false), "last_completed_block_height": newest.map(|w| w.checkpoint_id),
        })))
    }

    /// `COMPLETED` and `FAILED` events of a stored key in `[now − 24 h, now]`.
    pub fn outcomes_24h(&self, key: &str, now: i64) -> (u64, u64) {
        let mine =
            self.worker.iter().filter(|w| w.public_key.as_deref() == Some(key) && (now - DAY..=now).contains(&w.ts));
        mine.fold((0, 0), |(c, f), w| match w.status.as_str() {
            "COMPLETED" => (c + 1, f),
            "FAILED" => (c, f + 1),
            _ => (c, f),
        })
    }

    /// The success rate `/leaderboard/workers` shows for a stored key.
    pub fn success_rate_24h(&self, key: &str, now: i64) -> f64 {
        let (c, f) = self.outcomes_24h(key, now);
        rate(c, f)
    }
}

/// The items of a list answer without their `id` (checked to be an integer).
pub fn without_ids(items: &Value) -> Vec<Value> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("an array: {items}"))
        .iter()
        .map(|item| {
            let mut item = item.clone();
            assert!(item["id"].is_u64(), "ids are integers: {item}");
            item.as_object_mut().unwrap().remove("id");
            item
        })
        .collect()
}
