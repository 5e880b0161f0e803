//! Per-client rate limiting over fixed windows, with the `X-RateLimit-*` headers.
//!
//! A client is its peer IP address, or, when the service is configured to sit behind a trusted
//! proxy (the nginx setup of the DFPN document), the first address of `X-Forwarded-For`. A client
//! presenting a valid bearer token is counted by the token's subject, at the authenticated limit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Limits per window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests per window without a valid token.
    pub anonymous: u64,
    /// Requests per window with a valid token.
    pub authenticated: u64,
    /// Window length.
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { anonymous: 100, authenticated: 1_000, window: Duration::from_secs(60) }
    }
}

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The client's limit.
    pub limit: u64,
    /// Requests left in the window.
    pub remaining: u64,
    /// Unix second at which the window resets.
    pub reset: u64,
    /// Whether this request is over the limit.
    pub exceeded: bool,
}

/// Fixed-window counters per client.
pub struct RateLimiter {
    limits: Limits,
    windows: Mutex<HashMap<String, (u64, u64)>>,
}

impl RateLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a request of `client` at unix time `now_ms` (milliseconds).
    pub fn check(&self, client: &str, authenticated: bool, now_ms: u64) -> Quota {
        let limit = if authenticated { self.limits.authenticated } else { self.limits.anonymous };
        let window_ms = self.limits.window.as_millis().max(1) as u64;
        let window_start = now_ms - now_ms % window_ms;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| *start == window_start);
        }
        let entry = windows.entry(client.to_owned()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 += 1;
        let used = entry.1;
        Quota {
            limit,
            remaining: limit.saturating_sub(used),
            reset: (window_start + window_ms).div_ceil(1_000),
            exceeded: used > limit,
        }
    }
}

/// The client key of a request.
pub fn client_key(peer: Option<SocketAddr>, forwarded_for: Option<&str>, trust_forwarded: bool) -> String {
    if trust_forwarded {
        if let Some(first) =
            forwarded_for.and_then(|value| value.split(',').next()).map(str::trim).filter(|s| !s.is_empty())
        {
            return format!("ip:{first}");
        }
    }
    peer.map_or_else(|| "ip:unknown".to_owned(), |addr| format!("ip:{}", addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_101st_anonymous_request_in_a_window_is_refused_and_the_window_resets() {
        let limiter = RateLimiter::new(Limits::default());
        let start = 1_720_000_020_000;
        for n in 1..=100 {
            let quota = limiter.check("ip:1.2.3.4", false, start);
            assert!(!quota.exceeded);
            assert_eq!(quota.remaining, 100 - n);
        }
        let over = limiter.check("ip:1.2.3.4", false, start + 1);
        assert!(over.exceeded);
        assert_eq!((over.limit, over.remaining, over.reset), (100, 0, 1_720_000_080));
        assert!(!limiter.check("ip:5.6.7.8", false, start).exceeded, "clients are counted apart");
        assert!(!limiter.check("ip:1.2.3.4", false, 1_720_000_080_000).exceeded, "next window");
        assert_eq!(limiter.check("sub:ops", true, start).limit, 1_000);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let peer = Some("127.0.0.1:5000".parse().unwrap());
        assert_eq!(client_key(peer, Some("9.9.9.9, 10.0.0.1"), true), "ip:9.9.9.9");
        assert_eq!(client_key(peer, Some("9.9.9.9"), false), "ip:127.0.0.1");
    }
}
