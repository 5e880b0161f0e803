//! The Psy document's background services, each on its configured interval until shutdown:
//! the job status refresh, the checkpoint reward processing (when a control endpoint is
//! configured) and the TPS broadcast. The fourth, the conversion of worker events into job
//! events, happens as events arrive: the indexer's projector folds every job from its worker
//! events (start, end, duration, final status) into the jobs family.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::psy::{rewards, tps};
use crate::reply::blocking;
use crate::State;

/// Starts the background services.
pub fn spawn(state: Arc<State>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let intervals = state.intervals;
    let mut tasks = Vec::new();
    let refresh_state = state.clone();
    tasks.push(every("job status refresh", intervals.job_refresh, true, shutdown.clone(), move || {
        let state = refresh_state.clone();
        async move {
            let now = state.clock.now();
            blocking(state, move |st| st.job_view.refresh(&st.projections, now)).await.map(|()| 0)
        }
    }));
    if state.control.is_some() {
        let reward_state = state.clone();
        let pass = move || rewards::process_pending(reward_state.clone());
        tasks.push(every("checkpoint reward processing", intervals.reward_processing, false, shutdown.clone(), pass));
    } else {
        tracing::warn!("no control endpoint configured: checkpoint rewards are not processed");
    }
    tasks.push(every("tps broadcast", intervals.tps_broadcast, true, shutdown, move || {
        let state = state.clone();
        async move {
            let now = state.clock.now();
            let message = blocking(state.clone(), move |st| tps::tps_message(&st.projections, now)).await?;
            state.tps.publish(&message);
            Ok(state.tps.clients())
        }
    }));
    tasks
}

/// Runs `pass` every `interval` (the first time at once when `now`, else after one interval)
/// until `shutdown`; a failed pass is logged and retried at the next tick.
fn every<F, Fut>(
    name: &'static str,
    interval: Duration,
    now: bool,
    mut shutdown: watch::Receiver<bool>,
    mut pass: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = crate::error::Result<usize>> + Send,
{
    tokio::spawn(async move {
        let interval = interval.max(Duration::from_millis(10));
        let first = tokio::time::Instant::now() + if now { Duration::ZERO } else { interval };
        let mut ticks = tokio::time::interval_at(first, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => match pass().await {
                    Ok(done) => tracing::debug!(service = name, done, "background pass"),
                    Err(err) => tracing::warn!(service = name, %err, "background pass failed"),
                },
                changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() {
                    return;
                },
            }
        }
    })
}
