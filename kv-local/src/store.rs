//! `LocalStore`: the `KvStore` implementation over redb.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use kv_core::{
    Batch, Condition, DeleteCondition, Entry, Error, ExportEntry, ExportPage, Key, KeyList,
    KeyRange, KvStore, Lifecycle, Partition, Result, ScanPage, ScanRequest, Value, Version,
    Versioned, Written, export_token,
};
use redb::{Database, ReadableDatabase, TableDefinition};
use tokio::sync::{mpsc, oneshot};

use crate::LocalConfig;
use crate::encoding::{decode_value, row_key, row_range, split_row_key, version_token};
use crate::error::{map_redb, writer_gone};
use crate::lock::{self, DirLock};
use crate::writer::{self, Grouping, Reply, Request, WriteOp};

pub(crate) const ENTRIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("entries");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Scan pages of at most this many entries run on the calling task (see `scan_page`).
const INLINE_SCAN_ROWS: usize = 32;
/// The last version counter issued; persisted with every write so versions survive restarts.
pub(crate) const VERSION_COUNTER: &str = "version_counter";

/// The file name of the store inside its directory.
pub const DB_FILE: &str = "metakv.redb";
const WRITE_QUEUE: usize = 4096;

/// The embedded store: one redb file, every acknowledged write fsynced, concurrent writes
/// committed together. Clones share the same open file.
#[derive(Debug, Clone)]
pub struct LocalStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    lifecycle: Lifecycle,
    open: RwLock<Option<Open>>,
}

#[derive(Debug)]
struct Open {
    db: Arc<Database>,
    writes: mpsc::Sender<Request>,
    writer: std::thread::JoinHandle<()>,
    _lock: DirLock,
}

impl LocalStore {
    /// Opens (creating if needed) the store in `config.path`. Fails with `Unavailable`, naming
    /// the file and the process, when another process holds it.
    pub async fn open(config: LocalConfig) -> Result<Self> {
        config.validate()?;
        tokio::task::spawn_blocking(move || Self::open_blocking(config))
            .await
            .map_err(|e| Error::backend("opening the local store panicked", e))?
    }

    fn open_blocking(config: LocalConfig) -> Result<Self> {
        let dir = &config.path;
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::unavailable(format!("cannot create directory {}", dir.display()), e)
        })?;
        let file = dir.join(DB_FILE);
        let lock = lock::acquire(dir, &file)?;
        let db = Database::builder()
            .set_cache_size(config.cache_size_mib << 20)
            .create(&file)
            .map_err(|e| map_redb(&format!("opening {}", file.display()), e))?;
        // Create the tables once, so that readers never meet a missing table.
        let txn = db.begin_write().map_err(|e| map_redb("initialising", e))?;
        txn.open_table(ENTRIES)
            .map_err(|e| map_redb("initialising", e))?;
        txn.open_table(META)
            .map_err(|e| map_redb("initialising", e))?;
        txn.commit().map_err(|e| map_redb("initialising", e))?;

        let db = Arc::new(db);
        let (writes, requests) = mpsc::channel(WRITE_QUEUE);
        let grouping = Grouping {
            enabled: config.group_commit,
            max_ops: config.group_commit_max_ops,
            wait: config.group_wait(),
        };
        let writer_db = Arc::clone(&db);
        let writer = std::thread::Builder::new()
            .name("metakv-local-writer".into())
            .spawn(move || writer::run(writer_db, requests, grouping))
            .map_err(|e| Error::backend("cannot start the writer thread", e))?;
        tracing::info!(path = %file.display(), group_commit = config.group_commit, "local store open");
        Ok(Self {
            inner: Arc::new(Inner {
                path: file,
                lifecycle: Lifecycle::default(),
                open: RwLock::new(Some(Open {
                    db,
                    writes,
                    writer,
                    _lock: lock,
                })),
            }),
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn handles(&self) -> Result<(Arc<Database>, mpsc::Sender<Request>)> {
        self.inner.lifecycle.check()?;
        let open = self.inner.open.read().unwrap_or_else(|e| e.into_inner());
        let open = open.as_ref().ok_or(Error::Closed)?;
        Ok((Arc::clone(&open.db), open.writes.clone()))
    }

    async fn write(&self, op: WriteOp) -> Result<Reply> {
        let (_, writes) = self.handles()?;
        let (reply, answer) = oneshot::channel();
        writes
            .send(Request { op, reply })
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// Runs a point read on the calling task: one B-tree lookup in a fresh read transaction,
    /// which never waits for the writer and, once redb's page cache is warm, touches no disk.
    /// Handing it to the blocking pool cost 20 times the lookup itself (25 µs against 1.1 µs
    /// for 100-byte values, `cargo bench -p metakv-benches --bench ops -- get/`); a cold lookup
    /// blocks this worker for its few page reads instead.
    fn read_inline<T>(
        &self,
        doing: &'static str,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static [u8], &'static [u8]>) -> Result<T>,
    ) -> Result<T> {
        let (db, _) = self.handles()?;
        let txn = db.begin_read().map_err(|e| map_redb(doing, e))?;
        let table = txn.open_table(ENTRIES).map_err(|e| map_redb(doing, e))?;
        f(&table)
    }

    /// Runs a read against a fresh read transaction on the blocking pool (scans and exports
    /// read many pages, which block on file I/O). Read transactions never wait for the writer.
    async fn read<T, F>(&self, doing: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::ReadOnlyTable<&'static [u8], &'static [u8]>) -> Result<T> + Send + 'static,
    {
        let (db, _) = self.handles()?;
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(|e| map_redb(doing, e))?;
            let table = txn.open_table(ENTRIES).map_err(|e| map_redb(doing, e))?;
            f(&table)
        })
        .await
        .map_err(|e| Error::backend(format!("{doing} panicked"), e))?
    }
}

