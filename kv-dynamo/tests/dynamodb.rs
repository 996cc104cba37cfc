//! DynamoDB-specific guarantees: one request per single-key operation, provisioning, errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use kv_core::{
    Condition, DeleteCondition, ErrorKind, Key, KeyList, KvStore, Partition, ScanOptions, Secret,
    Value,
};
use kv_dynamo::{DynamoConfig, DynamoStore};

mod common;

/// Counts HTTP requests actually sent (every attempt, retries included).
#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicUsize>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn config(endpoint: String, table: &str) -> DynamoConfig {
    DynamoConfig {
        table: table.into(),
        endpoint: Some(endpoint),
        region: Some("us-east-1".into()),
        access_key_id: Some("test".into()),
        secret_access_key: Some(Secret::new("test")),
        auto_create: true,
        ..DynamoConfig::default()
    }
}

#[tokio::test]
async fn a_multi_get_a_count_and_a_keys_only_page_are_one_request_each() {
    let Some(endpoint) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") else {
        return;
    };
    let counter = CountRequests::default();
    let sdk = common::emulator_sdk(&endpoint)
        .interceptor(counter.clone())
        .build();
    let store = DynamoStore::with_client(
        aws_sdk_dynamodb::Client::from_conf(sdk),
        &config(endpoint, "metakv-requests"),
    )
    .await
    .unwrap();
    let p = Partition::try_from(format!("many-{}", std::process::id()).as_str()).unwrap();
    let keys: Vec<Key> = (0..100)
        .map(|i| Key::try_from(format!("k{i:03}").as_str()).unwrap())
        .collect();
    for k in keys.iter().step_by(2) {
        let v = Value::try_from("v").unwrap();
        store.put(&p, k, &v, &Condition::None).await.unwrap();
    }
    let sent = |before: usize| counter.0.load(Ordering::SeqCst) - before;

    let before = counter.0.load(Ordering::SeqCst);
    let list = KeyList::new(keys).unwrap();
    let found = store.get_many(&p, &list).await.unwrap();
    assert_eq!(found.iter().filter(|f| f.is_some()).count(), 50);
    assert_eq!(sent(before), 1, "a multi-get of 100 keys");

    let before = counter.0.load(Ordering::SeqCst);
    let all = ScanOptions::new();
    assert_eq!(kv_core::count(&store, &p, &all).await.unwrap(), 50);
    assert_eq!(sent(before), 1, "a count");

    let before = counter.0.load(Ordering::SeqCst);
    let options = ScanOptions::new().keys_only().with_page_size(20);
    let page = kv_core::scan_page(&store, &p, &options).await.unwrap();
    assert_eq!(page.entries.len(), 20);
    assert!(page.entries.iter().all(|e| e.value.is_empty()));
    assert_eq!(sent(before), 1, "a keys-only page");
    store.delete_partition(&p).await.unwrap();
}

