//! The publisher: sends every record of the log to the stream, in seq order, once it is durable.
//!
//! It never publishes from memory: on every (re)connection it reads the stream's last sequence
//! `s` and sends the log's records from `s + 1` on (`EventLog::raw_from`), so whatever was killed
//! when (the indexer mid-publish, a NATS node), the stream is gap-free and duplicate-free. Each
//! message carries `Nats-Msg-Id` = seq (JetStream drops a duplicate within its window) and
//! `Nats-Expected-Last-Sequence` = seq − 1 (JetStream refuses a record out of place, e.g. from a
//! second indexer publishing the same stream): stream sequence = log seq. Publishes are pipelined
//! (up to [`WINDOW`] unacknowledged); an ack that does not confirm its seq restarts from the
//! stream's last sequence.

use std::collections::VecDeque;
use std::sync::Arc;

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use tokio::sync::watch;

use super::{jetstream, last_seq, nats_error, open_stream, Backoff, NatsConfig};
use crate::error::{Error, Result};
use crate::log::EventLog;
use crate::metrics::Metrics;

/// Publishes in flight before the oldest ack is awaited.
pub const WINDOW: usize = 512;

/// How long the publisher keeps publishing after shutdown to bring the stream up to the log.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Publishes the log to the stream until `shutdown` (then until the stream holds the whole log,
/// for at most a few seconds). NATS failures are retried with backoff (the log goes on
/// regardless; the stream catches up); a stream that holds records the log does not is an error.
pub async fn run(
    log: Arc<EventLog>,
    config: NatsConfig,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let mut backoff = Backoff::new();
    loop {
        let publisher = Publisher { log: &log, config: &config, metrics: &metrics };
        let outcome = tokio::select! {
            outcome = publisher.session(&mut backoff) => outcome,
            _ = shutdown.wait_for(|stop| *stop) => Ok(()),
        };
        match outcome {
            Err(err) if err.is_fatal() => return Err(err),
            Err(err) => tracing::warn!(error = %err, "publishing to the stream failed; reconnecting"),
            Ok(()) => {
                let drained = tokio::time::timeout(DRAIN_TIMEOUT, publisher.drain()).await;
                match drained {
                    Ok(Ok(seq)) => tracing::info!(stream_seq = seq, "stream holds the whole log"),
                    Ok(Err(err)) => tracing::warn!(error = %err, "last publish before stopping failed"),
                    Err(_) => tracing::warn!("stream not up to the log before stopping; the next start resumes"),
                }
                return Ok(());
            }
        }
        if !backoff.wait(&mut shutdown).await {
            return Ok(());
        }
    }
}

struct Publisher<'a> {
    log: &'a EventLog,
    config: &'a NatsConfig,
    metrics: &'a Metrics,
}

impl Publisher<'_> {
    /// One connection: publishes until an error (never returns `Ok`).
    async fn session(&self, backoff: &mut Backoff) -> Result<()> {
        let mut appended = self.log.subscribe();
        let client = super::connect(self.config, "indexer publisher").await?;
        let js = jetstream(client);
        let mut stream = open_stream(&js, self.config).await?;
        let mut published = last_seq(&mut stream).await?;
        self.check_resume(&stream, published).await?;
        tracing::info!(stream = %self.config.stream, stream_seq = published, log_seq = self.log.last_seq(), "publishing the log");
        backoff.reset();
        loop {
            published = self.publish_from(&js, published).await?;
            if published >= self.log.last_seq() {
                appended.changed().await.map_err(|_| Error::Nats("the log was closed".into()))?;
            }
        }
    }

    /// Publishes once from the stream's last sequence to the log's end (the shutdown drain).
    async fn drain(&self) -> Result<u64> {
        let client = super::connect(self.config, "indexer publisher").await?;
        let js = jetstream(client);
        let mut stream = open_stream(&js, self.config).await?;
        let published = last_seq(&mut stream).await?;
        self.check_resume(&stream, published).await?;
        self.publish_from(&js, published).await
    }

    /// Refuses a stream ahead of the log, or whose last record is not the log's.
    async fn check_resume(&self, stream: &async_nats::jetstream::stream::Stream, published: u64) -> Result<()> {
        if published == 0 {
            return Ok(());
        }
        let log_seq = self.log.last_seq();
        if published > log_seq {
            return Err(Error::StreamMismatch(format!(
                "stream {} holds {published} records, the log {log_seq}: it is another log's stream (use another --nats-stream)",
                self.config.stream
            )));
        }
        let message = stream.get_raw_message(published).await.map_err(nats_error)?;
        let stored = self.log.raw_from(published).next().transpose()?;
        match stored {
            Some((seq, bytes)) if seq == published && bytes.as_ref() == message.payload.as_ref() => Ok(()),
            _ => Err(Error::StreamMismatch(format!(
                "record {published} of stream {} is not the log's record {published}: it is another log's stream",
                self.config.stream
            ))),
        }
    }

    /// Publishes the log's records after `published` up to its end; returns the new last seq.
    async fn publish_from(&self, js: &async_nats::jetstream::Context, mut published: u64) -> Result<u64> {
        let subject = self.config.records_subject();
        let mut in_flight: VecDeque<(u64, PublishAckFuture)> = VecDeque::with_capacity(WINDOW);
        let mut next = published + 1;
        // The log is read in steps so that its iterator is never held across an await.
        loop {
            let step: Vec<(u64, sled::IVec)> = self.log.raw_from(next).take(WINDOW).collect::<Result<_>>()?;
            let Some(&(last, _)) = step.last() else { break };
            for (seq, bytes) in step {
                let message = PublishMessage::build()
                    .payload(bytes.to_vec().into())
                    .message_id(seq.to_string())
                    .expected_last_sequence(seq - 1);
                let ack = js.send_publish(subject.clone(), message).await.map_err(nats_error)?;
                in_flight.push_back((seq, ack));
                if in_flight.len() >= WINDOW {
                    published = self.confirm(in_flight.pop_front()).await?;
                }
            }
            next = last + 1;
        }
        while let Some(entry) = in_flight.pop_front() {
            published = self.confirm(Some(entry)).await?;
        }
        Ok(published)
    }

    /// Awaits one publish's ack: it must confirm the record at its seq.
    async fn confirm(&self, entry: Option<(u64, PublishAckFuture)>) -> Result<u64> {
        let Some((seq, ack)) = entry else { return Err(Error::Nats("no publish in flight".into())) };
        let ack = ack.await.map_err(nats_error)?;
        if ack.sequence != seq {
            return Err(Error::Nats(format!("record {seq} acknowledged at stream sequence {}", ack.sequence)));
        }
        self.metrics.stream_seq.set(seq as i64);
        self.metrics.publish_lag.set(self.log.last_seq().saturating_sub(seq) as i64);
        Ok(seq)
    }
}
