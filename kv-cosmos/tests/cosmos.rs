//! Cosmos DB-specific guarantees against the emulator: provisioning, consistency and container
//! checks, errors. (One request per operation: `requests.rs`.)

mod common;

use kv_core::{ErrorKind, KvStore};
use kv_cosmos::{CosmosConfig, CosmosStore};

fn emulator() -> Option<String> {
    kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL")
}

/// A client for the emulator's own HTTP API (self-signed certificate, any key).
#[tokio::test]
async fn a_missing_container_is_not_provisioned_until_provision_runs() {
    let Some(endpoint) = emulator() else {
        return;
    };
    let cfg = CosmosConfig {
        auto_create: false,
        ..common::config(endpoint, &format!("absent-{:08x}", std::process::id()))
    };
    let err = CosmosStore::open(cfg.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotProvisioned, "{err:?}");
    assert!(err.to_string().contains("metakv provision"), "{err}");
    assert!(
        CosmosStore::provision(&cfg).await.unwrap(),
        "the first run creates"
    );
    assert!(
        !CosmosStore::provision(&cfg).await.unwrap(),
        "the second changes nothing"
    );
    let store = CosmosStore::open(cfg).await.unwrap();
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_weaker_default_consistency_is_refused_unless_accepted() {
    let Some(endpoint) = emulator() else {
        return;
    };
    // The emulator reports Session, as the real emulator does by default.
    let cfg = CosmosConfig {
        accept_weak_consistency: false,
        ..common::config(endpoint, "conformance")
    };
    let err = CosmosStore::open(cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    assert!(err.to_string().contains("Session"), "{err}");
    assert!(err.to_string().contains("accept_weak_consistency"), "{err}");
}

#[tokio::test]
async fn a_container_with_another_partition_key_is_a_config_error() {
    let Some(endpoint) = emulator() else {
        return;
    };
    let cfg = common::config(endpoint.clone(), "wrong-partition-key");
    let client = common::emulator_http();
    let _ = client
        .post(format!("{endpoint}dbs"))
        .json(&serde_json::json!({ "id": cfg.database }))
        .send()
        .await
        .unwrap();
    let _ = client
        .post(format!("{endpoint}dbs/{}/colls", cfg.database))
        .json(&serde_json::json!({
            "id": cfg.container,
            "partitionKey": { "paths": ["/id"], "kind": "Hash", "version": 2 },
        }))
        .send()
        .await
        .unwrap();
    let err = CosmosStore::open(cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    assert!(err.to_string().contains("/p"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = CosmosStore::open(common::config(format!("https://127.0.0.1:{port}/"), "x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
}

#[test]
fn secrets_never_print() {
    let cfg = common::config("https://127.0.0.1:1/".into(), "x");
    assert!(!format!("{cfg:?}").contains(common::EMULATOR_KEY));
}

/// A container that disappears under an open store (deleted, or the emulator restarted
/// empty) makes `ping` — the server's readiness — `NotProvisioned` with the remedy, not an
/// internal "not found".
#[tokio::test]
async fn a_container_deleted_under_an_open_store_is_not_provisioned() {
    let Some(endpoint) = emulator() else {
        return;
    };
    let cfg = common::config(
        endpoint.clone(),
        &format!("gone-{:08x}", std::process::id()),
    );
    let store = CosmosStore::open(cfg.clone()).await.unwrap();
    store.ping().await.unwrap();
    let deleted = common::emulator_http()
        .delete(format!(
            "{endpoint}dbs/{}/colls/{}",
            cfg.database, cfg.container
        ))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let err = store.ping().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotProvisioned, "{err:?}");
    assert!(err.to_string().contains("metakv provision"), "{err}");
}
