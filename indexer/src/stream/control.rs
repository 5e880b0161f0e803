//! The Psy API's writes over NATS request-reply: any replica's query service reaches the one
//! indexer that owns the log.
//!
//! With `--nats-url` and `--control-token`, `indexer run` answers requests on
//! `<stream>.control.users`, `<stream>.control.telemetry` and `<stream>.control.rewards` (queue
//! group `indexer`): the body is the HTTP control endpoint's (a `UserRegistration`, a
//! `TelemetryRequest`, a `RewardsRequest`), the header
//! `x-control-token` must carry the shared token, and the reply is
//! `{"status": <HTTP status>, "body": <the HTTP endpoint's body>}`. Writes are idempotent under
//! the same keys as over HTTP, flushed before the reply, then published to the stream like every
//! record, so every replica shows them. NATS's own authentication (user/password or token in
//! the URL, TLS) guards the connection; the control token guards the writes.

use std::sync::Arc;

use futures::StreamExt;
use shared::control::TOKEN_HEADER;
use tokio::sync::watch;
use warp::http::StatusCode;

use super::{nats_error, Backoff, NatsConfig};
use crate::control::{submit, token_matches};
use crate::error::{Error, Result};
use crate::log::EventLog;

/// The queue group of the control subscribers.
pub const QUEUE_GROUP: &str = "indexer";

/// Largest request body answered.
const MAX_BODY_BYTES: usize = 4 << 20;

/// Answers control requests until `shutdown`, reconnecting with backoff.
pub async fn run(config: NatsConfig, token: String, log: Arc<EventLog>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::new();
    loop {
        let outcome = tokio::select! {
            outcome = session(&config, &token, &log, &mut backoff) => outcome,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if let Err(err) = outcome {
            tracing::warn!(error = %err, "nats control subscription failed; reconnecting");
        }
        if !backoff.wait(&mut shutdown).await {
            return;
        }
    }
}

async fn session(config: &NatsConfig, token: &str, log: &Arc<EventLog>, backoff: &mut Backoff) -> Result<()> {
    let client = super::connect(config, "indexer control").await?;
    let subject = config.control_subject("control.*");
    let mut requests = client.queue_subscribe(subject.clone(), QUEUE_GROUP.into()).await.map_err(nats_error)?;
    client.flush().await.map_err(nats_error)?;
    tracing::info!(%subject, "nats control subscription listening");
    backoff.reset();
    let prefix = format!("{}.", config.stream);
    while let Some(request) = requests.next().await {
        let Some(reply) = request.reply.clone() else { continue };
        let given = request.headers.as_ref().and_then(|headers| headers.get(TOKEN_HEADER)).map(|v| v.as_str());
        let path = request.subject.as_str().strip_prefix(&prefix).unwrap_or_default().replace('.', "/");
        let (status, body) = if !given.is_some_and(|given| token_matches(given, token)) {
            (StatusCode::UNAUTHORIZED, serde_json::json!({ "error": "missing or wrong x-control-token" }))
        } else if request.payload.len() > MAX_BODY_BYTES {
            (StatusCode::PAYLOAD_TOO_LARGE, serde_json::json!({ "error": "body too large" }))
        } else {
            let (log, payload) = (log.clone(), request.payload.clone());
            tokio::task::spawn_blocking(move || submit(&log, &path, &payload))
                .await
                .map_err(|err| Error::Nats(format!("control write task: {err}")))?
        };
        let answer = serde_json::json!({ "status": status.as_u16(), "body": body });
        client.publish(reply, answer.to_string().into()).await.map_err(nats_error)?;
    }
    Err(Error::Nats("the control subscription ended".into()))
}
