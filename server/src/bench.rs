//! `metakv bench`: a load generator against the configured backend or a running server.
//!
//! Tasks run a weighted mix of operations on keys drawn uniformly or from a Zipf distribution,
//! in one scratch partition (`metakv-bench-<random>`, removed afterwards), for a duration or a
//! number of operations. Each operation's latency goes into an HDR histogram of its kind; the
//! report gives throughput, p50/p90/p99/p99.9/max, errors by kind and the backend's cost per
//! 1,000 operations where the backend reports one (Cosmos DB request units, DynamoDB capacity
//! units: read from this process's metrics, or from the server's `/metrics` with `--url`).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use hdrhistogram::Histogram;
use kv_core::{
    Batch, BatchOp, Condition, Error, Key, KvStore, KvStoreExt, Partition, Result, ScanOptions,
    Value,
};
use rand::Rng as _;
use rand::SeedableRng as _;
use rand_distr::Distribution as _;
use serde::Serialize;

/// One kind of operation of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// A point read.
    Get,
    /// An unconditional write.
    Put,
    /// Read-modify-write: a read, then a write conditional on the version read (a lost race
    /// is counted as `condition_failed`).
    Cas,
    /// An unconditional delete.
    Delete,
    /// A scan of up to 100 entries from a random key.
    Scan,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::Cas => "cas",
            Op::Delete => "delete",
            Op::Scan => "scan",
        }
    }
}

/// The operation mix: `get=80,put=15,cas=5` (weights, any positive integers).
#[derive(Debug, Clone)]
pub struct Mix(Vec<(Op, u32)>);

impl FromStr for Mix {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let mut mix = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected op=weight, e.g. get=80"))?;
            let op = match name.trim() {
                "get" => Op::Get,
                "put" => Op::Put,
                "cas" => Op::Cas,
                "delete" => Op::Delete,
                "scan" => Op::Scan,
                other => {
                    return Err(format!(
                        "unknown operation `{other}`: expected get, put, cas, delete or scan"
                    ));
                }
            };
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("`{part}`: the weight is not a whole number"))?;
            if weight > 0 {
                mix.push((op, weight));
            }
        }
        if mix.is_empty() {
            return Err("the mix has no operation with a positive weight".into());
        }
        Ok(Mix(mix))
    }
}

impl Mix {
    fn pick(&self, rng: &mut impl rand::Rng) -> Op {
        let total: u32 = self.0.iter().map(|(_, w)| w).sum();
        let mut at = rng.random_range(0..total);
        for (op, weight) in &self.0 {
            if at < *weight {
                return *op;
            }
            at -= weight;
        }
        self.0[0].0
    }
}

/// How keys are drawn.
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Every key equally often.
    Uniform,
    /// Zipf with exponent 1: a few keys take most operations (hot keys, contention).
    Zipfian,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The operation mix.
    pub mix: Mix,
    /// Distinct keys.
    pub keys: u64,
    /// How keys are drawn.
    pub distribution: Distribution,
    /// Tasks running operations at once.
    pub concurrency: usize,
    /// Run this long (unless `operations` is set).
    pub duration: Duration,
    /// Run this many operations instead of a duration.
    pub operations: Option<u64>,
    /// Bytes per written value.
    pub value_size: usize,
    /// Write every key once before measuring (so that reads find something).
    pub prefill: bool,
}

/// One operation kind's figures.
#[derive(Debug, Serialize)]
pub struct OpReport {
    /// Operations run (failed ones included).
    pub count: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles, microseconds.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// The slowest.
    pub max_us: u64,
    /// Failed operations by error kind (`condition_failed` for a lost `cas` race).
    pub errors: BTreeMap<String, u64>,
}

/// The report (`--json` writes it as is).
#[derive(Debug, Serialize)]
pub struct Report {
    /// Backend or server measured.
    pub target: String,
    /// The mix as given.
    pub mix: String,
    /// Distinct keys and their distribution.
    pub keys: u64,
    /// How keys were drawn.
    pub distribution: Distribution,
    /// Tasks.
    pub concurrency: usize,
    /// Bytes per value.
    pub value_size: usize,
    /// Measured time.
    pub seconds: f64,
    /// All operations.
    pub operations: u64,
    /// All operations per second.
    pub ops_per_sec: f64,
    /// Per operation kind.
    pub ops: BTreeMap<String, OpReport>,
    /// The backend's cost per 1,000 operations, when it reports one.
    pub cost_per_1000_ops: Option<f64>,
    /// Its unit (`RU`, `capacity units`).
    pub cost_unit: Option<String>,
}

