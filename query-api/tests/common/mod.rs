//! Helpers of the query-api integration tests: a fixture chain indexed into a temporary data
//! directory and served by the real service on loopback.

#![allow(dead_code)]

pub mod psy_model;
pub mod psy_rewards;
pub mod service;

use std::sync::Arc;

use fixtures::node::Faults;
use fixtures::testing::{creation_order, expected_dfpn, start_node, DfpnFamily, ExpectedDfpn};
use indexer::backfill::{BackfillFrom, Context};
use indexer::log::EventLog;
use indexer::projector::Projector;
use query_api::control::ControlConfig;
use query_api::ratelimit::Limits;
use query_api::{Config, Intervals, Running};
use serde_json::Value;
use shared::{ProgramKind, ProgramSet};

/// Token of the in-process control endpoint.
pub const CONTROL_TOKEN: &str = "test-control-token";

/// An indexed fixture chain served by query-api, with the indexer's projector following the log
/// and its control endpoint accepting the API's writes (in process).
pub struct World {
    /// The event log (the projector follows it until the world is dropped).
    pub log: Arc<EventLog>,
    indexer: IndexerSide,
    /// Where the control endpoint listens.
    pub control_url: String,
    /// The running service.
    pub api: Running,
    /// DFPN base URL.
    pub base: String,
    /// Psy base URL.
    pub psy: String,
    /// Expected DFPN objects.
    pub expected: ExpectedDfpn,
    /// Ground-truth lines in chain order.
    pub truth_lines: Vec<String>,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The service's clock: a minute after the newest block.
    pub now: i64,
    /// Block height the telemetry poll saw.
    pub block_height: u64,
    /// The data directory, dropped last (after the projector thread stopped).
    _dir: tempfile::TempDir,
}

/// Background intervals for tests: fast refresh and broadcast, rewards only when asked.
pub fn test_intervals() -> Intervals {
    Intervals {
        job_refresh: std::time::Duration::from_millis(100),
        reward_processing: std::time::Duration::from_secs(3_600),
        tps_broadcast: std::time::Duration::from_millis(100),
    }
}

/// Indexes a 4,000-event fixture chain and starts query-api over it.
pub async fn world(limits: Limits, jwt_secret: Option<&str>) -> World {
    world_with(limits, jwt_secret, test_intervals()).await
}

/// [`world`] with chosen background intervals.
pub async fn world_with(limits: Limits, jwt_secret: Option<&str>, intervals: Intervals) -> World {
    world_tuned(limits, jwt_secret, intervals, |_| {}).await
}

/// [`world_with`] with the service's configuration adjusted by `tune` before it starts.
pub async fn world_tuned(
    limits: Limits,
    jwt_secret: Option<&str>,
    intervals: Intervals,
    tune: impl FnOnce(&mut Config),
) -> World {
    world_of(4_000, limits, jwt_secret, intervals, tune).await
}

/// [`world_tuned`] over a chain of `events` events.
pub async fn world_of(
    events: u64,
    limits: Limits,
    jwt_secret: Option<&str>,
    intervals: Intervals,
    tune: impl FnOnce(&mut Config),
) -> World {
    let node = start_node(52, events, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let context = backfilled(&node, &dir.path().join("log")).await;
    let telemetry = indexer::telemetry::poll_once(&context).await.unwrap();
    let mut projector = Projector::open(&dir.path().join("projections"), &shared::ProgramSet::defaults()).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    let (indexer_shutdown, stop) = tokio::sync::watch::channel(false);
    let projector_thread = {
        let (log, stop, metrics) = (context.log.clone(), stop.clone(), context.metrics.clone());
        let interval = std::time::Duration::from_millis(50);
        indexer::projector::spawn(projector, log, metrics, interval, stop).unwrap()
    };
    let loopback = "127.0.0.1:0".parse().unwrap();
    let (control_addr, _) =
        indexer::control::serve(loopback, CONTROL_TOKEN.into(), context.log.clone(), stop).await.unwrap();
    let control_url = format!("http://{control_addr}");
    let truth = node.node.ground_truth(None);
    node.stop().await;
    let truth_lines: Vec<String> = truth.lines().map(str::to_owned).collect();
    let now =
        truth_lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()?["block_time"].as_i64()).max().unwrap()
            + 60;
    let mut config = Config {
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        limits,
        jwt_secret: jwt_secret.map(str::to_owned),
        clock: query_api::Clock::Fixed(now),
        control: Some(ControlConfig { url: control_url.clone(), token: CONTROL_TOKEN.into(), nats: None }),
        intervals,
        metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..Config::new(dir.path().to_path_buf())
    };
    tune(&mut config);
    let api = query_api::start(config).await.unwrap();
    let base = format!("http://{}", api.dfpn_addr);
    let psy = format!("http://{}", api.psy_addr);
    World {
        _dir: dir,
        log: context.log.clone(),
        indexer: IndexerSide { shutdown: indexer_shutdown, projector_thread: Some(projector_thread) },
        control_url,
        api,
        base,
        psy,
        expected: expected_dfpn(truth_lines.iter().map(String::as_str)),
        truth_lines,
        client: reqwest::Client::new(),
        now,
        block_height: telemetry.block_height,
    }
}

