//! The kv-local benchmark: durable puts at 1, 16 and 64 writers with group commit on and off,
//! gets, scans, and the peak memory of scanning a large partition.
//!
//! ```text
//! cargo run --release -p metakv-benches --bin local -- throughput
//! cargo run --release -p metakv-benches --bin local -- fill --dir /tmp/scan --entries 1000000
//! cargo run --release -p metakv-benches --bin local -- scan --dir /tmp/scan
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures::TryStreamExt;
use kv_core::{Batch, BatchOp, Condition, Key, KvStore, KvStoreExt, Partition, ScanOptions, Value};
use kv_local::{LocalConfig, LocalStore};
use metakv_benches::{peak_rss_kib, run_for};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Puts (durable) at 1/16/64 writers, group commit on and off; gets; scan throughput.
    Throughput {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
    /// Writes `entries` small entries into one partition of the store in `dir`.
    Fill {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
    },
    /// Scans that partition and prints entries/s and the process's peak RSS.
    Scan {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn partition() -> Partition {
    Partition::try_from("bench").unwrap()
}

fn key(i: u64) -> Key {
    Key::new(format!("key-{i:012}")).unwrap()
}

async fn open(dir: &std::path::Path, group_commit: bool) -> Arc<LocalStore> {
    let config = LocalConfig {
        group_commit,
        ..LocalConfig::at(dir)
    };
    Arc::new(LocalStore::open(config).await.expect("store opens"))
}

async fn throughput(seconds: u64) {
    let duration = Duration::from_secs(seconds);
    let value = Value::new(vec![7u8; 100]).unwrap();
    println!("| workload | writers | group commit | ops/s | CPU µs/op |");
    println!("|---|---:|---|---:|---:|");
    for writers in [1usize, 16, 64] {
        for group_commit in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let store = open(dir.path(), group_commit).await;
            let v = value.clone();
            let s = Arc::clone(&store);
            let t = run_for(writers, duration, move |task, i| {
                let (s, v) = (Arc::clone(&s), v.clone());
                async move {
                    let k = key((task as u64) << 40 | i);
                    s.put(&partition(), &k, &v, &Condition::None)
                        .await
                        .expect("put");
                }
            })
            .await;
            println!(
                "| durable put (100 B) | {writers} | {} | {:.0} | {:.1} |",
                if group_commit { "on" } else { "off" },
                t.per_second(),
                t.cpu_us_per_op()
            );
            store.close().await.unwrap();
        }
    }

    // Reads and scans over 100,000 entries.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), true).await;
    let n = 100_000u64;
    fill(&store, n).await;
    for readers in [1usize, 16] {
        let s = Arc::clone(&store);
        let t = run_for(readers, duration, move |task, i| {
            let s = Arc::clone(&s);
            async move {
                let k = key((i * 7919 + task as u64 * 104_729) % n);
                s.get(&partition(), &k)
                    .await
                    .expect("get")
                    .expect("present");
            }
        })
        .await;
        println!(
            "| get | {readers} | – | {:.0} | {:.1} |",
            t.per_second(),
            t.cpu_us_per_op()
        );
    }
    let started = Instant::now();
    let scanned: Vec<_> = store
        .scan(&partition(), ScanOptions::new().with_page_size(1000))
        .try_collect()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(scanned.len() as u64, n);
    println!(
        "| scan (page 1000) | 1 | – | {:.0} entries/s | – |",
        n as f64 / elapsed.as_secs_f64()
    );
    store.close().await.unwrap();
}

/// Writes `n` entries with 16 concurrent batch writers.
async fn fill(store: &Arc<LocalStore>, n: u64) {
    let chunks: Vec<u64> = (0..n).step_by(100).collect();
    let store = Arc::clone(store);
    futures::stream::iter(chunks)
        .map(|start| {
            let store = Arc::clone(&store);
            async move {
                let ops = (start..(start + 100).min(n))
                    .map(|i| BatchOp::Put {
                        key: key(i),
                        value: Value::new(vec![1u8; 32]).unwrap(),
                        condition: Condition::None,
                    })
                    .collect();
                store
                    .batch(&partition(), &Batch::new(ops).unwrap())
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await
        .expect("fill");
}

use futures::StreamExt;

#[tokio::main]
async fn main() {
    match Args::parse().command {
        Command::Throughput { seconds } => throughput(seconds).await,
        Command::Fill { dir, entries } => {
            let store = open(&dir, true).await;
            let started = Instant::now();
            fill(&store, entries).await;
            println!(
                "filled {entries} entries in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            store.close().await.unwrap();
        }
        Command::Scan { dir } => {
            let store = open(&dir, true).await;
            let started = Instant::now();
            let mut count = 0u64;
            let mut scan = store.scan(&partition(), ScanOptions::new().with_page_size(1000));
            while let Some(entry) = scan.try_next().await.expect("scan") {
                count += 1;
                std::hint::black_box(entry);
            }
            let elapsed = started.elapsed();
            println!(
                "scanned {count} entries in {:.2}s ({:.0} entries/s); peak RSS {} KiB",
                elapsed.as_secs_f64(),
                count as f64 / elapsed.as_secs_f64(),
                peak_rss_kib().unwrap_or(0)
            );
            store.close().await.unwrap();
        }
    }
}
