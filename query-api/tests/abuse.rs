//! Regression tests of issue 15 (the query service as a public API: abuse, slow clients and bad
//! input), one per item, each against the real service on loopback.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use projection::schema::Family;
use query_api::psy::tps::WsLimits;
use query_api::ratelimit::{Limits, ProxyTrust};
use serde_json::{json, Value};
use test_support::service::{bare, bare_in, client, closed_within, metric, metric_until, raw, write_family};
use test_support::stack::Stack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn limits(anonymous: u64) -> Limits {
    Limits { anonymous, authenticated: 1_000, window: Duration::from_secs(60) }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = client().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Item 1: behind one trusted proxy the key is the hop that proxy appended, not the first
/// (client-written) one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_1_a_rotating_first_forwarded_hop_does_not_dodge_the_rate_limit() {
    let service = bare(|c| {
        c.limits = limits(5);
        c.client_keys.proxies = ProxyTrust::Hops(1);
    })
    .await;
    let mut statuses = Vec::new();
    for n in 0..10 {
        let forwarded = format!("198.51.100.{n}, 203.0.113.7");
        statuses.push(get(&format!("{}/health", service.psy), &[("x-forwarded-for", &forwarded)]).await.0);
    }
    assert_eq!(statuses, [[200; 5], [429; 5]].concat(), "one client behind the proxy, whatever it writes first");
    let (other, _) = get(&format!("{}/health", service.psy), &[("x-forwarded-for", "203.0.113.8")]).await;
    assert_eq!(other, 200, "another client the proxy saw is counted apart");
    service.api.stop().await;
}

/// Item 2: keys and the limiter's map are bounded, huge header values are refused, IPv6 clients
/// count by /64.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_2_limiter_memory_is_bounded_at_any_number_of_clients() {
    let service = bare(|c| {
        c.limits = limits(5);
        c.client_keys.proxies = ProxyTrust::Hops(1);
        c.rate_limit_max_clients = 50;
    })
    .await;
    let url = format!("{}/health", service.base);
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let hop = format!("2001:db8:0:1::{n}");
        statuses.push(get(&url, &[("x-forwarded-for", &hop)]).await.0);
    }
    assert_eq!(statuses, [[200; 5].as_slice(), &[429]].concat(), "one /64 is one client");
    let huge = format!("{}, 203.0.113.9", "9".repeat(200_000));
    let (status, _) = get(&url, &[("x-forwarded-for", &huge)]).await;
    assert_eq!(status, 431, "a 200 KB header is refused before any route");
    for n in 0..300u32 {
        let hop = format!("10.{}.{}.1", n / 256, n % 256);
        get(&url, &[("x-forwarded-for", &hop)]).await;
    }
    let tracked = metric(&service.metrics, "query_api_rate_limit_clients").await.unwrap();
    let bound = 50 + query_api::ratelimit::OVERFLOW_BUCKETS;
    assert!(tracked <= bound as f64, "at most 50 clients and the overflow keys are tracked, saw {tracked}");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&url, &[("x-forwarded-for", "10.200.0.1")]).await.0);
    }
    assert_eq!(statuses.last(), Some(&429), "a new client past the map is still limited: {statuses:?}");
    service.api.stop().await;
}

async fn ws_connect(
    addr: std::net::SocketAddr,
    forwarded: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut request = format!("ws://{addr}/ws/tps").into_client_request().unwrap();
    request.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

fn refused_with(result: Result<impl Sized, tokio_tungstenite::tungstenite::Error>) -> Option<u16> {
    match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Some(response.status().as_u16()),
        _ => None,
    }
}

