//! The server's answers are well-formed and its waits bounded, at the level a client sees
//! them (status, content type, error code, headers, time to answer): every error is the JSON
//! error object, a timed-out write says `outcome_unknown` and a read `unavailable`, readiness
//! answers within its own bound, an oversized body is refused before it is read, slow and idle
//! clients are cut off, and connections are capped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_core::{
    Batch, Condition, DeleteCondition, ExportPage, InMemoryStore, Key, KvStore, Partition, Result,
    ScanPage, ScanRequest, Value, Version, Versioned, Written, async_trait,
};
use metakv::config::ServerConfig;
use metakv::http::{self, Tokens};
use serde_json::Value as Json;

/// A store whose every operation waits forever (a frozen database).
#[derive(Debug)]
struct Frozen;

#[async_trait]
impl KvStore for Frozen {
    async fn get(&self, _: &Partition, _: &Key) -> Result<Option<Versioned>> {
        std::future::pending().await
    }
    async fn put(&self, _: &Partition, _: &Key, _: &Value, _: &Condition) -> Result<Written> {
        std::future::pending().await
    }
    async fn delete(&self, _: &Partition, _: &Key, _: &DeleteCondition) -> Result<bool> {
        std::future::pending().await
    }
    async fn scan_page(&self, _: &Partition, _: &ScanRequest) -> Result<ScanPage> {
        std::future::pending().await
    }
    async fn batch(&self, _: &Partition, _: &Batch) -> Result<Vec<Option<Version>>> {
        std::future::pending().await
    }
    async fn delete_partition(&self, _: &Partition) -> Result<()> {
        std::future::pending().await
    }
    async fn export_page(&self, _: Option<&str>, _: usize) -> Result<ExportPage> {
        std::future::pending().await
    }
    async fn ping(&self) -> Result<()> {
        std::future::pending().await
    }
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// A server over `store` with `config`, in this process, on a free port; its base URL.
fn start(store: Arc<dyn KvStore>, config: ServerConfig) -> String {
    let router = http::router(store, None, Tokens::new(Vec::new()), &config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        http::serve(listener, router, &config, std::future::pending())
            .await
            .unwrap()
    });
    base
}

fn memory() -> Arc<dyn KvStore> {
    Arc::new(InMemoryStore::new())
}

