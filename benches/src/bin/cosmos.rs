//! kv-cosmos against raw `azure_data_cosmos` calls on the same Cosmos DB emulator, in the same
//! run: point reads and conditional puts (`Version` condition, `If-Match`) at 16 concurrent
//! tasks. The emulator (one Node.js process) bounds wall-clock throughput, so the interesting
//! ratio is client CPU per operation.
//!
//! ```text
//! ./scripts/bench-cosmos.sh --seconds 5
//! ```

use std::sync::Arc;
use std::time::Duration;

use azure_data_cosmos::options::{
    BinaryEncodingOptions, ConnectionPoolOptions, ItemWriteOptions, Precondition,
    ServerCertificateValidation,
};
use azure_data_cosmos::{AccountReference, CosmosClient, CosmosRuntime, RoutingStrategy};
use clap::Parser;
use data_encoding::BASE32HEX_NOPAD;
use kv_core::{Condition, Key, KvStore, Partition, Secret, Value};
use kv_cosmos::{CosmosConfig, CosmosStore};
use metakv_benches::{print_comparison as row, run_for};
use tokio::sync::Mutex;

/// The key the Cosmos DB emulators use.
const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

#[derive(Parser)]
struct Args {
    /// Emulator endpoint (https).
    #[arg(long, env = "KV_TEST_COSMOS_URL")]
    endpoint: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 16)]
    tasks: usize,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Doc {
    id: String,
    p: String,
    k: String,
    v: String,
}

fn key(t: usize) -> Key {
    Key::new(format!("key-{t:04}")).unwrap()
}

/// The document id the driver gives `key(t)`: its base32hex form.
fn id(t: usize) -> String {
    BASE32HEX_NOPAD.encode(key(t).as_bytes())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let duration = Duration::from_secs(args.seconds);
    let config = CosmosConfig {
        endpoint: args.endpoint.clone(),
        key: Some(Secret::new(EMULATOR_KEY)),
        database: "metakv-bench".into(),
        container: "bench".into(),
        auto_create: true,
        accept_weak_consistency: true,
        emulator: true,
        ..CosmosConfig::default()
    };
    let store = Arc::new(CosmosStore::open(config).await.expect("driver opens"));

    // The raw SDK, configured for the emulator exactly as the driver configures it.
    let runtime = CosmosRuntime::builder()
        .with_connection_pool(
            ConnectionPoolOptions::builder()
                .with_server_certificate_validation(
                    ServerCertificateValidation::RequiredUnlessEmulator,
                )
                .with_is_http2_allowed(false)
                .build()
                .unwrap(),
        )
        .build()
        .await
        .unwrap();
    let client = CosmosClient::builder()
        .with_runtime(runtime)
        .with_binary_encoding_options(BinaryEncodingOptions::new().with_enabled(false))
        .build(
            AccountReference::with_authentication_key(
                args.endpoint.parse().unwrap(),
                EMULATOR_KEY.to_string(),
            ),
            RoutingStrategy::PreferredRegions(Vec::new()),
        )
        .await
        .unwrap();
    let raw = Arc::new(
        client
            .database_client("metakv-bench")
            .container_client("bench", None)
            .await
            .unwrap(),
    );

    let p = Partition::try_from("bench").unwrap();
    let pk = BASE32HEX_NOPAD.encode(b"bench");
    let value = Value::new(vec![7u8; 100]).unwrap();
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

    // Warm up both clients and the emulator.
    let (s, pp) = (Arc::clone(&store), p.clone());
    run_for(args.tasks, Duration::from_secs(2), move |t, _| {
        let (s, p) = (Arc::clone(&s), pp.clone());
        async move {
            s.get(&p, &key(t)).await.unwrap();
        }
    })
    .await;

    let (s, pp) = (Arc::clone(&store), p.clone());
    let driver_get = run_for(args.tasks, duration, move |t, _| {
        let (s, p) = (Arc::clone(&s), pp.clone());
        async move {
            s.get(&p, &key(t)).await.unwrap().unwrap();
        }
    })
    .await;
    let (r, pk2) = (Arc::clone(&raw), pk.clone());
    let raw_get = run_for(args.tasks, duration, move |t, _| {
        let (r, pk) = (Arc::clone(&r), pk2.clone());
        async move {
            let doc: Doc = r
                .read_item(pk, &id(t), None)
                .await
                .unwrap()
                .into_model()
                .unwrap();
            assert!(!doc.v.is_empty());
        }
    })
    .await;
    row("get (point read)", driver_get, raw_get);

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
    // The raw baseline carries the etag exactly as the service sends it.
    let mut etags = Vec::new();
    for t in 0..args.tasks {
        let etag = raw
            .read_item(pk.clone(), &id(t), None)
            .await
            .unwrap()
            .headers()
            .etag()
            .unwrap()
            .to_string();
        etags.push(Mutex::new(etag));
    }
    let etags = Arc::new(etags);
    let (r, pk2) = (Arc::clone(&raw), pk.clone());
    let raw_cas = run_for(args.tasks, duration, move |t, _| {
        let (r, pk, etags) = (Arc::clone(&r), pk2.clone(), Arc::clone(&etags));
        async move {
            let mut etag = etags[t].lock().await;
            let doc = Doc {
                id: id(t),
                p: pk.clone(),
                k: id(t),
                v: "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into(),
            };
            let options =
                ItemWriteOptions::default().with_precondition(Precondition::if_match(etag.clone()));
            let response = r
                .replace_item(pk, &id(t), &doc, Some(options))
                .await
                .unwrap();
            *etag = response.headers().etag().unwrap().to_string();
        }
    })
    .await;
    row("conditional put (Version)", driver_cas, raw_cas);
}