/// An indexer context reading `node` into a log in `log_dir`, every program backfilled from
/// genesis.
pub async fn backfilled(node: &fixtures::node::NodeHandle, log_dir: &std::path::Path) -> Arc<Context> {
    let context =
        Arc::new(Context::builder(&node.http_url(), log_dir).cache_bytes(8 << 20).concurrency(8).build().unwrap());
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    context
}

fn solana_commitment_config_confirmed() -> solana_commitment_config::CommitmentConfig {
    solana_commitment_config::CommitmentConfig::confirmed()
}

/// Limits no test reaches.
pub fn generous() -> Limits {
    Limits { anonymous: 100_000, authenticated: 100_000, window: std::time::Duration::from_secs(60) }
}

/// The in-process indexer parts: the projector thread and the control endpoint, stopped on drop.
struct IndexerSide {
    shutdown: tokio::sync::watch::Sender<bool>,
    projector_thread: Option<indexer::projector::ProjectorThread>,
}

impl IndexerSide {
    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.projector_thread.take() {
            thread.join().expect("the projector thread ends cleanly");
        }
    }
}

impl Drop for IndexerSide {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.projector_thread.take() {
            let _ = thread.join();
        }
    }
}

impl World {
    /// The data directory (log and projections).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stops the projector following the log (before a replay from it).
    pub fn stop_projector(&mut self) {
        self.indexer.stop();
    }

    /// Asks the Psy surface every path, rebuilds the projections from the log with
    /// `indexer replay` into a new directory, serves them, and asserts every path answers exactly
    /// as before (status and body). Stops the projector following the log.
    pub async fn assert_psy_same_after_replay(&mut self, paths: &[String]) {
        let mut before = Vec::new();
        for path in paths {
            before.push(self.psy_get(path).await);
        }
        self.stop_projector();
        let replayed = tempfile::tempdir().unwrap();
        indexer::projector::replay(&self.log, &replayed.path().join("projections"), &ProgramSet::defaults()).unwrap();
        let api = query_api::start(Config {
            dfpn_addr: "127.0.0.1:0".parse().unwrap(),
            psy_addr: "127.0.0.1:0".parse().unwrap(),
            limits: generous(),
            clock: query_api::Clock::Fixed(self.now),
            intervals: test_intervals(),
            ..Config::new(replayed.path().to_path_buf())
        })
        .await
        .unwrap();
        let base = format!("http://{}", api.psy_addr);
        for (path, expected) in paths.iter().zip(before) {
            let response = self.client.get(format!("{base}{path}")).send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!((status, body), expected, "after replay: {path}");
        }
        api.stop().await;
    }

    /// POST a JSON body on the Psy surface, with an optional bearer token: status and JSON body.
    pub async fn psy_post(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut request = self.client.post(format!("{}{path}", self.psy)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// POST raw bytes on the Psy surface with a raw `Authorization` header value: status and
    /// JSON body (`Null` when the body is not JSON).
    pub async fn psy_post_raw(&self, path: &str, body: Vec<u8>, authorization: Option<&str>) -> (u16, Value) {
        let mut request =
            self.client.post(format!("{}{path}", self.psy)).header("content-type", "application/json").body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GET on the Psy surface with a raw `Authorization` header value.
    pub async fn psy_get_authorized(&self, path: &str, authorization: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.psy));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Polls a Psy GET until `done` accepts its body (the projector commits every 50 ms).
    pub async fn psy_until(&self, path: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (status, body) = self.psy_get(path).await;
            if done(status, &body) || std::time::Instant::now() > deadline {
                return (status, body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The projections the service reads, for calling handlers directly.
    pub fn projections(&self) -> query_api::projections::Projections {
        query_api::projections::Projections::new(&self._dir.path().join("projections"))
    }

    /// GET on the DFPN surface: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_at(&self.base, path).await
    }

    /// GET on the Psy surface: status and JSON body.
    pub async fn psy_get(&self, path: &str) -> (u16, Value) {
        self.get_at(&self.psy, path).await
    }

    async fn get_at(&self, base: &str, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{base}{path}")).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// GET on the DFPN surface that must answer 200.
    pub async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Objects of a DFPN family, newest creation first, filtered by the object and the
    /// entity's on-chain status.
    pub fn newest_first(&self, family: DfpnFamily, keep: impl Fn(&Value, &str) -> bool) -> Vec<Value> {
        let objects = match family {
            DfpnFamily::Requests => &self.expected.requests,
            DfpnFamily::Workers => &self.expected.workers,
            DfpnFamily::Models => &self.expected.models,
        };
        let mut order = creation_order(self.truth_lines.iter().map(String::as_str), family);
        order.reverse();
        order
            .into_iter()
            .map(|id| (objects[&id].clone(), self.expected.chain_status[&id].as_str()))
            .filter(|(object, chain)| keep(object, chain))
            .map(|(object, _)| object)
            .collect()
    }
}