/// Item 3: small message and frame limits, client caps (global and per key), incoming data
/// never kept, and a client that stops reading is dropped after the send timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_3_websocket_clients_are_capped_bounded_and_dropped_when_they_stop_reading() {
    let service = bare(|c| {
        c.client_keys.proxies = ProxyTrust::Hops(1);
        c.ws = WsLimits {
            max_message_bytes: 1_024,
            max_frame_bytes: 1_024,
            max_clients: 3,
            max_clients_per_key: 2,
            send_timeout: Duration::from_millis(300),
        };
    })
    .await;
    let addr = service.api.psy_addr;
    let clients = "query_api_ws_clients";
    let mut first = ws_connect(addr, "203.0.113.1").await.unwrap();
    let _second = ws_connect(addr, "203.0.113.1").await.unwrap();
    assert_eq!(refused_with(ws_connect(addr, "203.0.113.1").await), Some(429), "per-key cap");
    let mut third = ws_connect(addr, "203.0.113.2").await.unwrap();
    assert_eq!(refused_with(ws_connect(addr, "203.0.113.3").await), Some(503), "global cap");

    // A client that sends data (a 64 KiB message, far past the limit) is closed at once.
    third.send(Message::text("x".repeat(65_536))).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match third.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server ends a client that sends data");
    assert_eq!(metric_until(&service.metrics, clients, Duration::from_secs(5), |n| n == 2.0).await, Some(2.0));

    // A client that keeps reading stays; the two that never read are dropped after the timeout.
    let reader = tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) {
            if tokio::time::timeout(Duration::from_millis(100), first.next()).await.is_ok_and(|m| m.is_none()) {
                return false;
            }
        }
        true
    });
    let _stalled = ws_connect(addr, "203.0.113.4").await.unwrap();
    let dropped = metric_until(&service.metrics, clients, Duration::from_secs(5), |n| n == 1.0).await;
    assert_eq!(dropped, Some(1.0), "clients that stop reading are dropped; the reading one stays");
    assert!(reader.await.unwrap(), "the reading client was never dropped");
    tokio::time::timeout(Duration::from_secs(5), service.api.stop()).await.expect("stop does not wait on clients");
}

/// Item 4: queries tantivy parses but cannot run answer 400 with the DFPN body, never 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_4_every_search_a_user_can_write_answers_200_or_400() {
    let w = Stack::start().await;
    let queries = [
        "storage_uri:*",
        "name:*",
        "nosuchfield:*",
        "nosuchfield:* x",
        "storage_uri:[a TO z]",
        "storage_uri:* AND name:*",
        "name:\"unclosed",
        "(",
        "a AND",
        "*",
        "storage_uri:/re.*/",
        "name:x^1000000000",
    ];
    for path in ["/requests/search", "/models/search"] {
        for q in queries {
            let url = format!("{}{path}?q={}", w.base, urlencode(q));
            let (status, body) = get(&url, &[]).await;
            assert!(status == 200 || status == 400, "{path} q={q}: {status} {body}");
            if status == 400 {
                assert_eq!(body["status"], 400, "{body}");
                assert_eq!(body["error"], "Bad Request", "{body}");
                assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            }
        }
    }
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Item 5: over-long public keys are refused before base58 decoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_5_long_public_keys_are_refused_before_decoding() {
    let service = bare(|c| c.connections.max_header_bytes = 256 * 1024).await;
    let key = "2".repeat(60_000);
    let paths = [
        format!("{}/requests?requester={key}", service.base),
        format!("{}/workers?operator={key}", service.base),
        format!("{}/models?developer={key}", service.base),
        format!("{}/stats/workers/{key}", service.psy),
        format!("{}/rewards/{key}", service.psy),
    ];
    let started = Instant::now();
    for url in paths.iter().cycle().take(10) {
        let (status, body) = get(url, &[]).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().len() < 1_000, "the error echoes a cut value: {body}");
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "10 refusals took {elapsed:?}");
    service.api.stop().await;
}

