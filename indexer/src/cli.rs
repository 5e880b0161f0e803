//! The `indexer` command line: `run`, `backfill`, `replay`, `status`, `export`, `follow`. Every
//! flag has an environment fallback.
//!
//! sled lets one process open a data directory, so `backfill` runs offline (stop `run` first);
//! a second process gets a clear "data directory in use" error, never a panic.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use shared::program::ProgramIdArgs;
use shared::{ProgramKind, ProgramSet};
use solana_commitment_config::CommitmentConfig;
use tokio::sync::watch;

use crate::backfill::{BackfillFrom, Context};
use crate::control;
use crate::error::{Error, Result};
use crate::live::{self, LiveConfig};
use crate::log::EventLog;
use crate::metrics::Metrics;
use crate::projector::{self, Projector};
use crate::rpc::Rpc;
use crate::stream::{self, NatsArgs};
use crate::telemetry;

/// Command-line interface of `indexer`.
#[derive(Debug, Parser)]
#[command(name = "indexer", version, about = "Event-sourced indexer of the DFPN and Psy Solana programs")]
pub struct Cli {
    /// Options every subcommand shares.
    #[command(flatten)]
    pub common: CommonArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Directory of the event log.
    #[arg(long, global = true, env = "INDEXER_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Solana JSON-RPC URL.
    #[arg(long, global = true, env = "RPC_URL", default_value = "http://127.0.0.1:8899")]
    pub rpc_url: String,
    /// Solana PubSub (WebSocket) URL.
    #[arg(long, global = true, env = "RPC_WS_URL", default_value = "ws://127.0.0.1:8899")]
    pub ws_url: String,
    /// The ids of the five DFPN programs and of Psy (defaults: the real DFPN ids).
    #[command(flatten)]
    pub programs: ProgramIdArgs,
    /// Commitment of subscriptions and reads: processed, confirmed or finalized.
    #[arg(long, global = true, env = "COMMITMENT", default_value = "confirmed")]
    pub commitment: String,
    /// RPC requests in flight during backfill (each fetches up to `--rpc-batch` transactions).
    #[arg(long, global = true, env = "FETCH_CONCURRENCY", default_value_t = 16)]
    pub concurrency: usize,
    /// Transactions per `getTransaction` JSON-RPC batch request during backfill (1: no batches;
    /// a node that refuses batches is asked one at a time anyway).
    #[arg(long, global = true, env = "RPC_BATCH", default_value_t = crate::rpc::DEFAULT_BATCH)]
    pub rpc_batch: usize,
    /// Largest RPC answer read, in bytes; a larger one is refused and asked again (a broken or
    /// hostile provider cannot make the indexer buffer more).
    #[arg(long, global = true, env = "MAX_RPC_ANSWER_BYTES", default_value_t = crate::rpc::DEFAULT_MAX_ANSWER_BYTES)]
    pub max_rpc_answer_bytes: usize,
    /// sled page cache in MiB (sled's own default is 1 GiB).
    #[arg(long, global = true, env = "LOG_CACHE_MB", default_value_t = 64)]
    pub cache_mb: u64,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Follow the chain live: gap backfill, subscriptions, reconciliation, finality checks.
    Run {
        /// Seconds between reconciliation passes.
        #[arg(long, env = "RECONCILE_SECS", default_value_t = 10)]
        reconcile_secs: u64,
        /// Address of the Prometheus `/metrics` endpoint (loopback by default).
        #[arg(long, env = "METRICS_BIND", default_value = "127.0.0.1:9464")]
        metrics_bind: std::net::SocketAddr,
        /// Seconds between telemetry polls (performance samples, slot, block height).
        #[arg(long, env = "TELEMETRY_SECS", default_value_t = 12)]
        telemetry_secs: u64,
        /// Milliseconds between projection commits.
        #[arg(long, env = "COMMIT_INTERVAL_MS", default_value_t = DEFAULT_COMMIT_INTERVAL_MS)]
        commit_interval_ms: u64,
        /// Loopback address of the control endpoint through which the query service submits the
        /// Psy API's writes (registrations, reward calculations).
        #[arg(long, env = "CONTROL_BIND", default_value = "127.0.0.1:9466")]
        control_bind: std::net::SocketAddr,
        /// Shared token the query service presents to the control endpoint; without it the
        /// control endpoint is off and the API's writes answer 503.
        #[arg(long, env = "CONTROL_TOKEN", hide_env_values = true)]
        control_token: Option<String>,
        /// Publishing the log to NATS JetStream (and the API's writes over NATS), when a URL is given.
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Backfill every program from genesis, the cursor, or a slot, projecting as it goes, then
    /// exit (run it offline).
    Backfill {
        /// `genesis`, `cursor` or a slot number.
        #[arg(long, default_value = "cursor")]
        from: String,
    },
    /// Drop every projection and rebuild it from the log's first event, then exit (run it offline).
    Replay,
    /// Print the log length, cursors and projection progress as JSON (with `--nats-url`, the
    /// stream's last seq, the publish lag and the follow lag too).
    Status {
        /// The stream to compare the log and the projections with.
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// A query replica: build the projections in `--data-dir` from the NATS stream (a mirror of
    /// the stream's records in `DIR/log`, the projections in `DIR/projections` for a `query-api
    /// serve` beside it), resuming after the projections' payload seq.
    Follow {
        /// The stream (`--nats-url` required).
        #[command(flatten)]
        nats: NatsArgs,
        /// Address of the replica's Prometheus `/metrics` endpoint.
        #[arg(long, env = "METRICS_BIND", default_value = "127.0.0.1:9467")]
        metrics_bind: std::net::SocketAddr,
        /// Milliseconds between projection commits.
        #[arg(long, env = "COMMIT_INTERVAL_MS", default_value_t = DEFAULT_COMMIT_INTERVAL_MS)]
        commit_interval_ms: u64,
    },
    /// Print the log's events (and retractions) as JSON lines in log order, then exit (run it
    /// offline).
    Export {
        /// Also print telemetry and off-chain (API) records, as `{"kind", "seq"}` lines.
        #[arg(long)]
        all: bool,
    },
}

fn commitment(name: &str) -> Result<CommitmentConfig> {
    match name {
        "processed" => Ok(CommitmentConfig::processed()),
        "confirmed" => Ok(CommitmentConfig::confirmed()),
        "finalized" => Ok(CommitmentConfig::finalized()),
        other => Err(Error::Config(format!("--commitment takes processed, confirmed or finalized, not {other:?}"))),
    }
}

fn program_set(common: &CommonArgs) -> Result<ProgramSet> {
    common.programs.program_set().map_err(|err| Error::Config(err.to_string()))
}

fn context(common: &CommonArgs, metrics: Arc<Metrics>) -> Result<Context> {
    let programs = program_set(common)?;
    let log = EventLog::open(&common.data_dir.join("log"), common.cache_mb << 20)?;
    Ok(Context {
        rpc: Rpc::new(&common.rpc_url, commitment(&common.commitment)?, metrics.clone())
            .with_batch(common.rpc_batch)
            .with_max_answer_bytes(common.max_rpc_answer_bytes),
        log: Arc::new(log),
        programs,
        metrics,
        concurrency: common.concurrency,
    })
}

/// Runs a parsed command; `shutdown` ends `run` gracefully.
pub async fn run(cli: Cli, shutdown: watch::Receiver<bool>) -> Result<()> {
    let metrics = Arc::new(Metrics::default());
    match cli.command {
        Command::Run {
            reconcile_secs,
            commit_interval_ms,
            metrics_bind,
            telemetry_secs,
            control_bind,
            control_token,
            nats,
        } => {
            let nats = nats.config()?;
            let (stop, shutdown) = stream::linked_shutdown(shutdown);
            let context = Arc::new(context(&cli.common, metrics)?);
            if context.log.is_mirror()? {
                return Err(Error::Config(format!(
                    "{} is a replica's data directory (`indexer follow`): the indexer needs its own",
                    cli.common.data_dir.display()
                )));
            }
            // The projector and the publisher stop last, once nothing appends any more: the
            // projections and the stream then hold the whole log.
            let (stop_projector, projector_shutdown) = watch::channel(false);
            let projector_thread = spawn_projector(&cli.common, &context, commit_interval_ms, projector_shutdown)?;
            let metrics_server = serve_metrics(metrics_bind, context.clone(), shutdown.clone()).await?;
            let (stop_publisher, publisher_shutdown) = watch::channel(false);
            let publisher = nats.clone().map(|nats| {
                let (log, metrics, shutdown, stop) =
                    (context.log.clone(), context.metrics.clone(), publisher_shutdown, stop.clone());
                tokio::spawn(async move {
                    let outcome = stream::publish::run(log, nats, metrics, shutdown).await;
                    if outcome.is_err() {
                        stop.send_replace(true);
                    }
                    outcome
                })
            });
            let nats_control = match (&nats, &control_token) {
                (Some(nats), Some(token)) => Some(tokio::spawn(stream::control::run(
                    nats.clone(),
                    token.clone(),
                    context.log.clone(),
                    shutdown.clone(),
                ))),
                _ => None,
            };
            let control_server = match control_token {
                Some(token) => {
                    Some(control::serve(control_bind, token, context.log.clone(), shutdown.clone()).await?.1)
                }
                None => {
                    tracing::warn!("no --control-token: the control endpoint is off, the Psy API's writes answer 503");
                    None
                }
            };
            let config = LiveConfig {
                ws_url: cli.common.ws_url.clone(),
                commitment: commitment(&cli.common.commitment)?,
                reconcile_interval: Duration::from_secs(reconcile_secs.max(1)),
            };
            tracing::info!(data_dir = %cli.common.data_dir.display(), last_seq = context.log.last_seq(), "indexer running");
            let telemetry = tokio::spawn(telemetry::run(
                context.clone(),
                Duration::from_secs(telemetry_secs.max(1)),
                shutdown.clone(),
            ));
            let live_result = live::run(context.clone(), config, shutdown).await;
            let _ = telemetry.await;
            if let Some(control_server) = control_server {
                let _ = control_server.await;
            }
            if let Some(nats_control) = nats_control {
                let _ = nats_control.await;
            }
            let _ = stop_projector.send(true);
            let projector_result = join_projector(projector_thread).await;
            let _ = metrics_server.await;
            let _ = stop_publisher.send(true);
            let publish_result = match publisher {
                Some(publisher) => publisher.await.map_err(|err| Error::Nats(format!("publisher task: {err}")))?,
                None => Ok(()),
            };
            live_result?;
            projector_result?;
            publish_result?;
            tracing::info!(last_seq = context.log.last_seq(), "stopped; log flushed, projections committed");
            Ok(())
        }
        Command::Backfill { from } => {
            let from: BackfillFrom = from.parse()?;
            let context = Arc::new(context(&cli.common, metrics)?);
            let (stop_projector, projector_shutdown) = watch::channel(false);
            let projector_thread =
                spawn_projector(&cli.common, &context, BACKFILL_COMMIT_INTERVAL_MS, projector_shutdown)?;
            let outcome = backfill_all(&context, from).await;
            let _ = stop_projector.send(true);
            let projector_result = join_projector(projector_thread).await;
            outcome?;
            projector_result?;
            println!("{}", status_json(&context.log)?);
            Ok(())
        }
        Command::Replay => {
            let log = EventLog::open(&cli.common.data_dir.join("log"), cli.common.cache_mb << 20)?;
            let started = std::time::Instant::now();
            let folded = projector::replay(&log, &projections_dir(&cli.common), &program_set(&cli.common)?)?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({ "records": folded, "seconds": seconds, "records_per_s": folded as f64 / seconds.max(1e-9) })
            );
            Ok(())
        }
        Command::Status { nats } => {
            let log = EventLog::open(&cli.common.data_dir.join("log"), cli.common.cache_mb << 20)?;
            let mut status = status_json(&log)?;
            let projector = Projector::open(&projections_dir(&cli.common), &program_set(&cli.common)?)?;
            status["projection_seq"] = projector.committed_seq().into();
            status["projection_lag"] = log.last_seq().saturating_sub(projector.committed_seq()).into();
            status["replica"] = log.is_mirror()?.into();
            if let Some(nats) = nats.config()? {
                let stream_seq = stream::stream_seq(&nats).await?;
                status["stream_seq"] = stream_seq.into();
                // A replica's log is its mirror of the stream: it publishes nothing.
                if !log.is_mirror()? {
                    status["publish_lag"] = log.last_seq().saturating_sub(stream_seq).into();
                }
                status["follow_lag"] = stream_seq.saturating_sub(projector.committed_seq()).into();
            }
            println!("{status}");
            Ok(())
        }
        Command::Follow { nats, metrics_bind, commit_interval_ms } => {
            let Some(nats) = nats.config()? else {
                return Err(Error::Config("indexer follow needs --nats-url (env NATS_URL)".into()));
            };
            let config = stream::follow::FollowConfig {
                data_dir: cli.common.data_dir.clone(),
                nats,
                programs: program_set(&cli.common)?,
                cache_bytes: cli.common.cache_mb << 20,
                commit_interval: Duration::from_millis(commit_interval_ms.max(10)),
                metrics_bind,
            };
            stream::follow::run(config, shutdown).await
        }
        Command::Export { all } => {
            let log = EventLog::open(&cli.common.data_dir.join("log"), cli.common.cache_mb << 20)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            crate::export::export(&log, all, &mut out)?;
            std::io::Write::flush(&mut out).map_err(Error::Encode)?;
            Ok(())
        }
    }
}

/// Backfills every configured program, then checks finality.
async fn backfill_all(context: &Arc<Context>, from: BackfillFrom) -> Result<()> {
    let programs: Vec<ProgramKind> = context.programs.iter().map(|(program, _)| program).collect();
    for program in programs {
        let stats = context.backfill(program, from).await?;
        tracing::info!(
            program = program.as_str(),
            signatures = stats.signatures,
            appended = stats.appended,
            duplicates = stats.duplicates,
            "backfill done"
        );
    }
    context.check_finality().await?;
    context.retry_set_aside().await?;
    Ok(())
}

/// Milliseconds between projection commits unless configured.
pub const DEFAULT_COMMIT_INTERVAL_MS: u64 = 250;

/// Milliseconds between projection commits during an offline backfill: nobody queries, so fewer,
/// larger segments are cheaper than fresh ones.
pub const BACKFILL_COMMIT_INTERVAL_MS: u64 = 2_000;

/// Starts the projector on its own thread, following the log until `shutdown`.
fn spawn_projector(
    common: &CommonArgs,
    context: &Context,
    commit_interval_ms: u64,
    shutdown: watch::Receiver<bool>,
) -> Result<std::thread::JoinHandle<Result<()>>> {
    let mut projector = Projector::open(&projections_dir(common), &context.programs)?;
    let log = context.log.clone();
    let metrics = context.metrics.clone();
    std::thread::Builder::new()
        .name("projector".into())
        .spawn(move || {
            let interval = Duration::from_millis(commit_interval_ms.max(10));
            projector::follow(&log, &mut projector, interval, &shutdown, &metrics)?;
            projector.finish()
        })
        .map_err(|err| Error::Projection(format!("starting the projector thread: {err}")))
}

async fn join_projector(thread: std::thread::JoinHandle<Result<()>>) -> Result<()> {
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|err| Error::Projection(err.to_string()))?
        .map_err(|_| Error::Projection("projector thread panicked".into()))?
}

