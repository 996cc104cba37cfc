//! Traces over OTLP: a request is followed from the caller's `traceparent` into the database
//! call, and no partition, key or value appears in what is exported.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use common::{Server, TOKEN};
use serde_json::Value as Json;

/// A collector that keeps every OTLP/JSON body POSTed to `/v1/traces`.
async fn collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let keep = Arc::clone(&keep);
            async move {
                keep.lock().unwrap().push(body);
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

/// Every span of every body, flattened.
fn spans(bodies: &[Bytes]) -> Vec<Json> {
    let mut out = Vec::new();
    for body in bodies {
        let json: Json = serde_json::from_slice(body).expect("OTLP/JSON");
        for resource in json["resourceSpans"].as_array().into_iter().flatten() {
            let service = resource["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .map(|a| a["value"]["stringValue"].clone());
            assert_eq!(service, Some(Json::from("metakv-under-test")));
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                out.extend(scope["spans"].as_array().into_iter().flatten().cloned());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_request_is_followed_from_the_callers_trace_into_the_database_call() {
    let (collector, received) = collector().await;
    let server = Server::start(&[
        ("METAKV_DATABASE__TYPE", "memory".into()),
        ("METAKV_TELEMETRY__OTLP__ENDPOINT", collector.clone()),
        ("METAKV_TELEMETRY__OTLP__PROTOCOL", "http/json".into()),
        (
            "METAKV_TELEMETRY__OTLP__SERVICE_NAME",
            "metakv-under-test".into(),
        ),
    ]);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let http = reqwest::Client::new();
    let answer = http
        .put(format!(
            "{}/v1/p/secret-partition/k/secret-key",
            server.base
        ))
        .bearer_auth(TOKEN)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .body("secret-value")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    // SIGTERM flushes the exporter before the process exits.
    assert!(server.terminate().await.success());

    let bodies = received.lock().unwrap().clone();
    let spans = spans(&bodies);
    let request = spans
        .iter()
        .find(|s| s["name"] == "PUT /v1/p/{partition}/k/{key}")
        .unwrap_or_else(|| panic!("no request span among {spans:#?}"));
    assert_eq!(request["traceId"], trace_id, "the caller's trace continues");
    assert_eq!(request["parentSpanId"], caller_span);
    assert_eq!(request["kind"], 2, "a server span");
    let call = spans
        .iter()
        .find(|s| s["name"] == "kv.put")
        .unwrap_or_else(|| panic!("no database span among {spans:#?}"));
    assert_eq!(call["traceId"], trace_id);
    assert_eq!(
        call["parentSpanId"], request["spanId"],
        "the database call is a child of the request"
    );
    assert_eq!(call["kind"], 3, "a client span");
    for body in &bodies {
        let text = String::from_utf8_lossy(body);
        for secret in ["secret-partition", "secret-key", "secret-value", TOKEN] {
            assert!(!text.contains(secret), "{secret} was exported: {text}");
        }
    }
}
