//! metakv over HTTP (embedded store, every put fsynced) against etcd on the same machine, in the
//! same run: durable puts/s and linearizable gets/s at 64 concurrent clients. etcd is driven
//! through its v3 JSON gateway (`/v3/kv/put`, `/v3/kv/range`), so both sides pay HTTP and JSON
//! costs through the same client.
//!
//! ```text
//! ./scripts/bench-http.sh      # starts both servers on free ports and runs this
//! ```

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use metakv_benches::{Throughput, run_for};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Base URL of a metakv server.
    #[arg(long)]
    metakv: String,
    /// Client URL of etcd.
    #[arg(long)]
    etcd: String,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Keys written before the get measurement.
    #[arg(long, default_value_t = 10_000)]
    keys: usize,
}

fn row(name: &str, m: Throughput, e: Throughput) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.2} |",
        m.per_second(),
        e.per_second(),
        m.per_second() / e.per_second()
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let duration = Duration::from_secs(args.seconds);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()
        .unwrap();
    let value = Arc::new(vec![b'v'; 100]);
    let metakv = Arc::new(args.metakv.trim_end_matches('/').to_string());
    let etcd = Arc::new(args.etcd.trim_end_matches('/').to_string());

    let metakv_put = |h: reqwest::Client, base: Arc<String>, v: Arc<Vec<u8>>, key: String| async move {
        let r = h
            .put(format!("{base}/v1/p/bench/k/{key}"))
            .body(v.to_vec())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "metakv put: {}", r.status());
    };
    let etcd_put = |h: reqwest::Client, base: Arc<String>, v: Arc<Vec<u8>>, key: String| async move {
        let body =
            json!({"key": STANDARD.encode(format!("bench/{key}")), "value": STANDARD.encode(&*v)});
        let r = h
            .post(format!("{base}/v3/kv/put"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "etcd put: {}", r.status());
    };

    println!(
        "| operation ({} clients, HTTP) | metakv (embedded) ops/s | etcd ops/s | metakv/etcd |",
        args.clients
    );
    println!("|---|---:|---:|---:|");
    let (h, b, v) = (http.clone(), Arc::clone(&metakv), Arc::clone(&value));
    let m = run_for(args.clients, duration, move |t, i| {
        metakv_put(
            h.clone(),
            Arc::clone(&b),
            Arc::clone(&v),
            format!("w-{t}-{i}"),
        )
    })
    .await;
    let (h, b, v) = (http.clone(), Arc::clone(&etcd), Arc::clone(&value));
    let e = run_for(args.clients, duration, move |t, i| {
        etcd_put(
            h.clone(),
            Arc::clone(&b),
            Arc::clone(&v),
            format!("w-{t}-{i}"),
        )
    })
    .await;
    row("durable put (100 B)", m, e);

    // The same keys in both, then random linearizable reads.
    for k in 0..args.keys {
        metakv_put(
            http.clone(),
            Arc::clone(&metakv),
            Arc::clone(&value),
            format!("r-{k}"),
        )
        .await;
        etcd_put(
            http.clone(),
            Arc::clone(&etcd),
            Arc::clone(&value),
            format!("r-{k}"),
        )
        .await;
    }
    let n = args.keys as u64;
    let (h, b) = (http.clone(), Arc::clone(&metakv));
    let m = run_for(args.clients, duration, move |t, i| {
        let (h, b) = (h.clone(), Arc::clone(&b));
        async move {
            let k = (i * 7919 + t as u64 * 104_729) % n;
            let r = h
                .get(format!("{b}/v1/p/bench/k/r-{k}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            r.bytes().await.unwrap();
        }
    })
    .await;
    let (h, b) = (http.clone(), Arc::clone(&etcd));
    let e = run_for(args.clients, duration, move |t, i| {
        let (h, b) = (h.clone(), Arc::clone(&b));
        async move {
            let k = (i * 7919 + t as u64 * 104_729) % n;
            let body = json!({"key": STANDARD.encode(format!("bench/r-{k}"))});
            let r = h
                .post(format!("{b}/v3/kv/range"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(body["kvs"].is_array(), "etcd range found the key");
        }
    })
    .await;
    row("linearizable get", m, e);
}