/// Per task: one histogram and error count per operation kind.
struct Recorder {
    histograms: BTreeMap<Op, Histogram<u64>>,
    errors: BTreeMap<Op, BTreeMap<String, u64>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            histograms: BTreeMap::new(),
            errors: BTreeMap::new(),
        }
    }

    fn record(&mut self, op: Op, elapsed: Duration, outcome: &Result<()>) {
        let histogram = self.histograms.entry(op).or_insert_with(|| {
            Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
        });
        histogram.saturating_record(elapsed.as_micros().max(1) as u64);
        if let Err(e) = outcome {
            *self
                .errors
                .entry(op)
                .or_default()
                .entry(e.kind().as_str().to_string())
                .or_default() += 1;
        }
    }

    fn merge(&mut self, other: Recorder) {
        for (op, h) in other.histograms {
            match self.histograms.get_mut(&op) {
                Some(mine) => mine.add(&h).expect("same bounds"),
                None => {
                    self.histograms.insert(op, h);
                }
            }
        }
        for (op, errors) in other.errors {
            let mine = self.errors.entry(op).or_default();
            for (kind, n) in errors {
                *mine.entry(kind).or_default() += n;
            }
        }
    }
}

fn key(i: u64) -> Key {
    Key::new(format!("k{i:012}").into_bytes()).expect("bench keys are short")
}

async fn run_one(
    store: &Arc<dyn KvStore>,
    partition: &Partition,
    op: Op,
    k: &Key,
    value: &Value,
) -> Result<()> {
    match op {
        Op::Get => store.get(partition, k).await.map(drop),
        Op::Put => store
            .put(partition, k, value, &Condition::None)
            .await
            .map(drop),
        Op::Cas => {
            let condition = match store.get(partition, k).await? {
                Some(found) => Condition::Version(found.version),
                None => Condition::Absent,
            };
            store.put(partition, k, value, &condition).await.map(drop)
        }
        Op::Delete => store
            .delete(partition, k, &kv_core::DeleteCondition::None)
            .await
            .map(drop),
        Op::Scan => {
            let options = ScanOptions::new()
                .with_start(k.as_bytes().to_vec())
                .with_limit(100);
            store
                .scan(partition, options)
                .try_for_each(|_| async { Ok(()) })
                .await
        }
    }
}

