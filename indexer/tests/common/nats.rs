//! A real `nats-server -js` for the tests: started on a loopback ephemeral port with a store in a
//! temporary directory, stopped when dropped; and readers of a stream.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::StreamExt;

/// Held by each NATS test for its whole run: the tests start several processes and NATS nodes
/// each, and run one at a time so that a loaded 2-core machine does not starve their deadlines.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// A running `nats-server` with JetStream.
pub struct NatsServer {
    child: Child,
    /// Its client URL.
    pub url: String,
    _dir: tempfile::TempDir,
}

fn binary() -> String {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([Path::new("/usr/sbin").to_path_buf(), Path::new("/usr/bin").to_path_buf()])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file());
    match found {
        Some(path) => path.display().to_string(),
        None => panic!(
            "nats-server is not installed: these tests need a real NATS JetStream server \
             (scripts/test.sh installs it: apt-get install -y nats-server)"
        ),
    }
}

impl NatsServer {
    /// Starts a server and waits until JetStream answers.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports = dir.path().join("ports");
        std::fs::create_dir_all(&ports).unwrap();
        let child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(dir.path().join("store"))
            .arg("--ports_file_dir")
            .arg(&ports)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let url = loop {
            let written = std::fs::read_dir(&ports).unwrap().flatten().next().map(|entry| entry.path());
            if let Some(contents) = written.and_then(|path| std::fs::read_to_string(path).ok()) {
                if let Ok(parsed) = serde_json::from_str::<serde_json::Value>(&contents) {
                    break parsed["nats"][0].as_str().expect("client url in the ports file").to_owned();
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "nats-server wrote no ports file");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let server = Self { child, url, _dir: dir };
        wait_for_jetstream(&server.url, deadline).await;
        server
    }
}

/// Waits until JetStream answers at `url` (in a cluster: once it has a meta leader).
async fn wait_for_jetstream(url: &str, deadline: tokio::time::Instant) {
    loop {
        let answered = match async_nats::connect(url).await {
            // The account info, asked raw (the client's typed answer expects newer fields).
            Ok(client) => match client.request("$JS.API.INFO", "".into()).await {
                Ok(answer) if !String::from_utf8_lossy(&answer.payload).contains("\"error\"") => Ok(()),
                Ok(answer) => Err(String::from_utf8_lossy(&answer.payload).into_owned()),
                Err(err) => Err(err.to_string()),
            },
            Err(err) => Err(err.to_string()),
        };
        let Err(err) = answered else { return };
        assert!(tokio::time::Instant::now() < deadline, "JetStream never answered at {url}: {err}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A JetStream cluster of `nats-server`s on loopback ports, each with its own store.
pub struct NatsCluster {
    nodes: Vec<Option<Child>>,
    /// Each node's client URL.
    pub urls: Vec<String>,
    _dir: tempfile::TempDir,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other and waits until JetStream answers on each.
    pub async fn start(size: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let client_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let cluster_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let routes: Vec<String> = cluster_ports.iter().map(|port| format!("nats://127.0.0.1:{port}")).collect();
        let binary = binary();
        let nodes = (0..size)
            .map(|n| {
                let child = Command::new(&binary)
                    .args(["-js", "-a", "127.0.0.1", "-p", &client_ports[n].to_string()])
                    .args(["--server_name", &format!("n{n}"), "--cluster_name", "test"])
                    .args(["--cluster", &routes[n], "--routes", &routes.join(",")])
                    .arg("-sd")
                    .arg(dir.path().join(format!("store-{n}")))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nats-server starts");
                Some(child)
            })
            .collect();
        let urls: Vec<String> = client_ports.iter().map(|port| format!("nats://127.0.0.1:{port}")).collect();
        let cluster = Self { nodes, urls, _dir: dir };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        for url in &cluster.urls {
            wait_for_jetstream(url, deadline).await;
        }
        cluster
    }

    /// Every node's URL, comma-separated (the `--nats-url` of a cluster).
    pub fn url(&self) -> String {
        self.urls.join(",")
    }

    /// SIGKILLs node `n`.
    pub fn kill(&mut self, n: usize) {
        if let Some(mut child) = self.nodes[n].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for n in 0..self.nodes.len() {
            self.kill(n);
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stream's last sequence (0 while it does not exist or does not answer, e.g. while a
/// cluster elects a new leader).
pub async fn last_seq(url: &str, stream: &str) -> u64 {
    let Ok(client) = async_nats::connect(url).await else { return 0 };
    match async_nats::jetstream::new(client).get_stream(stream).await {
        Ok(mut stream) => stream.info().await.map_or(0, |info| info.state.last_sequence),
        Err(_) => 0,
    }
}

/// The stream's replica count and its leader's server name (a cluster's `n<i>`).
pub async fn replicas_and_leader(url: &str, stream: &str) -> (usize, Option<String>) {
    let client = async_nats::connect(url).await.expect("nats connects");
    let mut stream = async_nats::jetstream::new(client).get_stream(stream).await.expect("stream exists");
    let info = stream.info().await.expect("stream info");
    (info.config.num_replicas, info.cluster.as_ref().and_then(|cluster| cluster.leader.clone()))
}

/// One message of the stream: its sequence, `Nats-Msg-Id` and payload.
#[derive(Debug, PartialEq, Eq)]
pub struct StreamRecord {
    /// Stream sequence.
    pub seq: u64,
    /// `Nats-Msg-Id`.
    pub id: String,
    /// Payload.
    pub bytes: Vec<u8>,
}

/// Every message of the stream, in order; also checks the stream's state counts them all.
pub async fn records(url: &str, stream: &str) -> Vec<StreamRecord> {
    let client = async_nats::connect(url).await.expect("nats connects");
    let mut stream = async_nats::jetstream::new(client).get_stream(stream).await.expect("stream exists");
    let state = stream.info().await.expect("stream info").state.clone();
    assert_eq!(state.messages, state.last_sequence, "every sequence holds a message");
    // A cluster that lost a node may time out while it elects new leaders: asked again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let consumer = loop {
        let config = pull::OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() };
        match stream.create_consumer(config).await {
            Ok(consumer) => break consumer,
            Err(err) => {
                assert!(tokio::time::Instant::now() < deadline, "no consumer within 60 s: {err}");
                // Not hammering a cluster that is electing leaders.
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::new();
    while (out.len() as u64) < state.messages {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("the stream delivers within 10 s")
            .expect("the consumer goes on")
            .expect("a message");
        let id = message.headers.as_ref().and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID));
        out.push(StreamRecord {
            seq: message.info().expect("jetstream message").stream_sequence,
            id: id.map(|id| id.as_str().to_owned()).unwrap_or_default(),
            bytes: message.payload.to_vec(),
        });
    }
    out
}

/// The projections' committed seq under `dir` (the smallest payload; 0 before the first commit).
pub fn projection_seq(dir: &Path) -> u64 {
    projection::schema::Family::ALL
        .iter()
        .map(|family| {
            tantivy::Index::open_in_dir(dir.join(family.dir_name()))
                .ok()
                .and_then(|index| index.load_metas().ok())
                .and_then(|metas| metas.payload)
                .and_then(|payload| payload.parse().ok())
                .unwrap_or(0)
        })
        .min()
        .unwrap_or(0)
}
