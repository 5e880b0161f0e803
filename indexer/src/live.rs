//! The live source: `logsSubscribe {mentions: [program]}` for every configured program, with
//! reconnection (exponential backoff with jitter) and gap backfill after every (re)connect.
//!
//! After subscribing, and before trusting the stream, each program is backfilled from its cursor,
//! so nothing announced while disconnected is missed; notifications that overlap the backfill are
//! skipped by the log's idempotency index. A periodic reconciliation backfills from the cursor
//! again (catching notifications a server dropped silently, and moving the cursor) and checks
//! pending transactions for finality. Truncated logs are re-fetched with `getTransaction`.
//! Each transaction's position in its block comes from `getBlock` (recent blocks are cached), so
//! that events of one slot are ordered as on chain, not as notified.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use shared::envelope::{EventEnvelope, EventSource};
use shared::ProgramKind;
use solana_commitment_config::CommitmentConfig;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::{RpcTransactionLogsConfig, RpcTransactionLogsFilter};
use solana_rpc_client_api::response::{Response, RpcLogsResponse};
use tokio::sync::{mpsc, oneshot, watch};

use crate::backfill::{BackfillFrom, Context};
use crate::error::{Error, Result};
use crate::rpc::backoff;

/// How the live source runs.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// PubSub URL.
    pub ws_url: String,
    /// Commitment of the subscription.
    pub commitment: CommitmentConfig,
    /// Interval of the reconciliation backfill and finality check.
    pub reconcile_interval: Duration,
}

