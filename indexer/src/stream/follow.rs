//! A query replica: `indexer follow` builds projections in its own data directory from the
//! stream, for a `query-api serve` beside it.
//!
//! Design: the replica keeps a mirror of the stream's records in `DIR/log` (a sled log of its
//! own, filled from the stream at the same seqs, see `log::mirror`) and runs the unchanged
//! projector over it into `DIR/projections`. The projector needs random access to records (a
//! retraction rebuilds its entities through the entity index and the retracted index), which a
//! stream consumer cannot give; the mirror is a cache of the stream, rebuilt from it at any time
//! (delete `DIR` and the replica catches up from seq 1). No copy of the indexer's data directory
//! is involved.
//!
//! The mirror resumes after its last seq with an ordered consumer (`DeliverPolicy::ByStartSequence`);
//! the projector resumes after its projections' payload seq, exactly as the indexer's does, once
//! the mirror holds that seq.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::StreamExt;
use shared::ProgramSet;
use tokio::sync::watch;

use super::{jetstream, nats_error, Backoff, NatsConfig};
use crate::error::{Error, Result};
use crate::log::EventLog;
use crate::metrics::Metrics;
use crate::projector::{self, Projector};

/// Messages appended to the mirror in one flushed batch at most.
const CHUNK: usize = 2_000;
/// How long a chunk waits for more messages while the stream has more for this replica
/// (catching up: fewer, larger flushed batches); a replica that is up to date never waits.
const CHUNK_WAIT: Duration = Duration::from_millis(20);
/// Silence after which the replica compares its mirror with the stream's last seq: behind, the
/// consumer is replaced (a JetStream node that died under it is noticed in seconds, not after
/// the client's missed heartbeats); up to date, the stream is just idle.
const STALL_CHECK: Duration = Duration::from_secs(2);

/// What `indexer follow` needs.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The replica's data directory (`log/`: the mirror, `projections/`: what query-api reads).
    pub data_dir: PathBuf,
    /// The stream.
    pub nats: NatsConfig,
    /// The program ids (DFPN account derivations).
    pub programs: ProgramSet,
    /// sled page cache of the mirror.
    pub cache_bytes: u64,
    /// Time between projection commits.
    pub commit_interval: Duration,
    /// Address of `/metrics`.
    pub metrics_bind: std::net::SocketAddr,
}

/// Follows the stream until `shutdown`: fills the mirror, projects it, serves metrics.
pub async fn run(config: FollowConfig, external: watch::Receiver<bool>) -> Result<()> {
    // Stopping on a signal, or when the stream follower stops on an error (the projector then
    // commits what the mirror holds and the replica exits with the error).
    let (stop, shutdown) = super::linked_shutdown(external);
    let log = Arc::new(EventLog::open(&config.data_dir.join("log"), config.cache_bytes)?);
    log.mark_mirror()?;
    let mut projector = Projector::open(&projection::projections_dir(&config.data_dir), &config.programs)?;
    let metrics = Arc::new(Metrics::default());
    let projected = projector.committed_seq();
    tracing::info!(
        data_dir = %config.data_dir.display(), stream = %config.nats.stream, mirror_seq = log.last_seq(),
        projection_seq = projected, "replica following the stream"
    );
    metrics.projection_seq.set(projected as i64);
    let render_metrics = metrics.clone();
    let render_log = log.clone();
    let metrics_server = crate::metrics::serve(
        config.metrics_bind,
        move || {
            render_metrics.log_seq.set(render_log.last_seq() as i64);
            let lag = render_metrics.stream_seq.get().saturating_sub(render_metrics.projection_seq.get());
            render_metrics.follow_lag.set(lag.max(0));
            render_metrics.render()
        },
        shutdown.clone(),
    )
    .await?;
    let filler = {
        let (log, nats, metrics, shutdown, stop) =
            (log.clone(), config.nats.clone(), metrics.clone(), shutdown.clone(), stop.clone());
        tokio::spawn(async move {
            let outcome = fill(log, nats, metrics, shutdown).await;
            stop.send_replace(true);
            outcome
        })
    };
    // The projector starts once the mirror holds what its projections folded (a mirror deleted
    // beside them is refilled first: the projector reads the records it resumes after).
    let mut appended = log.subscribe();
    let mut stop = shutdown.clone();
    let ready = tokio::select! {
        ready = appended.wait_for(|seq| *seq >= projected) => ready.is_ok(),
        _ = stop.wait_for(|stop| *stop) => false,
    };
    let projector_result = if ready {
        let (log, metrics, shutdown) = (log.clone(), metrics.clone(), shutdown.clone());
        let interval = config.commit_interval;
        tokio::task::spawn_blocking(move || {
            projector::follow(&log, &mut projector, interval, &shutdown, &metrics)?;
            projector.finish()
        })
        .await
        .map_err(|err| Error::Projection(format!("projector task: {err}")))?
    } else {
        Ok(())
    };
    let fill_result = filler.await.map_err(|err| Error::Nats(format!("stream follower task: {err}")))?;
    let _ = metrics_server.await;
    fill_result?;
    projector_result?;
    tracing::info!(mirror_seq = log.last_seq(), "replica stopped; projections committed");
    Ok(())
}

