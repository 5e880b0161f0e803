//! The query service: a separate process that serves the DFPN indexer API and the Psy API
//! Services from the indexer's tantivy projections. It never opens the sled log; its writes go
//! through the indexer's control endpoint.

pub mod auth;
pub mod cache;
pub mod cli;
pub mod control;
pub mod dfpn;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod psy;
pub mod ratelimit;
pub mod reply;
pub mod routes;
pub mod server;
pub mod services;
pub mod timefmt;
pub mod work;

/// The projections' readers (`projection::read`), under the path the tests name.
pub mod projections {
    pub use projection::read::{FamilyReader, Projections};
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use warp::Filter;

use crate::auth::Auth;
use crate::control::{ControlClient, ControlConfig};
use crate::psy::tps::{TpsHub, WsLimits};
use crate::psy::views::JobStatusView;
use crate::ratelimit::{ClientKeys, Limits, RateLimiter};
use crate::reply::Surface;
use crate::server::{ConnectionLimits, Gate};
use crate::work::{WorkLimits, WorkPool};
use projection::read::Projections;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The indexer's data directory (projections are read from `<dir>/projections`).
    pub data_dir: PathBuf,
    /// Address of the DFPN surface.
    pub dfpn_addr: SocketAddr,
    /// Address of the Psy surface.
    pub psy_addr: SocketAddr,
    /// Rate limits.
    pub limits: Limits,
    /// Clients counted apart by the rate limiter (new ones past it share one key).
    pub rate_limit_max_clients: usize,
    /// How clients are identified: trusted proxies, IPv6 prefix.
    pub client_keys: ClientKeys,
    /// Connection cap and timeouts.
    pub connections: ConnectionLimits,
    /// Bound of the blocking work in flight.
    pub work: WorkLimits,
    /// Limits of `/ws/tps`.
    pub ws: WsLimits,
    /// JWT secret; `None` disables the authenticated tier, the admin endpoints and the
    /// telemetry feed.
    pub jwt_secret: Option<String>,
    /// Origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Longest time a request may take before it is answered 503.
    pub request_timeout: std::time::Duration,
    /// What "now" is for the "last 24 hours" statistics.
    pub clock: Clock,
    /// The indexer's control endpoint; `None` makes the writes (register, telemetry, rewards)
    /// answer 503.
    pub control: Option<ControlConfig>,
    /// Intervals of the background services.
    pub intervals: Intervals,
    /// Address of the Prometheus `/metrics` listener; `None` serves no metrics.
    pub metrics_addr: Option<SocketAddr>,
    /// Public base URL of the DFPN surface for the dashboard page (default: the page's host with
    /// the DFPN port).
    pub dfpn_public_url: Option<String>,
}

/// Default address of the DFPN surface.
pub const DEFAULT_DFPN_ADDR: SocketAddr = loopback(3030);
/// The CORS origin that allows any origin (the default).
pub const ANY_ORIGIN: &str = "*";
/// Default address of the Psy surface.
pub const DEFAULT_PSY_ADDR: SocketAddr = loopback(3000);
/// Default address of the Prometheus `/metrics` listener (`serve` turns it on).
pub const DEFAULT_METRICS_ADDR: SocketAddr = loopback(9465);
/// Default longest time a request may take before it is answered 503.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default interval of the job status refresh.
pub const DEFAULT_JOB_REFRESH: Duration = Duration::from_secs(10);
/// Default interval of the checkpoint reward processing.
pub const DEFAULT_REWARD_PROCESSING: Duration = Duration::from_secs(30);
/// Default interval of the TPS broadcast.
pub const DEFAULT_TPS_BROADCAST: Duration = Duration::from_secs(12);
/// Smallest header bound accepted (a request line and a few headers).
pub const MIN_HEADER_BYTES: usize = 1_024;

const fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port))
}

impl Config {
    /// The documented defaults over `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            dfpn_addr: DEFAULT_DFPN_ADDR,
            psy_addr: DEFAULT_PSY_ADDR,
            limits: Limits::default(),
            rate_limit_max_clients: ratelimit::DEFAULT_MAX_CLIENTS,
            client_keys: ClientKeys::default(),
            connections: ConnectionLimits::default(),
            work: WorkLimits::default(),
            ws: WsLimits::default(),
            jwt_secret: None,
            cors_origins: vec![ANY_ORIGIN.into()],
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            clock: Clock::System,
            control: None,
            intervals: Intervals::default(),
            metrics_addr: None,
            dfpn_public_url: None,
        }
    }

    /// Refuses an inconsistent configuration: an idle timeout that a request computing its
    /// answer (which sends nothing meanwhile) could outlast, or a header bound below
    /// [`MIN_HEADER_BYTES`].
    pub fn validate(&self) -> Result<(), String> {
        if self.connections.idle_timeout <= self.request_timeout {
            return Err(format!(
                "--idle-timeout-ms ({}) must exceed --request-timeout-ms ({}): a request computing its answer sends nothing",
                self.connections.idle_timeout.as_millis(),
                self.request_timeout.as_millis()
            ));
        }
        if self.connections.max_header_bytes < MIN_HEADER_BYTES {
            return Err(format!("--max-header-bytes must be at least {MIN_HEADER_BYTES}"));
        }
        Ok(())
    }
}

