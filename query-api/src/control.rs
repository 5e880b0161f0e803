//! Client of the indexer's control endpoint: the query service's only way to write. The Psy
//! API's writes (a verified registration, a checkpoint's rewards) become events in the indexer's
//! log, so the projections, and any replay of the log, show them.

use std::time::Duration;

use shared::control::{RewardsRequest, UserRegistration, WriteOutcome, REGISTER_PATH, REWARDS_PATH, TOKEN_HEADER};

use crate::error::{ApiError, Result};

/// Where the control endpoint is and the token it expects.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// Base URL, e.g. `http://127.0.0.1:9466`.
    pub url: String,
    /// Shared token.
    pub token: String,
}

/// A client of the control endpoint.
#[derive(Clone)]
pub struct ControlClient {
    http: reqwest::Client,
    config: ControlConfig,
}

/// How long one write may take (the indexer flushes the log before answering).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl ControlClient {
    /// A client for `config`.
    pub fn new(config: ControlConfig) -> Self {
        let http = reqwest::Client::builder().timeout(WRITE_TIMEOUT).build().expect("a plain HTTP client builds");
        Self { http, config }
    }

    /// Stores a registration; `created: false` when the key had already registered.
    pub async fn register(&self, registration: &UserRegistration) -> Result<WriteOutcome> {
        self.post(REGISTER_PATH, registration).await
    }

    /// Stores a checkpoint's rewards; `created: false` when they had already been stored.
    pub async fn record_rewards(&self, request: &RewardsRequest) -> Result<WriteOutcome> {
        self.post(REWARDS_PATH, request).await
    }

    async fn post<T: serde::Serialize>(&self, path: &str, body: &T) -> Result<WriteOutcome> {
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
            return response.json::<WriteOutcome>().await.map_err(|err| unavailable(format!("answer: {err}")));
        }
        let body = response.text().await.unwrap_or_default();
        Err(unavailable(format!("{status}: {body}")))
    }
}
