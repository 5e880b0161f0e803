//! Checkpoint rewards by the real rule (`shared::psy_model::reward`, reference §3.10 and §3.12):
//! the calculation of one checkpoint, the background processing of every pending checkpoint, and
//! `/admin/checkpoint-processing-status`.
//!
//! **The rule.** The current checkpoint is the highest `checkpoint_id` of a `COMPLETED` worker
//! event; a checkpoint is final at or below current − 5. A final checkpoint's reward jobs are its
//! `COMPLETED` events on its highest slot, one per job id; each is paid its leaf's
//! `fees_collected` / the number of jobs, by integer division. The remainder is discarded (as the
//! real background task does) and recorded in the settlement (`remainder`).
//!
//! **What is settled, what waits** (a judgement; the real service retries such checkpoints
//! forever):
//! - *Paid*: the job rewards and the settlement are written.
//! - *No completed job* (a checkpoint known only from its leaf): settled with no rewards. No
//!   later leaf can change that outcome (there is nothing to pay). A completion reported after
//!   its checkpoint was settled is listed by `/checkpoint/job-events` but never paid: a
//!   settlement is written once.
//! - *No leaf*, *fees 0*, *fees below the job count* (a quotient of 0): kept pending and listed
//!   with the reason in `/admin/checkpoint-processing-status`: a leaf may still come, and a leaf
//!   of the checkpoint reported again overwrites the fees (the real upsert), which can make it
//!   payable.
//! - *Not final*: not pending yet (the real processor has not looked at it).
//!
//! **Idempotency.** A checkpoint's write carries its idempotency key
//! (`shared::control::rewards_key`, per checkpoint): the background pass and
//! `POST /checkpoint/calculate-rewards/{id}` run the same calculation and the indexer stores the
//! first write only, so a recalculation never distributes twice; a second call answers what is
//! stored.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use projection::schema::psy::{
    Checkpoint, CheckpointFields, RewardDistribution, RewardDistributionFields, RewardRun, RewardRunFields,
    WorkerEventFields,
};
use projection::schema::Family;
use serde_json::{json, Value};
use shared::control::{CheckpointSettlement, JobReward, RewardsRequest, WriteOutcome};
use shared::psy_model::reward::{checkpoint_reward, finalized_height, reward_jobs, CheckpointReward, RewardJob};
use shared::psy_model::telemetry::WorkerEvent as RealWorkerEvent;
use shared::psy_model::{QProvingJobDataID, Timestamp, WorkerEventStatus};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, Query};
use tantivy::{Order, Searcher};

use crate::error::{ApiError, Result};
use crate::projections::Projections;
use crate::query::{conjunction, first, i64_range, text_term, u64_term, u64_values};
use crate::reply::blocking;
use crate::State;

/// Reads fast fields of the matching documents, segment by segment in document order: `read`
/// gets each segment's reader and its matching doc ids (ascending).
pub(crate) fn scan(
    searcher: &Searcher,
    query: &dyn Query,
    mut read: impl FnMut(&tantivy::SegmentReader, &[tantivy::DocId]) -> Result<()>,
) -> Result<()> {
    let mut by_segment: BTreeMap<u32, Vec<tantivy::DocId>> = BTreeMap::new();
    for address in searcher.search(query, &DocSetCollector)? {
        by_segment.entry(address.segment_ord).or_default().push(address.doc_id);
    }
    for (segment, mut docs) in by_segment {
        docs.sort_unstable();
        read(searcher.segment_reader(segment), &docs)?;
    }
    Ok(())
}

/// The values of a text fast field for `docs`, in their order (`None` without one): each distinct
/// term is read once from the dictionary, in term order (a lookup per document costs a block
/// decode each).
pub(crate) fn text_values(
    column: Option<&tantivy::columnar::StrColumn>,
    docs: &[tantivy::DocId],
) -> Result<Vec<Option<String>>> {
    let Some(column) = column else { return Ok(vec![None; docs.len()]) };
    let ords: Vec<Option<u64>> = docs.iter().map(|doc| column.term_ords(*doc).next()).collect();
    let mut sorted: Vec<u64> = ords.iter().flatten().copied().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut terms = Vec::with_capacity(sorted.len());
    column
        .dictionary()
        .sorted_ords_to_term_cb(&sorted, |bytes| terms.push(String::from_utf8_lossy(bytes).into_owned()))
        .map_err(internal)?;
    if terms.len() != sorted.len() {
        return Err(internal("a text fast field's dictionary lacks a term"));
    }
    Ok(ords.iter().map(|ord| ord.and_then(|o| sorted.binary_search(&o).ok()).map(|i| terms[i].clone())).collect())
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(err.to_string())
}

