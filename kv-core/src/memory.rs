//! `InMemoryStore`: the reference implementation of the contract, for tests.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::store::export_token;
use crate::{
    Batch, BatchOp, Condition, DeleteCondition, Entry, Error, ExportEntry, ExportPage, Key,
    KeyList, KeyRange, KvStore, Lifecycle, Partition, Result, ScanPage, ScanRequest, Value,
    Version, Versioned, Written,
};

type Partitions = BTreeMap<Partition, BTreeMap<Key, Versioned>>;

/// A store held in memory. Clones share the same data (like two clients of one database);
/// nothing survives the last clone. Writes are atomic under one lock; versions come from a
/// counter, so they are never reused.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    data: RwLock<Partitions>,
    next_version: AtomicU64,
    lifecycle: Lifecycle,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, Partitions>> {
        self.inner.lifecycle.check()?;
        // A panic while holding the lock cannot leave a half-applied write (every write
        // computes first and mutates last), so a poisoned lock is still consistent.
        Ok(self.inner.data.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, Partitions>> {
        self.inner.lifecycle.check()?;
        Ok(self.inner.data.write().unwrap_or_else(|e| e.into_inner()))
    }

    fn new_version(&self) -> Version {
        let n = self.inner.next_version.fetch_add(1, Ordering::Relaxed) + 1;
        Version::new(format!("m{n:x}")).expect("hex is a valid version")
    }
}

fn current<'a>(data: &'a Partitions, partition: &Partition, key: &Key) -> Option<&'a Version> {
    data.get(partition)?.get(key).map(|v| &v.version)
}

fn remove(data: &mut Partitions, partition: &Partition, key: &Key) -> bool {
    let Some(entries) = data.get_mut(partition) else {
        return false;
    };
    let removed = entries.remove(key).is_some();
    if entries.is_empty() {
        data.remove(partition);
    }
    removed
}

#[async_trait]
impl KvStore for InMemoryStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        Ok(self
            .read()?
            .get(partition)
            .and_then(|p| p.get(key))
            .cloned())
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        let mut data = self.write()?;
        if !condition.holds(current(&data, partition, key)) {
            return Err(Error::condition_failed());
        }
        let version = self.new_version();
        let previous = data.entry(partition.clone()).or_default().insert(
            key.clone(),
            Versioned {
                value: value.clone(),
                version: version.clone(),
            },
        );
        Ok(Written {
            version,
            created: previous.is_none(),
        })
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        let mut data = self.write()?;
        if !condition.holds(current(&data, partition, key)) {
            return Err(Error::condition_failed());
        }
        Ok(remove(&mut data, partition, key))
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        let data = self.read()?;
        if request.is_empty() {
            return Ok(request.empty_page());
        }
        let Some(entries) = data.get(partition) else {
            return Ok(request.empty_page());
        };
        let range = entries.range::<[u8], _>(request.range().as_slices());
        let to_entry = |(key, v): (&Key, &Versioned)| Entry {
            key: key.clone(),
            value: if request.keys_only() {
                Value::default()
            } else {
                v.value.clone()
            },
            version: v.version.clone(),
        };
        // One more than the page holds tells whether another page follows.
        let mut page: Vec<Entry> = if request.reverse() {
            range
                .rev()
                .take(request.page_limit() + 1)
                .map(to_entry)
                .collect()
        } else {
            range.take(request.page_limit() + 1).map(to_entry).collect()
        };
        let more = page.len() > request.page_limit();
        page.truncate(request.page_limit());
        request.page(page, more)
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        let data = self.read()?;
        let entries = data.get(partition);
        Ok(keys
            .keys()
            .iter()
            .map(|key| entries.and_then(|p| p.get(key)).cloned())
            .collect())
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let data = self.read()?;
        Ok(data.get(partition).map_or(0, |entries| {
            entries.range::<[u8], _>(range.as_slices()).count() as u64
        }))
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        let mut data = self.write()?;
        for (index, op) in batch.ops().iter().enumerate() {
            let now = current(&data, partition, op.key());
            let holds = match op {
                BatchOp::Put { condition, .. } => condition.holds(now),
                BatchOp::Delete { condition, .. } => condition.holds(now),
            };
            if !holds {
                return Err(Error::condition_failed_at(index));
            }
        }
        let mut versions = Vec::with_capacity(batch.len());
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value, .. } => {
                    let version = self.new_version();
                    data.entry(partition.clone()).or_default().insert(
                        key.clone(),
                        Versioned {
                            value: value.clone(),
                            version: version.clone(),
                        },
                    );
                    versions.push(Some(version));
                }
                BatchOp::Delete { key, .. } => {
                    remove(&mut data, partition, key);
                    versions.push(None);
                }
            }
        }
        Ok(versions)
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        self.write()?.remove(partition);
        Ok(())
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        let data = self.read()?;
        let resume = page_token.map(export_token::decode).transpose()?;
        let page_size = page_size.max(1);
        let mut entries = Vec::with_capacity(page_size);
        let lower = match &resume {
            Some((p, _)) => Bound::Included(p.clone()),
            None => Bound::Unbounded,
        };
        'outer: for (partition, keys) in data.range((lower, Bound::Unbounded)) {
            let key_lower = match &resume {
                Some((p, k)) if p == partition => Bound::Excluded(k.clone()),
                _ => Bound::Unbounded,
            };
            for (key, v) in keys.range((key_lower, Bound::Unbounded)) {
                if entries.len() == page_size {
                    break 'outer;
                }
                entries.push(ExportEntry {
                    partition: partition.clone(),
                    entry: Entry {
                        key: key.clone(),
                        value: v.value.clone(),
                        version: v.version.clone(),
                    },
                });
            }
        }
        Ok(ExportPage::keyset(entries, page_size))
    }

    async fn ping(&self) -> Result<()> {
        self.inner.lifecycle.check()
    }

    async fn close(&self) -> Result<()> {
        self.inner.lifecycle.close();
        Ok(())
    }
}