/// Runs the load against `store` in a scratch partition, which it removes afterwards;
/// `progress` is told the operations done so far about ten times a second.
pub async fn run(
    store: Arc<dyn KvStore>,
    target: String,
    mix_text: String,
    options: Options,
    cost: impl AsyncFn() -> Option<(f64, &'static str)>,
    mut progress: impl FnMut(u64),
) -> Result<Report> {
    let partition = Partition::new(
        format!(
            "metakv-bench-{:012x}",
            rand::random::<u64>() & 0xffff_ffff_ffff
        )
        .into_bytes(),
    )?;
    let value = Value::new(vec![0x61; options.value_size])?;
    if options.prefill {
        let per_batch =
            kv_core::limits::puts_per_batch(key(0).as_bytes().len(), options.value_size) as u64;
        let mut next = 0;
        while next < options.keys {
            let end = (next + per_batch).min(options.keys);
            let ops = (next..end)
                .map(|i| BatchOp::Put {
                    key: key(i),
                    value: value.clone(),
                    condition: Condition::None,
                })
                .collect();
            store.batch(&partition, &Batch::new(ops)?).await?;
            next = end;
        }
    }
    let cost_before = cost().await;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let zipf = rand_distr::Zipf::new(options.keys as f64, 1.0)
        .map_err(|e| Error::invalid(format!("--keys: {e}")))?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..options.concurrency {
        let (store, partition, value, mix) = (
            Arc::clone(&store),
            partition.clone(),
            value.clone(),
            options.mix.clone(),
        );
        let (done, stop) = (Arc::clone(&done), Arc::clone(&stop));
        let (limit, distribution, keys) = (options.operations, options.distribution, options.keys);
        tasks.push(tokio::spawn(async move {
            let mut recorder = Recorder::new();
            let mut rng = rand::rngs::StdRng::from_os_rng();
            while !stop.load(Ordering::Relaxed) {
                if let Some(limit) = limit
                    && done.fetch_add(1, Ordering::Relaxed) >= limit
                {
                    break;
                }
                let op = mix.pick(&mut rng);
                let i = match distribution {
                    Distribution::Uniform => rng.random_range(0..keys),
                    Distribution::Zipfian => (zipf.sample(&mut rng) as u64).saturating_sub(1),
                };
                let began = Instant::now();
                let outcome = run_one(&store, &partition, op, &key(i), &value).await;
                recorder.record(op, began.elapsed(), &outcome);
                if limit.is_none() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            recorder
        }));
    }
    let deadline = started + options.duration;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let so_far = done.load(Ordering::Relaxed);
        progress(options.operations.map_or(so_far, |l| so_far.min(l)));
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        if options.operations.is_none() && Instant::now() >= deadline {
            stop.store(true, Ordering::Relaxed);
        }
    }
    let mut all = Recorder::new();
    for task in tasks {
        all.merge(
            task.await
                .map_err(|e| Error::backend("a bench task panicked", e))?,
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let cost_after = cost().await;
    let _ = store.delete_partition(&partition).await;
    let mut ops = BTreeMap::new();
    let mut total = 0;
    for (op, h) in &all.histograms {
        total += h.len();
        ops.insert(
            op.name().to_string(),
            OpReport {
                count: h.len(),
                ops_per_sec: h.len() as f64 / seconds,
                p50_us: h.value_at_quantile(0.5),
                p90_us: h.value_at_quantile(0.9),
                p99_us: h.value_at_quantile(0.99),
                p999_us: h.value_at_quantile(0.999),
                max_us: h.max(),
                errors: all.errors.get(op).cloned().unwrap_or_default(),
            },
        );
    }
    let (cost_per_1000_ops, cost_unit) = match (cost_before, cost_after) {
        (Some((before, unit)), Some((after, _))) if total > 0 => (
            Some((after - before) * 1000.0 / total as f64),
            Some(unit.to_string()),
        ),
        _ => (None, None),
    };
    Ok(Report {
        target,
        mix: mix_text,
        keys: options.keys,
        distribution: options.distribution,
        concurrency: options.concurrency,
        value_size: options.value_size,
        seconds,
        operations: total,
        ops_per_sec: total as f64 / seconds,
        ops,
        cost_per_1000_ops,
        cost_unit,
    })
}

/// The cost spent so far according to a Prometheus text exposition: the `_sum` of the cost
/// histograms, with their unit.
pub fn cost_in(metrics: &str) -> Option<(f64, &'static str)> {
    for (metric, unit) in [
        ("metakv_cosmos_request_units_sum", "RU"),
        (
            "metakv_dynamodb_consumed_capacity_units_sum",
            "capacity units",
        ),
    ] {
        let sum: f64 = metrics
            .lines()
            .filter(|l| l.starts_with(metric))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if metrics.lines().any(|l| l.starts_with(metric)) {
            return Some((sum, unit));
        }
    }
    None
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} operations in {:.1} s, {:.0} ops/s ({} tasks, {} keys {}, {} B values, mix {})",
            self.target,
            self.operations,
            self.seconds,
            self.ops_per_sec,
            self.concurrency,
            self.keys,
            match self.distribution {
                Distribution::Uniform => "uniform",
                Distribution::Zipfian => "zipfian",
            },
            self.value_size,
            self.mix
        )?;
        writeln!(
            f,
            "  {:<7} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9}  errors",
            "op", "count", "ops/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"
        )?;
        for (name, op) in &self.ops {
            let errors = if op.errors.is_empty() {
                "-".to_string()
            } else {
                op.errors
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(
                f,
                "  {:<7} {:>9} {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>9}  {errors}",
                name,
                op.count,
                op.ops_per_sec,
                op.p50_us,
                op.p90_us,
                op.p99_us,
                op.p999_us,
                op.max_us
            )?;
        }
        if let (Some(cost), Some(unit)) = (self.cost_per_1000_ops, &self.cost_unit) {
            writeln!(f, "  cost: {cost:.1} {unit} per 1,000 operations")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_is_parsed_and_bad_ones_are_named() {
        let mix: Mix = "get=80, put=15,cas=5".parse().unwrap();
        assert_eq!(mix.0.len(), 3);
        assert!("get=x".parse::<Mix>().unwrap_err().contains("whole number"));
        assert!(
            "read=1"
                .parse::<Mix>()
                .unwrap_err()
                .contains("unknown operation")
        );
        assert!("get=0".parse::<Mix>().is_err());
    }

    #[test]
    fn the_cost_is_summed_from_the_metrics_text() {
        let text = "# TYPE metakv_cosmos_request_units histogram\nmetakv_cosmos_request_units_sum{op=\"get\"} 10.5\nmetakv_cosmos_request_units_sum{op=\"put\"} 4.5\n";
        assert_eq!(cost_in(text), Some((15.0, "RU")));
        assert_eq!(cost_in("nothing"), None);
    }
}