/// Reads a checkpoint's leaf, or answers 404.
pub(crate) fn checkpoint(projections: &Projections, checkpoint_id: u64) -> Result<Checkpoint> {
    leaf(projections, checkpoint_id)?
        .ok_or_else(|| ApiError::NotFound(format!("no checkpoint with id {checkpoint_id}")))
}

/// A checkpoint's leaf (the newest reported), if any.
pub(crate) fn leaf(projections: &Projections, checkpoint_id: u64) -> Result<Option<Checkpoint>> {
    let Some(reader) = projections.family(Family::Checkpoints)? else { return Ok(None) };
    let f = CheckpointFields::resolve(&reader.index.schema());
    first(reader, f.id, &checkpoint_id.to_string())?
        .map(|doc| Checkpoint::from_document(&doc, &f).map_err(internal))
        .transpose()
}

/// A checkpoint's settlement, if its rewards were calculated.
pub(crate) fn settlement(projections: &Projections, checkpoint_id: u64) -> Result<Option<RewardRun>> {
    let Some(reader) = projections.family(Family::RewardRuns)? else { return Ok(None) };
    let f = RewardRunFields::resolve(&reader.index.schema());
    first(reader, f.id, &checkpoint_id.to_string())?
        .map(|doc| RewardRun::from_document(&doc, &f).map_err(internal))
        .transpose()
}

/// The current checkpoint: the highest `checkpoint_id` of a `COMPLETED` worker event.
pub fn current_checkpoint(projections: &Projections) -> Result<Option<u64>> {
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(None) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let query = text_term(f.status, WorkerEventStatus::Completed.as_str());
    let top = TopDocs::with_limit(1).order_by_fast_field::<i64>("checkpoint_id", Order::Desc);
    let hits = reader.searcher().search(&*query, &top)?;
    Ok(hits.first().and_then(|(id, _)| *id).and_then(|id| u64::try_from(id).ok()))
}

/// The highest `checkpoint_id` of any worker event (the `/ws/tps` and `/stats` block height).
pub fn highest_checkpoint(projections: &Projections) -> Result<Option<i64>> {
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(None) };
    let top = TopDocs::with_limit(1).order_by_fast_field::<i64>("checkpoint_id", Order::Desc);
    let hits = reader.searcher().search(&AllQuery, &top)?;
    Ok(hits.first().and_then(|(id, _)| *id))
}

/// A checkpoint's `COMPLETED` worker events as the real records the rule reads (each with its
/// log seq, in seq order), read from fast fields: the kept slot as `metadata.slot_id`.
fn completed_events(projections: &Projections, checkpoint_id: i64) -> Result<Vec<(u64, RealWorkerEvent)>> {
    let Some(reader) = projections.family(Family::WorkerEvents)? else { return Ok(Vec::new()) };
    let f = WorkerEventFields::resolve(&reader.index.schema());
    let query = conjunction(vec![
        text_term(f.status, WorkerEventStatus::Completed.as_str()),
        i64_range(f.checkpoint_id, Some(checkpoint_id), Some(checkpoint_id)),
    ]);
    let mut events = Vec::new();
    scan(&reader.searcher(), &*query, |segment, docs| {
        let fast = segment.fast_fields();
        let (seq, slot, time) = (fast.u64("seq")?, fast.u64("slot_id")?, fast.i64("timestamp_us")?);
        let (realm, duration) = (fast.i64("realm_id")?, fast.i64("duration")?);
        let job_ids = text_values(fast.str("job_id")?.as_ref(), docs)?;
        let keys = text_values(fast.str("public_key")?.as_ref(), docs)?;
        for ((&doc, job_id), key) in docs.iter().zip(job_ids).zip(keys) {
            let text = job_id.ok_or_else(|| internal("a worker event without a job id"))?;
            let event = RealWorkerEvent {
                id: None,
                realm_id: realm.first(doc),
                public_key: key,
                status: WorkerEventStatus::Completed,
                source: shared::psy_model::WorkerEventSource::Realm,
                job_id: text.parse::<QProvingJobDataID>().map_err(internal)?,
                checkpoint_id,
                duration: duration.first(doc),
                metadata: Some(json!({ "slot_id": slot.first(doc).unwrap_or(0) })),
                timestamp: Timestamp::from_unix_micros(time.first(doc).unwrap_or(0)),
                created_at: None,
                updated_at: None,
            };
            events.push((seq.first(doc).unwrap_or(0), event));
        }
        Ok(())
    })?;
    events.sort_by_key(|(seq, _)| *seq);
    Ok(events)
}

