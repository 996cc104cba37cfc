//! kv-dynamo against raw `aws-sdk-dynamodb` calls on the same DynamoDB Local, in the same run:
//! consistent gets and conditional puts (`Version` condition) at 16 concurrent tasks. The
//! emulator bounds wall-clock throughput, so the interesting ratio is client CPU per operation.
//!
//! ```text
//! ./scripts/bench-dynamodb.sh --seconds 5
//! ```

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use clap::Parser;
use kv_core::{Key, KvStore, Partition, Secret, Value, Version};
use kv_dynamo::{DynamoConfig, DynamoStore};
use metakv_benches::{DriverWorkload, print_comparison as row, print_comparison_header, run_for};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// DynamoDB endpoint.
    #[arg(long, env = "KV_TEST_DYNAMODB_URL")]
    endpoint: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 16)]
    tasks: usize,
}

const TABLE: &str = "metakv-bench";

fn blob(b: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(b))
}

fn key(t: usize) -> Key {
    Key::new(format!("key-{t:04}")).unwrap()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let duration = Duration::from_secs(args.seconds);
    let config = DynamoConfig {
        table: TABLE.into(),
        endpoint: Some(args.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some("bench".into()),
        secret_access_key: Some(Secret::new("bench")),
        auto_create: true,
        ..DynamoConfig::default()
    };
    let store = Arc::new(DynamoStore::open(config).await.expect("driver opens"));
    let raw = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&args.endpoint)
            .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
            .build(),
    );
    let store: Arc<dyn KvStore> = store;
    let driver = DriverWorkload::prepare(
        Arc::clone(&store),
        Partition::try_from("bench").unwrap(),
        Value::new(vec![7u8; 100]).unwrap(),
        key,
        args.tasks,
    )
    .await;
    print_comparison_header(args.tasks, "raw SDK");

    // Warm up the emulator's JVM (and both clients) before anything is measured: the first
    // seconds of a fresh DynamoDB Local are several times slower.
    for _ in 0..2 {
        driver.gets(Duration::from_millis(1500)).await;
        driver.conditional_puts(Duration::from_millis(1500)).await;
    }

    let driver_get = driver.gets(duration).await;
    let r = raw.clone();
    let raw_get = run_for(args.tasks, duration, move |t, _| {
        let r = r.clone();
        async move {
            let out = r
                .get_item()
                .table_name(TABLE)
                .key("p", blob(b"bench"))
                .key("k", blob(key(t).as_bytes()))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            assert!(out.item.is_some());
        }
    })
    .await;
    row("get (consistent)", driver_get, raw_get);

    let driver_cas = driver.conditional_puts(duration).await;
    let mut versions = Vec::new();
    for t in 0..args.tasks {
        versions.push(Mutex::new(driver.version(t).await));
    }
    let versions = Arc::new(versions);
    let (r, cur) = (raw.clone(), Arc::clone(&versions));
    let raw_cas = run_for(args.tasks, duration, move |t, _| {
        let (r, cur) = (r.clone(), Arc::clone(&cur));
        async move {
            let mut version = cur[t].lock().await;
            let next = Version::random();
            r.put_item()
                .table_name(TABLE)
                .item("p", blob(b"bench"))
                .item("k", blob(key(t).as_bytes()))
                .item("v", blob(&[7u8; 100]))
                .item("ver", AttributeValue::S(next.to_string()))
                .condition_expression("#ver = :ver")
                .expression_attribute_names("#ver", "ver")
                .expression_attribute_values(":ver", AttributeValue::S(version.to_string()))
                .send()
                .await
                .unwrap();
            *version = next;
        }
    })
    .await;
    row("conditional put (Version)", driver_cas, raw_cas);
}
