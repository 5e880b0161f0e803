//! Running the projector: following the log (`indexer run`, `backfill`, `follow`), replaying it
//! from the first record (`indexer replay`), and the projector's own thread.

use std::path::Path;

use shared::ProgramSet;

use super::{Projector, STEP};
use crate::error::{Error, Result};
use crate::log::EventLog;

/// Keeps the projections caught up with the log until `shutdown` turns true, committing every
/// `interval` when anything new was folded; commits a last time before returning. Runs on its own
/// thread so that commits never block ingestion.
pub fn follow(
    log: &EventLog,
    projector: &mut Projector,
    interval: std::time::Duration,
    shutdown: &tokio::sync::watch::Receiver<bool>,
    metrics: &crate::metrics::Metrics,
) -> Result<()> {
    loop {
        let stopping = *shutdown.borrow();
        let folded = projector.catch_up(log, STEP)?;
        let started = std::time::Instant::now();
        projector.commit()?;
        metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        metrics.projection_seq.set(projector.committed_seq() as i64);
        if folded > 0 {
            tracing::debug!(
                folded,
                seq = projector.applied_seq(),
                commit_ms = started.elapsed().as_millis() as u64,
                "projections committed"
            );
        }
        if stopping && folded < STEP {
            return Ok(());
        }
        if folded < STEP {
            std::thread::sleep(interval);
        }
    }
}

/// Rebuilds every projection from the log's first record; returns the records folded.
pub fn replay(log: &EventLog, dir: &Path, programs: &ProgramSet) -> Result<u64> {
    Projector::destroy(dir)?;
    let mut projector = Projector::open(dir, programs)?;
    let mut total = 0u64;
    let started = std::time::Instant::now();
    loop {
        let folded = projector.catch_up(log, STEP)?;
        projector.commit()?;
        total += folded as u64;
        tracing::info!(
            seq = projector.applied_seq(),
            last = log.last_seq(),
            per_s = (total as f64 / started.elapsed().as_secs_f64().max(1e-3)) as u64,
            "replay progress"
        );
        if folded < STEP {
            break;
        }
    }
    projector.finish()?;
    Ok(total)
}

/// The projector on its own thread, following the log (see [`spawn`]).
pub struct ProjectorThread(std::thread::JoinHandle<Result<()>>);

/// Starts `projector` on its own thread (`projector`): it follows `log` ([`follow`]), committing
/// every `interval`, until `shutdown`, then commits a last time and closes the projections.
pub fn spawn(
    mut projector: Projector,
    log: std::sync::Arc<EventLog>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    interval: std::time::Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<ProjectorThread> {
    std::thread::Builder::new()
        .name("projector".into())
        .spawn(move || {
            follow(&log, &mut projector, interval, &shutdown, &metrics)?;
            projector.finish()
        })
        .map(ProjectorThread)
        .map_err(|err| Error::Projection(format!("starting the projector thread: {err}")))
}

impl ProjectorThread {
    /// Waits for the thread to end (blocking): its outcome, or an error when it panicked.
    pub fn join(self) -> Result<()> {
        self.0.join().map_err(|_| Error::Projection("projector thread panicked".into()))?
    }

    /// Waits for the thread to end off the async runtime's threads.
    pub async fn finish(self) -> Result<()> {
        tokio::task::spawn_blocking(move || self.join()).await.map_err(|err| Error::Projection(err.to_string()))?
    }
}
