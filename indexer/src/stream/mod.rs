//! The event log on NATS JetStream: the indexer publishes every record it appends to one stream,
//! and any number of replicas (`indexer follow`) fold that stream into projections of their own.
//!
//! The stream is the log: stream sequence = log seq (the publisher sends record `n` only when the
//! stream's last sequence is `n - 1`, `Nats-Expected-Last-Sequence`, and with `Nats-Msg-Id` = `n`
//! for JetStream's deduplication), and a message's payload is the record's stored bytes,
//! unchanged. Its subject is `<stream>.records`; nothing else is captured. It keeps the whole log
//! (limits retention without limits, no maximum age), so a replica can start from seq 1 at any
//! time. Replication, ordering and failover are JetStream's (`--nats-replicas`, 3 on a cluster).
//!
//! - [`publish`]: the indexer's publisher task (resumes from the stream's last sequence);
//! - [`follow`]: a replica (a mirror of the stream in its data directory and the projector);
//! - [`control`]: the Psy API's writes over NATS request-reply, so that any replica's query
//!   service reaches the one indexer that owns the log.
//!
//! Without `--nats-url` none of this runs: the single-machine path is unchanged.

pub mod control;
pub mod follow;
pub mod publish;

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use clap::Args;

use crate::error::{Error, Result};

/// The stream's name unless configured.
pub const DEFAULT_STREAM: &str = "INDEXER_LOG";

/// NATS options of `run`, `follow` and `status`.
#[derive(Debug, Clone, Args)]
pub struct NatsArgs {
    /// NATS server URL(s), comma-separated (e.g. `nats://10.0.0.1:4222,nats://10.0.0.2:4222`);
    /// without it the indexer neither publishes nor listens on NATS.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// Name of the JetStream stream holding the log (records on subject `<name>.records`).
    #[arg(long, env = "NATS_STREAM", default_value = DEFAULT_STREAM)]
    pub nats_stream: String,
    /// Replicas of the stream when the indexer creates it (1 on one server, 3 on a cluster).
    #[arg(long, env = "NATS_REPLICAS", default_value_t = 1)]
    pub nats_replicas: usize,
}

/// A validated NATS configuration.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Server URLs, comma-separated.
    pub url: String,
    /// Stream name.
    pub stream: String,
    /// Stream replicas (at creation).
    pub replicas: usize,
}

impl NatsArgs {
    /// The configuration, when a NATS URL is given.
    pub fn config(&self) -> Result<Option<NatsConfig>> {
        let Some(url) = self.nats_url.as_deref().map(str::trim).filter(|url| !url.is_empty()) else {
            return Ok(None);
        };
        let stream = self.nats_stream.trim();
        let valid = !stream.is_empty() && stream.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(Error::Config(format!("--nats-stream takes letters, digits, _ and -, not {stream:?}")));
        }
        if !(1..=5).contains(&self.nats_replicas) {
            return Err(Error::Config(format!("--nats-replicas takes 1 to 5, not {}", self.nats_replicas)));
        }
        Ok(Some(NatsConfig { url: url.to_owned(), stream: stream.to_owned(), replicas: self.nats_replicas }))
    }
}

impl NatsConfig {
    /// The subject of the log's records.
    pub fn records_subject(&self) -> String {
        format!("{}.records", self.stream)
    }

    /// The subject of a control write (`path` as on the HTTP control endpoint, `control/users`).
    pub fn control_subject(&self, path: &str) -> String {
        shared::control::control_subject(&self.stream, path)
    }

    /// The stream's configuration: the whole log, kept forever.
    fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.stream.clone(),
            description: Some("the indexer's event log: message = record, stream sequence = log seq".into()),
            subjects: vec![self.records_subject()],
            retention: stream::RetentionPolicy::Limits,
            max_messages: -1,
            max_bytes: -1,
            max_age: Duration::ZERO,
            storage: stream::StorageType::File,
            num_replicas: self.replicas,
            deny_delete: true,
            ..Default::default()
        }
    }
}

/// How long one NATS API call or publish ack may take. Short enough that a call to a node that
/// just died, or to a stream electing its new leader, is given up in seconds and made again
/// (every NATS task resumes from the stream's last seq, so giving up early costs nothing).
const API_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to NATS (`name` identifies the process to the server).
pub async fn connect(config: &NatsConfig, name: &str) -> Result<async_nats::Client> {
    let urls: Vec<async_nats::ServerAddr> = config
        .url
        .split(',')
        .map(|url| url.trim().parse().map_err(|err| Error::Config(format!("--nats-url {url:?}: {err}"))))
        .collect::<Result<_>>()?;
    async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(API_TIMEOUT)
        .request_timeout(Some(API_TIMEOUT))
        .connect(urls)
        .await
        .map_err(nats_error)
}