/// A checkpoint's reward jobs by the rule (`psy_model::reward::reward_jobs`), each with the log
/// seq of its kept completion.
pub fn checkpoint_jobs(projections: &Projections, checkpoint_id: u64) -> Result<Vec<(u64, RewardJob)>> {
    let Ok(id) = i64::try_from(checkpoint_id) else { return Ok(Vec::new()) };
    let events = completed_events(projections, id)?;
    let jobs = reward_jobs(events.iter().map(|(_, e)| e), checkpoint_id);
    let slot = events.iter().map(|(_, e)| e.slot_id()).max().unwrap_or(0);
    // The kept completion of a job: its earliest on the kept slot, the first in seq order on a tie.
    let mut seqs: HashMap<(QProvingJobDataID, i64), u64> = HashMap::new();
    for (seq, e) in events.iter().filter(|(_, e)| e.slot_id() == slot) {
        seqs.entry((e.job_id, e.timestamp.unix_micros())).or_insert(*seq);
    }
    Ok(jobs
        .into_iter()
        .map(|job| (seqs.get(&(job.job_id, job.timestamp.unix_micros())).copied().unwrap_or(0), job))
        .collect())
}

/// A checkpoint's calculation: its outcome by the rule and its jobs.
#[derive(Debug, Clone)]
pub struct Calculation {
    /// The checkpoint.
    pub checkpoint_id: u64,
    /// What it pays.
    pub outcome: CheckpointReward,
    /// Its reward jobs (with the seqs of their completions).
    pub jobs: Vec<(u64, RewardJob)>,
    /// Its leaf's fees, if a leaf was reported.
    pub fees: Option<u64>,
}

impl Calculation {
    /// The write that settles the checkpoint, dated `processed_us`, or `None` while it waits
    /// (not final, no leaf, fees 0 or below one unit per job).
    pub fn request(&self, processed_us: i64) -> Option<RewardsRequest> {
        let (split, rewards) = match self.outcome {
            CheckpointReward::Paid(split) => {
                let rewards = self
                    .jobs
                    .iter()
                    .map(|(_, job)| JobReward {
                        checkpoint_id: self.checkpoint_id,
                        worker_public_key: job.worker_public_key.clone(),
                        job_id: job.job_id,
                        reward_amount: split.reward_per_job,
                        total_fees_at_checkpoint: split.fees_collected,
                        total_jobs_at_checkpoint: split.jobs,
                        timestamp_us: job.timestamp.unix_micros(),
                    })
                    .collect();
                (split, rewards)
            }
            CheckpointReward::NoJobs => {
                let fees = self.fees.unwrap_or(0);
                (
                    shared::psy_model::reward::RewardSplit {
                        fees_collected: fees,
                        jobs: 0,
                        reward_per_job: 0,
                        remainder: fees,
                    },
                    Vec::new(),
                )
            }
            _ => return None,
        };
        let settled = CheckpointSettlement {
            checkpoint_id: self.checkpoint_id,
            fees_collected: split.fees_collected,
            jobs: split.jobs,
            reward_per_job: split.reward_per_job,
            remainder: split.remainder,
            processed_us,
        };
        Some(RewardsRequest { rewards, settled })
    }

    /// Why the checkpoint is not settled (for the processing status), or `None` when it can be.
    pub fn waiting_reason(&self) -> Option<String> {
        match self.outcome {
            CheckpointReward::Paid(_) | CheckpointReward::NoJobs => None,
            CheckpointReward::NotFinal { checkpoints_to_go } => {
                Some(format!("not final: {checkpoints_to_go} more completed checkpoints needed"))
            }
            CheckpointReward::NoLeaf => Some("no checkpoint leaf reported: fees unknown".into()),
            CheckpointReward::NoFees => Some("fees collected are 0".into()),
            CheckpointReward::BelowOnePerJob(split) => Some(format!(
                "fees collected ({}) are below its {} jobs: less than one unit per job",
                split.fees_collected, split.jobs
            )),
        }
    }
}

