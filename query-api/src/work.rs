//! Bounds the blocking work (tantivy searches and aggregations) in flight.
//!
//! At most `max_in_flight` pieces of work run on the blocking pool at once, and at most
//! `max_queued` requests wait for a slot; a request past the queue is answered `503` before any
//! work starts, and one whose deadline passes while it waits is answered `503` without starting.
//! A slot is released when the work itself ends, not when its request gives up waiting for it,
//! so work that outlives its answer still counts against the bound.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::error::{ApiError, Result};

/// Default number of blocking tasks running at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;
/// Default number of requests waiting for a slot.
pub const DEFAULT_MAX_QUEUED: usize = 64;

/// Bounds of the blocking work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkLimits {
    /// Blocking tasks running at once.
    pub max_in_flight: usize,
    /// Requests waiting for a slot.
    pub max_queued: usize,
}

impl Default for WorkLimits {
    fn default() -> Self {
        Self { max_in_flight: DEFAULT_MAX_IN_FLIGHT, max_queued: DEFAULT_MAX_QUEUED }
    }
}

/// The slots of blocking work and their counters.
pub struct WorkPool {
    limits: WorkLimits,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    shed: AtomicU64,
}

impl WorkPool {
    /// A pool within `limits`.
    pub fn new(limits: WorkLimits) -> Self {
        let limits = WorkLimits { max_in_flight: limits.max_in_flight.max(1), ..limits };
        Self {
            limits,
            slots: Arc::new(Semaphore::new(limits.max_in_flight)),
            queued: AtomicUsize::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            shed: AtomicU64::new(0),
        }
    }

    /// Blocking tasks running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// The most blocking tasks that ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Requests refused (queue full or deadline passed while waiting) since the start.
    pub fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    /// Runs `work` on the blocking pool once a slot is free: refused at once when the queue is
    /// full, and answered [`ApiError::Timeout`] when `deadline` passes first (waiting or
    /// running). Without a deadline it waits for a slot as long as it takes (background work).
    pub async fn run<T, F>(&self, deadline: Option<(Instant, std::time::Duration)>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if deadline.is_some() && self.queued.fetch_add(1, Ordering::AcqRel) >= self.limits.max_queued {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    self.shed.fetch_add(1, Ordering::Relaxed);
                    return Err(ApiError::Overloaded(format!(
                        "the service is busy: {} queries running and {} waiting; retry shortly",
                        self.limits.max_in_flight, self.limits.max_queued
                    )));
                }
                let acquire = self.slots.clone().acquire_owned();
                let acquired = match deadline {
                    Some((at, timeout)) => {
                        let waited = tokio::time::timeout_at(at, acquire).await;
                        self.queued.fetch_sub(1, Ordering::AcqRel);
                        waited.map_err(|_| {
                            self.shed.fetch_add(1, Ordering::Relaxed);
                            ApiError::Timeout(timeout)
                        })?
                    }
                    None => acquire.await,
                };
                acquired.map_err(|_| ApiError::Unavailable("the service is shutting down".into()))?
            }
        };
        let running = self.running.clone();
        let now = running.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now, Ordering::AcqRel);
        let task = tokio::task::spawn_blocking(move || {
            let result = work();
            running.fetch_sub(1, Ordering::AcqRel);
            drop(permit);
            result
        });
        let joined = match deadline {
            Some((at, timeout)) => tokio::time::timeout_at(at, task).await.map_err(|_| ApiError::Timeout(timeout))?,
            None => task.await,
        };
        joined.map_err(|failure| ApiError::Internal(format!("handler failed: {failure}")))?
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn past_the_queue_work_is_refused_before_it_starts() {
        let pool = Arc::new(WorkPool::new(WorkLimits { max_in_flight: 1, max_queued: 1 }));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let deadline = || Some((Instant::now() + Duration::from_secs(5), Duration::from_secs(5)));
        let first = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(deadline(), move || {
                    let _ = hold.recv();
                    Ok(1)
                })
                .await
            }
        });
        while pool.running() == 0 {
            tokio::task::yield_now().await;
        }
        let queued = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(deadline(), || Ok(2)).await }
        });
        while pool.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let started = Arc::new(AtomicUsize::new(0));
        let flag = started.clone();
        let refused = pool
            .run(deadline(), move || {
                flag.fetch_add(1, Ordering::Relaxed);
                Ok(3)
            })
            .await;
        assert!(matches!(refused, Err(ApiError::Overloaded(_))), "{refused:?}");
        assert_eq!(started.load(Ordering::Relaxed), 0, "refused work never starts");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(queued.await.unwrap().unwrap(), 2);
        assert_eq!((pool.peak(), pool.shed()), (1, 1));
    }
}
