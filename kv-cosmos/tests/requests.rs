//! One request per single-key operation, counted by the emulator launcher
//! (`GET /_metakv/requests`). Alone in its test binary, so that no other test's requests
//! reach the emulator while it counts.

mod common;

use kv_core::{Condition, DeleteCondition, Key, KvStore, Partition, Value, Version};
use kv_cosmos::CosmosStore;

fn emulator() -> Option<String> {
    kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL")
}

/// Requests the emulator has served so far (see `scripts/cosmos-emulator/launch.js`).
async fn served(endpoint: &str) -> u64 {
    let body: serde_json::Value = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
        .get(format!("{endpoint}_metakv/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["count"].as_u64().unwrap()
}

#[tokio::test]
async fn every_single_key_operation_is_one_request() {
    let Some(endpoint) = emulator() else {
        return;
    };
    let store = CosmosStore::open(common::config(endpoint.clone(), "requests"))
        .await
        .unwrap();
    let (p, k, v) = (
        Partition::try_from(format!("p-{}", std::process::id()).as_str()).unwrap(),
        Key::try_from("k").unwrap(),
        Value::try_from("v").unwrap(),
    );
    // Warm the SDK's caches (account, container, partition key ranges) first.
    store.get(&p, &k).await.unwrap();

    let mut version: Option<Version> = None;
    let steps = [
        ("put", true),
        ("put if absent (fails)", false),
        ("put if exists", true),
        ("put if version", true),
        ("put if version (stale, fails)", false),
        ("get", true),
        ("delete if version (stale, fails)", false),
        ("delete if exists", true),
        ("delete (absent)", true),
        ("get (absent)", true),
        ("put if absent", true),
        ("delete if version", true),
    ];
    for (name, expected_ok) in steps {
        let before = served(&endpoint).await;
        let stale = Version::new("stale").unwrap();
        let ok = match name {
            "put" | "put if exists" | "put if absent" => {
                let condition = match name {
                    "put" => Condition::None,
                    "put if exists" => Condition::Exists,
                    _ => Condition::Absent,
                };
                store
                    .put(&p, &k, &v, &condition)
                    .await
                    .map(|w| version = Some(w.version))
                    .is_ok()
            }
            "put if absent (fails)" => store.put(&p, &k, &v, &Condition::Absent).await.is_ok(),
            "put if version" => store
                .put(&p, &k, &v, &Condition::Version(version.clone().unwrap()))
                .await
                .map(|w| version = Some(w.version))
                .is_ok(),
            "put if version (stale, fails)" => store
                .put(&p, &k, &v, &Condition::Version(stale))
                .await
                .is_ok(),
            "get" => store.get(&p, &k).await.unwrap().is_some(),
            "get (absent)" => store.get(&p, &k).await.unwrap().is_none(),
            "delete if version (stale, fails)" => store
                .delete(&p, &k, &DeleteCondition::Version(stale))
                .await
                .is_ok(),
            "delete if exists" => store.delete(&p, &k, &DeleteCondition::Exists).await.is_ok(),
            "delete (absent)" => !store.delete(&p, &k, &DeleteCondition::None).await.unwrap(),
            "delete if version" => store
                .delete(&p, &k, &DeleteCondition::Version(version.clone().unwrap()))
                .await
                .unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(ok, expected_ok, "{name}");
        let sent = served(&endpoint).await - before;
        assert_eq!(sent, 1, "{name} sent {sent} requests");
    }
}