/// Applies the rule to `checkpoint_id` as the projections show it now.
pub fn calculate(projections: &Projections, checkpoint_id: u64) -> Result<Calculation> {
    let current = current_checkpoint(projections)?;
    let fees = leaf(projections, checkpoint_id)?.map(|leaf| u64::try_from(leaf.fees_collected).unwrap_or(0));
    let jobs = checkpoint_jobs(projections, checkpoint_id)?;
    let outcome = checkpoint_reward(checkpoint_id, current, fees, jobs.len() as u64);
    Ok(Calculation { checkpoint_id, outcome, jobs, fees })
}

/// One distribution as the rows are built from: seq, worker, circuit type, reward.
#[derive(Debug, Clone)]
pub(crate) struct Paid {
    pub seq: u64,
    pub worker: String,
    pub circuit_type: u8,
    pub reward_amount: u64,
    pub total_fees_at_checkpoint: u64,
    pub total_jobs_at_checkpoint: u64,
    pub timestamp_us: i64,
}

impl From<&RewardDistribution> for Paid {
    fn from(d: &RewardDistribution) -> Self {
        Self {
            seq: d.seq,
            worker: d.worker_public_key.clone(),
            circuit_type: u8::try_from(d.circuit_type).unwrap_or(u8::MAX),
            reward_amount: d.reward_amount,
            total_fees_at_checkpoint: d.total_fees_at_checkpoint,
            total_jobs_at_checkpoint: d.total_jobs_at_checkpoint,
            timestamp_us: d.timestamp_us,
        }
    }
}

/// The document's distribution rows of a checkpoint, from its per-job distributions: one row per
/// (worker, circuit type) with `job_count` and `total_rewards`, ordered by worker then circuit
/// number; `id` is the row's first distribution's seq, `created_at` the settlement time. Real
/// fields follow: the circuit number, the reward per job, and the checkpoint's fees and jobs.
pub(crate) fn distribution_rows(checkpoint_id: u64, paid: &[Paid], processed_us: i64) -> Value {
    let mut groups: BTreeMap<(&str, u8), Vec<&Paid>> = BTreeMap::new();
    for p in paid {
        groups.entry((p.worker.as_str(), p.circuit_type)).or_default().push(p);
    }
    let created_at = Timestamp::from_unix_micros(processed_us).to_string();
    Value::Array(
        groups
            .into_iter()
            .map(|((worker, circuit), rows)| {
                let first = rows.iter().map(|p| p.seq).min().unwrap_or(0);
                let total = rows.iter().fold(0u64, |sum, p| sum.saturating_add(p.reward_amount));
                json!({
                    "id": first,
                    "checkpoint_id": checkpoint_id,
                    "worker_public_key": worker,
                    "circuit_type": super::handlers::circuit_name(u64::from(circuit)),
                    "job_count": rows.len(),
                    "total_rewards": total,
                    "created_at": created_at,
                    "circuit_type_id": circuit,
                    "reward_per_job": rows.first().map_or(0, |p| p.reward_amount),
                    "total_fees_at_checkpoint": rows.first().map_or(0, |p| p.total_fees_at_checkpoint),
                    "total_jobs_at_checkpoint": rows.first().map_or(0, |p| p.total_jobs_at_checkpoint),
                })
            })
            .collect(),
    )
}

