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
use kv_core::{Key, Partition, Secret, Value};
use kv_cosmos::{CosmosConfig, CosmosStore};
use metakv_benches::{DriverWorkload, print_comparison as row, print_comparison_header, run_for};
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
    let store: Arc<dyn kv_core::KvStore> = store;

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

    let pk = BASE32HEX_NOPAD.encode(b"bench");
    let driver = DriverWorkload::prepare(
        store,
        Partition::try_from("bench").unwrap(),
        Value::new(vec![7u8; 100]).unwrap(),
        key,
        args.tasks,
    )
    .await;
    print_comparison_header(args.tasks, "raw SDK");

    // Warm up both clients and the emulator.
    driver.gets(Duration::from_secs(2)).await;

    let driver_get = driver.gets(duration).await;
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

    let driver_cas = driver.conditional_puts(duration).await;
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
