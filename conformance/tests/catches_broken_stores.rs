//! The suite catches what it claims: each deliberately broken store below has one bug a real
//! driver could have, one per clause of the contract, and makes the behaviour aimed at that
//! clause fail (that behaviour by name, not merely some test), while the reference store
//! passes the same behaviour.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::{FutureExt, TryStreamExt};
use kv_conformance::{Fixture, TestContext, behaviours};
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Entry, Error, ExportPage, InMemoryStore, Key,
    KvStore, KvStoreExt, Partition, Result, ScanOptions, ScanPage, ScanRequest, Value, Version,
    Versioned, Written, async_trait,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// `Absent` is ignored: a create overwrites.
    AbsentOverwrites,
    /// `Exists` is ignored: an update of a missing key creates it.
    ExistsCreates,
    /// `Version` is checked as `Exists`: any version matches a present key.
    VersionMeansExists,
    /// A `Version` delete is checked as `Exists`.
    DeleteVersionMeansExists,
    /// `delete` reports an entry removed whether or not there was one.
    DeleteAlwaysRemoves,
    /// `created` is always `true`.
    AlwaysCreated,
    /// An empty value reads as an absent key.
    EmptyIsAbsent,
    /// The exclusive `end` bound is included (forward scans).
    EndInclusive,
    /// A page token resumes after the entry before the page's last one.
    TokenOneBehind,
    /// The page that uses up `limit` still carries a token (and the limit is forgotten).
    TokenOnTheLimitPage,
    /// Every partition is one and the same.
    OnePartition,
    /// A `Version` condition finds its entry by key and version only, in any partition (the
    /// conditional `WHERE` that forgets the partition).
    VersionAcrossPartitions,
    /// The export leaves out the last entry.
    ExportDropsOne,
    /// A `Version` put reads, checks and writes without atomicity (lost updates).
    RacyVersionPut,
    /// A failed batch names the last failing operation instead of the first.
    LastFailingIndex,
    /// Versions come from a counter kept in memory, which restarts when the store is opened
    /// again.
    VolatileVersions,
}

/// A fixture whose stores share one in-memory database and all have the same bug.
struct Broken {
    db: InMemoryStore,
    bug: Bug,
    /// [`Bug::VolatileVersions`]: each version issued and the in-memory store's version it
    /// stands for (kept across reopens, as the database would keep it).
    versions: Arc<Mutex<HashMap<Version, Version>>>,
}

#[async_trait]
impl Fixture for Broken {
    fn name(&self) -> &str {
        "broken"
    }

    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(Buggy {
            db: self.db.clone(),
            bug: self.bug,
            counter: AtomicU64::new(0),
            versions: Arc::clone(&self.versions),
        }))
    }

    async fn reopen(&self, _: Arc<dyn KvStore>) -> Option<Result<Arc<dyn KvStore>>> {
        // Only the store with volatile versions can be reopened (its counter starts again);
        // the others are the reference in-memory store, which cannot.
        (self.bug == Bug::VolatileVersions).then(|| self.open().now_or_never().unwrap())
    }
}

/// The reference store with one bug.
#[derive(Debug)]
struct Buggy {
    db: InMemoryStore,
    bug: Bug,
    counter: AtomicU64,
    versions: Arc<Mutex<HashMap<Version, Version>>>,
}

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

fn the_partition() -> Partition {
    Partition::try_from("the-only-partition").unwrap()
}

impl Buggy {
    fn partition(&self, p: &Partition) -> Partition {
        if self.bug == Bug::OnePartition {
            the_partition()
        } else {
            p.clone()
        }
    }

    /// [`Bug::VolatileVersions`]: a version from the counter for the store's `inner` one.
    fn issue(&self, inner: Version) -> Version {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let v = Version::new(format!("c{n}")).unwrap();
        self.versions.lock().unwrap().insert(v.clone(), inner);
        v
    }

