//! `metakv copy`: every entry of one store into another, resumable and verifiable.
//!
//! The source is read with its export, page by page. Each page is written to the target as
//! atomic batches of one partition (up to 100 entries and 1 MiB), several at a time; only when
//! the whole page is written does the checkpoint move past it (written to a temporary file and
//! renamed, so it is always whole). An interrupted copy resumes from the checkpoint and redoes
//! at most the page that was in flight. Writes are unconditional, so redoing is harmless; the
//! target's versions are its own.
//!
//! `--verify` reads both stores whole afterwards and compares, per partition, the number of
//! entries and the order-independent digest of the dump format ([`SetDigest`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use kv_core::{Batch, BatchOp, Condition, Error, ExportEntry, KvStore, KvStoreExt, Result};
use serde::{Deserialize, Serialize};

use crate::dump::{Batcher, SetDigest};

/// Where a copy stands: the source export's position after the last page fully written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The export page token to resume from (`None`: from the start).
    pub page_token: Option<String>,
    /// Entries written so far.
    pub entries: u64,
    /// Bytes of partitions, keys and values written so far.
    pub bytes: u64,
    /// The export is complete.
    pub done: bool,
}

impl Checkpoint {
    /// Reads `path`, or a fresh checkpoint when it does not exist.
    pub fn load(path: &Path) -> Result<Self> {
        regular_file(path)?;
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::config(
                    "--checkpoint",
                    format!("{} is not a checkpoint: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::backend(
                format!("copy: reading {}", path.display()),
                e,
            )),
        }
    }

    /// Writes it atomically: a temporary file beside `path`, synced, then renamed. `path`
    /// must be a regular file (or not exist yet): a rename would replace a device or a pipe.
    pub fn save(&self, path: &Path) -> Result<()> {
        regular_file(path)?;
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        let io = |e: std::io::Error| Error::backend(format!("copy: writing {}", path.display()), e);
        let bytes = serde_json::to_vec(self).map_err(|e| Error::backend("copy: checkpoint", e))?;
        {
            let file = std::fs::File::create(&partial).map_err(io)?;
            std::io::Write::write_all(&mut &file, &bytes).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&partial, path).map_err(io)
    }
}

/// Refuses a checkpoint path that exists and is not a regular file (a device, a pipe, a
/// directory): saving renames onto it, which would replace it.
fn regular_file(path: &Path) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(Error::config(
            "--checkpoint",
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(())
}

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Entries asked of the source per export page.
    pub page_size: usize,
    /// Batches written at once.
    pub concurrency: usize,
    /// Where the checkpoint is kept.
    pub checkpoint: PathBuf,
}

/// Splits a page into batches of one partition within the batch limits.
fn batches(mut entries: Vec<ExportEntry>) -> Vec<(kv_core::Partition, Vec<BatchOp>)> {
    // Drivers export in their own order: one run per partition gives the fewest batches.
    entries.sort_by(|a, b| a.partition.as_bytes().cmp(b.partition.as_bytes()));
    let mut batcher = Batcher::new();
    let mut out = Vec::new();
    for e in entries {
        let size = e.entry.key.as_bytes().len() + e.entry.value.len();
        let key = e.entry.key.as_bytes().to_vec();
        let op = BatchOp::Put {
            key: e.entry.key,
            value: e.entry.value,
            condition: Condition::None,
        };
        out.extend(batcher.push(&e.partition, &key, size, op));
    }
    out.extend(batcher.take());
    out
}

/// Copies `source` into `target` from the checkpoint on; returns the final checkpoint.
/// `progress` is called after every page.
pub async fn copy(
    source: Arc<dyn KvStore>,
    target: Arc<dyn KvStore>,
    options: &CopyOptions,
    mut progress: impl FnMut(&Checkpoint),
) -> Result<Checkpoint> {
    let mut checkpoint = Checkpoint::load(&options.checkpoint)?;
    while !checkpoint.done {
        let page = source
            .export_page(checkpoint.page_token.as_deref(), options.page_size)
            .await?;
        let bytes: u64 = page
            .entries
            .iter()
            .map(|e| {
                (e.partition.as_bytes().len() + e.entry.key.as_bytes().len() + e.entry.value.len())
                    as u64
            })
            .sum();
        let entries = page.entries.len() as u64;
        futures::stream::iter(batches(page.entries))
            .map(|(partition, ops)| {
                let target = Arc::clone(&target);
                async move {
                    target
                        .batch(&partition, &Batch::new(ops)?)
                        .await
                        .map(|_| ())
                }
            })
            .buffer_unordered(options.concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        checkpoint.entries += entries;
        checkpoint.bytes += bytes;
        checkpoint.done = page.next_page_token.is_none();
        checkpoint.page_token = page.next_page_token;
        checkpoint.save(&options.checkpoint)?;
        progress(&checkpoint);
    }
    Ok(checkpoint)
}

/// Per partition: the number of entries and their digest.
pub type Census = BTreeMap<Vec<u8>, (u64, SetDigest)>;

/// Reads a whole store into a [`Census`].
pub async fn census(store: Arc<dyn KvStore>) -> Result<Census> {
    let mut census = Census::new();
    let mut entries = store.export();
    while let Some(e) = entries.try_next().await? {
        let slot = census.entry(e.partition.as_bytes().to_vec()).or_default();
        slot.0 += 1;
        slot.1.add(
            e.partition.as_bytes(),
            e.entry.key.as_bytes(),
            e.entry.value.as_bytes(),
        );
    }
    Ok(census)
}

/// A line of the verification table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    /// The partition.
    pub partition: Vec<u8>,
    /// Entries in the source.
    pub source: u64,
    /// Entries in the target.
    pub target: u64,
    /// Same entries on both sides.
    pub same: bool,
}

/// Compares two censuses partition by partition (every partition of either side).
pub fn compare(source: &Census, target: &Census) -> Vec<Compared> {
    let empty = (0, SetDigest::default());
    let partitions: std::collections::BTreeSet<&Vec<u8>> =
        source.keys().chain(target.keys()).collect();
    partitions
        .into_iter()
        .map(|p| {
            let s = source.get(p).unwrap_or(&empty);
            let t = target.get(p).unwrap_or(&empty);
            Compared {
                partition: p.clone(),
                source: s.0,
                target: t.0,
                same: s == t,
            }
        })
        .collect()
}
