//! The `query-api` command line: `serve` the API surfaces, or mint a `token` for operators.
//! Every flag has an environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::{unix_now, Auth};
use crate::control::{self, ControlConfig, NatsControl};
use crate::psy::tps::{self, WsLimits};
use crate::ratelimit::{self, ClientKeys, Limits, Network, ProxyTrust};
use crate::server::{self, ConnectionLimits};
use crate::work::{self, WorkLimits};
use crate::{Config, Intervals};

/// Default of `--nats-stream`: the indexer's default stream name.
pub const DEFAULT_NATS_STREAM: &str = "INDEXER_LOG";

/// A default duration as the milliseconds of its flag.
const fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

/// Command-line interface of `query-api`.
#[derive(Debug, Parser)]
#[command(
    name = "query-api",
    version,
    about = "Serves the DFPN indexer API and the Psy API Services from the indexer's projections"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands (parsed once, so the size difference between them does not matter).
/// `token`'s subject unless given (an operator's token).
pub const DEFAULT_TOKEN_SUBJECT: &str = "ops";
/// `token`'s validity in hours unless given.
pub const DEFAULT_TOKEN_HOURS: u64 = 3;
/// `--nats-url` unless given: empty, the writes go to --control-url.
pub const NATS_OFF: &str = "";

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the API surfaces until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Print a JWT for `--sub`, signed with JWT_SECRET.
    Token {
        /// Subject of the token.
        #[arg(long, default_value = DEFAULT_TOKEN_SUBJECT)]
        sub: String,
        /// Validity in hours.
        #[arg(long, env = "JWT_EXPIRATION_HOURS", default_value_t = DEFAULT_TOKEN_HOURS)]
        hours: u64,
        /// The signing secret.
        #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
        secret: String,
    },
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The indexer's data directory.
    #[arg(long, env = "INDEXER_DATA_DIR", default_value = projection::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Address of the DFPN surface.
    #[arg(long, env = "DFPN_BIND", default_value_t = crate::DEFAULT_DFPN_ADDR)]
    pub dfpn_bind: SocketAddr,
    /// Address of the Psy surface.
    #[arg(long, env = "PSY_BIND", default_value_t = crate::DEFAULT_PSY_ADDR)]
    pub psy_bind: SocketAddr,
    /// Port of the Psy surface (overrides the port of --psy-bind), as the Psy document's `--port`.
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
    /// Requests per window for anonymous clients.
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS", default_value_t = ratelimit::DEFAULT_ANONYMOUS_LIMIT)]
    pub rate_limit_anonymous: u64,
    /// Requests per window for clients with a valid bearer token.
    #[arg(long, env = "RATE_LIMIT_AUTHENTICATED", default_value_t = ratelimit::DEFAULT_AUTHENTICATED_LIMIT)]
    pub rate_limit_authenticated: u64,
    /// Window length in seconds.
    #[arg(long, env = "RATE_LIMIT_WINDOW_SECS", default_value_t = ratelimit::DEFAULT_WINDOW_SECS)]
    pub rate_limit_window_secs: u64,
    /// One trusted proxy in front (nginx): the client is the X-Forwarded-For hop it appended,
    /// the right-most one (same as --trusted-proxy-hops 1).
    #[arg(long, env = "TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Number of trusted proxies in front, the peer included: the client is the right-most
    /// X-Forwarded-For hop past them (0: the peer is the client).
    #[arg(long, env = "TRUSTED_PROXY_HOPS", default_value_t = ratelimit::DEFAULT_TRUSTED_PROXY_HOPS, conflicts_with = "trusted_proxies")]
    pub trusted_proxy_hops: u8,
    /// Addresses or CIDR networks of trusted proxies (repeat or comma-separate): the client is
    /// the right-most X-Forwarded-For hop outside them, when the peer is one of them.
    #[arg(long = "trusted-proxy", env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<Network>,
    /// IPv6 clients are counted by this prefix length.
    #[arg(long, env = "RATE_LIMIT_IPV6_PREFIX", default_value_t = ratelimit::DEFAULT_IPV6_PREFIX,
          value_parser = clap::value_parser!(u8).range(1..=128))]
    pub rate_limit_ipv6_prefix: u8,
    /// Clients the rate limiter counts apart per window; new clients past it share one count.
    #[arg(long, env = "RATE_LIMIT_MAX_CLIENTS", default_value_t = ratelimit::DEFAULT_MAX_CLIENTS)]
    pub rate_limit_max_clients: usize,
    /// Open connections over both surfaces; past it a connection is answered 503 and closed.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = server::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Milliseconds a request header may take to arrive (also the keep-alive wait).
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = millis(server::DEFAULT_HEADER_READ_TIMEOUT))]
    pub header_read_timeout_ms: u64,
    /// Milliseconds a connection may pass without traffic before it is closed.
    #[arg(long, env = "IDLE_TIMEOUT_MS", default_value_t = millis(server::DEFAULT_IDLE_TIMEOUT))]
    pub idle_timeout_ms: u64,
    /// Milliseconds requests in progress get to finish at shutdown.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = millis(server::DEFAULT_SHUTDOWN_GRACE))]
    pub shutdown_grace_ms: u64,
    /// Largest request header in bytes, request line included (431 past it).
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = server::DEFAULT_MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
    /// Blocking query tasks running at once.
    #[arg(long, env = "MAX_BLOCKING_QUERIES", default_value_t = work::DEFAULT_MAX_IN_FLIGHT)]
    pub max_blocking_queries: usize,
    /// Requests waiting for a blocking slot; past it a request is answered 503 before it starts.
    #[arg(long, env = "MAX_QUEUED_QUERIES", default_value_t = work::DEFAULT_MAX_QUEUED)]
    pub max_queued_queries: usize,
    /// Largest message a /ws/tps client may send, in bytes.
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = tps::DEFAULT_MAX_MESSAGE_BYTES)]
    pub ws_max_message_bytes: usize,
    /// Largest frame a /ws/tps client may send, in bytes.
    #[arg(long, env = "WS_MAX_FRAME_BYTES", default_value_t = tps::DEFAULT_MAX_FRAME_BYTES)]
    pub ws_max_frame_bytes: usize,
    /// /ws/tps clients connected at once (503 past it).
    #[arg(long, env = "WS_MAX_CLIENTS", default_value_t = tps::DEFAULT_MAX_CLIENTS)]
    pub ws_max_clients: usize,
    /// /ws/tps clients connected at once per client key (429 past it).
    #[arg(long, env = "WS_MAX_CLIENTS_PER_KEY", default_value_t = tps::DEFAULT_MAX_CLIENTS_PER_KEY)]
    pub ws_max_clients_per_key: usize,
    /// Milliseconds a send to a /ws/tps client (its close included) or its answer to a ping may
    /// take before the client is dropped.
    #[arg(long, env = "WS_SEND_TIMEOUT_MS", default_value_t = millis(tps::DEFAULT_SEND_TIMEOUT))]
    pub ws_send_timeout_ms: u64,
    /// JWT secret (HS256); without it every client is anonymous, and the admin endpoints and the
    /// telemetry feed (`/telemetry/*`) refuse with 503.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Milliseconds a request may take before it is answered 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = millis(crate::DEFAULT_REQUEST_TIMEOUT))]
    pub request_timeout_ms: u64,
    /// Unix time to use as "now" for the last-24-hours statistics (default: the system clock);
    /// for serving a past history, such as the fixture chain's, as if it were live.
    #[arg(long, env = "STATS_NOW")]
    pub now: Option<i64>,
    /// Origins allowed by CORS (repeat; `*` for any).
    #[arg(long = "cors-origin", env = "CORS_ORIGINS", value_delimiter = ',', default_value = crate::ANY_ORIGIN)]
    pub cors_origins: Vec<String>,
    /// URL of the indexer's control endpoint, where the Psy writes (register, telemetry, rewards)
    /// go.
    #[arg(long, env = "CONTROL_URL", default_value = control::DEFAULT_CONTROL_URL)]
    pub control_url: String,
    /// Token of the indexer's control endpoint; without it the Psy writes answer 503.
    #[arg(long, env = "CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// NATS client URL (`nats://host:4222`); when set, the Psy writes go to the indexer over NATS
    /// request-reply on `<stream>.control.*` instead of --control-url (empty: off).
    #[arg(long, env = "NATS_URL", default_value = NATS_OFF)]
    pub nats_url: String,
    /// Name of the indexer's JetStream stream (the control subjects' prefix).
    #[arg(long, env = "NATS_STREAM", default_value = DEFAULT_NATS_STREAM)]
    pub nats_stream: String,
    /// Seconds between job status refreshes.
    #[arg(long, env = "JOB_REFRESH_SECS", default_value_t = crate::DEFAULT_JOB_REFRESH.as_secs())]
    pub job_refresh_secs: u64,
    /// Seconds between checkpoint reward processing passes.
    #[arg(long, env = "REWARD_PROCESSING_SECS", default_value_t = crate::DEFAULT_REWARD_PROCESSING.as_secs())]
    pub reward_processing_secs: u64,
    /// Address of the Prometheus `/metrics` endpoint (loopback by default).
    #[arg(long, env = "METRICS_BIND", default_value_t = crate::DEFAULT_METRICS_ADDR)]
    pub metrics_bind: SocketAddr,
    /// Public base URL of the DFPN surface, for the dashboard page behind a proxy (default: the
    /// page's host with the DFPN port).
    #[arg(long, env = "DFPN_PUBLIC_URL")]
    pub dfpn_public_url: Option<String>,
    /// Seconds between TPS broadcasts to `/ws/tps` clients.
    #[arg(long, env = "TPS_BROADCAST_SECS", default_value_t = crate::DEFAULT_TPS_BROADCAST.as_secs())]
    pub tps_broadcast_secs: u64,
}

