//! `metakv provision` through Azure Resource Manager, as the Helm chart's Job runs it with an
//! Entra ID identity, against a local mock of the ARM endpoints that checks what it receives:
//! paths, api-version, bodies and the bearer token, with long-running operations
//! (`Azure-AsyncOperation`) polled to their end. The token comes from azure_identity's managed
//! identity credential (its App Service source, `IDENTITY_ENDPOINT`), served by the mock too.

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

const TOKEN: &str = "arm-test-token-7f3a";
const IDENTITY_HEADER: &str = "identity-header-secret";
const ACCOUNT: &str = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.DocumentDB/databaseAccounts/acct-1";

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    body: Json,
}

#[derive(Default)]
struct Mock {
    base: String,
    seen: Vec<Seen>,
    resources: HashMap<String, Json>,
    /// Operation id -> how many polls it still answers InProgress to.
    operations: HashMap<u32, u32>,
    next_operation: u32,
}

type Shared = Arc<Mutex<Mock>>;

async fn handle(State(mock): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let headers: &HeaderMap = &parts.headers;
    let mut mock = mock.lock().unwrap();
    if path == "/msi/token" {
        assert_eq!(headers["x-identity-header"], IDENTITY_HEADER);
        let expires = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        return axum::Json(json!({
            "access_token": TOKEN,
            "expires_on": expires.to_string(),
            "token_type": "Bearer",
            "resource": "arm",
        }))
        .into_response();
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return (StatusCode::UNAUTHORIZED, "no or wrong bearer token").into_response();
    }
    let body_json = if body.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    mock.seen.push(Seen {
        method: parts.method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body_json.clone(),
    });
    if let Some(id) = path.strip_prefix("/operations/") {
        let id: u32 = id.parse().unwrap();
        let left = mock.operations.get_mut(&id).unwrap();
        let status = if *left > 0 {
            *left -= 1;
            "InProgress"
        } else {
            "Succeeded"
        };
        return (
            [("retry-after", "0")],
            axum::Json(json!({ "status": status })),
        )
            .into_response();
    }
    if query != "api-version=2024-08-15" {
        return (StatusCode::BAD_REQUEST, "wrong api-version").into_response();
    }
    match parts.method {
        Method::GET => match mock.resources.get(&path) {
            Some(resource) => axum::Json(resource.clone()).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": {"code": "NotFound", "message": "not found"}})),
            )
                .into_response(),
        },
        Method::PUT => {
            mock.resources.insert(path.clone(), body_json);
            mock.next_operation += 1;
            let id = mock.next_operation;
            mock.operations.insert(id, 2);
            let operation = format!("{}/operations/{id}", mock.base);
            (
                StatusCode::CREATED,
                [("azure-asyncoperation", operation)],
                axum::Json(json!({"status": "Enqueued"})),
            )
                .into_response()
        }
        _ => (StatusCode::METHOD_NOT_ALLOWED, "").into_response(),
    }
}

async fn start_mock() -> Shared {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mock: Shared = Arc::new(Mutex::new(Mock {
        base,
        ..Mock::default()
    }));
    let app = Router::new().fallback(handle).with_state(Arc::clone(&mock));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    mock
}

/// Runs `metakv provision` as the chart's Job does with an Entra ID identity.
async fn provision(mock: &Shared, throughput: &[(&str, &str)]) -> std::process::Output {
    provision_with(mock, &[], throughput).await
}

