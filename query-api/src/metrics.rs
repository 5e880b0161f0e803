//! The query service's Prometheus metrics, served at `/metrics` on their own listener: requests
//! by surface, documented route and status, latency histograms, rate-limit rejections, and the
//! gauges of the service's bounds (WebSocket clients, open and refused connections, blocking work
//! running, at its peak and shed, clients tracked by the rate limiter), read at each scrape.

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
    gauges: Vec<(Bound, IntGauge)>,
}

/// A bound of the service read at each scrape.
#[derive(Clone, Copy)]
enum Bound {
    OpenConnections,
    RefusedConnections,
    BlockingRunning,
    BlockingPeak,
    BlockingShed,
    RateLimitClients,
}

impl Bound {
    const ALL: [(Bound, &'static str, &'static str); 6] = [
        (Bound::OpenConnections, "open_connections", "Open connections over both surfaces"),
        (Bound::RefusedConnections, "refused_connections_total", "Connections refused at the connection cap"),
        (Bound::BlockingRunning, "blocking_running", "Blocking query tasks running now"),
        (Bound::BlockingPeak, "blocking_peak", "Most blocking query tasks that ran at once"),
        (Bound::BlockingShed, "blocking_shed_total", "Requests answered 503 before their work started"),
        (Bound::RateLimitClients, "rate_limit_clients", "Clients the rate limiter counts apart now"),
    ];

    fn read(self, state: &crate::State) -> i64 {
        let value = match self {
            Bound::OpenConnections => state.gate.open() as u64,
            Bound::RefusedConnections => state.gate.refused(),
            Bound::BlockingRunning => state.work.running() as u64,
            Bound::BlockingPeak => state.work.peak() as u64,
            Bound::BlockingShed => state.work.shed(),
            Bound::RateLimitClients => state.limiter.tracked() as u64,
        };
        i64::try_from(value).unwrap_or(i64::MAX)
    }
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
        let gauges: Vec<(Bound, IntGauge)> = Bound::ALL
            .iter()
            .map(|(bound, name, help)| (*bound, IntGauge::new(*name, *help).expect("valid metric")))
            .collect();
        let mut collectors = vec![
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(durations.clone()),
            Box::new(rate_limited.clone()),
            Box::new(ws_clients.clone()),
        ];
        collectors
            .extend(gauges.iter().map(|(_, gauge)| Box::new(gauge.clone()) as Box<dyn prometheus::core::Collector>));
        for metric in collectors {
            registry.register(metric).expect("metric names are unique");
        }
        for surface in ["dfpn", "psy"] {
            rate_limited.with_label_values(&[surface]);
        }
        Self { registry, requests, durations, rate_limited, ws_clients, gauges }
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

    /// The Prometheus text exposition with the bounds' gauges read from `state`.
    pub fn render_with(&self, state: &crate::State) -> String {
        self.ws_clients.set(state.tps.clients() as i64);
        for (bound, gauge) in &self.gauges {
            gauge.set(bound.read(state));
        }
        self.render()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}
