//! The composition root: each subcommand as a function of its [`Config`], wiring the log, the
//! sources, the projector, the control endpoint, the NATS tasks and the metrics endpoint.

use std::sync::Arc;

use shared::ProgramKind;
use tokio::sync::watch;

use crate::backfill::BackfillFrom;
use crate::config::{commit_interval, Config, FollowOptions, RunConfig, BACKFILL_COMMIT_INTERVAL_MS};
use crate::context::Context;
use crate::control;
use crate::error::{Error, Result};
use crate::live::{self, LiveConfig};
use crate::log::EventLog;
use crate::metrics::Metrics;
use crate::projector::{self, Projector, ProjectorThread};
use crate::stream::{self, NatsConfig};
use crate::telemetry;

/// A subcommand with its own settings.
#[derive(Debug, Clone)]
pub enum Command {
    /// Follow the chain live.
    Run(RunConfig),
    /// Backfill every program, projecting as it goes, then exit.
    Backfill(BackfillFrom),
    /// Rebuild every projection from the log, then exit.
    Replay,
    /// Print the status JSON (compared with the stream when configured).
    Status(Option<NatsConfig>),
    /// A query replica fed by the stream.
    Follow(FollowOptions),
    /// Print the log as JSON lines (`true`: telemetry and API records too).
    Export {
        /// Also telemetry and API records.
        all: bool,
    },
}

/// Runs `command` with `config`; `shutdown` ends `run` and `follow` gracefully.
pub async fn execute(config: Config, command: Command, shutdown: watch::Receiver<bool>) -> Result<()> {
    match command {
        Command::Run(run_config) => run(config, run_config, shutdown).await,
        Command::Backfill(from) => backfill(config, from).await,
        Command::Replay => replay(config),
        Command::Status(nats) => status(config, nats).await,
        Command::Follow(options) => follow(config, options, shutdown).await,
        Command::Export { all } => export(config, all),
    }
}

/// `indexer run`: follows the chain live until `shutdown`, then stops after the log is flushed
/// and the projections committed.
pub async fn run(config: Config, run: RunConfig, shutdown: watch::Receiver<bool>) -> Result<()> {
    let metrics = Arc::new(Metrics::default());
    let nats = run.nats.clone();
    let (stop, shutdown) = stream::linked_shutdown(shutdown);
    let context = Arc::new(Context::open(&config, metrics)?);
    if context.log.is_mirror()? {
        return Err(Error::Config(format!(
            "{} is a replica's data directory (`indexer follow`): the indexer needs its own",
            config.data_dir.display()
        )));
    }
    // The projector and the publisher stop last, once nothing appends any more: the
    // projections and the stream then hold the whole log.
    let (stop_projector, projector_shutdown) = watch::channel(false);
    let projector_thread = spawn_projector(&config, &context, run.commit_interval, projector_shutdown)?;
    let metrics_server = {
        let context = context.clone();
        crate::metrics::serve(run.metrics_bind, move || context.render_metrics(), shutdown.clone()).await?
    };
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
    let nats_control = match (&nats, &run.control_token) {
        (Some(nats), Some(token)) => {
            Some(tokio::spawn(stream::control::run(nats.clone(), token.clone(), context.log.clone(), shutdown.clone())))
        }
        _ => None,
    };
    let control_server = match run.control_token {
        Some(token) => Some(control::serve(run.control_bind, token, context.log.clone(), shutdown.clone()).await?.1),
        None => {
            tracing::warn!("no --control-token: the control endpoint is off, the Psy API's writes answer 503");
            None
        }
    };
    let live_config = LiveConfig {
        ws_url: config.ws_url.clone(),
        commitment: config.commitment,
        reconcile_interval: run.reconcile_interval,
    };
    tracing::info!(data_dir = %config.data_dir.display(), last_seq = context.log.last_seq(), "indexer running");
    let telemetry = tokio::spawn(telemetry::run(context.clone(), run.telemetry_interval, shutdown.clone()));
    let live_result = live::run(context.clone(), live_config, shutdown).await;
    let _ = telemetry.await;
    if let Some(control_server) = control_server {
        let _ = control_server.await;
    }
    if let Some(nats_control) = nats_control {
        let _ = nats_control.await;
    }
    let _ = stop_projector.send(true);
    let projector_result = projector_thread.finish().await;
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

/// `indexer backfill`: backfills every program from `from`, projecting as it goes, then prints
/// the log's status.
pub async fn backfill(config: Config, from: BackfillFrom) -> Result<()> {
    let context = Arc::new(Context::open(&config, Arc::new(Metrics::default()))?);
    let (stop_projector, projector_shutdown) = watch::channel(false);
    let projector_thread =
        spawn_projector(&config, &context, commit_interval(BACKFILL_COMMIT_INTERVAL_MS), projector_shutdown)?;
    let outcome = backfill_all(&context, from).await;
    let _ = stop_projector.send(true);
    let projector_result = projector_thread.finish().await;
    outcome?;
    projector_result?;
    println!("{}", crate::status::log_status(&context.log)?);
    Ok(())
}

/// `indexer replay`: rebuilds every projection from the log, then prints the rate.
pub fn replay(config: Config) -> Result<()> {
    let log = EventLog::open(&config.log_dir(), config.cache_bytes)?;
    let started = std::time::Instant::now();
    let folded = projector::replay(&log, &config.projections_dir(), &config.programs)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({ "records": folded, "seconds": seconds, "records_per_s": folded as f64 / seconds.max(1e-9) })
    );
    Ok(())
}

/// `indexer status`: prints the status JSON (compared with the stream of `nats` when given).
pub async fn status(config: Config, nats: Option<NatsConfig>) -> Result<()> {
    let log = EventLog::open(&config.log_dir(), config.cache_bytes)?;
    let projector = Projector::open(&config.projections_dir(), &config.programs)?;
    println!("{}", crate::status::status(&log, projector.committed_seq(), nats.as_ref()).await?);
    Ok(())
}

/// `indexer follow`: a query replica fed by the stream, until `shutdown`.
pub async fn follow(config: Config, options: FollowOptions, shutdown: watch::Receiver<bool>) -> Result<()> {
    let follow = stream::follow::FollowConfig {
        data_dir: config.data_dir,
        nats: options.nats,
        programs: config.programs,
        cache_bytes: config.cache_bytes,
        commit_interval: options.commit_interval,
        metrics_bind: options.metrics_bind,
    };
    stream::follow::run(follow, shutdown).await
}

/// `indexer export`: prints the log as JSON lines (`all`: telemetry and API records too).
pub fn export(config: Config, all: bool) -> Result<()> {
    let log = EventLog::open(&config.log_dir(), config.cache_bytes)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    crate::export::export(&log, all, &mut out)?;
    std::io::Write::flush(&mut out).map_err(Error::Encode)?;
    Ok(())
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

fn spawn_projector(
    config: &Config,
    context: &Context,
    interval: std::time::Duration,
    shutdown: watch::Receiver<bool>,
) -> Result<ProjectorThread> {
    let projector = Projector::open(&config.projections_dir(), &context.programs)?;
    projector::spawn(projector, context.log.clone(), context.metrics.clone(), interval, shutdown)
}
