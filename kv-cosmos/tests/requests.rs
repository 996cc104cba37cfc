//! Request-level guarantees, counted by the emulator launcher's hooks: one request per
//! single-key operation (`GET /_metakv/requests`), and throttling retried by the SDK then
//! surfaced as `Throttled` (`POST /_metakv/throttle`). Alone in their test binary, run one
//! after the other, so that no other test's requests reach the emulator meanwhile.

mod common;

use kv_core::{
    Condition, DeleteCondition, Key, KeyList, KvStore, Partition, ScanOptions, Value, Version,
};
use kv_cosmos::CosmosStore;

fn emulator() -> Option<String> {
    kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL")
}

/// Requests the emulator has served so far (see `scripts/cosmos-emulator/launch.js`).
async fn served(endpoint: &str) -> u64 {
    let body: serde_json::Value = common::emulator_http()
        .get(format!("{endpoint}_metakv/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["count"].as_u64().unwrap()
}

/// The tests of this binary share the emulator's counters: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn every_single_key_operation_is_one_request() {
    let _one_at_a_time = SERIAL.lock().await;
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

#[tokio::test]
async fn a_multi_get_a_count_and_a_keys_only_page_are_one_request_each() {
    let _one_at_a_time = SERIAL.lock().await;
    let Some(endpoint) = emulator() else {
        return;
    };
    let store = CosmosStore::open(common::config(endpoint.clone(), "requests"))
        .await
        .unwrap();
    let p = Partition::try_from(format!("many-{}", std::process::id()).as_str()).unwrap();
    let keys: Vec<Key> = (0..100)
        .map(|i| Key::try_from(format!("k{i:03}").as_str()).unwrap())
        .collect();
    for k in keys.iter().step_by(2) {
        store
            .put(&p, k, &Value::try_from("v").unwrap(), &Condition::None)
            .await
            .unwrap();
    }
    let list = KeyList::new(keys).unwrap();
    store.get_many(&p, &list).await.unwrap();

    let before = served(&endpoint).await;
    let found = store.get_many(&p, &list).await.unwrap();
    assert_eq!(found.iter().filter(|f| f.is_some()).count(), 50);
    assert_eq!(
        served(&endpoint).await - before,
        1,
        "a multi-get of 100 keys"
    );

    let before = served(&endpoint).await;
    assert_eq!(
        kv_core::count(&store, &p, &ScanOptions::new())
            .await
            .unwrap(),
        50
    );
    assert_eq!(served(&endpoint).await - before, 1, "a count");

    let before = served(&endpoint).await;
    let options = ScanOptions::new().keys_only().with_page_size(20);
    let page = kv_core::scan_page(&store, &p, &options).await.unwrap();
    assert_eq!(page.entries.len(), 20);
    assert!(page.entries.iter().all(|e| e.value.is_empty()));
    assert_eq!(served(&endpoint).await - before, 1, "a keys-only page");
    store.delete_partition(&p).await.unwrap();
}

#[tokio::test]
async fn throttling_is_retried_then_surfaces_as_throttled_with_the_hint() {
    let _one_at_a_time = SERIAL.lock().await;
    let Some(endpoint) = emulator() else {
        return;
    };
    let store = CosmosStore::open(kv_cosmos::CosmosConfig {
        max_throttle_retries: 2,
        ..common::config(endpoint.clone(), "requests")
    })
    .await
    .unwrap();
    let (p, k) = (
        Partition::try_from("throttled").unwrap(),
        Key::try_from("k").unwrap(),
    );
    store.get(&p, &k).await.unwrap();
    let http = common::emulator_http();
    let throttle = |count: u32| {
        http.post(format!(
            "{endpoint}_metakv/throttle?count={count}&retry_after_ms=20"
        ))
        .send()
    };

    // More 429s than retries: the call fails with Throttled and the service's hint, after
    // the first attempt and exactly two retries.
    throttle(100).await.unwrap();
    let before = served(&endpoint).await;
    let err = store.get(&p, &k).await.unwrap_err();
    let sent = served(&endpoint).await - before;
    throttle(0).await.unwrap();
    assert_eq!(err.kind(), kv_core::ErrorKind::Throttled, "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_millis(20))
    );
    assert_eq!(sent, 3, "one attempt and two retries");

    // Fewer 429s than retries: the SDK's retries absorb them.
    throttle(2).await.unwrap();
    store
        .put(&p, &k, &Value::try_from("v").unwrap(), &Condition::None)
        .await
        .unwrap();
}