/// The stored per-job distributions matching `query`, with their checkpoints, in seq order (read
/// from fast fields).
pub(crate) fn stored_paid(
    projections: &Projections,
    query: impl Fn(&RewardDistributionFields) -> Box<dyn Query>,
) -> Result<Vec<(u64, Paid)>> {
    let Some(reader) = projections.family(Family::RewardDistributions)? else { return Ok(Vec::new()) };
    let f = RewardDistributionFields::resolve(&reader.index.schema());
    let mut paid = Vec::new();
    scan(&reader.searcher(), &*query(&f), |segment, docs| {
        let fast = segment.fast_fields();
        let number = |name: &str| fast.u64(name);
        let (seq, checkpoint, circuit) = (number("seq")?, number("checkpoint_id")?, number("circuit_type")?);
        let (amount, fees, jobs) =
            (number("reward_amount")?, number("total_fees_at_checkpoint")?, number("total_jobs_at_checkpoint")?);
        let time = fast.i64("timestamp_us")?;
        let workers = text_values(fast.str("worker_public_key")?.as_ref(), docs)?;
        for (&doc, worker) in docs.iter().zip(workers) {
            let p = Paid {
                seq: seq.first(doc).unwrap_or(0),
                worker: worker.unwrap_or_default(),
                circuit_type: circuit.first(doc).and_then(|c| u8::try_from(c).ok()).unwrap_or(u8::MAX),
                reward_amount: amount.first(doc).unwrap_or(0),
                total_fees_at_checkpoint: fees.first(doc).unwrap_or(0),
                total_jobs_at_checkpoint: jobs.first(doc).unwrap_or(0),
                timestamp_us: time.first(doc).unwrap_or(0),
            };
            paid.push((checkpoint.first(doc).unwrap_or(0), p));
        }
        Ok(())
    })?;
    paid.sort_by_key(|(_, p)| p.seq);
    Ok(paid)
}

/// The stored distribution rows of a checkpoint, once it is settled (`None` before).
pub fn stored_rows(projections: &Projections, checkpoint_id: u64) -> Result<Option<(RewardRun, Value)>> {
    let Some(run) = settlement(projections, checkpoint_id)? else { return Ok(None) };
    let paid: Vec<Paid> =
        stored_paid(projections, |f| u64_term(f.checkpoint_id, checkpoint_id))?.into_iter().map(|(_, p)| p).collect();
    if paid.len() as u64 != run.distributions {
        // The settlement is written after its rewards in one batch; a reader between two
        // commits could see part of it.
        return Ok(None);
    }
    let rows = distribution_rows(checkpoint_id, &paid, run.processed_us);
    Ok(Some((run, rows)))
}

/// The answer to a new write: its distributions with the seqs the log gave them.
fn written_rows(request: &RewardsRequest, outcome: &WriteOutcome) -> Value {
    let paid: Vec<Paid> = request
        .rewards
        .iter()
        .zip(&outcome.seqs)
        .map(|(r, seq)| Paid {
            seq: *seq,
            worker: r.worker_public_key.clone(),
            circuit_type: r.job_id.circuit_type.value(),
            reward_amount: r.reward_amount,
            total_fees_at_checkpoint: r.total_fees_at_checkpoint,
            total_jobs_at_checkpoint: r.total_jobs_at_checkpoint,
            timestamp_us: r.timestamp_us,
        })
        .collect();
    distribution_rows(request.settled.checkpoint_id, &paid, request.settled.processed_us)
}

/// Polls (100 ms apart) for a stored calculation to appear in the projections.
const STORED_WAIT_POLLS: usize = 50;