impl ServeArgs {
    /// The service configuration (fails on inconsistent timeouts).
    pub fn config(&self) -> Result<Config, String> {
        let seconds = |secs: u64| Duration::from_secs(secs.max(1));
        let ms = |ms: u64| Duration::from_millis(ms.max(1));
        let request_timeout = ms(self.request_timeout_ms);
        let proxies = if !self.trusted_proxies.is_empty() {
            ProxyTrust::Networks(self.trusted_proxies.clone())
        } else if self.trusted_proxy_hops > 0 {
            ProxyTrust::Hops(self.trusted_proxy_hops)
        } else if self.trust_forwarded_for {
            ProxyTrust::Hops(1)
        } else {
            ProxyTrust::None
        };
        let config = Config {
            data_dir: self.data_dir.clone(),
            dfpn_addr: self.dfpn_bind,
            psy_addr: SocketAddr::new(self.psy_bind.ip(), self.port.unwrap_or(self.psy_bind.port())),
            limits: Limits {
                anonymous: self.rate_limit_anonymous,
                authenticated: self.rate_limit_authenticated,
                window: Duration::from_secs(self.rate_limit_window_secs.max(1)),
            },
            rate_limit_max_clients: self.rate_limit_max_clients.max(1),
            client_keys: ClientKeys { proxies, ipv6_prefix: self.rate_limit_ipv6_prefix },
            connections: ConnectionLimits {
                max_connections: self.max_connections.max(1),
                header_read_timeout: ms(self.header_read_timeout_ms),
                idle_timeout: ms(self.idle_timeout_ms),
                shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
                max_header_bytes: self.max_header_bytes,
            },
            work: WorkLimits { max_in_flight: self.max_blocking_queries.max(1), max_queued: self.max_queued_queries },
            ws: WsLimits {
                max_message_bytes: self.ws_max_message_bytes.max(16),
                max_frame_bytes: self.ws_max_frame_bytes.max(16),
                max_clients: self.ws_max_clients,
                max_clients_per_key: self.ws_max_clients_per_key,
                send_timeout: ms(self.ws_send_timeout_ms),
            },
            jwt_secret: self.jwt_secret.clone().filter(|secret| !secret.is_empty()),
            cors_origins: self.cors_origins.clone(),
            request_timeout,
            clock: self.now.map_or(crate::Clock::System, crate::Clock::Fixed),
            control: self.control_token.clone().filter(|token| !token.is_empty()).map(|token| ControlConfig {
                url: self.control_url.clone(),
                token,
                nats: self.nats(),
            }),
            intervals: Intervals {
                job_refresh: seconds(self.job_refresh_secs),
                reward_processing: seconds(self.reward_processing_secs),
                tps_broadcast: seconds(self.tps_broadcast_secs),
            },
            metrics_addr: Some(self.metrics_bind),
            dfpn_public_url: self.dfpn_public_url.clone(),
        };
        config.validate()?;
        Ok(config)
    }
}

impl ServeArgs {
    /// The NATS the writes go over, when `--nats-url` is set.
    fn nats(&self) -> Option<NatsControl> {
        let url = self.nats_url.trim();
        (!url.is_empty()).then(|| NatsControl { url: url.to_owned(), stream: self.nats_stream.trim().to_owned() })
    }
}

/// Runs a parsed command; `serve` returns after `shutdown` resolves.
pub async fn run(cli: Cli, shutdown: impl std::future::Future<Output = ()>) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => crate::run(args.config()?, shutdown).await,
        Command::Token { sub, hours, secret } => {
            if secret.is_empty() {
                return Err("JWT_SECRET is empty".into());
            }
            println!("{}", Auth::new(&secret).mint(&sub, hours, unix_now()));
            Ok(())
        }
    }
}