/// Item 6: header read timeout, connection cap, idle timeout, and a shutdown that does not wait
/// on slow clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_6_slow_clients_are_timed_out_capped_and_not_waited_for() {
    let service = bare(|c| {
        c.connections.header_read_timeout = Duration::from_millis(300);
        c.connections.idle_timeout = Duration::from_millis(1_500);
        c.request_timeout = Duration::from_millis(1_000);
    })
    .await;
    let mut partial = TcpStream::connect(service.api.dfpn_addr).await.unwrap();
    partial.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    assert!(closed_within(&mut partial, Duration::from_secs(3)).await, "an unfinished header is cut off");
    let mut body_pending = TcpStream::connect(service.api.psy_addr).await.unwrap();
    body_pending
        .write_all(
            b"POST /register HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    assert!(closed_within(&mut body_pending, Duration::from_secs(5)).await, "a silent connection is closed");
    service.api.stop().await;

    let capped = bare(|c| {
        c.connections.max_connections = 4;
        c.connections.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(capped.api.dfpn_addr).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        idle.push(stream);
    }
    assert_eq!(
        metric_until(&capped.metrics, "query_api_open_connections", Duration::from_secs(5), |n| n == 4.0).await,
        Some(4.0)
    );
    let refused = raw(capped.api.psy_addr, b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n", Duration::from_secs(5)).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains(r#""error":"Service Unavailable""#), "the Psy body: {refused}");
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), capped.api.stop())
        .await
        .expect("shutdown does not wait on slow clients");
    assert!(started.elapsed() < Duration::from_secs(3));
    for mut stream in idle {
        assert!(closed_within(&mut stream, Duration::from_secs(1)).await, "slow clients are closed at shutdown");
    }
}

/// Item 7: blocking work in flight is bounded; past the queue a request is answered 503 before
/// its work starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_7_blocking_work_in_flight_is_bounded() {
    let w = Stack::builder()
        .query(|c| {
            c.work = query_api::work::WorkLimits { max_in_flight: 1, max_queued: 0 };
        })
        .start()
        .await;
    let http = client();
    let answers = futures::future::join_all((1..=24).map(|n| {
        let url = format!("{}/worker_events_aggregations?bucket=2min&limit={}", w.psy, 900 + n);
        let http = http.clone();
        async move {
            let response = http.get(url).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    }))
    .await;
    for (status, body) in &answers {
        assert!(*status == 200 || *status == 503, "{status} {body}");
        if *status == 503 {
            assert_eq!(body["error"], "Service Unavailable", "{body}");
        }
    }
    let metrics = format!("http://{}/metrics", w.api().metrics_addr.unwrap());
    assert_eq!(metric(&metrics, "query_api_blocking_peak").await, Some(1.0), "one blocking task at a time");
    let shed = metric(&metrics, "query_api_blocking_shed_total").await.unwrap();
    let refused = answers.iter().filter(|(status, _)| *status == 503).count();
    assert_eq!(shed as usize, refused, "every 503 was shed before its work started");
    assert!(refused > 0, "24 concurrent aggregations overlap on one slot");
}

/// Item 8, tokens: a future `nbf` is refused, a lowercase scheme accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_8_tokens_nbf_is_checked_and_the_scheme_is_case_insensitive() {
    let secret = "abuse-secret";
    let service = bare(|c| c.jwt_secret = Some(secret.into())).await;
    let now = query_api::auth::unix_now();
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let url = format!("{}/admin/checkpoint-processing-status", service.psy);
    let future = sign(json!({ "sub": "ops", "iat": now, "exp": now + 3_600, "nbf": now + 3_000 }));
    let (status, body) = get(&url, &[("authorization", &format!("Bearer {future}"))]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("Unauthorized")), "{body}");
    let valid = sign(json!({ "sub": "ops", "iat": now, "exp": now + 3_600 }));
    let (status, body) = get(&url, &[("authorization", &format!("bearer {valid}"))]).await;
    assert_eq!(status, 200, "{body}");
    service.api.stop().await;
}

/// Item 8, HTTP: a wrong method answers 405 with `Allow`; refused requests never echo the
/// framework's debug text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_8_wrong_methods_answer_405_and_bodies_carry_no_debug_text() {
    let service = bare(|_| {}).await;
    let http = client();
    for (url, dfpn) in [(format!("{}/health", service.base), true), (format!("{}/stats", service.psy), false)] {
        let response = http.delete(&url).send().await.unwrap();
        assert_eq!(response.status(), 405, "{url}");
        assert_eq!(response.headers()["allow"], "GET");
        let body: Value = response.json().await.unwrap();
        if dfpn {
            assert_eq!((body["error"].as_str(), body["status"].as_u64()), (Some("Method Not Allowed"), Some(405)));
        } else {
            assert_eq!(body["error"], "Method Not Allowed", "{body}");
        }
    }
    let bad_bytes = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let cases = [
        http.get(format!("{}/health", service.base)).header("authorization", bad_bytes.clone()),
        http.get(format!("{}/health", service.psy)).header("x-forwarded-for", bad_bytes.clone()),
        http.get(format!("{}/requests?limit=%FF", service.base)),
        http.get(format!("{}/ws/tps", service.psy)),
        http.post(format!("{}/register", service.psy)).header("content-length", "not a number"),
    ];
    for request in cases {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status < 500, "{status} {text}");
        assert!(!text.contains("Rejection") && !text.contains("{ name"), "framework text leaked: {text}");
        // hyper answers a request it cannot parse (a non-numeric Content-Length) with a bare
        // 400 before any route; every other 400 carries the surface's body.
        if status == 400 && !text.is_empty() {
            let body: Value = serde_json::from_str(&text).unwrap();
            assert!(body["error"].is_string(), "{body}");
        }
    }
    service.api.stop().await;
}

