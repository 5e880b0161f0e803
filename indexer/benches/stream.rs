//! The log on NATS JetStream, measured against a real `nats-server -js` on loopback: publish
//! throughput of a log of `EVENTS` fixture entries (default 1,000,000), follow throughput of a
//! replica (`indexer follow`, the real binary) catching up from seq 1 (mirror and projections),
//! then replication lag at `RATE` appended events/s (default 1,000) for `SECONDS` (default 20):
//! append on the indexer's log to the record in the replica's mirror, and to the replica's
//! committed projections (what its query service sees; commit interval 250 ms). Prints figures;
//! run with `cargo bench -p indexer --bench stream`.

#[path = "../tests/common/nats.rs"]
#[allow(dead_code)]
mod nats;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fixtures::{ChainConfig, ChainGenerator};
use indexer::log::EventLog;
use indexer::metrics::Metrics;
use indexer::stream::NatsConfig;

const STREAM: &str = "BENCH_LOG";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn gauge(metrics: &str, name: &str) -> i64 {
    let Ok(answer) = reqwest::get(format!("http://{metrics}/metrics")).await else { return -1 };
    let text = answer.text().await.unwrap_or_default();
    text.lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .and_then(|line| line.split_whitespace().last())
        .and_then(|value| value.parse().ok())
        .unwrap_or(-1)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let (events, rate, seconds) = (env("EVENTS", 1_000_000), env("RATE", 1_000), env("SECONDS", 20));
    let live_events = rate * seconds;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut envelopes = Vec::new();
    let (mut slot, mut tx_index) = (u64::MAX, 0u32);
    for tx in ChainGenerator::new(ChainConfig::realistic(7)).with_max_events(events + live_events) {
        (slot, tx_index) = if tx.slot == slot { (slot, tx_index + 1) } else { (tx.slot, 0) };
        envelopes.extend(tx.envelopes(Some(tx_index)));
    }
    let live = envelopes.split_off((events as usize).min(envelopes.len()));
    let log = Arc::new(EventLog::open(&dir.path().join("indexer/log"), 64 << 20).expect("log opens"));
    for batch in envelopes.chunks(1_000) {
        log.append(batch, None, u64::MAX).expect("append");
    }
    let history = log.last_seq();
    println!("log of {history} records; {} held back for the live phase", live.len());

    let server = nats::NatsServer::start().await;
    let config = NatsConfig { url: server.url.clone(), stream: STREAM.into(), replicas: 1 };
    let metrics = Arc::new(Metrics::default());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let publisher =
        tokio::spawn(indexer::stream::publish::run(log.clone(), config.clone(), metrics.clone(), shutdown.clone()));
    while (metrics.stream_seq.get() as u64) < history {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let publish = started.elapsed();
    println!("publish: {history} records in {publish:.2?} = {:.0} records/s", history as f64 / publish.as_secs_f64());

    let replica = dir.path().join("replica");
    let metrics_bind = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        format!("127.0.0.1:{port}")
    };
    let started = Instant::now();
    let mut follower = Command::new(env!("CARGO_BIN_EXE_indexer"))
        .args(["follow", "--nats-url", &server.url, "--nats-stream", STREAM, "--metrics-bind", &metrics_bind])
        .arg("--data-dir")
        .arg(&replica)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("indexer follow starts");
    let mut mirrored = None;
    loop {
        if mirrored.is_none() && gauge(&metrics_bind, "indexer_log_seq").await >= history as i64 {
            mirrored = Some(started.elapsed());
        }
        if gauge(&metrics_bind, "indexer_projection_seq").await >= history as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let followed = started.elapsed();
    let mirrored = mirrored.unwrap_or(followed);
    println!(
        "follow from seq 1: mirror {history} records in {mirrored:.2?} = {:.0} records/s; projected in {followed:.2?} = {:.0} records/s",
        history as f64 / mirrored.as_secs_f64(),
        history as f64 / followed.as_secs_f64()
    );

    // Live: `RATE` events/s in appends of 10 (one transaction's worth) every 10/RATE s.
    let per_append = 10usize;
    let interval = Duration::from_secs_f64(per_append as f64 / rate as f64);
    let appender = {
        let log = log.clone();
        tokio::task::spawn_blocking(move || {
            let mut appended = Vec::with_capacity(live.len());
            let start = Instant::now();
            for (n, batch) in live.chunks(per_append).enumerate() {
                let due = start + interval * n as u32;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let outcome = log.append(batch, None, u64::MAX).expect("append");
                let at = Instant::now();
                appended.extend(outcome.appended.into_iter().map(|seq| (seq, at)));
            }
            appended
        })
    };
    let (mut mirror_seen, mut projected_seen) = (Vec::new(), Vec::new());
    let end = history + live_events;
    loop {
        let now = Instant::now();
        let (mirror, projected) =
            (gauge(&metrics_bind, "indexer_log_seq").await, gauge(&metrics_bind, "indexer_projection_seq").await);
        mirror_seen.push((mirror.max(0) as u64, now));
        projected_seen.push((projected.max(0) as u64, now));
        if projected as u64 >= end || (appender.is_finished() && projected as u64 >= log.last_seq()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let appended = appender.await.expect("appender");
    let lags = |seen: &[(u64, Instant)]| {
        let mut lags: Vec<Duration> = appended
            .iter()
            .filter_map(|(seq, at)| seen.iter().find(|(visible, _)| visible >= seq).map(|(_, when)| *when - *at))
            .collect();
        lags.sort();
        lags
    };
    for (what, seen) in [("in the replica's mirror", &mirror_seen), ("in the replica's projections", &projected_seen)] {
        let lags = lags(seen);
        println!(
            "replication lag at {rate} events/s, append to {what}: p50 {:.1?}, p99 {:.1?}, max {:.1?} ({} events)",
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or_default(),
            lags.len()
        );
    }
    let _ = Command::new("kill").args(["-TERM", &follower.id().to_string()]).status();
    let _ = follower.wait();
    let _ = stop.send(true);
    let _ = publisher.await;
}