/// Calculates a checkpoint's rewards and, when it can be settled, stores them through the
/// control endpoint under its idempotency key. Answers the distribution rows: the stored ones
/// when it was settled before (never a second distribution), `[]` while it waits (the reason is
/// in `/admin/checkpoint-processing-status`), as the real endpoint answers `[]` when there is
/// nothing to pay. `POST /checkpoint/calculate-rewards/{id}` and the background pass.
pub async fn calculate_and_store(state: Arc<State>, checkpoint_id: u64) -> Result<Value> {
    if let Some((_, rows)) = blocking(state.clone(), move |st| stored_rows(&st.projections, checkpoint_id)).await? {
        return Ok(rows);
    }
    let calculation = blocking(state.clone(), move |st| calculate(&st.projections, checkpoint_id)).await?;
    let processed_us = state.clock.now().saturating_mul(1_000_000);
    let Some(request) = calculation.request(processed_us) else { return Ok(json!([])) };
    let control = state.control.clone().ok_or_else(|| {
        ApiError::Unavailable("rewards cannot be stored: the service has no control endpoint (--control-token)".into())
    })?;
    let outcome = control.record_rewards(&request).await?;
    if outcome.created {
        return Ok(written_rows(&request, &outcome));
    }
    // Settled before (by the other path, or an earlier try): answer what is stored once the
    // projections show all of it.
    for _ in 0..STORED_WAIT_POLLS {
        if let Some((_, rows)) = blocking(state.clone(), move |st| stored_rows(&st.projections, checkpoint_id)).await? {
            return Ok(rows);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(ApiError::Unavailable(format!(
        "checkpoint {checkpoint_id}'s rewards are stored; see /checkpoint/distributions/{checkpoint_id} shortly"
    )))
}

/// Most checkpoints settled per background pass.
const CHECKPOINTS_PER_PASS: usize = 100;

/// The backlog of the reward processing.
#[derive(Debug, Clone, Default)]
pub struct Backlog {
    /// The current checkpoint (highest completed).
    pub current: Option<u64>,
    /// current − 5, when above 0.
    pub finalized_height: Option<u64>,
    /// Final, unsettled checkpoints that can be settled now (ascending).
    pub ready: Vec<u64>,
    /// Final, unsettled checkpoints that wait, with the reason (ascending).
    pub waiting: Vec<(u64, String)>,
    /// The newest settled checkpoint.
    pub last_processed: Option<u64>,
}

impl Backlog {
    /// Every pending checkpoint (ready or waiting), ascending.
    pub fn pending(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self.ready.iter().copied().chain(self.waiting.iter().map(|(id, _)| *id)).collect();
        all.sort_unstable();
        all
    }
}

/// Final checkpoints (with a completed event or a leaf) not yet settled, each calculated.
pub fn backlog(projections: &Projections) -> Result<Backlog> {
    let current = current_checkpoint(projections)?;
    let height = finalized_height(current);
    let settled: BTreeSet<u64> = match projections.family(Family::RewardRuns)? {
        Some(reader) => u64_values(&reader.searcher(), &AllQuery, "checkpoint_id")?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let mut backlog =
        Backlog { current, finalized_height: height, last_processed: settled.last().copied(), ..Default::default() };
    let Some(height) = height else { return Ok(backlog) };
    let mut candidates: BTreeSet<u64> = BTreeSet::new();
    if let Some(reader) = projections.family(Family::WorkerEvents)? {
        let f = WorkerEventFields::resolve(&reader.index.schema());
        let query = conjunction(vec![
            text_term(f.status, WorkerEventStatus::Completed.as_str()),
            i64_range(f.checkpoint_id, Some(0), Some(i64::try_from(height).unwrap_or(i64::MAX))),
        ]);
        candidates.extend(
            i64_values(&reader.searcher(), &*query, "checkpoint_id")?.into_iter().filter_map(|v| u64::try_from(v).ok()),
        );
    }
    if let Some(reader) = projections.family(Family::Checkpoints)? {
        let f = CheckpointFields::resolve(&reader.index.schema());
        let query = i64_range(f.checkpoint_id, Some(0), Some(i64::try_from(height).unwrap_or(i64::MAX)));
        candidates.extend(
            i64_values(&reader.searcher(), &*query, "checkpoint_id")?.into_iter().filter_map(|v| u64::try_from(v).ok()),
        );
    }
    for checkpoint_id in candidates.difference(&settled) {
        let calculation = calculate(projections, *checkpoint_id)?;
        match calculation.waiting_reason() {
            None => backlog.ready.push(*checkpoint_id),
            Some(reason) => backlog.waiting.push((*checkpoint_id, reason)),
        }
    }
    Ok(backlog)
}

/// The distinct values of an i64 fast field over the matching documents, sorted.
fn i64_values(searcher: &Searcher, query: &dyn Query, field: &str) -> Result<Vec<i64>> {
    let addresses = searcher.search(query, &DocSetCollector)?;
    let mut columns = HashMap::new();
    let mut values = BTreeSet::new();
    for address in addresses {
        let column = match columns.entry(address.segment_ord) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(searcher.segment_reader(address.segment_ord).fast_fields().i64(field)?)
            }
        };
        values.extend(column.first(address.doc_id));
    }
    Ok(values.into_iter().collect())
}

/// One pass of the background reward processing: settles the oldest checkpoints that can be
/// settled; returns how many were.
pub async fn process_pending(state: Arc<State>) -> Result<usize> {
    let backlog = blocking(state.clone(), |st| backlog(&st.projections)).await?;
    let mut stored = 0;
    for checkpoint_id in backlog.ready.into_iter().take(CHECKPOINTS_PER_PASS) {
        calculate_and_store(state.clone(), checkpoint_id).await?;
        stored += 1;
    }
    Ok(stored)
}

/// Most pending checkpoints listed by id in the processing status.
pub const MAX_LISTED_PENDING: usize = 100;

/// `GET /admin/checkpoint-processing-status`: the document's four fields (`pending_count` is
/// exact; `pending_checkpoints` lists the oldest [`MAX_LISTED_PENDING`]), then the real rule's
/// state: `current_checkpoint`, `finalized_height`, and `waiting` (each waiting checkpoint with
/// the reason it is not settled).
pub fn processing_status(projections: &Projections) -> Result<Value> {
    let backlog = backlog(projections)?;
    let pending = backlog.pending();
    let status = match pending.len() {
        0 => "All checkpoints processed".to_owned(),
        1 => "1 checkpoint pending".to_owned(),
        n => format!("{n} checkpoints pending"),
    };
    let waiting: Vec<Value> = backlog
        .waiting
        .iter()
        .take(MAX_LISTED_PENDING)
        .map(|(id, reason)| json!({ "checkpoint_id": id, "reason": reason }))
        .collect();
    Ok(json!({
        "pending_count": pending.len(),
        "pending_checkpoints": pending.iter().take(MAX_LISTED_PENDING).collect::<Vec<_>>(),
        "last_processed_checkpoint": backlog.last_processed,
        "status": status,
        "current_checkpoint": backlog.current,
        "finalized_height": backlog.finalized_height,
        "waiting": waiting,
    }))
}

#[cfg(test)]
mod tests {
    use shared::psy_model::reward::RewardSplit;

    use super::*;

    fn job(worker: &str, circuit: u8, micros: i64) -> (u64, RewardJob) {
        let job_id: QProvingJobDataID = format!("0-10-0-{circuit}-0-0-{micros}-8-0").parse().unwrap();
        (
            micros as u64,
            RewardJob {
                job_id,
                worker_public_key: worker.into(),
                timestamp: Timestamp::from_unix_micros(micros),
                duration: None,
            },
        )
    }

    #[test]
    fn a_paid_checkpoint_writes_one_reward_per_job_and_the_remainder_in_the_settlement() {
        let split = RewardSplit { fees_collected: 1003, jobs: 3, reward_per_job: 334, remainder: 1 };
        let calculation = Calculation {
            checkpoint_id: 10,
            outcome: CheckpointReward::Paid(split),
            jobs: vec![job("a", 7, 1), job("a", 7, 2), job("b", 12, 3)],
            fees: Some(1003),
        };
        let request = calculation.request(99).unwrap();
        assert_eq!(request.rewards.len(), 3);
        assert!(request.rewards.iter().all(|r| r.reward_amount == 334 && r.total_jobs_at_checkpoint == 3));
        assert_eq!(
            (request.settled.remainder, request.settled.reward_per_job, request.settled.processed_us),
            (1, 334, 99)
        );
        let rows = written_rows(&request, &WriteOutcome { created: true, seqs: vec![5, 6, 7, 8] });
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0]["worker_public_key"].as_str(), rows[0]["job_count"].as_u64(), rows[0]["total_rewards"].as_u64()),
            (Some("a"), Some(2), Some(668))
        );
        assert_eq!((rows[0]["id"].as_u64(), rows[0]["circuit_type"].as_str()), (Some(5), Some("GUTATwoEndCap")));
        assert_eq!(
            (rows[1]["circuit_type"].as_str(), rows[1]["total_rewards"].as_u64()),
            (Some("GUTARegisterUsers"), Some(334))
        );
    }

    #[test]
    fn only_outcomes_that_cannot_change_are_settled_without_pay() {
        let base =
            Calculation { checkpoint_id: 4, outcome: CheckpointReward::NoJobs, jobs: Vec::new(), fees: Some(50) };
        let request = base.request(1).unwrap();
        assert!(request.rewards.is_empty());
        assert_eq!((request.settled.jobs, request.settled.remainder), (0, 50));
        let below = RewardSplit { fees_collected: 2, jobs: 3, reward_per_job: 0, remainder: 2 };
        for outcome in [
            CheckpointReward::NoLeaf,
            CheckpointReward::NoFees,
            CheckpointReward::BelowOnePerJob(below),
            CheckpointReward::NotFinal { checkpoints_to_go: 2 },
        ] {
            let waiting = Calculation { outcome, ..base.clone() };
            assert!(waiting.request(1).is_none(), "{outcome:?}");
            assert!(waiting.waiting_reason().is_some());
        }
    }
}
