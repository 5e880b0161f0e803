//! The query service: a separate process that serves the DFPN indexer API (and, next, the Psy
//! API) from the indexer's tantivy projections. It never opens the sled log.

pub mod auth;
pub mod cli;
pub mod dfpn;
pub mod error;
pub mod params;
pub mod projections;
pub mod ratelimit;
pub mod reply;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use warp::Filter;

use crate::auth::Auth;
use crate::projections::Projections;
use crate::ratelimit::{Limits, RateLimiter};
use crate::reply::Surface;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The indexer's data directory (projections are read from `<dir>/projections`).
    pub data_dir: PathBuf,
    /// Address of the DFPN surface.
    pub dfpn_addr: SocketAddr,
    /// Rate limits.
    pub limits: Limits,
    /// Count clients by the first `X-Forwarded-For` address (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// JWT secret; `None` disables the authenticated tier (and admin endpoints).
    pub jwt_secret: Option<String>,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
}

/// What every request handler shares.
pub struct State {
    /// The projections.
    pub projections: Projections,
    /// Per-client counters.
    pub limiter: RateLimiter,
    /// Token verification, when a secret is configured.
    pub auth: Option<Auth>,
    /// Whether `X-Forwarded-For` identifies clients.
    pub trust_forwarded_for: bool,
}

/// A running service.
pub struct Running {
    /// Where the DFPN surface listens.
    pub dfpn_addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving and waits for in-flight requests.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.server.await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn cors(origins: &[String]) -> warp::cors::Builder {
    let builder =
        warp::cors().allow_methods(["GET", "POST", "OPTIONS"]).allow_headers(["authorization", "content-type"]);
    if origins.iter().any(|origin| origin == "*") {
        builder.allow_any_origin()
    } else {
        builder.allow_origins(origins.iter().map(String::as_str))
    }
}

/// Binds the listeners and serves until [`Running::stop`].
pub async fn start(config: Config) -> std::io::Result<Running> {
    let state = Arc::new(State {
        projections: Projections::new(&config.data_dir.join("projections")),
        limiter: RateLimiter::new(config.limits),
        auth: config.jwt_secret.as_deref().map(Auth::new),
        trust_forwarded_for: config.trust_forwarded_for,
    });
    let dfpn = reply::rate_limited(state.clone(), Surface::Dfpn, dfpn::routes(state.clone()))
        .with(cors(&config.cors_origins))
        .recover(|rejection| reply::recover(Surface::Dfpn, rejection));
    let listener = tokio::net::TcpListener::bind(config.dfpn_addr).await?;
    let dfpn_addr = listener.local_addr()?;
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        warp::serve(dfpn)
            .incoming(listener)
            .graceful(async {
                let _ = shutdown_rx.await;
            })
            .run()
            .await;
    });
    tracing::info!(%dfpn_addr, "DFPN surface listening");
    Ok(Running { dfpn_addr, shutdown, server })
}