/// The JetStream context of a client.
pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new().timeout(API_TIMEOUT).build(client)
}

/// Opens the stream, creating it as configured when it does not exist; refuses a stream that
/// does not hold the log as this module writes it.
pub async fn open_stream(js: &jetstream::Context, config: &NatsConfig) -> Result<stream::Stream> {
    let mut stream = js.get_or_create_stream(config.stream_config()).await.map_err(nats_error)?;
    let info = stream.info().await.map_err(nats_error)?;
    let found = &info.config;
    if found.subjects != [config.records_subject()] || found.max_age != Duration::ZERO || found.max_messages > 0 {
        return Err(Error::Config(format!(
            "stream {} exists with subjects {:?}, max age {:?}, max messages {}: it must hold the whole log on {}",
            config.stream,
            found.subjects,
            found.max_age,
            found.max_messages,
            config.records_subject()
        )));
    }
    if found.num_replicas != config.replicas {
        tracing::warn!(
            stream = %config.stream,
            replicas = found.num_replicas,
            configured = config.replicas,
            "the stream exists with another replica count; it is kept (change it with the nats CLI)"
        );
    }
    Ok(stream)
}

/// The stream's last sequence (the newest published seq).
pub async fn last_seq(stream: &mut stream::Stream) -> Result<u64> {
    Ok(stream.info().await.map_err(nats_error)?.state.last_sequence)
}

/// The stream's last sequence, read by a short-lived connection (for `indexer status`).
pub async fn stream_seq(config: &NatsConfig) -> Result<u64> {
    let client = connect(config, "indexer status").await?;
    let mut stream = jetstream(client).get_stream(&config.stream).await.map_err(nats_error)?;
    last_seq(&mut stream).await
}

/// Any NATS error, as the indexer's (retryable) error.
pub fn nats_error(err: impl std::fmt::Display) -> Error {
    Error::Nats(err.to_string())
}

/// A shutdown that follows `external` and that a task can also trigger (a task that stops on a
/// fatal error stops the process with it).
pub fn linked_shutdown(
    mut external: tokio::sync::watch::Receiver<bool>,
) -> (std::sync::Arc<tokio::sync::watch::Sender<bool>>, tokio::sync::watch::Receiver<bool>) {
    let (stop, shutdown) = tokio::sync::watch::channel(*external.borrow());
    let stop = std::sync::Arc::new(stop);
    let on_signal = stop.clone();
    tokio::spawn(async move {
        let _ = external.wait_for(|stop| *stop).await;
        on_signal.send_replace(true);
    });
    (stop, shutdown)
}

/// Backoff between reconnection attempts of the NATS tasks.
pub(crate) struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(200);
    const MAX: Duration = Duration::from_secs(5);

    pub(crate) fn new() -> Self {
        Self(Self::FIRST)
    }

    /// Waits the current delay (or until `shutdown`) and doubles it; returns whether to go on.
    pub(crate) async fn wait(&mut self, shutdown: &mut tokio::sync::watch::Receiver<bool>) -> bool {
        let delay = self.0;
        self.0 = (self.0 * 2).min(Self::MAX);
        let stopped = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            _ = shutdown.wait_for(|stop| *stop) => true,
        };
        !stopped && !*shutdown.borrow()
    }

    pub(crate) fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: Option<&str>, stream: &str, replicas: usize) -> NatsArgs {
        NatsArgs { nats_url: url.map(str::to_owned), nats_stream: stream.into(), nats_replicas: replicas }
    }

    #[test]
    fn without_a_url_nothing_runs_and_bad_names_or_counts_are_refused() {
        assert!(args(None, DEFAULT_STREAM, 1).config().unwrap().is_none());
        assert!(args(Some("  "), DEFAULT_STREAM, 1).config().unwrap().is_none(), "an empty NATS_URL is no NATS");
        let config = args(Some("nats://a:4222,nats://b:4222"), "LOG-1", 3).config().unwrap().unwrap();
        assert_eq!((config.records_subject(), config.replicas), ("LOG-1.records".to_owned(), 3));
        assert_eq!(config.control_subject(shared::control::REGISTER_PATH), "LOG-1.control.users");
        assert_eq!(config.control_subject(shared::control::REWARDS_PATH), "LOG-1.control.rewards");
        for stream in ["a.b", "a b", "a*", ""] {
            assert!(matches!(args(Some("nats://a"), stream, 1).config(), Err(Error::Config(_))), "{stream:?}");
        }
        for replicas in [0, 6] {
            assert!(matches!(args(Some("nats://a"), "LOG", replicas).config(), Err(Error::Config(_))));
        }
        let stream = config.stream_config();
        assert_eq!((stream.max_age, stream.max_messages, stream.max_bytes), (Duration::ZERO, -1, -1));
        assert!(stream.deny_delete && stream.retention == stream::RetentionPolicy::Limits);
    }
}