    /// The version callers see for the store's `inner` one.
    fn outer(&self, inner: &Version) -> Version {
        if self.bug != Bug::VolatileVersions {
            return inner.clone();
        }
        let versions = self.versions.lock().unwrap();
        versions
            .iter()
            .filter(|(_, i)| *i == inner)
            .map(|(o, _)| o.clone())
            .max_by_key(|o| o.as_str().len())
            .unwrap_or_else(|| inner.clone())
    }

    /// The store's version for a caller's `outer` one.
    fn inner(&self, outer: &Version) -> Version {
        if self.bug != Bug::VolatileVersions {
            return outer.clone();
        }
        self.versions
            .lock()
            .unwrap()
            .get(outer)
            .cloned()
            .unwrap_or_else(|| Version::new("never-issued").unwrap())
    }

    /// [`Bug::VersionAcrossPartitions`]: the partition holding `k` at version `v`, if any.
    async fn find(&self, k: &Key, v: &Version) -> Option<Partition> {
        let db: Arc<dyn KvStore> = Arc::new(self.db.clone());
        let all: Vec<_> = db.export().try_collect().await.ok()?;
        all.into_iter()
            .find(|e| e.entry.key == *k && e.entry.version == *v)
            .map(|e| e.partition)
    }
}

#[async_trait]
impl KvStore for Buggy {
    async fn get(&self, p: &Partition, k: &Key) -> Result<Option<Versioned>> {
        let got = self.db.get(&self.partition(p), k).await?;
        Ok(match self.bug {
            Bug::ContentVersions => got.map(|v| Versioned {
                version: content_version(&v.value),
                value: v.value,
            }),
            Bug::EmptyIsAbsent => got.filter(|v| !v.value.is_empty()),
            Bug::VolatileVersions => got.map(|v| Versioned {
                version: self.outer(&v.version),
                value: v.value,
            }),
            _ => got,
        })
    }

    async fn put(&self, p: &Partition, k: &Key, v: &Value, c: &Condition) -> Result<Written> {
        let p = &self.partition(p);
        match (self.bug, c) {
            (Bug::ContentVersions, _) => {
                let c = match c {
                    Condition::Version(want) => match self.db.get(p, k).await? {
                        Some(cur) if &content_version(&cur.value) == want => {
                            Condition::Version(cur.version)
                        }
                        _ => return Err(Error::condition_failed()),
                    },
                    c => c.clone(),
                };
                let written = self.db.put(p, k, v, &c).await?;
                Ok(Written {
                    version: content_version(v),
                    ..written
                })
            }
            (Bug::AbsentOverwrites, Condition::Absent) => {
                self.db.put(p, k, v, &Condition::None).await
            }
            (Bug::ExistsCreates, Condition::Exists) => self.db.put(p, k, v, &Condition::None).await,
            (Bug::VersionMeansExists, Condition::Version(_)) => {
                self.db.put(p, k, v, &Condition::Exists).await
            }
            (Bug::AlwaysCreated, _) => Ok(Written {
                created: true,
                ..self.db.put(p, k, v, c).await?
            }),
            (Bug::VersionAcrossPartitions, Condition::Version(want)) => {
                let here = self.db.get(p, k).await?;
                if here.is_some_and(|h| &h.version == want) {
                    return self.db.put(p, k, v, c).await;
                }
                match self.find(k, want).await {
                    Some(other) => self.db.put(&other, k, v, c).await,
                    None => Err(Error::condition_failed()),
                }
            }
            (Bug::RacyVersionPut, Condition::Version(want)) => {
                let current = self.db.get(p, k).await?;
                if current.is_none_or(|c| &c.version != want) {
                    return Err(Error::condition_failed());
                }
                tokio::task::yield_now().await;
                self.db.put(p, k, v, &Condition::None).await
            }
            (Bug::VolatileVersions, c) => {
                let c = match c {
                    Condition::Version(outer) => Condition::Version(self.inner(outer)),
                    c => c.clone(),
                };
                let written = self.db.put(p, k, v, &c).await?;
                Ok(Written {
                    version: self.issue(written.version),
                    ..written
                })
            }
            _ => self.db.put(p, k, v, c).await,
        }
    }

