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
use kv_core::{Condition, Key, KvStore, Partition, Secret, Value, Version};
use kv_dynamo::{DynamoConfig, DynamoStore};
use metakv_benches::{print_comparison as row, run_for};
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
    let p = Partition::try_from("bench").unwrap();
    let value = Value::new(vec![7u8; 100]).unwrap();
    let key = |t: usize| Key::new(format!("key-{t:04}")).unwrap();
    let mut versions = Vec::new();
    for t in 0..args.tasks {
        versions.push(Mutex::new(
            store
                .put(&p, &key(t), &value, &Condition::None)
                .await
                .unwrap()
                .version,
        ));
    }
    let versions = Arc::new(versions);

    println!(
        "| operation ({} tasks) | driver ops/s | raw SDK ops/s | ops/s ratio | driver CPU µs/op | raw CPU µs/op | CPU ratio |",
        args.tasks
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");

    // Warm up the emulator's JVM (and both clients) before anything is measured: the first
    // seconds of a fresh DynamoDB Local are several times slower.
    for _ in 0..2 {
        let (s, pp, vv) = (Arc::clone(&store), p.clone(), value.clone());
        run_for(args.tasks, Duration::from_secs(3), move |t, _| {
            let (s, p, v) = (Arc::clone(&s), pp.clone(), vv.clone());
            async move {
                s.get(&p, &key(t)).await.unwrap();
                s.put(
                    &p,
                    &Key::new(format!("warm-{t}")).unwrap(),
                    &v,
                    &Condition::None,
                )
                .await
                .unwrap();
            }
        })
        .await;
    }

    let (s, pp) = (Arc::clone(&store), p.clone());
    let driver_get = run_for(args.tasks, duration, move |t, _| {
        let (s, p) = (Arc::clone(&s), pp.clone());
        async move {
            s.get(&p, &key(t)).await.unwrap().unwrap();
        }
    })
    .await;
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

    let (s, pp, vv, cur) = (
        Arc::clone(&store),
        p.clone(),
        value.clone(),
        Arc::clone(&versions),
    );
    let driver_cas = run_for(args.tasks, duration, move |t, _| {
        let (s, p, v, cur) = (Arc::clone(&s), pp.clone(), vv.clone(), Arc::clone(&cur));
        async move {
            let mut version = cur[t].lock().await;
            *version = s
                .put(&p, &key(t), &v, &Condition::Version(version.clone()))
                .await
                .unwrap()
                .version;
        }
    })
    .await;
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
