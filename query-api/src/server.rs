//! The HTTP/1.1 server under each listener, in place of warp's own: it bounds what a slow or
//! abusive client can hold.
//!
//! - At most `max_connections` connections are open over all listeners sharing a [`Gate`]; a
//!   connection past the cap is answered `503` (the surface's body) and closed at once.
//! - A request header must arrive whole within `header_read_timeout` (this also bounds how long a
//!   kept-alive connection may wait for its next request), and be at most `max_header_bytes`
//!   (`431` otherwise).
//! - A connection on which no byte moves for `idle_timeout` is closed.
//! - On shutdown, listeners close, connections without a request in progress close at once, and
//!   requests in progress get `shutdown_grace` to finish.
//!
//! Each request carries its peer address as a [`PeerAddr`] extension.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use warp::hyper;

/// A request as hyper reads it.
type Request = warp::http::Request<hyper::body::Incoming>;

/// Default cap of open connections over both surfaces.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_024;
/// Default time a request header may take to arrive.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time a connection may stay without traffic.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time requests in progress get to finish at shutdown.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default largest request header (request line included).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// Connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections over all surfaces.
    pub max_connections: usize,
    /// Longest a request header may take to arrive.
    pub header_read_timeout: Duration,
    /// Longest a connection may stay without traffic.
    pub idle_timeout: Duration,
    /// Time requests in progress get to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Largest request header, in bytes.
    pub max_header_bytes: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

/// The peer address of a request (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The connection cap shared by listeners, and the count of open connections.
pub struct Gate {
    permits: Arc<Semaphore>,
    open: Arc<AtomicUsize>,
    refused: AtomicU64,
}

impl Gate {
    /// A gate admitting `max_connections` connections at a time.
    pub fn new(max_connections: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            open: Arc::new(AtomicUsize::new(0)),
            refused: AtomicU64::new(0),
        }
    }

    /// Connections open now (WebSocket connections included).
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections refused at the cap since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Serves `filter` on `listener` within `limits` until `shutdown` turns true; `refusal` is the
/// whole HTTP response written to a connection past the cap.
pub async fn serve<F>(
    filter: F,
    listener: TcpListener,
    gate: Arc<Gate>,
    limits: ConnectionLimits,
    refusal: Arc<[u8]>,
    mut shutdown: watch::Receiver<bool>,
) where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let service = TowerToHyperService::new(warp::service(filter));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = gate.permits.clone().try_acquire_owned() else {
            gate.refused.fetch_add(1, Ordering::Relaxed);
            let _ = stream.try_write(&refusal);
            tracing::debug!(%peer, "connection refused: at the connection cap");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tracked = Tracked::new(stream, permit, gate.open.clone());
        connections.spawn(connection(tracked, peer, service.clone(), limits, shutdown.clone()));
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Serves one connection until it ends, idles out, or the service shuts down.
async fn connection<H>(
    io: Tracked,
    peer: SocketAddr,
    service: H,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) where
    H: hyper::service::Service<Request, Response = warp::reply::Response> + Send + Sync + 'static,
    H::Future: Send + 'static,
    H::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let activity = io.activity.clone();
    let busy = Arc::new(AtomicUsize::new(0));
    let in_progress = busy.clone();
    let handler = hyper::service::service_fn(move |mut request: Request| {
        request.extensions_mut().insert(PeerAddr(peer));
        let guard = Busy::enter(in_progress.clone());
        let response = hyper::service::Service::call(&service, request);
        async move {
            let response = response.await;
            drop(guard);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        // The read buffer grows no larger than a header may be (hyper's own floor is 8 KiB):
        // a client sending a huge header costs its connection little before the 431.
        .max_buf_size((limits.max_header_bytes + 1_024).max(8_192))
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), handler).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, %err, "connection ended");
            }
            return;
        }
        () = activity.idle_for(limits.idle_timeout) => {
            tracing::debug!(%peer, "connection closed: idle");
            return;
        }
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
    if busy.load(Ordering::Acquire) == 0 {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.shutdown_grace, conn).await;
}

/// Counts a request in progress on a connection while alive.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// When bytes last moved on a connection.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        self.last_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = self.start.elapsed().saturating_sub(last);
            if quiet >= idle {
                return;
            }
            tokio::time::sleep(idle - quiet).await;
        }
    }
}

/// A TCP stream holding its slot under the connection cap, recording its traffic.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
    open: Arc<AtomicUsize>,
    _permit: OwnedSemaphorePermit,
}

impl Tracked {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, open: Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity { start: Instant::now(), last_ms: AtomicU64::new(0) });
        Self { stream, activity, open, _permit: permit }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The raw HTTP response written to a connection refused at the cap.
pub fn refusal(body: &serde_json::Value) -> Arc<[u8]> {
    let body = body.to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
    .into()
}
