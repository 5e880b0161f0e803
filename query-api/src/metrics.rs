//! The query service's Prometheus metrics, served at `/metrics` on their own listener: requests
//! by surface, documented route and status, latency histograms, rate-limit rejections and
//! WebSocket clients.

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::reply::Surface;

/// Every metric of the query service, in one registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    rate_limited: IntCounterVec,
    /// Connected `/ws/tps` clients (set at each scrape).
    pub ws_clients: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new_custom(Some("query_api".into()), None).expect("valid prefix");
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Requests answered, by surface, documented route and status"),
            &["surface", "route", "status"],
        )
        .expect("valid metric");
        let durations = HistogramVec::new(
            HistogramOpts::new("request_duration_seconds", "Time to answer a request, by surface and route")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
            &["surface", "route"],
        )
        .expect("valid metric");
        let rate_limited =
            IntCounterVec::new(Opts::new("rate_limited_total", "Requests refused with 429, by surface"), &["surface"])
                .expect("valid metric");
        let ws_clients = IntGauge::new("ws_clients", "Connected /ws/tps clients").expect("valid metric");
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(durations.clone()),
            Box::new(rate_limited.clone()),
            Box::new(ws_clients.clone()),
        ] {
            registry.register(metric).expect("metric names are unique");
        }
        for surface in ["dfpn", "psy"] {
            rate_limited.with_label_values(&[surface]);
        }
        Self { registry, requests, durations, rate_limited, ws_clients }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, surface: Surface, path: &str, status: u16, elapsed: Duration) {
        let route = crate::openapi::route_label(surface, path);
        let surface = surface.as_str();
        self.requests.with_label_values(&[surface, route, &status.to_string()]).inc();
        self.durations.with_label_values(&[surface, route]).observe(elapsed.as_secs_f64());
        if status == 429 {
            self.rate_limited.with_label_values(&[surface]).inc();
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}
