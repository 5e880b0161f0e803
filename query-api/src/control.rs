//! Client of the indexer's control endpoint: the query service's only way to write. The Psy
//! API's writes (a verified registration, a telemetry post of a Psy node, a checkpoint's rewards)
//! become events in the indexer's log, so the projections, and any replay of the log, show them. On a replica the writes go
//! over NATS request-reply to the indexer that owns the log (`shared::control::control_subject`),
//! with the same body, token and answer as over HTTP.

use std::time::Duration;

use shared::control::{
    control_subject, RewardsRequest, TelemetryOutcome, TelemetryRequest, UserRegistration, WriteOutcome, REGISTER_PATH,
    REWARDS_PATH, TELEMETRY_PATH, TOKEN_HEADER,
};
use tokio::sync::OnceCell;

use crate::error::{ApiError, Result};

/// Default URL of the indexer's control endpoint (`--control-url`): the indexer's default control
/// bind on loopback.
pub const DEFAULT_CONTROL_URL: &str = "http://127.0.0.1:9466";

/// Where the control endpoint is and the token it expects.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// Base URL, e.g. `http://127.0.0.1:9466`.
    pub url: String,
    /// Shared token.
    pub token: String,
    /// NATS to send the writes over instead of `url` (a replica's query service).
    pub nats: Option<NatsControl>,
}

/// The NATS a replica's writes go over.
#[derive(Debug, Clone)]
pub struct NatsControl {
    /// Client URL, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// Name of the indexer's stream; the control subjects are `<stream>.control.*`.
    pub stream: String,
}

/// The NATS answer of a control write: the HTTP endpoint's status and body.
#[derive(serde::Deserialize)]
struct NatsAnswer {
    status: u16,
    body: serde_json::Value,
}

/// A client of the control endpoint.
#[derive(Clone)]
pub struct ControlClient {
    http: reqwest::Client,
    config: ControlConfig,
    /// The NATS connection, made at the first write (and kept: the client reconnects itself).
    nats: std::sync::Arc<OnceCell<async_nats::Client>>,
}

/// How long one write may take (the indexer flushes the log before answering).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl ControlClient {
    /// A client for `config`. A loopback endpoint is always reached directly: `HTTP_PROXY` and
    /// the like are ignored for it (a proxy would see the control token, and could not reach the
    /// indexer's loopback port anyway).
    pub fn new(config: ControlConfig) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder().timeout(WRITE_TIMEOUT);
        if is_loopback(&config.url) {
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|err| format!("control endpoint client: {err}"))?;
        Ok(Self { http, config, nats: Default::default() })
    }

    /// Stores a registration; `created: false` when the key had already registered.
    pub async fn register(&self, registration: &UserRegistration) -> Result<WriteOutcome> {
        self.post(REGISTER_PATH, registration).await
    }

    /// Stores a checkpoint's rewards; `created: false` when they had already been stored.
    pub async fn record_rewards(&self, request: &RewardsRequest) -> Result<WriteOutcome> {
        self.post(REWARDS_PATH, request).await
    }

    /// Stores a validated telemetry post once the indexer has flushed its records; a retried
    /// post stores nothing new (`duplicates` counts its records already in the log).
    pub async fn telemetry(&self, request: &TelemetryRequest) -> Result<TelemetryOutcome> {
        self.post(TELEMETRY_PATH, request).await
    }

    async fn post<T: serde::Serialize, A: serde::de::DeserializeOwned>(&self, path: &str, body: &T) -> Result<A> {
        if let Some(nats) = &self.config.nats {
            return self.request(nats, path, body).await;
        }
        let url = format!("{}/{path}", self.config.url.trim_end_matches('/'));
        let unavailable = |detail: String| {
            tracing::warn!(%url, detail, "control endpoint write failed");
            ApiError::Unavailable("the indexer did not accept the write; retry later".into())
        };
        let response = self
            .http
            .post(&url)
            .header(TOKEN_HEADER, &self.config.token)
            .json(body)
            .send()
            .await
            .map_err(|err| unavailable(err.to_string()))?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::CONFLICT {
            return response.json::<A>().await.map_err(|err| unavailable(format!("answer: {err}")));
        }
        let body = response.text().await.unwrap_or_default();
        Err(unavailable(format!("{status}: {body}")))
    }
}

impl ControlClient {
    /// Sends one write over NATS request-reply and maps the answer as [`Self::post`] maps HTTP's.
    async fn request<T: serde::Serialize, A: serde::de::DeserializeOwned>(
        &self,
        nats: &NatsControl,
        path: &str,
        body: &T,
    ) -> Result<A> {
        let subject = control_subject(&nats.stream, path);
        let unavailable = |detail: String| {
            tracing::warn!(%subject, detail, "nats control write failed");
            ApiError::Unavailable("the indexer did not accept the write; retry later".into())
        };
        let payload = serde_json::to_vec(body).map_err(|err| unavailable(format!("body: {err}")))?;
        let client = self
            .nats
            .get_or_try_init(|| async_nats::ConnectOptions::new().name("query-api control").connect(&nats.url))
            .await
            .map_err(|err| unavailable(format!("connect: {err}")))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(TOKEN_HEADER, self.config.token.as_str());
        let sent = client.request_with_headers(subject.clone(), headers, payload.into());
        let message = tokio::time::timeout(WRITE_TIMEOUT, sent)
            .await
            .map_err(|_| unavailable("no answer in time".into()))?
            .map_err(|err| unavailable(err.to_string()))?;
        let answer: NatsAnswer =
            serde_json::from_slice(&message.payload).map_err(|err| unavailable(format!("answer: {err}")))?;
        if (200..300).contains(&answer.status) || answer.status == 409 {
            return serde_json::from_value(answer.body).map_err(|err| unavailable(format!("answer: {err}")));
        }
        Err(unavailable(format!("{}: {}", answer.status, answer.body)))
    }
}

/// Whether `url`'s host is a loopback address or `localhost`.
pub fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else { return false };
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts_are_recognised() {
        for url in ["http://127.0.0.1:9466", "http://localhost:1/", "http://[::1]:9466", "http://127.1.2.3"] {
            assert!(super::is_loopback(url), "{url}");
        }
        for url in ["http://indexer:9466", "http://10.0.0.1", "not a url"] {
            assert!(!super::is_loopback(url), "{url}");
        }
    }
}