/// `metakv provision` with `args` (e.g. `--dry-run`).
async fn provision_with(
    mock: &Shared,
    args: &[&str],
    throughput: &[(&str, &str)],
) -> std::process::Output {
    let base = mock.lock().unwrap().base.clone();
    let mut command = Command::new(env!("CARGO_BIN_EXE_metakv"));
    command
        .arg("provision")
        .args(args)
        .env_remove("METAKV_CONFIG")
        .env("METAKV_DATABASE__TYPE", "cosmosdb")
        .env(
            "METAKV_DATABASE__COSMOSDB__ENDPOINT",
            "https://acct-1.documents.azure.com:443/",
        )
        .env("METAKV_DATABASE__COSMOSDB__CREDENTIAL", "managed_identity")
        .env("METAKV_DATABASE__COSMOSDB__ARM__SUBSCRIPTION_ID", "sub-1")
        .env("METAKV_DATABASE__COSMOSDB__ARM__RESOURCE_GROUP", "rg-1")
        .env("METAKV_DATABASE__COSMOSDB__ARM__ACCOUNT", "acct-1")
        .env("METAKV_DATABASE__COSMOSDB__ARM__ENDPOINT", &base)
        .env("IDENTITY_ENDPOINT", format!("{base}/msi/token"))
        .env("IDENTITY_HEADER", IDENTITY_HEADER);
    for (k, v) in throughput {
        command.env(k, v);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The requests the mock saw, as `METHOD path`.
fn calls(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

fn layout() -> Json {
    let out = Command::new(env!("CARGO_BIN_EXE_metakv"))
        .arg("layout")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_creates_database_and_container_through_arm_then_changes_nothing() {
    let mock = start_mock().await;
    let database = format!("{ACCOUNT}/sqlDatabases/metakv");
    let container = format!("{database}/containers/metakv");

    let first = provision(&mock, &[]).await;
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("created container metakv"),
        "{}",
        text(&first)
    );
    assert!(!text(&first).contains(TOKEN), "the token never appears");
    let seen = mock.lock().unwrap().seen.clone();
    let calls = calls(&seen);
    assert_eq!(
        calls,
        [
            format!("GET {database}"),
            format!("PUT {database}"),
            "GET /operations/1".into(),
            "GET /operations/1".into(),
            "GET /operations/1".into(),
            format!("GET {container}"),
            format!("PUT {container}"),
            "GET /operations/2".into(),
            "GET /operations/2".into(),
            "GET /operations/2".into(),
        ],
        "each long-running operation is polled until it succeeds, the container only after the database"
    );
    for s in seen
        .iter()
        .filter(|s| s.path.starts_with("/subscriptions/"))
    {
        assert_eq!(s.query, "api-version=2024-08-15");
    }
    let put_database = &seen[1].body;
    assert_eq!(
        *put_database,
        json!({"properties": {"resource": {"id": "metakv"}, "options": {}}})
    );
    let put_container = &seen[6].body;
    let layout = layout();
    assert_eq!(
        put_container["properties"]["resource"],
        json!({
            "id": "metakv",
            "partitionKey": layout["cosmosdb"]["partitionKey"],
            "indexingPolicy": layout["cosmosdb"]["indexingPolicy"],
        }),
        "the same partition key and indexing policy as the data-plane path and the chart"
    );
    assert_eq!(
        put_container["properties"]["options"],
        json!({"autoscaleSettings": {"maxThroughput": 1000}})
    );

    // Again: it reads both, finds them right, writes nothing and says so.
    mock.lock().unwrap().seen.clear();
    let second = provision(&mock, &[]).await;
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("nothing changed"),
        "{}",
        text(&second)
    );
    let seen = mock.lock().unwrap().seen.clone();
    assert!(seen.iter().all(|s| s.method == Method::GET), "{seen:?}");
    assert_eq!(seen.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_only_reads_and_says_what_it_would_create() {
    let mock = start_mock().await;
    let database = format!("{ACCOUNT}/sqlDatabases/metakv");
    let container = format!("{database}/containers/metakv");
    for _ in 0..2 {
        let out = provision_with(&mock, &["--dry-run"], &[]).await;
        assert!(out.status.success(), "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("create database metakv (PUT {database})"))
                && stdout.contains(&format!("(PUT {container})"))
                && stdout.contains("autoscale throughput up to 1000 RU/s")
                && stdout.contains("nothing was changed"),
            "{stdout}"
        );
        let seen = std::mem::take(&mut mock.lock().unwrap().seen);
        let calls = calls(&seen);
        assert_eq!(
            calls,
            [format!("GET {database}"), format!("GET {container}")],
            "a dry run reads and never writes, so a second one sees the same"
        );
    }
    let created = provision(&mock, &[]).await;
    assert!(created.status.success(), "{}", text(&created));
    let after = provision_with(&mock, &["--dry-run"], &[]).await;
    assert!(
        String::from_utf8_lossy(&after.stdout).contains("nothing to do"),
        "{}",
        text(&after)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_and_no_throughput_are_sent_as_arm_options() {
    for (mode, extra, options) in [
        (
            "manual",
            Some(("METAKV_DATABASE__COSMOSDB__THROUGHPUT__RU", "400")),
            json!({"throughput": 400}),
        ),
        ("none", None, json!({})),
    ] {
        let mock = start_mock().await;
        let mut env = vec![("METAKV_DATABASE__COSMOSDB__THROUGHPUT__MODE", mode)];
        env.extend(extra);
        let out = provision(&mock, &env).await;
        assert!(out.status.success(), "{mode}: {}", text(&out));
        let seen = mock.lock().unwrap().seen.clone();
        let put = seen
            .iter()
            .find(|s| s.method == Method::PUT && s.path.ends_with("/containers/metakv"))
            .unwrap();
        assert_eq!(put.body["properties"]["options"], options, "{mode}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_container_on_another_partition_key_is_refused_and_left_alone() {
    let mock = start_mock().await;
    {
        let mut m = mock.lock().unwrap();
        let database = format!("{ACCOUNT}/sqlDatabases/metakv");
        m.resources.insert(
            database.clone(),
            json!({"properties": {"resource": {"id": "metakv"}}}),
        );
        m.resources.insert(
            format!("{database}/containers/metakv"),
            json!({"properties": {"resource": {"id": "metakv", "partitionKey": {"paths": ["/tenant"], "kind": "Hash"}}}}),
        );
    }
    let out = provision(&mock, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("partitioned on"), "{}", text(&out));
    let seen = mock.lock().unwrap().seen.clone();
    assert!(
        seen.iter().all(|s| s.method == Method::GET),
        "never written: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_key_with_arm_is_a_configuration_error() {
    let mock = start_mock().await;
    let out = provision(
        &mock,
        &[
            ("METAKV_DATABASE__COSMOSDB__CREDENTIAL", "key"),
            ("METAKV_DATABASE__COSMOSDB__KEY", "c2VjcmV0"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("database.cosmosdb.arm"),
        "{}",
        text(&out)
    );
    assert!(mock.lock().unwrap().seen.is_empty());
}