/// How often the Psy document's background services run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// Job status refresh (10 s).
    pub job_refresh: std::time::Duration,
    /// Checkpoint reward processing (30 s).
    pub reward_processing: std::time::Duration,
    /// TPS broadcast to `/ws/tps` clients (12 s).
    pub tps_broadcast: std::time::Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            job_refresh: DEFAULT_JOB_REFRESH,
            reward_processing: DEFAULT_REWARD_PROCESSING,
            tps_broadcast: DEFAULT_TPS_BROADCAST,
        }
    }
}

/// The time "last 24 hours" statistics are relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed unix time (tests, and replaying a past history as if it were live).
    Fixed(i64),
}

impl Clock {
    /// Unix seconds now.
    pub fn now(self) -> i64 {
        match self {
            Clock::System => (unix_millis() / 1_000) as i64,
            Clock::Fixed(unix) => unix,
        }
    }
}

/// What every request handler shares.
pub struct State {
    /// The projections.
    pub projections: Projections,
    /// Per-client counters.
    pub limiter: RateLimiter,
    /// Token verification, when a secret is configured.
    pub auth: Option<Auth>,
    /// How clients are identified.
    pub client_keys: ClientKeys,
    /// The bound of blocking work in flight.
    pub work: WorkPool,
    /// The connection cap shared by the surfaces.
    pub gate: Arc<Gate>,
    /// Longest time a request may take.
    pub request_timeout: std::time::Duration,
    /// What "now" is.
    pub clock: Clock,
    /// The indexer's control endpoint, when configured.
    pub control: Option<ControlClient>,
    /// The refreshed job status summary.
    pub job_view: JobStatusView,
    /// The `/ws/tps` clients.
    pub tps: Arc<TpsHub>,
    /// Intervals of the background services.
    pub intervals: Intervals,
    /// The service's metrics.
    pub metrics: metrics::Metrics,
    /// Port of the DFPN listener (for the dashboard's links).
    pub dfpn_port: u16,
    /// Public DFPN base URL, when configured.
    pub dfpn_public_url: Option<String>,
    /// Answers of the aggregation endpoints, per index generation.
    pub answers: cache::AnswerCache,
}

impl State {
    /// The shared state of a service configured by `config`.
    pub fn new(config: &Config) -> Self {
        Self {
            projections: Projections::new(&projection::projections_dir(&config.data_dir)),
            limiter: RateLimiter::new(config.limits, config.rate_limit_max_clients),
            auth: config.jwt_secret.as_deref().map(Auth::new),
            client_keys: config.client_keys.clone(),
            work: WorkPool::new(config.work),
            gate: Arc::new(Gate::new(config.connections.max_connections)),
            request_timeout: config.request_timeout,
            clock: config.clock,
            control: config.control.clone().and_then(|control| {
                ControlClient::new(control)
                    .map_err(|err| tracing::error!(%err, "writes disabled: no control endpoint client"))
                    .ok()
            }),
            job_view: JobStatusView::default(),
            tps: Arc::new(TpsHub::new(config.ws)),
            intervals: config.intervals,
            metrics: metrics::Metrics::default(),
            dfpn_port: config.dfpn_addr.port(),
            dfpn_public_url: config.dfpn_public_url.clone(),
            answers: cache::AnswerCache::default(),
        }
    }
}

/// A running service.
pub struct Running {
    /// Where the DFPN surface listens.
    pub dfpn_addr: SocketAddr,
    /// Where the Psy surface listens.
    pub psy_addr: SocketAddr,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    state: Arc<State>,
    shutdown: tokio::sync::watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Connections open now over the surfaces (WebSocket clients included).
    pub fn open_connections(&self) -> usize {
        self.state.gate.open()
    }

    /// Stops serving: listeners close, idle connections and WebSocket clients end at once, and
    /// requests in progress get the shutdown grace to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.state.tps.close();
        for server in self.servers {
            let _ = server.await;
        }
    }
}

/// Serves `routes` on `listener` within the connection limits until `shutdown` turns true.
fn serve<F>(
    routes: F,
    listener: tokio::net::TcpListener,
    state: &State,
    limits: ConnectionLimits,
    surface: Surface,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()>
where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let error = error::ApiError::Overloaded(format!(
        "the service has its {} connections open; retry shortly",
        limits.max_connections
    ));
    let refusal = server::refusal(&reply::error_body(surface, &error));
    tokio::spawn(server::serve(routes, listener, state.gate.clone(), limits, refusal, shutdown))
}