/// Appends the stream to the mirror until `shutdown`, reconnecting with backoff; a stream that
/// disagrees with the mirror stops the replica.
async fn fill(
    log: Arc<EventLog>,
    config: NatsConfig,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let mut backoff = Backoff::new();
    loop {
        let outcome = tokio::select! {
            outcome = session(&log, &config, &metrics, &mut backoff) => outcome,
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        };
        match outcome {
            Err(err) if err.is_fatal() => return Err(err),
            Err(err) => tracing::warn!(error = %err, "following the stream failed; reconnecting"),
            Ok(()) => tracing::warn!("the stream's consumer ended; reconnecting"),
        }
        if !backoff.wait(&mut shutdown).await {
            return Ok(());
        }
    }
}

async fn session(log: &Arc<EventLog>, config: &NatsConfig, metrics: &Metrics, backoff: &mut Backoff) -> Result<()> {
    let client = super::connect(config, "indexer follow").await?;
    let js = jetstream(client);
    let mut stream = js.get_stream(&config.stream).await.map_err(nats_error)?;
    let stream_seq = super::last_seq(&mut stream).await?;
    if stream_seq < log.last_seq() {
        return Err(Error::StreamMismatch(format!(
            "stream {} holds {stream_seq} records, this replica's mirror {}: it is another log's stream (start the replica in a new --data-dir)",
            config.stream,
            log.last_seq()
        )));
    }
    metrics.stream_seq.set(stream_seq as i64);
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: log.last_seq() + 1 },
            ..Default::default()
        })
        .await
        .map_err(nats_error)?;
    let mut messages = consumer.messages().await.map_err(nats_error)?;
    backoff.reset();
    loop {
        let chunk = match next_chunk(&mut messages).await? {
            Chunk::Messages(chunk) => chunk,
            Chunk::Ended => return Ok(()),
            Chunk::Idle => {
                // Nothing delivered for a while: fine if the mirror holds the whole stream; else
                // the consumer is stuck (its node died, it was lost), and a new one resumes.
                let stream_seq = super::last_seq(&mut stream).await?;
                metrics.stream_seq.set(stream_seq as i64);
                if stream_seq > log.last_seq() {
                    return Err(Error::Nats(format!(
                        "nothing delivered for {STALL_CHECK:?} while the stream is at seq {stream_seq} and the mirror at {}: a new consumer resumes",
                        log.last_seq()
                    )));
                }
                continue;
            }
        };
        let mut records = Vec::with_capacity(chunk.len());
        let mut newest = 0;
        for message in chunk {
            let info = message.info().map_err(nats_error)?;
            let seq = info.stream_sequence;
            newest = seq + info.pending;
            let id = message.headers.as_ref().and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID));
            if id.map(|id| id.as_str()) != Some(seq.to_string().as_str()) {
                return Err(Error::StreamMismatch(format!(
                    "stream message {seq} has message id {:?}: not a record of this log",
                    id.map(|id| id.as_str())
                )));
            }
            records.push((seq, message.payload.to_vec()));
        }
        let mirror = log.clone();
        tokio::task::spawn_blocking(move || {
            let borrowed: Vec<(u64, &[u8])> = records.iter().map(|(seq, bytes)| (*seq, bytes.as_slice())).collect();
            mirror.append_mirrored(&borrowed)
        })
        .await
        .map_err(|err| Error::Nats(format!("mirror append task: {err}")))??;
        metrics.stream_seq.set(newest.max(log.last_seq()) as i64);
        metrics.log_seq.set(log.last_seq() as i64);
        let lag = metrics.stream_seq.get().saturating_sub(metrics.projection_seq.get());
        metrics.follow_lag.set(lag.max(0));
    }
}

/// What the consumer delivered.
enum Chunk {
    /// Messages, in stream order.
    Messages(Vec<async_nats::jetstream::Message>),
    /// Nothing within [`STALL_CHECK`].
    Idle,
    /// The consumer ended.
    Ended,
}

/// The next messages: the first within [`STALL_CHECK`] (else [`Chunk::Idle`]), then whatever is
/// delivered within [`CHUNK_WAIT`] while the server reports more pending, up to [`CHUNK`].
/// Waiting for the first message is cancel-safe: a message received is never dropped.
async fn next_chunk(messages: &mut async_nats::jetstream::consumer::pull::Ordered) -> Result<Chunk> {
    let first = match tokio::time::timeout(STALL_CHECK, messages.next()).await {
        Err(_) => return Ok(Chunk::Idle),
        Ok(None) => return Ok(Chunk::Ended),
        Ok(Some(message)) => message.map_err(nats_error)?,
    };
    let pending = |message: &async_nats::jetstream::Message| message.info().map_or(0, |info| info.pending);
    let mut more = pending(&first) > 0;
    let mut chunk = vec![first];
    let deadline = tokio::time::Instant::now() + CHUNK_WAIT;
    while more && chunk.len() < CHUNK {
        match tokio::time::timeout_at(deadline, messages.next()).await {
            Ok(Some(message)) => {
                let message = message.map_err(nats_error)?;
                more = pending(&message) > 0;
                chunk.push(message);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Ok(Chunk::Messages(chunk))
}
