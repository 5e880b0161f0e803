//! The telemetry poller: reads the cluster's performance (`getRecentPerformanceSamples`,
//! `getSlot`, `getBlockHeight`) at an interval and appends each reading to the log, so that the
//! TPS stream and statistics are projections like everything else and replay reproduces them.
//! A reading is stamped with the block time of the tip slot (chain time, like the events), or the
//! system clock when the node does not know it yet.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::backfill::Context;
use crate::error::Result;
use crate::log::Telemetry;

/// Takes one reading and appends it; returns it.
pub async fn poll_once(context: &Context) -> Result<Telemetry> {
    let slot = context.rpc.tip_slot().await?;
    let block_height = context.rpc.block_height().await?;
    let sample = context.rpc.newest_performance_sample().await?;
    let observed_at = match context.rpc.block_time(slot).await {
        Ok(Some(time)) => time,
        _ => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
    };
    let telemetry = Telemetry {
        observed_at,
        slot,
        block_height,
        sample_slot: sample.as_ref().map_or(slot, |s| s.slot),
        num_transactions: sample.as_ref().map_or(0, |s| s.num_non_vote_transactions.unwrap_or(s.num_transactions)),
        num_slots: sample.as_ref().map_or(0, |s| s.num_slots),
        sample_period_secs: sample.as_ref().map_or(0, |s| s.sample_period_secs),
    };
    context.log.append_telemetry(&telemetry)?;
    Ok(telemetry)
}

/// Polls every `interval` until `shutdown`; a failed poll is logged and retried next time.
pub async fn run(context: Arc<Context>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(err) = poll_once(&context).await {
                    tracing::warn!(error = %err, "telemetry poll failed");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