/// Binds `addr`, naming it in the error.
async fn bind(addr: SocketAddr, role: &str) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| std::io::Error::new(err.kind(), format!("cannot listen on {addr} ({role}): {err}")))
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn cors(origins: &[String]) -> warp::cors::Builder {
    let builder =
        warp::cors().allow_methods(["GET", "POST", "OPTIONS"]).allow_headers(["authorization", "content-type"]);
    if origins.iter().any(|origin| origin == ANY_ORIGIN) {
        builder.allow_any_origin()
    } else {
        builder.allow_origins(origins.iter().map(String::as_str))
    }
}

/// One surface: its routes with metrics, rate limits, CORS and error recovery.
fn surface(
    state: Arc<State>,
    surface: Surface,
    routes: Vec<routes::Route>,
    cors_origins: &[String],
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone + Send + Sync + 'static {
    let metrics_state = state.clone();
    reply::rate_limited(state, surface, routes::combine(surface, routes))
        .with(cors(cors_origins))
        .recover(move |rejection| reply::recover(surface, rejection))
        .map(into_response)
        .with(warp::log::custom(move |info| {
            metrics_state.metrics.observe(surface, info.path(), info.status().as_u16(), info.elapsed())
        }))
}

fn into_response<R: warp::Reply>(reply: R) -> warp::reply::Response {
    reply.into_response()
}

/// Connections the metrics listener takes at once (apart from the surfaces' cap).
const METRICS_CONNECTIONS: usize = 16;

/// Serves `GET /metrics` until `shutdown`.
fn serve_metrics(
    state: Arc<State>,
    listener: tokio::net::TcpListener,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let scraped = state.clone();
    let metrics = warp::path!("metrics").and(warp::get()).map(move || {
        let text = scraped.metrics.render_with(&scraped);
        warp::reply::with_header(text, "content-type", "text/plain; version=0.0.4")
    });
    let limits = ConnectionLimits { max_connections: METRICS_CONNECTIONS, ..ConnectionLimits::default() };
    let gate = Arc::new(Gate::new(METRICS_CONNECTIONS));
    let refusal = server::refusal(&serde_json::json!({ "error": "Service Unavailable" }));
    tokio::spawn(server::serve(metrics, listener, gate, limits, refusal, shutdown))
}

/// The service's root: validates `config`, serves both surfaces, the metrics listener and the
/// background services until `shutdown` completes, then stops them (requests in progress get
/// the shutdown grace).
pub async fn run(config: Config, shutdown: impl std::future::Future<Output = ()>) -> Result<(), String> {
    config.validate()?;
    let running = start(config).await.map_err(|err| err.to_string())?;
    println!(
        "query-api listening: dfpn http://{} psy http://{} metrics {:?}",
        running.dfpn_addr, running.psy_addr, running.metrics_addr
    );
    shutdown.await;
    running.stop().await;
    Ok(())
}

/// Binds the listeners and serves until [`Running::stop`] (the tests' entry: [`run`] without
/// the validation and the shutdown signal).
pub async fn start(mut config: Config) -> std::io::Result<Running> {
    let dfpn_listener = bind(config.dfpn_addr, "dfpn").await?;
    let psy_listener = bind(config.psy_addr, "psy").await?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(bind(addr, "metrics").await?),
        None => None,
    };
    let (dfpn_addr, psy_addr) = (dfpn_listener.local_addr()?, psy_listener.local_addr()?);
    config.dfpn_addr = dfpn_addr;
    let state = Arc::new(State::new(&config));
    let dfpn = surface(state.clone(), Surface::Dfpn, dfpn::routes(state.clone()), &config.cors_origins);
    let psy = surface(state.clone(), Surface::Psy, psy::routes(state.clone()), &config.cors_origins);
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let limits = config.connections;
    let mut servers = vec![
        serve(dfpn, dfpn_listener, &state, limits, Surface::Dfpn, stop.clone()),
        serve(psy, psy_listener, &state, limits, Surface::Psy, stop.clone()),
    ];
    let metrics_addr = match metrics_listener {
        Some(listener) => {
            let addr = listener.local_addr()?;
            servers.push(serve_metrics(state.clone(), listener, stop.clone()));
            Some(addr)
        }
        None => None,
    };
    servers.extend(services::spawn(state.clone(), stop));
    tracing::info!(%dfpn_addr, %psy_addr, ?metrics_addr, "DFPN and Psy surfaces listening");
    Ok(Running { dfpn_addr, psy_addr, metrics_addr, state, shutdown, servers })
}
