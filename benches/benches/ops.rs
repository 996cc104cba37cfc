//! Per-operation numbers of the in-process stores, each beside its raw twin in one criterion
//! group so that the report shows them side by side:
//!
//! - `LocalStore` (kv-local) against raw redb with the same cache size and the same durability
//!   (`Durability::Immediate`: one fsync per committed write);
//! - the in-memory reference store (kv-core), as the floor of the trait's own cost.
//!
//! `cargo bench -p metakv-benches --bench ops` measures; `cargo test -p metakv-benches --benches`
//! (in `scripts/test.sh`) runs every benchmark once, so that none rots. Nothing here asserts a
//! time. The emulator-backed drivers are measured by the harnesses in `src/bin/` (throughput
//! with many tasks, against the raw SDK on the same emulator).

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::TryStreamExt as _;
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, InMemoryStore, Key, KvStore, KvStoreExt, Partition,
    ScanOptions, Value,
};
use kv_local::{LocalConfig, LocalStore};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

const RAW: TableDefinition<&[u8], &[u8]> = TableDefinition::new("raw");
const CACHE_MIB: usize = 32;
const VALUE_SIZES: [usize; 4] = [100, 4 << 10, 64 << 10, 384 << 10];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn key(i: usize) -> Key {
    Key::new(format!("key-{i:08}").into_bytes()).expect("a key")
}

fn value(size: usize) -> Value {
    Value::new(vec![0x5a; size]).expect("a value")
}

/// The stores under test: metakv's embedded store and the in-memory reference.
struct Stores {
    local: Arc<dyn KvStore>,
    memory: Arc<dyn KvStore>,
    raw: Database,
    _dir: tempfile::TempDir,
}

fn stores(rt: &tokio::runtime::Runtime) -> Stores {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = LocalConfig {
        cache_size_mib: CACHE_MIB,
        ..LocalConfig::at(dir.path().join("local"))
    };
    let local: Arc<dyn KvStore> = Arc::new(rt.block_on(LocalStore::open(config)).expect("opens"));
    let raw = redb::Builder::new()
        .set_cache_size(CACHE_MIB << 20)
        .create(dir.path().join("raw.redb"))
        .expect("raw redb opens");
    Stores {
        local,
        memory: Arc::new(InMemoryStore::new()),
        raw,
        _dir: dir,
    }
}

/// Fills partition `p` of both metakv stores, and the raw table, with `n` entries of `size`.
fn fill(rt: &tokio::runtime::Runtime, s: &Stores, p: &Partition, n: usize, size: usize) {
    let v = value(size);
    rt.block_on(async {
        let per_batch = kv_core::limits::puts_per_batch(key(0).as_bytes().len(), size);
        for chunk in (0..n).collect::<Vec<_>>().chunks(per_batch) {
            let ops = chunk
                .iter()
                .map(|&i| BatchOp::Put {
                    key: key(i),
                    value: v.clone(),
                    condition: Condition::None,
                })
                .collect();
            let batch = Batch::new(ops).expect("a batch");
            s.local.batch(p, &batch).await.expect("filled");
            s.memory.batch(p, &batch).await.expect("filled");
        }
    });
    let txn = s.raw.begin_write().expect("a write transaction");
    {
        let mut table = txn.open_table(RAW).expect("the raw table");
        for i in 0..n {
            table
                .insert(key(i).as_bytes(), v.as_bytes())
                .expect("inserted");
        }
    }
    txn.commit().expect("committed");
}

fn raw_put(db: &Database, k: &[u8], v: &[u8]) {
    let mut txn = db.begin_write().expect("a write transaction");
    txn.set_durability(Durability::Immediate)
        .expect("durability");
    {
        let mut table = txn.open_table(RAW).expect("the raw table");
        table.insert(k, v).expect("inserted");
    }
    txn.commit().expect("committed");
}

fn get(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt);
    let mut group = c.benchmark_group("get");
    for size in VALUE_SIZES {
        let p = Partition::new(format!("get-{size}").into_bytes()).expect("a partition");
        fill(&rt, &s, &p, 1000, size);
        group.throughput(Throughput::Bytes(size as u64));
        let mut i = 0;
        group.bench_function(BenchmarkId::new("kv-local", size), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 7) % 1000;
                let (store, p, k) = (Arc::clone(&s.local), p.clone(), key(i));
                async move { store.get(&p, &k).await.expect("read").expect("found") }
            })
        });
        group.bench_function(BenchmarkId::new("raw-redb", size), |b| {
            b.iter(|| {
                i = (i + 7) % 1000;
                let txn = s.raw.begin_read().expect("a read transaction");
                let table = txn.open_table(RAW).expect("the raw table");
                table
                    .get(key(i).as_bytes())
                    .expect("read")
                    .expect("found")
                    .value()
                    .len()
            })
        });
        group.bench_function(BenchmarkId::new("memory", size), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 7) % 1000;
                let (store, p, k) = (Arc::clone(&s.memory), p.clone(), key(i));
                async move { store.get(&p, &k).await.expect("read").expect("found") }
            })
        });
    }
    group.finish();
}

