//! Shared pieces of the benchmark harnesses: timed concurrent loops and process measurements.
#![warn(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Operations completed and the time they took.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Operations completed.
    pub ops: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// CPU time of the whole process (user + system) during the run.
    pub cpu: Duration,
}

impl Throughput {
    /// Operations per second of wall-clock time.
    pub fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    /// Process CPU time per operation, in microseconds.
    pub fn cpu_us_per_op(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }
}

/// Prints one row of a driver-vs-baseline table: ops/s of both, their ratio, client CPU per
/// operation of both, and that ratio.
pub fn print_comparison(name: &str, driver: Throughput, baseline: Throughput) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.2} | {:.1} | {:.1} | {:.2} |",
        driver.per_second(),
        baseline.per_second(),
        driver.per_second() / baseline.per_second(),
        driver.cpu_us_per_op(),
        baseline.cpu_us_per_op(),
        driver.cpu_us_per_op() / baseline.cpu_us_per_op()
    );
}

/// Runs `op(task, i)` from `tasks` concurrent tasks for `duration`, counting completed
/// operations. Each task stops at the deadline; an error panics (a benchmark must not hide
/// failures).
pub async fn run_for<F, Fut>(tasks: usize, duration: Duration, op: F) -> Throughput
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = process_cpu();
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (op, done, stop) = (Arc::clone(&op), Arc::clone(&done), Arc::clone(&stop));
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                op(t, i).await;
                i += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.expect("benchmark task");
    }
    Throughput {
        ops: done.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        cpu: process_cpu().saturating_sub(cpu_before),
    }
}

/// User + system CPU time of this process so far (from `/proc/self/stat`; zero elsewhere).
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line: indices 11 and 12 after the name.
    let clock_ticks = 100; // USER_HZ on Linux
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / clock_ticks)
}

/// Peak resident set size of this process in KiB (`VmHWM` from `/proc/self/status`).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Prints the header of a driver-vs-baseline table (see [`print_comparison`]).
pub fn print_comparison_header(tasks: usize, baseline: &str) {
    println!(
        "| operation ({tasks} tasks) | driver ops/s | {baseline} ops/s | ops/s ratio | driver CPU µs/op | {baseline} CPU µs/op | CPU ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
}

/// The driver side of a driver-vs-baseline comparison: one key per task, `key(t)`, in one
/// partition, written once by [`DriverWorkload::prepare`], then read or rewritten under a
/// `Version` condition by its own task.
#[derive(Debug)]
pub struct DriverWorkload {
    store: Arc<dyn kv_core::KvStore>,
    partition: kv_core::Partition,
    value: kv_core::Value,
    key: fn(usize) -> kv_core::Key,
    versions: Arc<Vec<tokio::sync::Mutex<kv_core::Version>>>,
}

impl DriverWorkload {
    /// Writes `value` at `key(t)` for every task and remembers the versions.
    pub async fn prepare(
        store: Arc<dyn kv_core::KvStore>,
        partition: kv_core::Partition,
        value: kv_core::Value,
        key: fn(usize) -> kv_core::Key,
        tasks: usize,
    ) -> Self {
        let mut versions = Vec::new();
        for t in 0..tasks {
            let written = store
                .put(&partition, &key(t), &value, &kv_core::Condition::None)
                .await
                .expect("the driver writes the bench keys");
            versions.push(tokio::sync::Mutex::new(written.version));
        }
        Self {
            store,
            partition,
            value,
            key,
            versions: Arc::new(versions),
        }
    }

    /// Version of `key(t)` as the last write left it.
    pub async fn version(&self, t: usize) -> kv_core::Version {
        self.versions[t].lock().await.clone()
    }

    /// Every task reads its key for `duration`.
    pub async fn gets(&self, duration: Duration) -> Throughput {
        let (store, partition, key) = (Arc::clone(&self.store), self.partition.clone(), self.key);
        run_for(self.versions.len(), duration, move |t, _| {
            let (store, partition) = (Arc::clone(&store), partition.clone());
            async move {
                store.get(&partition, &key(t)).await.unwrap().unwrap();
            }
        })
        .await
    }

    /// Every task rewrites its key under a `Version` condition for `duration`.
    pub async fn conditional_puts(&self, duration: Duration) -> Throughput {
        let (store, partition, value, key) = (
            Arc::clone(&self.store),
            self.partition.clone(),
            self.value.clone(),
            self.key,
        );
        let versions = Arc::clone(&self.versions);
        run_for(versions.len(), duration, move |t, _| {
            let (store, partition, value, versions) = (
                Arc::clone(&store),
                partition.clone(),
                value.clone(),
                Arc::clone(&versions),
            );
            async move {
                let mut version = versions[t].lock().await;
                let condition = kv_core::Condition::Version(version.clone());
                *version = store
                    .put(&partition, &key(t), &value, &condition)
                    .await
                    .unwrap()
                    .version;
            }
        })
        .await
    }
}