    async fn delete(&self, p: &Partition, k: &Key, c: &DeleteCondition) -> Result<bool> {
        let p = &self.partition(p);
        match (self.bug, c) {
            (Bug::DeleteVersionMeansExists, DeleteCondition::Version(_)) => {
                self.db.delete(p, k, &DeleteCondition::Exists).await
            }
            (Bug::DeleteAlwaysRemoves, _) => self.db.delete(p, k, c).await.map(|_| true),
            (Bug::VersionAcrossPartitions, DeleteCondition::Version(want)) => {
                let here = self.db.get(p, k).await?;
                if here.is_some_and(|h| &h.version == want) {
                    return self.db.delete(p, k, c).await;
                }
                match self.find(k, want).await {
                    Some(other) => self.db.delete(&other, k, c).await,
                    None => Err(Error::condition_failed()),
                }
            }
            (Bug::VolatileVersions, DeleteCondition::Version(outer)) => {
                self.db
                    .delete(p, k, &DeleteCondition::Version(self.inner(outer)))
                    .await
            }
            _ => self.db.delete(p, k, c).await,
        }
    }

    async fn scan_page(&self, p: &Partition, r: &ScanRequest) -> Result<ScanPage> {
        let p = &self.partition(p);
        let mut page = self.db.scan_page(p, r).await?;
        match self.bug {
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
            Bug::EmptyIsAbsent => page.entries.retain(|e| !e.value.is_empty()),
            Bug::EndInclusive => {
                if let (false, None, (_, Bound::Excluded(end))) =
                    (r.reverse(), &page.next_page_token, r.range().as_slices())
                    && let Some(found) = self.db.get(p, &Key::new(end)?).await?
                {
                    page.entries.push(Entry {
                        key: Key::new(end)?,
                        value: found.value,
                        version: found.version,
                    });
                }
            }
            Bug::TokenOneBehind => {
                let n = page.entries.len();
                if page.next_page_token.is_some() && n >= 2 {
                    page.next_page_token = r
                        .page(page.entries[..n - 1].to_vec(), true)?
                        .next_page_token;
                }
            }
            Bug::TokenOnTheLimitPage
                if page.next_page_token.is_none() && page.entries.len() == r.page_limit() =>
            {
                // The same scan without its limit (the behaviour scans a whole partition).
                let unlimited = ScanRequest::for_partition(
                    p.as_bytes(),
                    &ScanOptions {
                        reverse: r.reverse(),
                        ..ScanOptions::new().with_page_size(r.page_limit())
                    },
                )?;
                page.next_page_token = unlimited.page(page.entries.clone(), true)?.next_page_token;
            }
            Bug::VolatileVersions => {
                for e in &mut page.entries {
                    e.version = self.outer(&e.version);
                }
            }
            _ => {}
        }
        Ok(page)
    }

    async fn batch(&self, p: &Partition, b: &Batch) -> Result<Vec<Option<Version>>> {
        let p = &self.partition(p);
        match self.bug {
            Bug::NonAtomicBatch => {
                let mut versions = Vec::new();
                for (i, op) in b.ops().iter().enumerate() {
                    let result = match op {
                        BatchOp::Put {
                            key,
                            value,
                            condition,
                        } => self
                            .db
                            .put(p, key, value, condition)
                            .await
                            .map(|w| Some(w.version)),
                        BatchOp::Delete { key, condition } => {
                            self.db.delete(p, key, condition).await.map(|_| None)
                        }
                    };
                    match result {
                        Ok(v) => versions.push(v),
                        Err(_) => return Err(Error::condition_failed_at(i)),
                    }
                }
                Ok(versions)
            }
            Bug::LastFailingIndex => {
                let mut last = None;
                for (i, op) in b.ops().iter().enumerate() {
                    let key = match op {
                        BatchOp::Put { key, .. } | BatchOp::Delete { key, .. } => key,
                    };
                    let current = self.db.get(p, key).await?.map(|c| c.version);
                    let holds = match op {
                        BatchOp::Put { condition, .. } => condition.holds(current.as_ref()),
                        BatchOp::Delete { condition, .. } => condition.holds(current.as_ref()),
                    };
                    if !holds {
                        last = Some(i);
                    }
                }
                match last {
                    Some(i) => Err(Error::condition_failed_at(i)),
                    None => self.db.batch(p, b).await,
                }
            }
            _ => self.db.batch(p, b).await,
        }
    }