#[tokio::test]
async fn every_single_key_operation_is_one_request() {
    let Some(endpoint) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") else {
        return;
    };
    let counter = CountRequests::default();
    let sdk = common::emulator_sdk(&endpoint)
        .interceptor(counter.clone())
        .build();
    let store = DynamoStore::with_client(
        aws_sdk_dynamodb::Client::from_conf(sdk),
        &config(endpoint, "metakv-requests"),
    )
    .await
    .unwrap();
    let (p, k, v) = (
        Partition::try_from("p").unwrap(),
        Key::try_from("k").unwrap(),
        Value::try_from("v").unwrap(),
    );
    let count = |before: usize| counter.0.load(Ordering::SeqCst) - before;

    let mut version = None;
    for (name, expected_ok) in [
        ("put", true),
        ("put if absent (fails)", false),
        ("put if exists", true),
        ("put if version", true),
        ("get", true),
        ("delete if version (stale)", false),
        ("delete if exists", true),
        ("delete (absent)", true),
        ("put if absent", true),
        ("delete", true),
    ] {
        let before = counter.0.load(Ordering::SeqCst);
        let ok = match name {
            "put" => store
                .put(&p, &k, &v, &Condition::None)
                .await
                .map(|w| version = Some(w.version))
                .is_ok(),
            "put if absent (fails)" | "put if absent" => {
                store.put(&p, &k, &v, &Condition::Absent).await.is_ok()
            }
            "put if exists" => store
                .put(&p, &k, &v, &Condition::Exists)
                .await
                .map(|w| version = Some(w.version))
                .is_ok(),
            "put if version" => {
                let current = version.clone().unwrap();
                store
                    .put(&p, &k, &v, &Condition::Version(current))
                    .await
                    .map(|w| version = Some(w.version))
                    .is_ok()
            }
            "get" => store.get(&p, &k).await.unwrap().is_some(),
            "delete if version (stale)" => store
                .delete(
                    &p,
                    &k,
                    &DeleteCondition::Version(kv_core::Version::new("stale").unwrap()),
                )
                .await
                .is_ok(),
            "delete if exists" => store.delete(&p, &k, &DeleteCondition::Exists).await.is_ok(),
            "delete (absent)" => !store.delete(&p, &k, &DeleteCondition::None).await.unwrap(),
            "delete" => store.delete(&p, &k, &DeleteCondition::None).await.unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(ok, expected_ok, "{name}");
        assert_eq!(count(before), 1, "{name} sent {} requests", count(before));
    }
}

#[tokio::test]
async fn a_missing_table_is_not_provisioned_until_provision_runs() {
    let Some(endpoint) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") else {
        return;
    };
    let table = format!("metakv-absent-{:08x}", std::process::id() ^ 0x5eed);
    let cfg = DynamoConfig {
        auto_create: false,
        ..config(endpoint, &table)
    };
    let err = DynamoStore::open(cfg.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotProvisioned);
    assert!(err.to_string().contains("metakv provision"), "{err}");
    assert!(
        DynamoStore::provision(&cfg).await.unwrap(),
        "the first run creates"
    );
    assert!(
        !DynamoStore::provision(&cfg).await.unwrap(),
        "the second changes nothing"
    );
    let store = DynamoStore::open(cfg).await.unwrap();
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_table_with_another_key_schema_is_a_config_error() {
    let Some(endpoint) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") else {
        return;
    };
    let cfg = config(endpoint, "metakv-wrong-schema");
    let sdk = common::emulator_sdk(cfg.endpoint.as_deref().unwrap()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(sdk);
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let _ = client
        .create_table()
        .table_name(&cfg.table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await;
    let err = DynamoStore::open(cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    assert!(err.to_string().contains("database.dynamodb.table"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = DynamoConfig {
        max_attempts: 1,
        ..config(format!("http://127.0.0.1:{port}"), "metakv")
    };
    let err = DynamoStore::open(cfg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
}

/// An item another tool wrote without `ver` fails the scans of its partition with a message
/// that names its key, so it can be found.
#[tokio::test]
async fn an_item_without_a_version_is_named_by_its_key() {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;
    use futures::TryStreamExt as _;
    let Some(endpoint) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") else {
        return;
    };
    let table = "metakv-foreign-item";
    let store = Arc::new(
        DynamoStore::open(config(endpoint.clone(), table))
            .await
            .unwrap(),
    );
    let sdk = common::emulator_sdk(&endpoint).build();
    let partition = format!("foreign-{}", std::process::id());
    aws_sdk_dynamodb::Client::from_conf(sdk)
        .put_item()
        .table_name(table)
        .item("p", AttributeValue::B(Blob::new(partition.as_bytes())))
        .item("k", AttributeValue::B(Blob::new(&b"by-another-tool"[..])))
        .item("v", AttributeValue::B(Blob::new(&b"value"[..])))
        .send()
        .await
        .unwrap();
    let p = Partition::new(partition.as_bytes().to_vec()).unwrap();
    let err = kv_core::KvStoreExt::scan(&store, &p, kv_core::ScanOptions::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let message = err.to_string();
    // base64 of "by-another-tool"
    assert!(
        message.contains("YnktYW5vdGhlci10b29s") && message.contains("`ver`"),
        "{message}"
    );
    store.delete_partition(&p).await.unwrap();
}
