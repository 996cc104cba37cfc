//! The suite catches what it claims: each deliberately broken store below makes the behaviour
//! aimed at its bug fail, while the reference store passes the same behaviour.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::FutureExt;
use kv_conformance::{Fixture, TestContext, behaviours};
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Error, ExportPage, InMemoryStore, Key, KvStore,
    Partition, Result, ScanPage, ScanRequest, Value, Version, Versioned, Written, async_trait,
};

/// A fixture whose stores share one in-memory database and all have the same bug.
struct Broken(InMemoryStore, Bug);

#[async_trait]
impl Fixture for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(Buggy(self.0.clone(), self.1)))
    }
}

/// Runs `behaviour` on a store and says whether it panicked.
async fn fails<B, Fut>(fixture: Arc<dyn Fixture>, behaviour: B) -> bool
where
    B: FnOnce(Arc<TestContext>) -> Fut,
    Fut: Future<Output = ()>,
{
    let run = kv_conformance::run(Some(fixture), behaviour);
    std::panic::AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .is_err()
}

fn reference() -> Arc<dyn Fixture> {
    Arc::new(kv_conformance::MemoryFixture::default())
}

#[derive(Debug, Clone, Copy)]
enum Bug {
    /// Versions derived from the value's bytes, as a content hash would: identical writes get
    /// the same version (the ABA problem).
    ContentVersions,
    /// Scans ordered as space-padded strings (the mistake of padded key encodings):
    /// `abc\x1f` comes before `abc`.
    PaddedOrder,
    /// Batches applied one operation at a time, stopping at the first failure without undoing
    /// the earlier ones (the Cosmos emulator's own gap).
    NonAtomicBatch,
}

/// The reference store with one bug.
#[derive(Debug)]
struct Buggy(InMemoryStore, Bug);

fn content_version(value: &Value) -> Version {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    Version::new(format!("{:x}", h.finish())).unwrap()
}

fn padded(k: &Key) -> Vec<u8> {
    let mut b = k.as_bytes().to_vec();
    b.resize(16.max(b.len()), b' ');
    b
}

#[async_trait]
impl KvStore for Buggy {
    async fn get(&self, p: &Partition, k: &Key) -> Result<Option<Versioned>> {
        let got = self.0.get(p, k).await?;
        Ok(match self.1 {
            Bug::ContentVersions => got.map(|v| Versioned {
                version: content_version(&v.value),
                value: v.value,
            }),
            _ => got,
        })
    }

    async fn put(&self, p: &Partition, k: &Key, v: &Value, c: &Condition) -> Result<Written> {
        let Bug::ContentVersions = self.1 else {
            return self.0.put(p, k, v, c).await;
        };
        let c = match c {
            Condition::Version(want) => match self.0.get(p, k).await? {
                Some(cur) if &content_version(&cur.value) == want => {
                    Condition::Version(cur.version)
                }
                _ => return Err(Error::condition_failed()),
            },
            c => c.clone(),
        };
        let written = self.0.put(p, k, v, &c).await?;
        Ok(Written {
            version: content_version(v),
            ..written
        })
    }

    async fn delete(&self, p: &Partition, k: &Key, c: &DeleteCondition) -> Result<bool> {
        self.0.delete(p, k, c).await
    }

    async fn scan_page(&self, p: &Partition, r: &ScanRequest) -> Result<ScanPage> {
        let mut page = self.0.scan_page(p, r).await?;
        match self.1 {
            Bug::ContentVersions => {
                for e in &mut page.entries {
                    e.version = content_version(&e.value);
                }
            }
            Bug::PaddedOrder => {
                page.entries.sort_by_key(|e| padded(&e.key));
                if r.reverse() {
                    page.entries.reverse();
                }
            }
            Bug::NonAtomicBatch => {}
        }
        Ok(page)
    }

    async fn batch(&self, p: &Partition, b: &Batch) -> Result<Vec<Option<Version>>> {
        let Bug::NonAtomicBatch = self.1 else {
            return self.0.batch(p, b).await;
        };
        let mut versions = Vec::new();
        for (i, op) in b.ops().iter().enumerate() {
            let result = match op {
                BatchOp::Put {
                    key,
                    value,
                    condition,
                } => self
                    .0
                    .put(p, key, value, condition)
                    .await
                    .map(|w| Some(w.version)),
                BatchOp::Delete { key, condition } => {
                    self.0.delete(p, key, condition).await.map(|_| None)
                }
            };
            match result {
                Ok(v) => versions.push(v),
                Err(_) => return Err(Error::condition_failed_at(i)),
            }
        }
        Ok(versions)
    }

    async fn delete_partition(&self, p: &Partition) -> Result<()> {
        self.0.delete_partition(p).await
    }

    async fn export_page(&self, t: Option<&str>, n: usize) -> Result<ExportPage> {
        self.0.export_page(t, n).await
    }

    async fn ping(&self) -> Result<()> {
        self.0.ping().await
    }

    async fn close(&self) -> Result<()> {
        self.0.close().await
    }
}

macro_rules! caught {
    ($test:ident, $wrapper:ident, $behaviour:ident) => {
        #[tokio::test]
        async fn $test() {
            let broken: Arc<dyn Fixture> = Arc::new(Broken(InMemoryStore::new(), Bug::$wrapper));
            assert!(
                fails(
                    broken,
                    |ctx| async move { behaviours::$behaviour(&ctx).await }
                )
                .await,
                concat!(
                    stringify!($behaviour),
                    " must fail on ",
                    stringify!($wrapper)
                )
            );
            assert!(
                !fails(reference(), |ctx| async move {
                    behaviours::$behaviour(&ctx).await
                })
                .await,
                concat!(stringify!($behaviour), " must pass on the reference store")
            );
        }
    };
}

caught!(
    content_versions_fail_the_aba_check,
    ContentVersions,
    identical_writes_get_distinct_versions
);
caught!(
    content_versions_fail_the_model,
    ContentVersions,
    random_operations_match_a_btreemap_model
);
caught!(
    padded_order_fails_the_order_check,
    PaddedOrder,
    scan_returns_keys_in_unsigned_byte_order
);
caught!(
    padded_order_fails_the_model,
    PaddedOrder,
    random_operations_match_a_btreemap_model
);
caught!(
    non_atomic_batches_fail_the_atomicity_check,
    NonAtomicBatch,
    batch_is_all_or_nothing_when_an_operation_fails
);
caught!(
    non_atomic_batches_fail_the_model,
    NonAtomicBatch,
    random_operations_match_a_btreemap_model
);
