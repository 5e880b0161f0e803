//! The running system in process, on loopback port 0: [`Stack::start`] starts a fixture node,
//! the indexer (a backfill from genesis of every program, the projector following the log, the
//! control endpoint taking the API's writes) and query-api over the same data directory, and
//! stops them when dropped ([`Stack::stop`] waits for each to end); the ground truth is kept
//! for the truth models. Each part is started through the crates' own roots:
//! `indexer::context::Context::builder`, `indexer::projector::spawn`, `indexer::control::serve`
//! and `query_api::start`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fixtures::node::{Faults, NodeHandle};
use indexer::backfill::{BackfillFrom, Context};
use indexer::log::EventLog;
use indexer::projector::{Projector, ProjectorThread};
use query_api::control::ControlConfig;
use query_api::ratelimit::Limits;
use query_api::{Config, Intervals, Running};
use serde_json::Value;
use shared::{ProgramKind, ProgramSet};

use crate::dfpn::{creation_order, expected_dfpn, DfpnFamily, ExpectedDfpn};
use crate::node::start_node;

/// Token of the in-process control endpoint.
pub const CONTROL_TOKEN: &str = "test-control-token";

/// Every listener binds here.
const LOOPBACK: &str = "127.0.0.1:0";

/// Background intervals for tests: fast refresh and broadcast, rewards only when asked.
pub fn test_intervals() -> Intervals {
    Intervals {
        job_refresh: Duration::from_millis(100),
        reward_processing: Duration::from_secs(3_600),
        tps_broadcast: Duration::from_millis(100),
    }
}

/// Limits no test reaches.
pub fn generous() -> Limits {
    Limits { anonymous: 100_000, authenticated: 100_000, window: Duration::from_secs(60) }
}

/// An indexer context reading `node` into a log in `log_dir`, every program backfilled from
/// genesis.
pub async fn backfilled(node: &NodeHandle, log_dir: &Path) -> Arc<Context> {
    let context =
        Arc::new(Context::builder(&node.http_url(), log_dir).cache_bytes(8 << 20).concurrency(8).build().unwrap());
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    context
}

/// What [`StackBuilder::start`] starts: the chain (seed 52, 4,000 events by default) and the
/// query service's settings (generous limits, no JWT secret, [`test_intervals`], the clock fixed
/// a minute after the newest block).
pub struct StackBuilder {
    seed: u64,
    events: u64,
    limits: Limits,
    jwt_secret: Option<String>,
    intervals: Intervals,
    tune: Box<dyn FnOnce(&mut Config)>,
}

impl StackBuilder {
    /// The chain's seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The chain's length in events.
    pub fn events(mut self, events: u64) -> Self {
        self.events = events;
        self
    }

    /// The query service's rate limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The JWT secret of the Psy surface's writes.
    pub fn jwt_secret(mut self, secret: &str) -> Self {
        self.jwt_secret = Some(secret.to_owned());
        self
    }

    /// The query service's background intervals.
    pub fn intervals(mut self, intervals: Intervals) -> Self {
        self.intervals = intervals;
        self
    }

    /// Adjusts the query service's configuration last, before it starts.
    pub fn query(mut self, tune: impl FnOnce(&mut Config) + 'static) -> Self {
        self.tune = Box::new(tune);
        self
    }

