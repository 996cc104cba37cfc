//! End to end: the real `metakv` binary on a free port, for the embedded and in-memory backends,
//! driven through every endpoint with binary partitions and keys, every conditional header,
//! paging, batches and the authentication failure paths.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Client, Method, StatusCode, header};
use serde_json::{Value as Json, json};

use common::{EMULATOR_KEY, Server, TOKEN};

fn enc(bytes: &[u8]) -> String {
    metakv::http::path::encode_segment(bytes)
}

struct Api<'a> {
    http: Client,
    server: &'a Server,
}

impl<'a> Api<'a> {
    fn new(server: &'a Server) -> Self {
        Api {
            http: Client::new(),
            server,
        }
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server.base))
            .bearer_auth(TOKEN)
    }

    async fn json(&self, response: reqwest::Response) -> Json {
        response.json().await.expect("JSON body")
    }
}

fn etag(r: &reqwest::Response) -> String {
    r.headers()[header::ETAG].to_str().unwrap().to_string()
}

async fn error_code(r: reqwest::Response) -> String {
    let body: Json = r.json().await.expect("error body is JSON");
    body["error"]["code"].as_str().unwrap().to_string()
}

async fn exercise_every_endpoint(server: &Server) {
    let api = Api::new(server);
    let p: &[u8] = b"\x00/\xffpart";
    let k: &[u8] = b"\x00/\xffkey";
    let key_path = format!("/v1/p/{}/k/{}", enc(p), enc(k));

    // Open probes, and authentication everywhere else.
    let open = Client::new();
    assert_eq!(
        open.get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        open.get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    for path in [key_path.as_str(), "/metrics", "/openapi.json", "/v1/export"] {
        let r = open
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{path} without a token"
        );
        assert_eq!(error_code(r).await, "unauthorized");
        let r = open
            .get(format!("{}{path}", server.base))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{path} with a wrong token"
        );
        let r = open
            .get(format!("{}{path}", server.base))
            .header(header::AUTHORIZATION, format!("Basic {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{path} with another scheme"
        );
    }

    // Create only, then the conditional matrix.
    let r = api
        .req(Method::PUT, &key_path)
        .header(header::IF_NONE_MATCH, "*")
        .body(&b"v1\x00\xff"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v1 = etag(&r);
    let r = api
        .req(Method::PUT, &key_path)
        .header(header::IF_NONE_MATCH, "*")
        .body("again")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(error_code(r).await, "condition_failed");
    let r = api.req(Method::GET, &key_path).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(etag(&r), v1);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"v1\x00\xff");
    let r = api
        .req(Method::PUT, &key_path)
        .header(header::IF_MATCH, &v1)
        .body("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v2 = etag(&r);
    assert_ne!(v1, v2);
    let r = api
        .req(Method::PUT, &key_path)
        .header(header::IF_MATCH, &v1)
        .body("stale")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = api
        .req(Method::PUT, &key_path)
        .header(header::IF_MATCH, "*")
        .body("v3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v3 = etag(&r);
    let absent = format!("/v1/p/{}/k/{}", enc(p), enc(b"absent"));
    let r = api
        .req(Method::PUT, &absent)
        .header(header::IF_MATCH, "*")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = api
        .req(Method::PUT, &absent)
        .header(header::IF_MATCH, "*")
        .header(header::IF_NONE_MATCH, "*")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = api
        .req(Method::PUT, &key_path)
        .body(vec![0u8; 393_217])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(r).await, "too_large");
    let r = api
        .req(Method::PUT, &key_path)
        .body(vec![7u8; 393_216])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "exactly at the value limit");
    let v4 = etag(&r);
    assert_ne!(v3, v4);
    let r = api
        .req(Method::GET, &format!("/v1/p/{}/k/%zz", enc(p)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "invalid_argument");

    // Delete: stale → 412, current → 204, again → 404.
    let r = api
        .req(Method::DELETE, &key_path)
        .header(header::IF_MATCH, &v2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = api
        .req(Method::DELETE, &key_path)
        .header(header::IF_MATCH, &v4)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = api.req(Method::DELETE, &key_path).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(r).await, "not_found");
    let r = api
        .req(Method::DELETE, &key_path)
        .header(header::IF_MATCH, "*")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        api.req(Method::GET, &key_path)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Scan with paging: 25 keys, pages of 10, forward and reverse, with prefix and limit.
    for i in 0..25u8 {
        let path = format!("/v1/p/{}/k/{}", enc(p), enc(&[b'k', b'/', i, 0xff]));
        let r = api
            .req(Method::PUT, &path)
            .body(vec![i])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let scan_path = format!("/v1/p/{}/k", enc(p));
    for reverse in [false, true] {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut q = vec![
                ("page_size", "10".to_string()),
                ("prefix", STANDARD.encode(b"k/")),
                ("reverse", reverse.to_string()),
            ];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let body = api
                .json(
                    api.req(Method::GET, &scan_path)
                        .query(&q)
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
            pages += 1;
            for item in body["items"].as_array().unwrap() {
                keys.push(STANDARD.decode(item["key"].as_str().unwrap()).unwrap());
            }
            match body["next_page_token"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut want: Vec<Vec<u8>> = (0..25u8).map(|i| vec![b'k', b'/', i, 0xff]).collect();
        if reverse {
            want.reverse();
        }
        assert_eq!(keys, want);
    }
    let body = api
        .json(
            api.req(Method::GET, &scan_path)
                .query(&[("limit", "3"), ("start", &STANDARD.encode([b'k', b'/', 5]))])
                .send()
                .await
                .unwrap(),
        )
        .await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        STANDARD.decode(items[0]["key"].as_str().unwrap()).unwrap(),
        vec![b'k', b'/', 5, 0xff]
    );
    assert!(body["next_page_token"].is_null());
    let r = api
        .req(Method::GET, &scan_path)
        .query(&[("page_token", "bogus")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = api
        .req(Method::GET, &scan_path)
        .query(&[("prefix", "not base64!")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Batch: applies atomically, or fails naming the index.
    let batch_path = format!("/v1/p/{}/batch", enc(p));
    let b = |k: &[u8]| STANDARD.encode(k);
    let ok = json!({"ops": [
        {"op": "put", "key": b(b"b1"), "value": b(b"\x00"), "if_none_match": "*"},
        {"op": "delete", "key": b(&[b'k', b'/', 0, 0xff]), "if_match": "*"},
        {"op": "put", "key": b(b"b2"), "value": b(b"")}
    ]});
    let r = api
        .req(Method::POST, &batch_path)
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let versions = api.json(r).await["versions"].as_array().unwrap().clone();
    assert!(versions[0].is_string() && versions[1].is_null() && versions[2].is_string());
    let failing = json!({"ops": [
        {"op": "put", "key": b(b"b3"), "value": b(b"x")},
        {"op": "put", "key": b(b"b1"), "value": b(b"x"), "if_none_match": "*"}
    ]});
    let r = api
        .req(Method::POST, &batch_path)
        .json(&failing)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let body = api.json(r).await;
    assert_eq!(body["error"]["code"], "condition_failed");
    assert_eq!(body["error"]["index"], 1);
    let b3 = format!("/v1/p/{}/k/b3", enc(p));
    assert_eq!(
        api.req(Method::GET, &b3).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "no trace of a failed batch"
    );
    let r = api
        .req(Method::POST, &batch_path)
        .json(&json!({"ops": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Export sees the partition; then the partition is deleted.
    let body = api
        .json(
            api.req(Method::GET, "/v1/export")
                .query(&[("page_size", "1000")])
                .send()
                .await
                .unwrap(),
        )
        .await;
    let exported = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["partition"] == b(p))
        .count();
    assert_eq!(exported, 24 + 2);
    let r = api
        .req(Method::DELETE, &format!("/v1/p/{}", enc(p)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body = api
        .json(api.req(Method::GET, &scan_path).send().await.unwrap())
        .await;
    assert!(body["items"].as_array().unwrap().is_empty());

    // Metrics and the OpenAPI document, with the token.
    let metrics = api
        .req(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("metakv_operation_duration_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("metakv_operation_errors_total"),
        "{metrics}"
    );
    // Histograms with buckets (aggregatable across replicas), not summaries.
    assert!(
        metrics.contains("# TYPE metakv_operation_duration_seconds histogram")
            && metrics.contains("metakv_operation_duration_seconds_bucket{")
            && metrics.contains("le=\"0.0005\""),
        "{metrics}"
    );
    assert!(!metrics.contains(" summary\n"), "{metrics}");
    let openapi = api
        .json(api.req(Method::GET, "/openapi.json").send().await.unwrap())
        .await;
    assert_eq!(openapi["openapi"], "3.1.0");
    assert_eq!(
        api.req(Method::GET, "/nowhere")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_endpoint_works_on_the_memory_backend() {
    let server = Server::start(&[("METAKV_DATABASE__TYPE", "memory".into())]);
    exercise_every_endpoint(&server).await;
    assert!(
        server.terminate().await.success(),
        "SIGTERM stops metakv cleanly"
    );
}

#[tokio::test]
async fn every_endpoint_works_on_the_embedded_backend_and_data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "METAKV_DATABASE__LOCAL__PATH",
        dir.path().display().to_string(),
    )];
    let server = Server::start(&env);
    exercise_every_endpoint(&server).await;
    let api = Api::new(&server);
    let r = api
        .req(Method::PUT, "/v1/p/keep/k/me")
        .body("durable")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let version = etag(&r);
    assert!(server.terminate().await.success());

    let server = Server::start(&env);
    let api = Api::new(&server);
    let r = api
        .req(Method::GET, "/v1/p/keep/k/me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(etag(&r), version);
    assert_eq!(r.text().await.unwrap(), "durable");
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn every_endpoint_works_on_the_postgres_backend() {
    let Some(url) = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL") else {
        return;
    };
    let table = format!("metakv_e2e_{:08x}", rand_u32());
    let base = [
        ("METAKV_DATABASE__TYPE", "postgres".to_string()),
        ("METAKV_DATABASE__POSTGRES__URL", url.clone()),
        ("METAKV_DATABASE__POSTGRES__TABLE", table.clone()),
    ];
    // Without the table, serving fails with a clear NotProvisioned error; `provision` fixes it.
    let out = Command::new(env!("CARGO_BIN_EXE_metakv"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(base.clone())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("not provisioned") && stderr.contains("metakv provision"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("metakv-test-password"),
        "the password never appears: {stderr}"
    );
    provision(&base);
    let server = Server::start(&base);
    exercise_every_endpoint(&server).await;
    assert!(server.terminate().await.success());
}

/// With `server.wait_for_backend`, a server whose table does not exist yet listens, is live
/// but not ready (503 with the reason) and becomes ready by itself once the table is created,
/// as in a Kubernetes rollout while an operator provisions the backend.
#[tokio::test]
async fn a_waiting_server_is_live_but_not_ready_until_its_backend_is_provisioned() {
    let Some(url) = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL") else {
        return;
    };
    let table = format!("metakv_wait_{:08x}", rand_u32());
    let base = [
        ("METAKV_DATABASE__TYPE", "postgres".to_string()),
        ("METAKV_DATABASE__POSTGRES__URL", url.clone()),
        ("METAKV_DATABASE__POSTGRES__TABLE", table.clone()),
        ("METAKV_SERVER__WAIT_FOR_BACKEND", "true".to_string()),
    ];
    let server = Server::start(&base);
    let api = Api::new(&server);
    let health = api.req(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = api.req(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = ready.text().await.unwrap();
    assert!(
        body.contains("not open yet") && body.contains("not provisioned"),
        "{body}"
    );
    let put = api
        .req(Method::PUT, "/v1/p/p/k/k")
        .body("v")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::SERVICE_UNAVAILABLE);

    provision(&base);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = api.req(Method::GET, "/readyz").send().await.unwrap();
        if ready.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready 60 s after provisioning"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    exercise_every_endpoint(&server).await;
    drop(api);
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn every_endpoint_works_on_the_dynamodb_backend() {
    let Some(endpoint) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") else {
        return;
    };
    let table = format!("metakv-e2e-{:08x}", rand_u32());
    let env = [
        ("METAKV_DATABASE__TYPE", "dynamodb".to_string()),
        ("METAKV_DATABASE__DYNAMODB__ENDPOINT", endpoint),
        ("METAKV_DATABASE__DYNAMODB__TABLE", table),
        ("METAKV_DATABASE__DYNAMODB__REGION", "us-east-1".into()),
        ("METAKV_DATABASE__DYNAMODB__ACCESS_KEY_ID", "test".into()),
        (
            "METAKV_DATABASE__DYNAMODB__SECRET_ACCESS_KEY",
            "test-secret-key".into(),
        ),
    ];
    provision_serve_and_exercise(
        &env,
        "dynamodb",
        "test-secret-key",
        "metakv_dynamodb_consumed_capacity_units",
    )
    .await;
}

#[tokio::test]
async fn every_endpoint_works_on_the_cosmosdb_backend() {
    let Some(endpoint) = kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL") else {
        return;
    };
    // The emulators' published key.
    let key = EMULATOR_KEY;
    let env = [
        ("METAKV_DATABASE__TYPE", "cosmosdb".to_string()),
        ("METAKV_DATABASE__COSMOSDB__ENDPOINT", endpoint),
        ("METAKV_DATABASE__COSMOSDB__KEY", key.to_string()),
        ("METAKV_DATABASE__COSMOSDB__DATABASE", "metakv-e2e".into()),
        (
            "METAKV_DATABASE__COSMOSDB__CONTAINER",
            format!("e2e-{:08x}", rand_u32()),
        ),
        ("METAKV_DATABASE__COSMOSDB__EMULATOR", "true".into()),
        (
            "METAKV_DATABASE__COSMOSDB__ACCEPT_WEAK_CONSISTENCY",
            "true".into(),
        ),
    ];
    provision_serve_and_exercise(&env, "cosmosdb", key, "metakv_cosmos_request_units").await;
}

/// `metakv provision` with `args` and `env`; its standard output, after requiring success.
fn run_provision(env: &[(&str, String)], args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_metakv"))
        .arg("provision")
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Provisions a backend that has nothing yet (every caller uses fresh names), and proves the
/// operator's protocol on the way: `--dry-run` says what it would create and changes nothing
/// (a second dry run says the same), `provision` creates, a second `provision` says nothing
/// changed, and a dry run then says there is nothing to do.
fn provision(env: &[(&str, String)]) {
    let plan = run_provision(env, &["--dry-run"]);
    assert!(
        plan.contains("dry run: provisioning would") && plan.contains("nothing was changed"),
        "{plan}"
    );
    assert_eq!(
        run_provision(env, &["--dry-run"]),
        plan,
        "the dry run changed nothing"
    );
    let first = run_provision(env, &[]);
    assert!(!first.contains("nothing changed"), "{first}");
    let second = run_provision(env, &[]);
    assert!(second.contains("nothing changed"), "{second}");
    let after = run_provision(env, &["--dry-run"]);
    assert!(after.contains("nothing to do"), "{after}");
}

/// For a cloud backend configured by `env`: `config show` names it and masks `secret`,
/// `provision` succeeds, and a server on it passes every endpoint and exports `cost_metric`.
async fn provision_serve_and_exercise(
    env: &[(&str, String)],
    kind: &str,
    secret: &str,
    cost_metric: &str,
) {
    let out = Command::new(env!("CARGO_BIN_EXE_metakv"))
        .args(["config", "show"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("type = \"{kind}\"")) && !shown.contains(secret),
        "{shown}"
    );
    provision(env);
    let server = Server::start(env);
    exercise_every_endpoint(&server).await;
    let api = Api::new(&server);
    let metrics = api
        .req(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(cost_metric), "{cost_metric} is recorded");
    assert!(
        metrics.contains(&format!("# TYPE {cost_metric} histogram"))
            && metrics.contains(&format!("{cost_metric}_sum{{")),
        "{cost_metric} is a histogram whose _sum counts the cost:\n{metrics}"
    );
    drop(api);
    assert!(server.terminate().await.success());
}

fn rand_u32() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        ^ std::process::id()
}

/// Makes a test CA and a certificate for 127.0.0.1 signed by it, with the `openssl` command.
fn test_certificates(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext",
        "-out",
        "server.crt",
    ]);
}

#[tokio::test]
async fn tls_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    test_certificates(dir.path());
    let server = Server::start(&[
        ("METAKV_DATABASE__TYPE", "memory".into()),
        (
            "METAKV_SERVER__TLS__CERT_FILE",
            dir.path().join("server.crt").display().to_string(),
        ),
        (
            "METAKV_SERVER__TLS__KEY_FILE",
            dir.path().join("server.key").display().to_string(),
        ),
    ]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.crt")).unwrap()).unwrap();
    let trusting = Client::builder().tls_certs_only([ca]).build().unwrap();
    let r = trusting
        .put(format!("{}/v1/p/tls/k/k", server.base))
        .bearer_auth(TOKEN)
        .body("over tls")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let store =
        metakv::HttpStore::with_client(&server.base, trusting, Some(kv_core::Secret::new(TOKEN)));
    use kv_core::KvStore as _;
    let got = store
        .get(
            &kv_core::Partition::try_from("tls").unwrap(),
            &kv_core::Key::try_from("k").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(got.unwrap().value.as_bytes(), b"over tls");
    // A client that does not trust the CA is refused.
    assert!(
        Client::new()
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err()
    );
    assert!(server.terminate().await.success());
}

#[test]
fn config_show_masks_secrets_and_bad_config_names_the_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_metakv"))
        .args(["config", "show"])
        .env_remove("METAKV_CONFIG")
        .env("METAKV_SERVER__AUTH__TOKENS", format!("[{TOKEN}]"))
        .env("METAKV_DATABASE__TYPE", "memory")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("type = \"memory\""), "{shown}");
    assert!(shown.contains("***") && !shown.contains(TOKEN), "{shown}");

    let out = Command::new(env!("CARGO_BIN_EXE_metakv"))
        .args(["config", "show"])
        .env_remove("METAKV_CONFIG")
        .env("METAKV_DATABASE__TYPE", "mysql")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("database.type"), "{stderr}");
}

#[test]
fn the_cli_operates_on_the_configured_backend() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_metakv"))
            .args(args)
            .env_remove("METAKV_CONFIG")
            .env("METAKV_DATABASE__LOCAL__PATH", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["put", "branches", "main", "commit-1", "--if-absent"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(
        run(&["put", "branches", "main", "x", "--if-absent"], None)
            .status
            .code(),
        Some(3)
    );
    let out = run(
        &["put", "branches", "main", "--if-version", &version],
        Some("commit-2"),
    );
    assert!(out.status.success());
    assert_eq!(run(&["get", "branches", "main"], None).stdout, b"commit-2");
    let out = run(&["scan", "branches"], None);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("main\t"));
    assert!(run(&["delete", "branches", "main"], None).status.success());
    assert_eq!(
        run(&["get", "branches", "main"], None).status.code(),
        Some(4)
    );
}
