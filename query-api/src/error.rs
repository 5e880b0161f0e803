//! The error type of the query service and its one mapping to HTTP.

use warp::http::StatusCode;

/// Everything a request can fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Invalid parameters or search syntax.
    #[error("{0}")]
    BadRequest(String),
    /// No such resource or path.
    #[error("{0}")]
    NotFound(String),
    /// Too many requests from this client in the current window.
    #[error("rate limit of {limit} requests per window exceeded; retry after the reset time")]
    RateLimited {
        /// The client's limit.
        limit: u64,
    },
    /// The request took longer than the configured timeout.
    #[error("the request took longer than {0:?}; narrow it (filters, limit) or retry")]
    Timeout(std::time::Duration),
    /// Missing, malformed or invalid credentials (JWT, register signature).
    #[error("{0}")]
    Unauthorized(String),
    /// A telemetry post refused by its JWT, with one of the real service's messages
    /// (`shared::psy_model::telemetry::AUTH_*`): answered `{"error": <message>, "status": 401}`
    /// as the real service answers it.
    #[error("{0}")]
    TelemetryAuth(&'static str),
    /// The resource already exists (a registered public key).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than the endpoint accepts.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(u64),
    /// A dependency is not configured or not reachable (JWT secret, the indexer's control endpoint).
    #[error("{0}")]
    Unavailable(String),
    /// The service is at a capacity bound (blocking work, WebSocket clients, connections): shed
    /// before any work started.
    #[error("{0}")]
    Overloaded(String),
    /// This client holds as many of a resource (WebSocket connections) as one client may.
    #[error("{0}")]
    TooManyClients(String),
    /// The path exists, but not with this method.
    #[error("{method} is not accepted here; accepted: {allowed}")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The methods the path accepts, comma-separated (the `Allow` header).
        allowed: String,
    },
    /// A failure of ours (index I/O); details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error: the one place errors become statuses.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::RateLimited { .. } | ApiError::TooManyClients(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) | ApiError::Unavailable(_) | ApiError::Overloaded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) | ApiError::TelemetryAuth(_) => StatusCode::UNAUTHORIZED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The DFPN error body: `{"error", "message", "status"}`.
    pub fn dfpn_body(&self) -> serde_json::Value {
        let status = self.status();
        if let ApiError::Internal(detail) = self {
            tracing::error!(detail, "internal error");
        }
        serde_json::json!({
            "error": status.canonical_reason().unwrap_or("Error"),
            "message": self.to_string(),
            "status": status.as_u16(),
        })
    }
}

impl ApiError {
    /// The Psy error body: `{"error", "details"?}`.
    pub fn psy_body(&self) -> serde_json::Value {
        if let ApiError::Internal(detail) = self {
            tracing::error!(detail, "internal error");
        }
        let (error, details) = match self {
            ApiError::BadRequest(details) => ("Bad Request: invalid parameters", Some(details.clone())),
            ApiError::NotFound(details) => ("Not Found", Some(details.clone())),
            ApiError::RateLimited { .. } | ApiError::TooManyClients(_) => ("Too Many Requests", Some(self.to_string())),
            ApiError::Timeout(_) | ApiError::Unavailable(_) | ApiError::Overloaded(_) => {
                ("Service Unavailable", Some(self.to_string()))
            }
            ApiError::MethodNotAllowed { .. } => ("Method Not Allowed", Some(self.to_string())),
            ApiError::Unauthorized(details) => ("Unauthorized", Some(details.clone())),
            ApiError::TelemetryAuth(message) => return serde_json::json!({ "error": message, "status": 401 }),
            ApiError::Conflict(details) => ("Conflict", Some(details.clone())),
            ApiError::PayloadTooLarge(_) => ("Payload Too Large", Some(self.to_string())),
            ApiError::Internal(_) => ("Internal Server Error", None),
        };
        match details {
            Some(details) => serde_json::json!({ "error": error, "details": details }),
            None => serde_json::json!({ "error": error }),
        }
    }
}

impl From<projection::read::ReadError> for ApiError {
    fn from(err: projection::read::ReadError) -> Self {
        match err {
            projection::read::ReadError::BadQuery(details) => ApiError::BadRequest(details),
            projection::read::ReadError::Internal(details) => ApiError::Internal(details),
        }
    }
}

/// Result alias of the query service.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