/// Status, headers and the error object of `response`, requiring the JSON error format.
async fn error_of(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Json) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    assert_eq!(
        headers[reqwest::header::CONTENT_TYPE],
        "application/json",
        "status {status}"
    );
    let body: Json = response.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, headers, body["error"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_that_axum_answers_itself_are_json_error_objects() {
    let config = ServerConfig {
        body_limit_bytes: 1000,
        ..ServerConfig::default()
    };
    let base = start(memory(), config);
    let client = reqwest::Client::new();
    // 405, with Allow.
    let r = client
        .patch(format!("{base}/v1/p/cA/k/a2V5"))
        .send()
        .await
        .unwrap();
    let (status, headers, error) = error_of(r).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let allow = headers[reqwest::header::ALLOW].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
    // 413 from the body limit, without a Content-Length (chunked): found while reading.
    let body = reqwest::Body::wrap_stream(futures::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 400])),
    ));
    let r = client
        .put(format!("{base}/v1/p/cA/k/a2V5"))
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, _, error) = error_of(r).await;
    assert_eq!((status, error["code"].as_str()), (413, Some("too_large")));
    // 404 of an unknown route.
    let (status, _, error) =
        error_of(client.get(format!("{base}/nowhere")).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    // 400: page_size 0 of an export (page sizes above 1000 are served as 1000).
    let (status, _, error) = error_of(
        client
            .get(format!("{base}/v1/export?page_size=0"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let big = client
        .get(format!("{base}/v1/export?page_size=5000"))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_one_mib_is_413() {
    let base = start(memory(), ServerConfig::default());
    let value = base64_of(&vec![7u8; 300 << 10]);
    let ops: Vec<Json> = (0..4)
        .map(|i| serde_json::json!({"op": "put", "key": base64_of(format!("k{i}").as_bytes()), "value": value}))
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/p/cA/batch"))
        .json(&serde_json::json!({ "ops": ops }))
        .send()
        .await
        .unwrap();
    let (status, _, error) = error_of(r).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (413, Some("too_large")),
        "{error}"
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_write_is_outcome_unknown_and_a_timed_out_read_unavailable() {
    let config = ServerConfig {
        request_timeout_secs: 1,
        ..ServerConfig::default()
    };
    let base = start(Arc::new(Frozen), config);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let (status, _, error) = error_of(
        client
            .put(format!("{base}/v1/p/cA/k/a2V5"))
            .body("v")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (504, Some("outcome_unknown"))
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("may or may not have been applied")
    );
    let (status, _, error) = error_of(
        client
            .get(format!("{base}/v1/p/cA/k/a2V5"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (503, Some("unavailable")));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_503_within_its_own_bound_when_the_backend_hangs() {
    let config = ServerConfig {
        readiness_timeout_ms: 300,
        ..ServerConfig::default()
    };
    let base = start(Arc::new(Frozen), config);
    let started = Instant::now();
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    let elapsed = started.elapsed();
    let (status, _, error) = error_of(r).await;
    assert_eq!((status, error["code"].as_str()), (503, Some("unavailable")));
    assert!(
        elapsed < Duration::from_secs(5),
        "{elapsed:?}, not the request timeout"
    );
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "liveness does not touch the backend");
}

/// Reads what the server sends on `stream` until it closes it or `within` passes.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true);
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_content_length_is_refused_before_the_body_is_sent() {
    let base = start(memory(), ServerConfig::default());
    let addr = base.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            b"PUT /v1/p/cA/k/a2V5 HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
        let started = Instant::now();
        let (text, _) = read_until_closed(&mut s, Duration::from_secs(5));
        (text, started.elapsed())
    })
    .await
    .unwrap();
    let (text, elapsed) = answer;
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(text.contains("\"too_large\""), "{text}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off() {
    let config = ServerConfig {
        header_read_timeout_ms: 500,
        ..ServerConfig::default()
    };
    let base = start(memory(), config);
    let addr = base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        // Slowloris: half a request head, then nothing.
        let mut slow = TcpStream::connect(&addr).unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5));
        assert!(
            closed,
            "a client that never finishes its head is disconnected"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        // Idle: one request on a kept-alive connection, then silence.
        let mut idle = TcpStream::connect(&addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let started = Instant::now();
        let (text, closed) = read_until_closed(&mut idle, Duration::from_secs(5));
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(closed, "an idle kept-alive connection is closed");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_closed_at_once() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let base = start(memory(), config);
    let addr = base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut third = TcpStream::connect(&addr).unwrap();
        let _ = third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let (text, closed) = read_until_closed(&mut third, Duration::from_secs(3));
        assert!(
            closed && text.is_empty(),
            "the third connection is closed unanswered: {text:?}"
        );
        drop(held);
        std::thread::sleep(Duration::from_millis(300));
        // A slot is free again.
        let mut again = TcpStream::connect(&addr).unwrap();
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (text, _) = read_until_closed(&mut again, Duration::from_secs(3));
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_token_is_refused_by_another_scan_and_by_export() {
    let base = start(memory(), ServerConfig::default());
    let client = reqwest::Client::new();
    for p in ["cA", "cB"] {
        for k in ["a2V5MQ", "a2V5Mg", "a2V5Mw"] {
            let r = client
                .put(format!("{base}/v1/p/{p}/k/{k}"))
                .body("v")
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        }
    }
    let page: Json = client
        .get(format!("{base}/v1/p/cA/k?page_size=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = page["next_page_token"].as_str().unwrap().to_string();
    let ok = client
        .get(format!("{base}/v1/p/cA/k?page_size=1&page_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    for url in [
        format!("{base}/v1/p/cB/k?page_size=1&page_token={token}"),
        format!("{base}/v1/p/cA/k?page_size=1&prefix=a2V5&page_token={token}"),
        format!("{base}/v1/export?page_token={token}"),
    ] {
        let (status, _, error) = error_of(client.get(&url).send().await.unwrap()).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("invalid_argument")),
            "{url}"
        );
    }
}

/// A store whose table is gone.
#[derive(Debug)]
struct Unprovisioned;

fn gone() -> kv_core::Error {
    kv_core::Error::NotProvisioned {
        message: "table t does not exist; run `metakv provision`".into(),
        source: None,
    }
}

#[async_trait]
impl KvStore for Unprovisioned {
    async fn get(&self, _: &Partition, _: &Key) -> Result<Option<Versioned>> {
        Err(gone())
    }
    async fn put(&self, _: &Partition, _: &Key, _: &Value, _: &Condition) -> Result<Written> {
        Err(gone())
    }
    async fn delete(&self, _: &Partition, _: &Key, _: &DeleteCondition) -> Result<bool> {
        Err(gone())
    }
    async fn scan_page(&self, _: &Partition, _: &ScanRequest) -> Result<ScanPage> {
        Err(gone())
    }
    async fn batch(&self, _: &Partition, _: &Batch) -> Result<Vec<Option<Version>>> {
        Err(gone())
    }
    async fn delete_partition(&self, _: &Partition) -> Result<()> {
        Err(gone())
    }
    async fn export_page(&self, _: Option<&str>, _: usize) -> Result<ExportPage> {
        Err(gone())
    }
    async fn ping(&self) -> Result<()> {
        Err(gone())
    }
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_503_not_provisioned_with_the_remedy() {
    let base = start(Arc::new(Unprovisioned), ServerConfig::default());
    for path in ["/readyz", "/v1/p/cA/k/a2V5"] {
        let (status, _, error) =
            error_of(reqwest::get(format!("{base}{path}")).await.unwrap()).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (503, Some("not_provisioned")),
            "{path}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("metakv provision")
        );
    }
    // The client maps it back.
    let client = metakv::HttpStore::new(&base, None).unwrap();
    let err = client.ping().await.unwrap_err();
    assert_eq!(err.kind(), kv_core::ErrorKind::NotProvisioned, "{err:?}");
}

/// A backend that refuses connections: every answer says why (the cause chain, here the
/// refused connection), and the log holds one warning per error code per 10 s, not one per
/// failed request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_errors_say_why_and_their_log_lines_are_throttled() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_metakv"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("METAKV_CONFIG")
        .env("RUST_LOG", "warn")
        .env("METAKV_DATABASE__TYPE", "postgres")
        // Port 1: nothing listens there.
        .env(
            "METAKV_DATABASE__POSTGRES__URL",
            "postgres://metakv@127.0.0.1:1/metakv",
        )
        .env("METAKV_DATABASE__POSTGRES__CONNECT_TIMEOUT_MS", "500")
        .env("METAKV_SERVER__WAIT_FOR_BACKEND", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("metakv listening on ")
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    for _ in 0..40 {
        let r = client
            .get(format!("{base}/v1/p/cA/k/a2V5"))
            .send()
            .await
            .unwrap();
        let (status, _, error) = error_of(r).await;
        assert_eq!(status, 503);
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("Connection refused"),
            "the cause is in the answer: {message}"
        );
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let warnings = text
        .lines()
        .filter(|l| l.contains("request failed"))
        .count();
    assert!(
        (1..=2).contains(&warnings),
        "40 failed requests, {warnings} warnings:\n{text}"
    );
}

/// Every route and method of the OpenAPI document (the router serves exactly those) refuses a
/// request without a token when tokens are configured, except the two health checks; with the
/// token, none answers 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_the_health_checks_needs_the_token() {
    let config = ServerConfig::default();
    let router = http::router(
        memory(),
        None,
        Tokens::new(vec![kv_core::Secret::new("the-token")]),
        &config,
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        http::serve(listener, router, &config, std::future::pending())
            .await
            .unwrap()
    });
    let spec: Json =
        serde_json::from_str(include_str!("../openapi.json")).expect("the OpenAPI document");
    let client = reqwest::Client::new();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let url = format!(
            "{base}{}",
            path.replace("{partition}", "cA").replace("{key}", "a2V5")
        );
        for method in ops.as_object().unwrap().keys() {
            let Ok(method) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let open = matches!(path.as_str(), "/healthz" | "/readyz");
            let anonymous = client.request(method.clone(), &url).send().await.unwrap();
            if open {
                assert_eq!(anonymous.status(), 200, "{method} {path} is open");
            } else {
                let (status, _, error) = error_of(anonymous).await;
                assert_eq!(
                    (status, error["code"].as_str()),
                    (401, Some("unauthorized")),
                    "{method} {path}"
                );
            }
            let wrong = client
                .request(method.clone(), &url)
                .bearer_auth("not-the-token")
                .send()
                .await
                .unwrap();
            assert_eq!(
                wrong.status() == 401,
                !open,
                "{method} {path} with a wrong token"
            );
            let with = client
                .request(method.clone(), &url)
                .bearer_auth("the-token")
                .send()
                .await
                .unwrap();
            assert_ne!(with.status(), 401, "{method} {path} with the token");
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} routes in the OpenAPI document"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_get_of_the_current_version_is_304() {
    let base = start(memory(), ServerConfig::default());
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/p/cA/k/a2V5");
    let put = client.put(&url).body("v").send().await.unwrap();
    let etag = put.headers()[reqwest::header::ETAG]
        .to_str()
        .unwrap()
        .to_string();
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".into(),
    ] {
        let r = client
            .get(&url)
            .header(reqwest::header::IF_NONE_MATCH, &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{tag}");
        assert_eq!(r.headers()[reqwest::header::ETAG], etag.as_str());
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let other = client
        .get(&url)
        .header(reqwest::header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert_eq!(other.text().await.unwrap(), "v");
}

/// Scan bounds in a query string: standard base64 whose `+` form decoding turned into a space,
/// and URL-safe base64, with or without padding, all mean the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_bounds_accept_url_safe_base64_and_a_plus_read_as_a_space() {
    let base = start(memory(), ServerConfig::default());
    let client = reqwest::Client::new();
    // Keys 0xfb 0xff (standard "+/8=", URL-safe "-_8") and 0xfb 0xef.
    for key in ["%FB%FF", "%FB%EF"] {
        let r = client
            .put(format!("{base}/v1/p/cA/k/{key}"))
            .body("v")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    for start in ["+/8=", "%2B%2F8%3D", "-_8", "-_8=", "+/8"] {
        let page: Json = client
            .get(format!("{base}/v1/p/cA/k?start={start}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let keys: Vec<_> = page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{start}: {page}"))
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(keys, ["+/8="], "start={start}");
    }
}
