//! `WS /ws/tps`: the TPS broadcast.
//!
//! Every `tps_interval` (12 s by default) the service computes the TPS as the real service does
//! (reference §3.11) and sends it to every connected client; a new client first receives the
//! latest message. Messages go through a broadcast channel and each client has its own task: a
//! client that stops reading falls behind alone (it skips what it missed, and is dropped when one
//! send, its close included, takes longer than the send timeout, or when it leaves a ping
//! unanswered that long), never delaying others. Clients are capped globally and per client key,
//! and what they send is never kept.
//!
//! - `tps` = the sum of the real weights (`UserEventTxType::tps_weight`: `GUTA` 0, the other
//!   three 1) over the user events timed in the last [`TPS_WINDOW_SECS`] (12) seconds before the
//!   service's clock, divided by 12; `transaction_count` is that sum.
//! - `block_height` = the highest `checkpoint_id` of any worker event (0 before the first).
//! - `total_transactions_24h` = the same weighted sum over the last 24 hours.
//!
//! **Two forms.** By default a client gets the document's flat message
//! `{"timestamp", "tps", "block_height", "total_transactions_24h"}` (followed by the real
//! `transaction_count` and `time_window_seconds`). `/ws/tps?format=wrapped` gets the real
//! service's wrapped form, `{"event_type": "TpsUpdate", "data": {"tps", "transaction_count",
//! "time_window_seconds", "block_height", "timestamp"}, "timestamp"}`, which the real example
//! client parses (`TpsUpdate`, the spelling that client expects, not the newer bare `Tps`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use warp::ws::{Message, WebSocket};

use crate::error::{ApiError, Result};

pub use super::read::events::{tps_message, TpsMessage, TPS_WINDOW_SECS};

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

/// The real service's wrapped form of a message.
#[derive(Debug, Clone, Serialize)]
pub struct Wrapped<'a> {
    /// Always `TpsUpdate`, the spelling the real example client expects.
    pub event_type: TpsEvent,
    /// The figures.
    pub data: WrappedData<'a>,
    /// The message's time.
    pub timestamp: &'a str,
}

/// The event type of a [`Wrapped`] message (the variant's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TpsEvent {
    /// A TPS update (not the newer bare `Tps`: the real example client parses this one).
    TpsUpdate,
}

/// The figures of a [`Wrapped`] message.
#[derive(Debug, Clone, Serialize)]
pub struct WrappedData<'a> {
    pub tps: f64,
    pub transaction_count: u64,
    pub time_window_seconds: i64,
    pub block_height: i64,
    pub timestamp: &'a str,
}

/// The real service's wrapped form of a flat message.
pub fn wrapped(flat: &TpsMessage) -> Wrapped<'_> {
    Wrapped {
        event_type: TpsEvent::TpsUpdate,
        data: WrappedData {
            tps: flat.tps,
            transaction_count: flat.transaction_count,
            time_window_seconds: flat.time_window_seconds,
            block_height: flat.block_height,
            timestamp: &flat.timestamp,
        },
        timestamp: &flat.timestamp,
    }
}

/// A message as JSON text (object keys sorted, as every answer).
fn text<T: Serialize>(message: &T) -> Arc<str> {
    serde_json::to_value(message).map(|value| value.to_string()).unwrap_or_else(|_| "{}".into()).into()
}

/// Which form of the message a client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TpsForm {
    /// The document's flat message (the default).
    #[default]
    Flat,
    /// The real service's `{"event_type": "TpsUpdate", "data", "timestamp"}`.
    Wrapped,
}

impl TpsForm {
    /// The `format` query parameter: absent or `flat`, or `wrapped`.
    pub fn parse(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("flat") => Ok(Self::Flat),
            Some("wrapped") => Ok(Self::Wrapped),
            Some(other) => Err(ApiError::BadRequest(format!(
                "`format` must be flat or wrapped, got {}",
                crate::params::shown(other)
            ))),
        }
    }
}

/// One message in both forms.
#[derive(Debug)]
struct Frames {
    flat: Arc<str>,
    wrapped: Arc<str>,
}

impl Frames {
    fn get(&self, form: TpsForm) -> &str {
        match form {
            TpsForm::Flat => &self.flat,
            TpsForm::Wrapped => &self.wrapped,
        }
    }
}

/// The clients' broadcast channel, the latest message, and the clients admitted.
pub struct TpsHub {
    limits: WsLimits,
    sender: broadcast::Sender<Arc<Frames>>,
    latest: RwLock<Option<Arc<Frames>>>,
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

    /// Sends a flat message ([`tps_message`], as JSON) to every client, each in its form (and to
    /// clients that connect later, first).
    pub fn publish(&self, message: &TpsMessage) {
        let frames = Arc::new(Frames { flat: text(message), wrapped: text(&wrapped(message)) });
        *self.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(frames.clone());
        let _ = self.sender.send(frames);
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

    /// Serves one admitted client, in `form`, until it leaves, sends data, stops answering (a send, a close
    /// or a ping answer late by more than the send timeout), or the hub closes. What the client
    /// sends is read and dropped at once: a data message ends the connection (the endpoint takes
    /// none), and the message and frame limits bound what a fragment may hold.
    pub async fn serve(self: Arc<Self>, socket: WebSocket, admission: Admission, form: TpsForm) {
        let timeout = self.limits.send_timeout;
        let mut updates = self.sender.subscribe();
        let mut closing = self.closing.subscribe();
        let (mut outgoing, mut incoming) = socket.split();
        let latest = self.latest.read().unwrap_or_else(|p| p.into_inner()).clone();
        let closed = *closing.borrow_and_update();
        let mut ok = match latest {
            Some(_) if closed => false,
            Some(frames) => send(&mut outgoing, Message::text(frames.get(form)), timeout).await,
            None => !closed,
        };
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + timeout, timeout);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut answered = true;
        while ok {
            tokio::select! {
                update = updates.recv() => match update {
                    Ok(frames) => ok = send(&mut outgoing, Message::text(frames.get(form)), timeout).await,
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