fn put(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt);
    let mut group = c.benchmark_group("durable put");
    group.sample_size(20);
    for size in VALUE_SIZES {
        let p = Partition::new(format!("put-{size}").into_bytes()).expect("a partition");
        let v = value(size);
        group.throughput(Throughput::Bytes(size as u64));
        let mut i = 0;
        group.bench_function(BenchmarkId::new("kv-local", size), |b| {
            b.to_async(&rt).iter(|| {
                i += 1;
                let (store, p, k, v) = (Arc::clone(&s.local), p.clone(), key(i), v.clone());
                async move { store.put(&p, &k, &v, &Condition::None).await.expect("put") }
            })
        });
        group.bench_function(BenchmarkId::new("raw-redb", size), |b| {
            b.iter(|| {
                i += 1;
                raw_put(&s.raw, key(i).as_bytes(), v.as_bytes())
            })
        });
    }
    group.finish();
}

fn conditional_put_and_delete(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt);
    let p = Partition::new(b"conditional".to_vec()).expect("a partition");
    let k = key(0);
    let v = value(100);
    let mut group = c.benchmark_group("conditional put (100 B)");
    group.sample_size(20);
    for (name, store) in [("kv-local", &s.local), ("memory", &s.memory)] {
        let mut version = rt
            .block_on(store.put(&p, &k, &v, &Condition::None))
            .expect("put")
            .version;
        group.bench_function(name, |b| {
            b.iter(|| {
                version = rt
                    .block_on(store.put(&p, &k, &v, &Condition::Version(version.clone())))
                    .expect("the version matches")
                    .version;
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("delete (100 B)");
    group.sample_size(20);
    for (name, store) in [("kv-local", &s.local), ("memory", &s.memory)] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    i += 1;
                    let k = key(i);
                    rt.block_on(store.put(&p, &k, &v, &Condition::None))
                        .expect("put");
                    k
                },
                |k| {
                    rt.block_on(store.delete(&p, &k, &DeleteCondition::None))
                        .expect("deleted")
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn scan(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt);
    let p = Partition::new(b"scan".to_vec()).expect("a partition");
    fill(&rt, &s, &p, 1000, 100);
    let mut group = c.benchmark_group("scan (100 B values)");
    for n in [10usize, 100, 1000] {
        group.throughput(Throughput::Elements(n as u64));
        for (name, store) in [("kv-local", &s.local), ("memory", &s.memory)] {
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.to_async(&rt).iter(|| {
                    let store = Arc::clone(store);
                    let p = p.clone();
                    async move {
                        let mut options = ScanOptions::new().with_limit(n);
                        options.page_size = Some(n);
                        let entries: Vec<_> = store
                            .scan(&p, options)
                            .try_collect()
                            .await
                            .expect("scanned");
                        assert_eq!(entries.len(), n);
                    }
                })
            });
        }
        group.bench_function(BenchmarkId::new("raw-redb", n), |b| {
            b.iter(|| {
                let txn = s.raw.begin_read().expect("a read transaction");
                let table = txn.open_table(RAW).expect("the raw table");
                let mut bytes = 0;
                for row in table.range::<&[u8]>(..).expect("a range").take(n) {
                    let (k, v) = row.expect("a row");
                    bytes += k.value().len() + v.value().len();
                }
                bytes
            })
        });
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    let rt = runtime();
    let s = stores(&rt);
    let p = Partition::new(b"batch".to_vec()).expect("a partition");
    let v = value(100);
    let mut group = c.benchmark_group("batch of puts (100 B)");
    group.sample_size(20);
    for n in [10usize, 100] {
        group.throughput(Throughput::Elements(n as u64));
        let mut next = 0;
        for (name, store) in [("kv-local", &s.local), ("memory", &s.memory)] {
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    let ops = (0..n)
                        .map(|_| {
                            next += 1;
                            BatchOp::Put {
                                key: key(next),
                                value: v.clone(),
                                condition: Condition::None,
                            }
                        })
                        .collect();
                    let batch = Batch::new(ops).expect("a batch");
                    rt.block_on(store.batch(&p, &batch)).expect("applied")
                })
            });
        }
        group.bench_function(BenchmarkId::new("raw-redb", n), |b| {
            b.iter(|| {
                let mut txn = s.raw.begin_write().expect("a write transaction");
                txn.set_durability(Durability::Immediate)
                    .expect("durability");
                {
                    let mut table = txn.open_table(RAW).expect("the raw table");
                    for _ in 0..n {
                        next += 1;
                        table
                            .insert(key(next).as_bytes(), v.as_bytes())
                            .expect("inserted");
                    }
                }
                txn.commit().expect("committed");
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = ops;
    config = config();
    targets = get, put, conditional_put_and_delete, scan, batch
}
criterion_main!(ops);
