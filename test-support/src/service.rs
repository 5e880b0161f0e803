//! Helpers for tests of the service's bounds: query-api over a data directory without an
//! indexer (empty, or with projection documents written by the test), raw HTTP on loopback,
//! and reading `/metrics`.

use std::time::Duration;

use projection::schema::Family;
use query_api::{Config, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// query-api serving a data directory of its own, without an indexer.
pub struct Bare {
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// The running service.
    pub api: Running,
    /// DFPN base URL.
    pub base: String,
    /// Psy base URL.
    pub psy: String,
    /// `/metrics` URL.
    pub metrics: String,
}

/// Starts query-api over an empty data directory, on ephemeral loopback ports, with `tune`
/// applied to its configuration.
pub async fn bare(tune: impl FnOnce(&mut Config)) -> Bare {
    bare_in(tempfile::tempdir().unwrap(), tune).await
}

/// [`bare`] over `dir` (projections the test wrote).
pub async fn bare_in(dir: tempfile::TempDir, tune: impl FnOnce(&mut Config)) -> Bare {
    let mut config = Config {
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..Config::new(dir.path().to_path_buf())
    };
    tune(&mut config);
    let api = query_api::start(config).await.unwrap();
    let base = format!("http://{}", api.dfpn_addr);
    let psy = format!("http://{}", api.psy_addr);
    let metrics = format!("http://{}/metrics", api.metrics_addr.unwrap());
    Bare { dir, api, base, psy, metrics }
}

/// Writes `documents` (built from the family's schema) as the projection of `family` in `dir`.
pub fn write_family(
    dir: &std::path::Path,
    family: Family,
    documents: impl FnOnce(&tantivy::schema::Schema) -> Vec<tantivy::TantivyDocument>,
) {
    let path = dir.join("projections").join(family.dir_name());
    std::fs::create_dir_all(&path).unwrap();
    let index = tantivy::Index::create_in_dir(&path, family.schema()).unwrap();
    let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 50_000_000).unwrap();
    for document in documents(&index.schema()) {
        writer.add_document(document).unwrap();
    }
    writer.commit().unwrap();
}

/// The value of metric `name` (a full sample name with its labels, if any) at `url`.
pub async fn metric(url: &str, name: &str) -> Option<f64> {
    let text = reqwest::Client::builder().no_proxy().build().unwrap().get(url).send().await.ok()?.text().await.ok()?;
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Polls metric `name` until `done` accepts it, for at most `within`: its last value.
pub async fn metric_until(url: &str, name: &str, within: Duration, done: impl Fn(f64) -> bool) -> Option<f64> {
    crate::wait::until(within, || metric(url, name), |value| value.is_some_and(&done)).await
}

/// Whether the server closes `stream` within `within` (reading and dropping what it sends).
pub async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 4_096];
    let read_to_end = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read_to_end).await.is_ok()
}

/// Sends raw `request` bytes on a new connection to `addr` and reads the answer until the
/// server closes the connection (`Connection: close` requests) or `within` passes.
pub async fn raw(addr: std::net::SocketAddr, request: &[u8], within: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(within, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that never uses a proxy (tests run on loopback).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