    /// Starts node, indexer and query-api; returns once the backfill is projected and both
    /// surfaces listen.
    pub async fn start(self) -> Stack {
        let node = start_node(self.seed, self.events, Faults::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let context = backfilled(&node, &dir.path().join("log")).await;
        let telemetry = indexer::telemetry::poll_once(&context).await.unwrap();
        let mut projector = Projector::open(&dir.path().join("projections"), &ProgramSet::defaults()).unwrap();
        projector.catch_up(&context.log, usize::MAX).unwrap();
        projector.commit().unwrap();
        let (indexer_shutdown, stop) = tokio::sync::watch::channel(false);
        let projector_thread = {
            let (log, stop, metrics) = (context.log.clone(), stop.clone(), context.metrics.clone());
            indexer::projector::spawn(projector, log, metrics, Duration::from_millis(50), stop).unwrap()
        };
        let (control_addr, _) =
            indexer::control::serve(LOOPBACK.parse().unwrap(), CONTROL_TOKEN.into(), context.log.clone(), stop)
                .await
                .unwrap();
        let control_url = format!("http://{control_addr}");
        let truth_lines: Vec<String> = node.node.ground_truth(None).lines().map(str::to_owned).collect();
        let newest_block =
            truth_lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()?["block_time"].as_i64());
        let now = newest_block.max().unwrap() + 60;
        let mut config = Config {
            dfpn_addr: LOOPBACK.parse().unwrap(),
            psy_addr: LOOPBACK.parse().unwrap(),
            limits: self.limits,
            jwt_secret: self.jwt_secret,
            clock: query_api::Clock::Fixed(now),
            control: Some(ControlConfig { url: control_url.clone(), token: CONTROL_TOKEN.into(), nats: None }),
            intervals: self.intervals,
            metrics_addr: Some(LOOPBACK.parse().unwrap()),
            ..Config::new(dir.path().to_path_buf())
        };
        (self.tune)(&mut config);
        let api = query_api::start(config).await.unwrap();
        let base = format!("http://{}", api.dfpn_addr);
        let psy = format!("http://{}", api.psy_addr);
        Stack {
            node: Some(node),
            log: context.log.clone(),
            indexer: IndexerSide { shutdown: indexer_shutdown, projector_thread: Some(projector_thread) },
            control_url,
            api: Some(api),
            base,
            psy,
            expected: expected_dfpn(truth_lines.iter().map(String::as_str)),
            truth_lines,
            client: reqwest::Client::new(),
            now,
            block_height: telemetry.block_height,
            dir,
        }
    }
}

/// A fixture chain indexed into a temporary data directory and served by query-api, with the
/// indexer's projector following the log and its control endpoint accepting the API's writes.
pub struct Stack {
    /// The fixture node (slots advance only when the test produces them).
    pub node: Option<NodeHandle>,
    /// The event log (the projector follows it until the stack is dropped).
    pub log: Arc<EventLog>,
    indexer: IndexerSide,
    /// Where the control endpoint listens.
    pub control_url: String,
    /// The running service (taken by [`Stack::stop`] or on drop).
    api: Option<Running>,
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
    dir: tempfile::TempDir,
}

/// On drop the indexer stops (the projector joined after a last commit, the control endpoint
/// closed) and query-api and the node are told to stop on the test's runtime.
impl Drop for Stack {
    fn drop(&mut self) {
        self.indexer.stop_quietly();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            if let Some(api) = self.api.take() {
                runtime.spawn(api.stop());
            }
            if let Some(node) = self.node.take() {
                runtime.spawn(node.stop());
            }
        }
    }
}

/// The in-process indexer parts: the projector thread and the control endpoint, stopped on drop.
struct IndexerSide {
    shutdown: tokio::sync::watch::Sender<bool>,
    projector_thread: Option<ProjectorThread>,
}

impl IndexerSide {
    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.projector_thread.take() {
            thread.join().expect("the projector thread ends cleanly");
        }
    }
}

impl IndexerSide {
    fn stop_quietly(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.projector_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Stack {
    /// Starts the default stack ([`StackBuilder`]).
    pub async fn start() -> Stack {
        Self::builder().start().await
    }

    /// A stack to configure, then [`StackBuilder::start`].
    pub fn builder() -> StackBuilder {
        StackBuilder {
            seed: 52,
            events: 4_000,
            limits: generous(),
            jwt_secret: None,
            intervals: test_intervals(),
            tune: Box::new(|_| {}),
        }
    }

    /// Stops everything: query-api (in-progress requests get the shutdown grace), the
    /// projector (after a last commit), the control endpoint and the node.
    pub async fn stop(mut self) {
        if let Some(api) = self.api.take() {
            api.stop().await;
        }
        self.indexer.stop();
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }

    /// The running service (its addresses).
    pub fn api(&self) -> &Running {
        self.api.as_ref().expect("the service runs until the stack stops")
    }

    /// The data directory (log and projections).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
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
            dfpn_addr: LOOPBACK.parse().unwrap(),
            psy_addr: LOOPBACK.parse().unwrap(),
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

    /// Polls a Psy GET until `done` accepts its answer, for at most 20 s (the projector commits
    /// every 50 ms and each family's reader reloads on its own): the last answer.
    pub async fn psy_until(&self, path: &str, done: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        crate::wait::until(Duration::from_secs(20), || self.psy_get(path), |(status, body)| done(*status, body)).await
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