    async fn delete_partition(&self, p: &Partition) -> Result<()> {
        self.db.delete_partition(&self.partition(p)).await
    }

    async fn export_page(&self, t: Option<&str>, n: usize) -> Result<ExportPage> {
        let mut page = self.db.export_page(t, n).await?;
        if self.bug == Bug::ExportDropsOne && page.next_page_token.is_none() {
            page.entries.pop();
        }
        Ok(page)
    }

    async fn ping(&self) -> Result<()> {
        self.db.ping().await
    }

    async fn close(&self) -> Result<()> {
        self.db.close().await
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

fn broken(bug: Bug) -> Arc<dyn Fixture> {
    Arc::new(Broken {
        db: InMemoryStore::new(),
        bug,
        versions: Arc::default(),
    })
}

fn reference() -> Arc<dyn Fixture> {
    Arc::new(kv_conformance::MemoryFixture::default())
}

macro_rules! caught {
    ($test:ident, $bug:ident, $behaviour:ident) => {
        #[tokio::test]
        async fn $test() {
            assert!(
                fails(broken(Bug::$bug), |ctx| async move {
                    behaviours::$behaviour(&ctx).await
                })
                .await,
                concat!(stringify!($behaviour), " must fail on ", stringify!($bug))
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
caught!(
    absent_overwriting_fails_its_cell,
    AbsentOverwrites,
    put_absent_fails_on_a_present_key
);
caught!(
    absent_overwriting_fails_the_model,
    AbsentOverwrites,
    random_operations_match_a_btreemap_model
);
caught!(
    exists_creating_fails_its_cell,
    ExistsCreates,
    put_exists_fails_on_an_absent_key
);
caught!(
    version_as_exists_fails_the_stale_version_check,
    VersionMeansExists,
    put_version_fails_on_a_stale_version
);
caught!(
    delete_version_as_exists_fails_its_cell,
    DeleteVersionMeansExists,
    delete_version_fails_on_a_recreated_key
);
caught!(
    delete_always_removing_fails_the_delete_result_check,
    DeleteAlwaysRemoves,
    delete_reports_whether_an_entry_was_removed
);
caught!(
    always_created_fails_the_overwrite_cell,
    AlwaysCreated,
    put_none_overwrites_a_present_key
);
caught!(
    empty_as_absent_fails_the_empty_value_check,
    EmptyIsAbsent,
    empty_value_is_a_real_value
);
caught!(
    empty_as_absent_fails_the_model,
    EmptyIsAbsent,
    random_operations_match_a_btreemap_model
);
caught!(
    an_inclusive_end_fails_the_bounds_check,
    EndInclusive,
    scan_bounds_are_start_inclusive_after_exclusive_end_exclusive
);
caught!(
    a_token_one_behind_fails_the_resume_check,
    TokenOneBehind,
    scan_resumes_exactly_after_the_page_token
);
caught!(
    a_token_on_the_limit_page_fails_its_check,
    TokenOnTheLimitPage,
    the_page_that_reaches_the_limit_carries_no_token
);
caught!(
    one_partition_fails_the_isolation_check,
    OnePartition,
    partitions_are_isolated
);
caught!(
    versions_across_partitions_fail_their_check,
    VersionAcrossPartitions,
    versions_from_another_partition_never_match
);
caught!(
    a_short_export_fails_the_export_check,
    ExportDropsOne,
    export_streams_every_entry_of_every_partition
);
caught!(
    racy_version_puts_lose_updates,
    RacyVersionPut,
    concurrent_version_increments_lose_no_update
);
caught!(
    the_last_failing_index_fails_the_first_index_check,
    LastFailingIndex,
    batch_names_the_first_failing_operation
);
caught!(
    volatile_versions_fail_the_reopen_check,
    VolatileVersions,
    a_reopened_store_keeps_every_entry_and_never_reuses_a_version
);