/// Serves the indexer's `GET /metrics` (Prometheus text) and `GET /health` until `shutdown`.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    context: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>> {
    let render = move || {
        let metrics = &context.metrics;
        metrics.log_seq.set(context.log.last_seq() as i64);
        metrics.rate_limited_seconds.set(context.rpc.rate_limited_time().as_secs() as i64);
        metrics.render()
    };
    crate::metrics::serve(addr, render, shutdown).await
}

/// Where the projections live under the data directory.
pub fn projections_dir(common: &CommonArgs) -> PathBuf {
    common.data_dir.join("projections")
}

fn status_json(log: &EventLog) -> Result<serde_json::Value> {
    let mut cursors = serde_json::Map::new();
    for program in ProgramKind::ALL {
        let cursor = log
            .cursor(program)?
            .map(|c| serde_json::json!({ "signature": bs58::encode(c.signature).into_string(), "slot": c.slot }));
        cursors.insert(program.as_str().to_owned(), cursor.into());
    }
    Ok(serde_json::json!({
        "last_seq": log.last_seq(),
        "cursors": cursors,
        "pending_finality": log.pending(u64::MAX)?.len(),
        "set_aside": log.set_aside_list()?.len(),
        "log_bytes_on_disk": log.size_on_disk()?,
    }))
}
