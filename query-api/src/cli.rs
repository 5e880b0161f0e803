//! The `query-api` command line: `serve` the API surfaces, or mint a `token` for operators.
//! Every flag has an environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::{unix_now, Auth};
use crate::control::ControlConfig;
use crate::psy::rewards::RewardRule;
use crate::ratelimit::Limits;
use crate::{Config, Intervals};

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
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the API surfaces until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Print a JWT for `--sub`, signed with JWT_SECRET.
    Token {
        /// Subject of the token.
        #[arg(long, default_value = "ops")]
        sub: String,
        /// Validity in hours.
        #[arg(long, env = "JWT_EXPIRATION_HOURS", default_value_t = 3)]
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
    #[arg(long, env = "INDEXER_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Address of the DFPN surface.
    #[arg(long, env = "DFPN_BIND", default_value = "127.0.0.1:3030")]
    pub dfpn_bind: SocketAddr,
    /// Address of the Psy surface.
    #[arg(long, env = "PSY_BIND", default_value = "127.0.0.1:3000")]
    pub psy_bind: SocketAddr,
    /// Port of the Psy surface (overrides the port of --psy-bind), as the Psy document's `--port`.
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
    /// Requests per window for anonymous clients.
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS", default_value_t = 100)]
    pub rate_limit_anonymous: u64,
    /// Requests per window for clients with a valid bearer token.
    #[arg(long, env = "RATE_LIMIT_AUTHENTICATED", default_value_t = 1_000)]
    pub rate_limit_authenticated: u64,
    /// Window length in seconds.
    #[arg(long, env = "RATE_LIMIT_WINDOW_SECS", default_value_t = 60)]
    pub rate_limit_window_secs: u64,
    /// Identify clients by the first X-Forwarded-For address (only behind a trusted proxy).
    #[arg(long, env = "TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// JWT secret (HS256); without it every client is anonymous and admin endpoints refuse.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Milliseconds a request may take before it is answered 503.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Unix time to use as "now" for the last-24-hours statistics (default: the system clock);
    /// for serving a past history, such as the fixture chain's, as if it were live.
    #[arg(long, env = "STATS_NOW")]
    pub now: Option<i64>,
    /// Origins allowed by CORS (repeat; `*` for any).
    #[arg(long = "cors-origin", env = "CORS_ORIGINS", value_delimiter = ',', default_value = "*")]
    pub cors_origins: Vec<String>,
    /// URL of the indexer's control endpoint, where the Psy writes (register, rewards) go.
    #[arg(long, env = "CONTROL_URL", default_value = "http://127.0.0.1:9466")]
    pub control_url: String,
    /// Token of the indexer's control endpoint; without it the Psy writes answer 503.
    #[arg(long, env = "CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// JSON file of reward units per completed job by circuit type (overrides the defaults).
    #[arg(long, env = "REWARD_RATES")]
    pub reward_rates: Option<PathBuf>,
    /// Seconds after a checkpoint's finalization before its rewards are calculated (finality).
    #[arg(long, env = "REWARD_FINALITY_SECS", default_value_t = 60)]
    pub reward_finality_secs: u64,
    /// Seconds between job status refreshes.
    #[arg(long, env = "JOB_REFRESH_SECS", default_value_t = 10)]
    pub job_refresh_secs: u64,
    /// Seconds between checkpoint reward processing passes.
    #[arg(long, env = "REWARD_PROCESSING_SECS", default_value_t = 30)]
    pub reward_processing_secs: u64,
    /// Address of the Prometheus `/metrics` endpoint (loopback by default).
    #[arg(long, env = "METRICS_BIND", default_value = "127.0.0.1:9465")]
    pub metrics_bind: SocketAddr,
    /// Public base URL of the DFPN surface, for the dashboard page behind a proxy (default: the
    /// page's host with the DFPN port).
    #[arg(long, env = "DFPN_PUBLIC_URL")]
    pub dfpn_public_url: Option<String>,
    /// Seconds between TPS broadcasts to `/ws/tps` clients.
    #[arg(long, env = "TPS_BROADCAST_SECS", default_value_t = 12)]
    pub tps_broadcast_secs: u64,
}

impl ServeArgs {
    /// The service configuration (fails on an unreadable reward rates file).
    pub fn config(&self) -> Result<Config, String> {
        let reward_rule = match &self.reward_rates {
            Some(path) => RewardRule::from_file(path)?,
            None => RewardRule::default(),
        };
        let seconds = |secs: u64| Duration::from_secs(secs.max(1));
        Ok(Config {
            data_dir: self.data_dir.clone(),
            dfpn_addr: self.dfpn_bind,
            psy_addr: SocketAddr::new(self.psy_bind.ip(), self.port.unwrap_or(self.psy_bind.port())),
            limits: Limits {
                anonymous: self.rate_limit_anonymous,
                authenticated: self.rate_limit_authenticated,
                window: Duration::from_secs(self.rate_limit_window_secs.max(1)),
            },
            trust_forwarded_for: self.trust_forwarded_for,
            jwt_secret: self.jwt_secret.clone().filter(|secret| !secret.is_empty()),
            cors_origins: self.cors_origins.clone(),
            request_timeout: Duration::from_millis(self.request_timeout_ms.max(1)),
            clock: self.now.map_or(crate::Clock::System, crate::Clock::Fixed),
            control: self
                .control_token
                .clone()
                .filter(|token| !token.is_empty())
                .map(|token| ControlConfig { url: self.control_url.clone(), token }),
            reward_rule,
            reward_finality: Duration::from_secs(self.reward_finality_secs),
            intervals: Intervals {
                job_refresh: seconds(self.job_refresh_secs),
                reward_processing: seconds(self.reward_processing_secs),
                tps_broadcast: seconds(self.tps_broadcast_secs),
            },
            metrics_addr: Some(self.metrics_bind),
            dfpn_public_url: self.dfpn_public_url.clone(),
        })
    }
}

/// Runs a parsed command; `serve` returns after `shutdown` resolves.
pub async fn run(cli: Cli, shutdown: impl std::future::Future<Output = ()>) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.config()?;
            let running = crate::start(config.clone())
                .await
                .map_err(|err| format!("cannot listen on {} / {}: {err}", config.dfpn_addr, config.psy_addr))?;
            println!(
                "query-api listening: dfpn http://{} psy http://{} metrics {:?}",
                running.dfpn_addr, running.psy_addr, running.metrics_addr
            );
            shutdown.await;
            running.stop().await;
            Ok(())
        }
        Command::Token { sub, hours, secret } => {
            if secret.is_empty() {
                return Err("JWT_SECRET is empty".into());
            }
            println!("{}", Auth::new(&secret).mint(&sub, hours, unix_now()));
            Ok(())
        }
    }
}