fn unexpected(reply: Reply) -> Error {
    Error::Backend {
        message: format!("local writer answered {reply:?}"),
        source: None,
    }
}

fn entry_of(key: Key, row_value: &[u8], keys_only: bool) -> Result<Entry> {
    let (version, value) = decode_value(row_value)?;
    Ok(Entry {
        key,
        value: if keys_only {
            Value::default()
        } else {
            Value::new(value)?
        },
        version: version_token(version),
    })
}

#[async_trait]
impl KvStore for LocalStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        let row = row_key(partition, key);
        self.read_inline("reading an entry", move |table| {
            let Some(found) = table
                .get(row.as_slice())
                .map_err(|e| map_redb("reading an entry", e))?
            else {
                return Ok(None);
            };
            let (version, value) = decode_value(found.value())?;
            Ok(Some(Versioned {
                value: Value::new(value)?,
                version: version_token(version),
            }))
        })
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        let op = WriteOp::Put {
            partition: partition.clone(),
            key: key.clone(),
            value: value.clone(),
            condition: condition.clone(),
        };
        match self.write(op).await? {
            Reply::Written(w) => Ok(w),
            other => Err(unexpected(other)),
        }
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        let op = WriteOp::Delete {
            partition: partition.clone(),
            key: key.clone(),
            condition: condition.clone(),
        };
        match self.write(op).await? {
            Reply::Removed(removed) => Ok(removed),
            other => Err(unexpected(other)),
        }
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        self.handles()?;
        if request.is_empty() {
            return Ok(request.empty_page());
        }
        let prefix_len = 2 + partition.as_bytes().len();
        let (lower, upper) = row_range(partition, request.range());
        let inline = request.page_limit() <= INLINE_SCAN_ROWS;
        let request = request.clone();
        let scan = move |table: &redb::ReadOnlyTable<&'static [u8], &'static [u8]>| {
            let bounds = (
                lower.as_ref().map(Vec::as_slice),
                upper.as_ref().map(Vec::as_slice),
            );
            let range = table
                .range::<&[u8]>(bounds)
                .map_err(|e| map_redb("scanning", e))?;
            let rows: Box<dyn Iterator<Item = _>> = if request.reverse() {
                Box::new(range.rev())
            } else {
                Box::new(range)
            };
            let limit = request.page_limit();
            let mut entries = Vec::with_capacity(limit.min(1024));
            let mut more = false;
            for row in rows {
                let (k, v) = row.map_err(|e| map_redb("scanning", e))?;
                if entries.len() == limit {
                    more = true;
                    break;
                }
                let key = Key::new(&k.value()[prefix_len..])?;
                entries.push(entry_of(key, v.value(), request.keys_only())?);
            }
            request.page(entries, more)
        };
        // A short page reads a few pages of the tree, like a get: on the calling task (the
        // hand-off to the blocking pool was 30 of the 35 µs of a 10-entry scan). Longer pages
        // may read many cold pages and go to the blocking pool.
        if inline {
            self.read_inline("scanning", scan)
        } else {
            self.read("scanning", scan).await
        }
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        let rows: Vec<Vec<u8>> = keys.keys().iter().map(|k| row_key(partition, k)).collect();
        // One read transaction: the answers are a snapshot. Few keys read like a get, on the
        // calling task; more go to the blocking pool like a long scan.
        let read = move |table: &redb::ReadOnlyTable<&'static [u8], &'static [u8]>| {
            rows.iter()
                .map(|row| {
                    let found = table
                        .get(row.as_slice())
                        .map_err(|e| map_redb("reading entries", e))?;
                    found
                        .map(|found| {
                            let (version, value) = decode_value(found.value())?;
                            Ok(Versioned {
                                value: Value::new(value)?,
                                version: version_token(version),
                            })
                        })
                        .transpose()
                })
                .collect()
        };
        if keys.len() <= INLINE_SCAN_ROWS {
            self.read_inline("reading entries", read)
        } else {
            self.read("reading entries", read).await
        }
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let (lower, upper) = row_range(partition, range);
        self.read("counting", move |table| {
            let bounds = (
                lower.as_ref().map(Vec::as_slice),
                upper.as_ref().map(Vec::as_slice),
            );
            let mut n = 0;
            for row in table
                .range::<&[u8]>(bounds)
                .map_err(|e| map_redb("counting", e))?
            {
                row.map_err(|e| map_redb("counting", e))?;
                n += 1;
            }
            Ok(n)
        })
        .await
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        let op = WriteOp::Batch {
            partition: partition.clone(),
            batch: batch.clone(),
        };
        match self.write(op).await? {
            Reply::Versions(versions) => Ok(versions),
            other => Err(unexpected(other)),
        }
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        match self
            .write(WriteOp::DeletePartition {
                partition: partition.clone(),
            })
            .await?
        {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        let resume = page_token.map(export_token::decode).transpose()?;
        let page_size = page_size.clamp(1, kv_core::limits::MAX_PAGE_SIZE);
        self.read("exporting", move |table| {
            let lower = resume.map(|(p, k)| row_key(&p, &k));
            let bounds = (
                lower
                    .as_deref()
                    .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
                std::ops::Bound::Unbounded,
            );
            let mut entries = Vec::with_capacity(page_size);
            for row in table
                .range::<&[u8]>(bounds)
                .map_err(|e| map_redb("exporting", e))?
            {
                let (k, v) = row.map_err(|e| map_redb("exporting", e))?;
                let (partition, key) = split_row_key(k.value())?;
                entries.push(ExportEntry {
                    partition,
                    entry: entry_of(key, v.value(), false)?,
                });
                if entries.len() == page_size {
                    break;
                }
            }
            Ok(ExportPage::keyset(entries, page_size))
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.read("checking the store", |_| Ok(())).await
    }

    async fn close(&self) -> Result<()> {
        self.inner.lifecycle.close();
        let open = self
            .inner
            .open
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(Open {
            db,
            writes,
            writer,
            _lock,
        }) = open
        {
            // Dropping the last sender stops the writer after the writes already queued.
            drop(writes);
            tokio::task::spawn_blocking(move || {
                let _ = writer.join();
                drop(db);
                drop(_lock);
            })
            .await
            .map_err(|e| Error::backend("closing the local store panicked", e))?;
        }
        Ok(())
    }
}
