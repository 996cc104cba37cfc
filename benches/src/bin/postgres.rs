//! kv-postgres against raw `tokio-postgres` prepared statements on the same server, in the same
//! run: gets and conditional puts (`Version` condition) at 16 concurrent tasks. Reports ops/s
//! and process CPU time per operation, and the driver/raw ratios.
//!
//! ```text
//! ./scripts/bench-postgres.sh            # starts a throw-away PostgreSQL and runs this
//! cargo run --release -p metakv-benches --bin postgres -- --url postgres://... --seconds 5
//! ```

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use kv_core::{Key, KvStore, Partition, Value};
use kv_postgres::{PostgresConfig, PostgresStore};
use metakv_benches::{DriverWorkload, print_comparison as row, print_comparison_header, run_for};
use tokio::sync::Mutex;

#[derive(Parser)]
struct Args {
    /// PostgreSQL URL.
    #[arg(long, env = "KV_TEST_POSTGRES_URL")]
    url: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent tasks (and connections).
    #[arg(long, default_value_t = 16)]
    tasks: usize,
}

const TABLE: &str = "metakv_bench";

fn key(t: usize) -> Key {
    Key::new(format!("key-{t:04}")).unwrap()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let duration = Duration::from_secs(args.seconds);
    let config = PostgresConfig {
        auto_create: true,
        table: TABLE.into(),
        pool_size: args.tasks,
        ..PostgresConfig::with_url(&args.url)
    };
    let store = Arc::new(PostgresStore::open(config).await.expect("driver opens"));
    let store: Arc<dyn KvStore> = store;
    let p = Partition::try_from("bench").unwrap();
    // One key per task, so conditional puts never conflict; the same keys for both sides.
    let driver = DriverWorkload::prepare(
        Arc::clone(&store),
        p.clone(),
        Value::new(vec![7u8; 100]).unwrap(),
        key,
        args.tasks,
    )
    .await;

    // Raw: one connection per task, statements prepared once.
    let mut raw = Vec::new();
    for _ in 0..args.tasks {
        let (client, connection) = tokio_postgres::connect(&args.url, tokio_postgres::NoTls)
            .await
            .expect("raw connects");
        tokio::spawn(connection);
        let get = client
            .prepare(&format!(
                "SELECT value, version FROM public.{TABLE} WHERE partition = $1 AND key = $2"
            ))
            .await
            .unwrap();
        let cas = client
            .prepare(&format!(
                "UPDATE public.{TABLE} SET value = $3, version = nextval('public.{TABLE}_version'), inserted = false \
                 WHERE partition = $1 AND key = $2 AND version = $4 RETURNING version"
            ))
            .await
            .unwrap();
        raw.push(Arc::new((client, get, cas)));
    }
    let raw = Arc::new(raw);

    print_comparison_header(args.tasks, "raw");

    let driver_get = driver.gets(duration).await;
    let r = Arc::clone(&raw);
    let raw_get = run_for(args.tasks, duration, move |t, _| {
        let conn = Arc::clone(&r[t]);
        async move {
            let k = key(t);
            conn.0
                .query_one(&conn.1, &[&b"bench".as_slice(), &k.as_bytes()])
                .await
                .unwrap();
        }
    })
    .await;
    row("get", driver_get, raw_get);

    let driver_cas = driver.conditional_puts(duration).await;
    // Raw versions are the sequence numbers themselves.
    let raw_versions: Arc<Vec<Mutex<i64>>> = Arc::new(
        futures::future::join_all((0..args.tasks).map(|t| {
            let (s, p) = (Arc::clone(&store), p.clone());
            async move {
                i64::from_str_radix(
                    s.get(&p, &key(t)).await.unwrap().unwrap().version.as_str(),
                    16,
                )
                .unwrap()
            }
        }))
        .await
        .into_iter()
        .map(Mutex::new)
        .collect(),
    );
    let (r, rv) = (Arc::clone(&raw), Arc::clone(&raw_versions));
    let raw_cas = run_for(args.tasks, duration, move |t, _| {
        let (conn, rv) = (Arc::clone(&r[t]), Arc::clone(&rv));
        async move {
            let mut version = rv[t].lock().await;
            let k = key(t);
            let v = vec![7u8; 100];
            let row = conn
                .0
                .query_one(
                    &conn.2,
                    &[&b"bench".as_slice(), &k.as_bytes(), &v, &*version],
                )
                .await
                .unwrap();
            *version = row.get(0);
        }
    })
    .await;
    row("conditional put (If-Match)", driver_cas, raw_cas);
    store.close().await.unwrap();
}
