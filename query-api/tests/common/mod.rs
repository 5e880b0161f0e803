//! Helpers of the query-api integration tests: a fixture chain indexed into a temporary data
//! directory and served by the real service on loopback.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use fixtures::node::Faults;
use fixtures::testing::{creation_order, expected_dfpn, start_node, ExpectedDfpn};
use indexer::backfill::{BackfillFrom, Context};
use indexer::log::EventLog;
use indexer::metrics::Metrics;
use indexer::projector::Projector;
use indexer::rpc::Rpc;
use query_api::ratelimit::Limits;
use query_api::{Config, Running};
use serde_json::Value;
use shared::{ProgramKind, ProgramSet};

/// An indexed fixture chain served by query-api.
pub struct World {
    _dir: tempfile::TempDir,
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
}

/// Indexes a 4,000-event fixture chain and starts query-api over it.
pub async fn world(limits: Limits, jwt_secret: Option<&str>) -> World {
    let node = start_node(51, 4_000, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::default());
    let context = Arc::new(Context {
        rpc: Rpc::new(&node.http_url(), solana_commitment_config_confirmed(), metrics.clone()),
        log: Arc::new(EventLog::open(&dir.path().join("log"), 8 << 20).unwrap()),
        programs: ProgramSet::defaults(),
        metrics,
        concurrency: 8,
    });
    for program in ProgramKind::ALL {
        context.backfill(program, BackfillFrom::Genesis).await.unwrap();
    }
    let telemetry = indexer::telemetry::poll_once(&context).await.unwrap();
    let mut projector = Projector::open(&dir.path().join("projections")).unwrap();
    projector.catch_up(&context.log, usize::MAX).unwrap();
    projector.commit().unwrap();
    projector.finish().unwrap();
    let truth = node.node.ground_truth(None);
    node.stop().await;
    let truth_lines: Vec<String> = truth.lines().map(str::to_owned).collect();
    let now =
        truth_lines.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()?["block_time"].as_i64()).max().unwrap()
            + 60;
    let api = query_api::start(Config {
        data_dir: dir.path().to_path_buf(),
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        limits,
        trust_forwarded_for: false,
        jwt_secret: jwt_secret.map(str::to_owned),
        cors_origins: vec!["*".into()],
        request_timeout: std::time::Duration::from_secs(10),
        clock: query_api::Clock::Fixed(now),
    })
    .await
    .unwrap();
    let base = format!("http://{}", api.dfpn_addr);
    let psy = format!("http://{}", api.psy_addr);
    World {
        _dir: dir,
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

fn solana_commitment_config_confirmed() -> solana_commitment_config::CommitmentConfig {
    solana_commitment_config::CommitmentConfig::confirmed()
}

/// Limits no test reaches.
pub fn generous() -> Limits {
    Limits { anonymous: 100_000, authenticated: 100_000, window: std::time::Duration::from_secs(60) }
}

impl World {
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

    /// Objects of a DFPN family, newest creation first, filtered.
    pub fn newest_first(
        &self,
        event: &str,
        id_field: &str,
        family: &BTreeMap<String, Value>,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let mut order = creation_order(self.truth_lines.iter().map(String::as_str), event, id_field);
        order.reverse();
        order.into_iter().map(|id| family[&id].clone()).filter(|v| keep(v)).collect()
    }
}
