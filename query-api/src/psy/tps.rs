//! `WS /ws/tps`: the TPS broadcast.
//!
//! Every `tps_interval` (12 s by default) the service reads the indexer's telemetry and sends
//! every connected client `{"timestamp", "tps", "block_height", "total_transactions_24h"}`; a new
//! client first receives the latest message. Messages go through a broadcast channel and each
//! client has its own task: a client that stops reading falls behind alone (it skips what it
//! missed, and is dropped when one send, its close included, takes longer than the send timeout, or
//! when it leaves a ping unanswered that long), never delaying others. Clients are capped
//! globally and per client key, and what they send is never kept.
//!
//! `tps` is the newest performance sample's transactions over its period; `block_height` the
//! block height at the newest telemetry poll; `total_transactions_24h` the transactions of the
//! samples seen in the 24 hours before the service's clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::schema::psy::{TelemetrySample, TelemetrySampleFields};
use shared::schema::Family;
use tantivy::query::AllQuery;
use tantivy::Order;
use tokio::sync::{broadcast, watch};
use warp::ws::{Message, WebSocket};

use super::aggregations::aggregate;
use super::handlers::DAY_SECS;
use crate::error::{ApiError, Result};
use crate::projections::Projections;
use crate::query::{i64_range, page_by};
use crate::timefmt::rfc3339;

/// Default longest time a send to one client may take (its close included) before the client
/// is dropped; a client must also answer the server's ping within it.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Default largest message a client may send (the endpoint takes none; pings and closes fit).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_024;
/// Default largest frame a client may send.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1_024;
/// Default cap of connected clients.
pub const DEFAULT_MAX_CLIENTS: usize = 512;
/// Default cap of connected clients per client key (address or token subject).
pub const DEFAULT_MAX_CLIENTS_PER_KEY: usize = 4;
/// Messages a client may fall behind before it skips ahead.
const BACKLOG: usize = 16;

/// The limits of `/ws/tps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLimits {
    /// Largest message a client may send.
    pub max_message_bytes: usize,
    /// Largest frame a client may send.
    pub max_frame_bytes: usize,
    /// Clients connected at once.
    pub max_clients: usize,
    /// Clients connected at once with one client key.
    pub max_clients_per_key: usize,
    /// Longest a send (or close) may take, and longest a ping may stay unanswered.
    pub send_timeout: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_clients: DEFAULT_MAX_CLIENTS,
            max_clients_per_key: DEFAULT_MAX_CLIENTS_PER_KEY,
            send_timeout: DEFAULT_SEND_TIMEOUT,
        }
    }
}

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

/// The clients' broadcast channel, the latest message, and the clients admitted.
pub struct TpsHub {
    limits: WsLimits,
    sender: broadcast::Sender<Arc<str>>,
    latest: RwLock<Option<Arc<str>>>,
    clients: AtomicUsize,
    per_key: Mutex<HashMap<String, usize>>,
    closing: watch::Sender<bool>,
}

impl Default for TpsHub {
    fn default() -> Self {
        Self::new(WsLimits::default())
    }
}

/// A client's place under the caps, released when dropped.
pub struct Admission {
    hub: Arc<TpsHub>,
    key: String,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut per_key = self.hub.per_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = per_key.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                per_key.remove(&self.key);
            }
        }
        self.hub.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

impl TpsHub {
    /// A hub within `limits`.
    pub fn new(limits: WsLimits) -> Self {
        Self {
            limits,
            sender: broadcast::channel(BACKLOG).0,
            latest: RwLock::new(None),
            clients: AtomicUsize::new(0),
            per_key: Mutex::new(HashMap::new()),
            closing: watch::channel(false).0,
        }
    }

    /// The limits clients are held to.
    pub fn limits(&self) -> WsLimits {
        self.limits
    }

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

    /// Ends every client (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Admits a client of `key` before its upgrade: 503 at the global cap, 429 at the per-key cap.
    pub fn admit(self: &Arc<Self>, key: &str) -> Result<Admission> {
        let mut per_key = self.per_key.lock().unwrap_or_else(|p| p.into_inner());
        if self.clients.load(Ordering::Acquire) >= self.limits.max_clients {
            return Err(ApiError::Overloaded(format!(
                "/ws/tps has its {} clients; retry later",
                self.limits.max_clients
            )));
        }
        let count = per_key.entry(key.to_owned()).or_insert(0);
        if *count >= self.limits.max_clients_per_key {
            return Err(ApiError::TooManyClients(format!(
                "at most {} /ws/tps connections per client",
                self.limits.max_clients_per_key
            )));
        }
        *count += 1;
        self.clients.fetch_add(1, Ordering::AcqRel);
        Ok(Admission { hub: self.clone(), key: key.to_owned() })
    }

    /// Serves one admitted client until it leaves, sends data, stops answering (a send, a close
    /// or a ping answer late by more than the send timeout), or the hub closes. What the client
    /// sends is read and dropped at once: a data message ends the connection (the endpoint takes
    /// none), and the message and frame limits bound what a fragment may hold.
    pub async fn serve(self: Arc<Self>, socket: WebSocket, admission: Admission) {
        let timeout = self.limits.send_timeout;
        let mut updates = self.sender.subscribe();
        let mut closing = self.closing.subscribe();
        let (mut outgoing, mut incoming) = socket.split();
        let latest = self.latest.read().unwrap_or_else(|p| p.into_inner()).clone();
        let closed = *closing.borrow_and_update();
        let mut ok = match latest {
            Some(_) if closed => false,
            Some(text) => send(&mut outgoing, Message::text(&*text), timeout).await,
            None => !closed,
        };
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + timeout, timeout);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut answered = true;
        while ok {
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(text) => ok = send(&mut outgoing, Message::text(&*text), timeout).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => ok = false,
                },
                message = incoming.next() => match message {
                    Some(Ok(message)) if message.is_ping() || message.is_pong() => answered = true,
                    _ => ok = false,
                },
                _ = heartbeat.tick() => {
                    ok = answered && send(&mut outgoing, Message::ping(Vec::new()), timeout).await;
                    answered = false;
                }
                _ = closing.changed() => ok = false,
            }
        }
        let _ = tokio::time::timeout(timeout, outgoing.close()).await;
        drop(admission);
    }
}

async fn send(
    outgoing: &mut futures::stream::SplitSink<WebSocket, Message>,
    message: Message,
    timeout: Duration,
) -> bool {
    matches!(tokio::time::timeout(timeout, outgoing.send(message)).await, Ok(Ok(())))
}
