//! `WS /ws/tps`: the TPS broadcast.
//!
//! Every `tps_interval` (12 s by default) the service reads the indexer's telemetry and sends
//! every connected client `{"timestamp", "tps", "block_height", "total_transactions_24h"}`; a new
//! client first receives the latest message. Messages go through a broadcast channel and each
//! client has its own task: a client that stops reading falls behind alone (it skips what it
//! missed, and is dropped when one send takes longer than [`SEND_TIMEOUT`]), never delaying others.
//!
//! `tps` is the newest performance sample's transactions over its period; `block_height` the
//! block height at the newest telemetry poll; `total_transactions_24h` the transactions of the
//! samples seen in the 24 hours before the service's clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::schema::psy::{TelemetrySample, TelemetrySampleFields};
use shared::schema::Family;
use tantivy::query::AllQuery;
use tantivy::Order;
use tokio::sync::broadcast;
use warp::ws::{Message, WebSocket};

use super::aggregations::aggregate;
use super::handlers::DAY_SECS;
use crate::error::{ApiError, Result};
use crate::projections::Projections;
use crate::query::{i64_range, page_by};
use crate::timefmt::rfc3339;

/// Longest a send to one client may take before the client is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages a client may fall behind before it skips ahead.
const BACKLOG: usize = 16;

/// The TPS message at `now` from the telemetry projection (zeros before the first poll).
pub fn tps_message(projections: &Projections, now: i64) -> Result<Value> {
    let Some(reader) = projections.family(Family::Telemetry)? else {
        return Ok(json!({ "timestamp": rfc3339(now), "tps": 0.0, "block_height": 0, "total_transactions_24h": 0 }));
    };
    let f = TelemetrySampleFields::resolve(&reader.index.schema());
    let searcher = reader.searcher();
    let newest = page_by(&searcher, &AllQuery, "sample_slot", Order::Desc, 1, 0)?;
    let newest_poll = page_by(&searcher, &AllQuery, "slot", Order::Desc, 1, 0)?;
    let sample = |docs: &[tantivy::TantivyDocument]| {
        docs.first()
            .map(|doc| TelemetrySample::from_document(doc, &f).map_err(|err| ApiError::Internal(err.to_string())))
            .transpose()
    };
    let tps = sample(&newest)?.map_or(0.0, |s| {
        if s.sample_period_secs == 0 {
            0.0
        } else {
            s.num_transactions as f64 / s.sample_period_secs as f64
        }
    });
    let block_height = sample(&newest_poll)?.map_or(0, |s| s.block_height);
    let day = aggregate(
        &searcher,
        &*i64_range(f.observed_at, Some(now - DAY_SECS), Some(now)),
        json!({ "transactions": { "sum": { "field": "num_transactions" } } }),
    )?;
    Ok(json!({
        "timestamp": rfc3339(now),
        "tps": tps,
        "block_height": block_height,
        "total_transactions_24h": day["transactions"]["value"].as_f64().unwrap_or(0.0) as u64,
    }))
}

/// The clients' broadcast channel and the latest message.
pub struct TpsHub {
    sender: broadcast::Sender<Arc<str>>,
    latest: RwLock<Option<Arc<str>>>,
    clients: AtomicUsize,
}

impl Default for TpsHub {
    fn default() -> Self {
        Self { sender: broadcast::channel(BACKLOG).0, latest: RwLock::new(None), clients: AtomicUsize::new(0) }
    }
}

impl TpsHub {
    /// Sends a message to every client (and to clients that connect later, first).
    pub fn publish(&self, message: &Value) {
        let text: Arc<str> = message.to_string().into();
        *self.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(text.clone());
        let _ = self.sender.send(text);
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Serves one client until it leaves, falls too far behind, or the hub closes.
    pub async fn serve(self: Arc<Self>, socket: WebSocket) {
        self.clients.fetch_add(1, Ordering::Relaxed);
        let mut updates = self.sender.subscribe();
        let (mut outgoing, mut incoming) = socket.split();
        let latest = self.latest.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut ok = match latest {
            Some(text) => send(&mut outgoing, &text).await,
            None => true,
        };
        while ok {
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(text) => ok = send(&mut outgoing, &text).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => ok = false,
                },
                message = incoming.next() => match message {
                    Some(Ok(message)) if !message.is_close() => {}
                    _ => ok = false,
                },
            }
        }
        let _ = outgoing.close().await;
        self.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn send(outgoing: &mut futures::stream::SplitSink<WebSocket, Message>, text: &str) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, outgoing.send(Message::text(text))).await, Ok(Ok(())))
}