/// Runs the live source until `shutdown` turns true.
pub async fn run(context: Arc<Context>, config: LiveConfig, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut attempt = 0u32;
    loop {
        let connected = Arc::new(AtomicBool::new(false));
        let outcome = session(context.clone(), config.clone(), shutdown.clone(), connected.clone()).await;
        if *shutdown.borrow() {
            return Ok(());
        }
        match outcome {
            Err(err) if err.is_fatal() => return Err(err),
            Err(err) => tracing::warn!(error = %err, attempt, "live session ended"),
            Ok(()) => {}
        }
        attempt = if connected.load(Ordering::Relaxed) { 1 } else { attempt + 1 };
        context.metrics.reconnects.inc();
        tokio::select! {
            _ = tokio::time::sleep(backoff(attempt)) => {}
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// One connection: subscribe, close the gap, then follow the stream until it breaks.
async fn session(
    context: Arc<Context>,
    config: LiveConfig,
    mut shutdown: watch::Receiver<bool>,
    connected: Arc<AtomicBool>,
) -> Result<()> {
    let client =
        Arc::new(PubsubClient::new(config.ws_url.as_str()).await.map_err(|err| Error::Pubsub(err.to_string()))?);
    let (sender, mut notifications) = mpsc::channel(NOTIFICATION_BUFFER);
    let mut forwarders = Vec::new();
    let ids: Vec<String> = context.programs.iter().map(|(_, id)| id.to_string()).collect();
    for id in ids {
        let (subscribed, confirmation) = oneshot::channel();
        forwarders.push(tokio::spawn(forward(client.clone(), id, config.commitment, sender.clone(), subscribed)));
        confirmation.await.map_err(|_| Error::Pubsub("subscription task ended".into()))??;
    }
    drop(sender);
    let _abort = AbortOnDrop(forwarders);
    tracing::info!(url = %config.ws_url, "subscribed; closing the gap since the cursors");
    if !reconcile_unless_stopped(&context, &mut shutdown).await? {
        return Ok(());
    }
    connected.store(true, Ordering::Relaxed);
    let mut ticker = tokio::time::interval(config.reconcile_interval);
    ticker.tick().await;
    loop {
        // Shutdown first: a busy stream or a due reconciliation never delays a stop.
        tokio::select! {
            biased;
            _ = shutdown.changed() => return Ok(()),
            notification = notifications.recv() => match notification {
                Some(Some(notification)) => handle(&context, notification).await?,
                // One subscription ended (or all did): resubscribe everything.
                Some(None) | None => return Err(Error::Pubsub("subscription stream ended".into())),
            },
            _ = ticker.tick() => {
                if !reconcile_unless_stopped(&context, &mut shutdown).await? {
                    return Ok(());
                }
            }
        }
    }
}

/// Runs a reconciliation pass unless shutdown comes first; `false` when it did. A pass cut
/// short loses nothing: each of its appends is atomic and durable, and the next start reconciles
/// again from the cursors.
async fn reconcile_unless_stopped(context: &Arc<Context>, shutdown: &mut watch::Receiver<bool>) -> Result<bool> {
    if *shutdown.borrow() {
        return Ok(false);
    }
    tokio::select! {
        biased;
        _ = shutdown.changed() => Ok(false),
        done = reconcile(context) => done.map(|()| true),
    }
}

/// Notifications buffered between the subscription tasks and the appender.
const NOTIFICATION_BUFFER: usize = 16_384;

/// Aborts the subscription tasks when a session ends.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// Subscribes to one program's logs and forwards notifications until the stream ends, then
/// sends `None` so that the session reconnects even if other subscriptions still run.
async fn forward(
    client: Arc<PubsubClient>,
    program: String,
    commitment: CommitmentConfig,
    sender: mpsc::Sender<Option<Response<RpcLogsResponse>>>,
    subscribed: oneshot::Sender<Result<()>>,
) {
    let filter = RpcTransactionLogsFilter::Mentions(vec![program]);
    let config = RpcTransactionLogsConfig { commitment: Some(commitment) };
    let (mut stream, _unsubscribe) = match client.logs_subscribe(filter, config).await {
        Ok(subscription) => subscription,
        Err(err) => {
            let _ = subscribed.send(Err(Error::Pubsub(err.to_string())));
            return;
        }
    };
    let _ = subscribed.send(Ok(()));
    while let Some(notification) = stream.next().await {
        if sender.send(Some(notification)).await.is_err() {
            return;
        }
    }
    let _ = sender.send(None).await;
}

/// Backfills every program from its cursor, then checks finality.
pub async fn reconcile(context: &Arc<Context>) -> Result<()> {
    let tip = context.rpc.tip_slot().await?;
    let newest = context.metrics.newest_notified_slot.get();
    if newest > 0 {
        context.metrics.slot_lag.set(tip as i64 - newest);
    }
    let programs: Vec<ProgramKind> = context.programs.iter().map(|(program, _)| program).collect();
    for program in programs {
        let stats = context.backfill(program, BackfillFrom::Cursor).await?;
        if stats.appended > 0 {
            tracing::info!(
                program = program.as_str(),
                appended = stats.appended,
                "reconciliation appended missed events"
            );
        }
    }
    context.check_finality().await?;
    context.retry_set_aside().await?;
    Ok(())
}

/// Decodes one notification and appends its events.
async fn handle(context: &Arc<Context>, notification: Response<RpcLogsResponse>) -> Result<()> {
    let notified_slot = notification.context.slot;
    context.metrics.newest_notified_slot.set(context.metrics.newest_notified_slot.get().max(notified_slot as i64));
    let logs = notification.value;
    if logs.err.is_some() {
        context.metrics.failed_transactions.inc();
        return Ok(());
    }
    let decoded = shared::decode_transaction(&context.programs, &logs.logs, false, None);
    if decoded.events.is_empty() && !decoded.needs_fetch() {
        for skipped in &decoded.skipped {
            context.metrics.decode_failure(skipped.reason);
        }
        return Ok(());
    }
    // A notification's context slot is the node's slot when it sent it, not necessarily the
    // transaction's (Agave's can be earlier): the transaction's own slot comes from its status.
    // When the status cannot be read, the transaction is fetched whole instead.
    let status_slot = match logs.signature.parse() {
        Ok(signature) => match context.rpc.statuses(&[signature]).await {
            Ok(statuses) => statuses.first().copied().flatten(),
            Err(err) => {
                tracing::warn!(signature = %logs.signature, %err, "status unavailable; fetching the transaction");
                None
            }
        },
        Err(_) => {
            tracing::warn!(signature = %logs.signature, "notification with an invalid signature ignored");
            return Ok(());
        }
    };
    let events = match status_slot {
        Some(slot) if !decoded.needs_fetch() => {
            for skipped in &decoded.skipped {
                context.metrics.decode_failure(skipped.reason);
            }
            let tx_index = position(context, slot, &logs.signature).await;
            let block_time = context.rpc.block_time(slot).await?;
            decoded
                .events
                .into_iter()
                .map(|event| EventEnvelope {
                    seq: 0,
                    slot,
                    signature: logs.signature.clone(),
                    tx_index,
                    event_index: event.event_index,
                    block_time,
                    source: EventSource::Chain,
                    event: event.event,
                })
                .collect()
        }
        _ => {
            if decoded.truncated {
                context.metrics.truncated_refetches.inc();
            }
            fetch_positioned(context, &logs.signature).await?
        }
    };
    let newest = events.iter().map(|event| event.slot).max().unwrap_or(notified_slot);
    let outcome = context.log.append(&events, None::<(ProgramKind, &crate::log::Cursor)>, newest.saturating_sub(1))?;
    context.metrics.events_appended.inc_by(outcome.appended.len() as u64);
    context.metrics.duplicates_skipped.inc_by(outcome.duplicates as u64);
    Ok(())
}

/// Fetches a transaction whole and stamps its events with the transaction's block position.
async fn fetch_positioned(context: &Context, signature: &str) -> Result<Vec<EventEnvelope>> {
    let mut events = context.fetch_events(signature).await?;
    if let Some(slot) = events.first().map(|event| event.slot) {
        let tx_index = position(context, slot, signature).await;
        events.iter_mut().for_each(|event| event.tx_index = tx_index);
    }
    Ok(events)
}

/// A transaction's block position; unknown (counted) rather than a stopped stream when the
/// node cannot tell it.
async fn position(context: &Context, slot: u64, signature: &str) -> Option<u32> {
    let position = context.rpc.position(slot, signature).await.unwrap_or_else(|err| {
        tracing::warn!(slot, signature, %err, "block position unavailable");
        None
    });
    if position.is_none() {
        context.metrics.positions_unknown.inc();
    }
    position
}