/// Item 8, listeners: a taken metrics port is named in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_8_a_taken_port_is_named_in_the_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = query_api::Config {
        dfpn_addr: "127.0.0.1:0".parse().unwrap(),
        psy_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: Some(addr),
        ..query_api::Config::new(dir.path().to_path_buf())
    };
    let error = query_api::start(config).await.err().expect("the metrics port is taken").to_string();
    assert!(error.contains(&format!("cannot listen on {addr}")) && error.contains("metrics"), "{error}");
}

/// Item 8, aggregations: stored year-9999 times never panic into a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue15_8_year_9999_times_aggregate_without_a_panic() {
    use projection::schema::psy::{UserEvent, UserEventFields};
    let dir = tempfile::tempdir().unwrap();
    let times = [1_704_067_200_000_000, 253_402_300_799_000_000, 253_402_214_400_000_000, i64::MAX / 2];
    write_family(dir.path(), Family::UserEvents, |schema| {
        let f = UserEventFields::resolve(schema);
        times
            .iter()
            .enumerate()
            .map(|(n, &timestamp)| {
                let seq = n as u64 + 1;
                UserEvent {
                    id: seq.to_string(),
                    seq,
                    user_id: seq.to_string(),
                    public_key: format!("0x{}", "ab".repeat(32)),
                    tx_type: shared::psy_model::UserEventTxType::RegisterUser,
                    checkpoint_id: Some(1),
                    metadata: "{}".into(),
                    timestamp_us: timestamp,
                }
                .to_document(&f)
            })
            .collect()
    });
    let service = bare_in(dir, |_| {}).await;
    for bucket in ["2min", "1h", "1d", "1w", "1m", "all_time"] {
        for order in ["asc", "desc"] {
            let url = format!("{}/user_events_aggregations?bucket={bucket}&order={order}", service.psy);
            let (status, body) = get(&url, &[]).await;
            assert_eq!(status, 200, "{bucket} {order}: {body}");
            assert!(body.as_array().is_some_and(|b| !b.is_empty()), "{bucket}: {body}");
        }
    }
    let (status, body) = get(&format!("{}/user_events?limit=10", service.psy), &[]).await;
    assert_eq!(status, 200, "{body}");
    service.api.stop().await;
}

/// A telemetry post without a valid token is refused before its body is read: the 401 arrives
/// while the announced 4 MiB body is still unsent, so an anonymous client cannot make the service
/// buffer bodies; the answer says `connection: close`, so a pooled client does not send its next
/// request on the connection the unread body ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthorized_telemetry_post_is_refused_before_its_body_is_read() {
    let service = bare(|c| c.jwt_secret = Some("abuse-telemetry-secret".into())).await;
    for authorization in ["", "authorization: Bearer not-a-token\r\n"] {
        let mut stream = TcpStream::connect(service.api.psy_addr).await.unwrap();
        let head = format!(
            "POST /telemetry/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{authorization}content-length: 4000000\r\n\r\n{{"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut answer))
            .await
            .expect("answered without the body")
            .unwrap();
        let text = String::from_utf8_lossy(&answer[..read]);
        assert!(text.starts_with("HTTP/1.1 401"), "{text}");
        assert!(text.contains(r#""status":401"#), "the real body: {text}");
        assert!(text.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{text}");
    }
    service.api.stop().await;
}
