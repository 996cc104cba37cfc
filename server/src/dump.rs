//! `metakv dump` and `metakv load`: a streaming, line-oriented dump of a store.
//!
//! # Format (version 1)
//!
//! UTF-8 text, one JSON object per line (zstd-compressed as a whole when the file name ends
//! in `.zst`):
//!
//! 1. a header: `{"metakv_dump":1,"source":"<backend>","created":"<HTTP date>"}`;
//! 2. one line per entry: `{"p":"<base64>","k":"<base64>","v":"<base64>"}` (partition, key and
//!    value, standard base64 with padding);
//! 3. a trailer: `{"end":true,"entries":<count>,"sha256":"<hex>"}`.
//!
//! The digest does not depend on the order of the entries (drivers export in their own order):
//! it is the sum, modulo 2^256, of the SHA-256 of each entry framed as
//! `len(p) p len(k) k len(v) v` with 4-byte big-endian lengths. Two stores with the same
//! entries give the same digest. Versions are not dumped: a load writes new ones.
//!
//! Memory stays bounded: both directions stream, one page or one batch at a time.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::TryStreamExt;
use kv_core::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS};
use kv_core::{
    Batch, BatchOp, Condition, Error, Key, KvStore, KvStoreExt, Partition, Result, ScanOptions,
    Value,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    metakv_dump: u32,
    source: String,
    created: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    p: String,
    k: String,
    v: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Trailer {
    end: bool,
    entries: u64,
    sha256: String,
}

/// The order-independent digest of a set of entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetDigest([u8; 32]);

impl SetDigest {
    /// Adds one entry.
    pub fn add(&mut self, partition: &[u8], key: &[u8], value: &[u8]) {
        let mut hash = Sha256::new();
        for part in [partition, key, value] {
            hash.update((part.len() as u32).to_be_bytes());
            hash.update(part);
        }
        let h = hash.finalize();
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let sum = self.0[i] as u16 + h[i] as u16 + carry;
            self.0[i] = sum as u8;
            carry = sum >> 8;
        }
    }

    /// Lower-case hex.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a dump or a verification counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries.
    pub entries: u64,
    /// Bytes of partitions, keys and values.
    pub bytes: u64,
    /// Their digest.
    pub digest: SetDigest,
}

impl Summary {
    fn add(&mut self, p: &[u8], k: &[u8], v: &[u8]) {
        self.entries += 1;
        self.bytes += (p.len() + k.len() + v.len()) as u64;
        self.digest.add(p, k, v);
    }
}

fn io(context: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Backend {
        message: format!("dump: {context}"),
        source: Some(Box::new(e)),
    }
}

fn json_line<T: Serialize>(out: &mut impl Write, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|e| Error::backend("dump: writing a line", e))?;
    out.write_all(b"\n").map_err(io("writing a line"))
}

/// Writes every entry of `partitions` (every partition when empty) of `store` to `out`;
/// `progress` sees the entries and bytes written so far after each entry.
pub async fn dump(
    store: Arc<dyn KvStore>,
    partitions: &[Partition],
    source: &str,
    out: &mut impl Write,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Summary> {
    json_line(
        out,
        &Header {
            metakv_dump: FORMAT_VERSION,
            source: source.into(),
            created: httpdate::fmt_http_date(std::time::SystemTime::now()),
        },
    )?;
    let mut summary = Summary::default();
    let mut write = |p: &[u8], k: &[u8], v: &[u8]| -> Result<()> {
        summary.add(p, k, v);
        progress(summary.entries, summary.bytes);
        json_line(
            out,
            &Line {
                p: STANDARD.encode(p),
                k: STANDARD.encode(k),
                v: STANDARD.encode(v),
            },
        )
    };
    if partitions.is_empty() {
        let mut entries = store.export();
        while let Some(e) = entries.try_next().await? {
            write(
                e.partition.as_bytes(),
                e.entry.key.as_bytes(),
                e.entry.value.as_bytes(),
            )?;
        }
    } else {
        for partition in partitions {
            let mut entries = store.scan(partition, ScanOptions::new());
            while let Some(e) = entries.try_next().await? {
                write(partition.as_bytes(), e.key.as_bytes(), e.value.as_bytes())?;
            }
        }
    }
    json_line(
        out,
        &Trailer {
            end: true,
            entries: summary.entries,
            sha256: summary.digest.hex(),
        },
    )?;
    out.flush().map_err(io("flushing the output"))?;
    Ok(summary)
}

/// Groups writes into batches of one partition within the batch limits (at most
/// `MAX_BATCH_OPS` operations and `MAX_BATCH_BYTES` of keys and values, each key once): the one
/// rule `load` and `copy` both split their writes by. A new partition starts a new batch.
pub(crate) struct Batcher<T> {
    partition: Option<Partition>,
    items: Vec<T>,
    keys: HashSet<Vec<u8>>,
    bytes: usize,
}

impl<T> Batcher<T> {
    pub(crate) fn new() -> Self {
        Self {
            partition: None,
            items: Vec::new(),
            keys: HashSet::new(),
            bytes: 0,
        }
    }

    /// Adds `item`, a write of `key` carrying `size` bytes of key and value in `partition`;
    /// returns the batch it closed, if it closed one.
    pub(crate) fn push(
        &mut self,
        partition: &Partition,
        key: &[u8],
        size: usize,
        item: T,
    ) -> Option<(Partition, Vec<T>)> {
        let full = self.items.len() == MAX_BATCH_OPS
            || self.bytes + size > MAX_BATCH_BYTES
            || self.partition.as_ref() != Some(partition)
            || self.keys.contains(key);
        let closed = if full { self.take() } else { None };
        if self.partition.is_none() {
            self.partition = Some(partition.clone());
        }
        self.keys.insert(key.to_vec());
        self.bytes += size;
        self.items.push(item);
        closed
    }

    /// The batch under way, if it holds anything.
    pub(crate) fn take(&mut self) -> Option<(Partition, Vec<T>)> {
        let partition = self.partition.take()?;
        self.keys.clear();
        self.bytes = 0;
        Some((partition, std::mem::take(&mut self.items)))
    }
}

/// What `load` does with an entry whose key exists in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// Stop with an error at the first existing key (entries before it are written).
    FailIfExists,
    /// Leave existing keys as they are; write the others.
    SkipExisting,
    /// Replace existing values.
    Overwrite,
}

/// What a load did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Entries read from the dump.
    pub read: u64,
    /// Entries written.
    pub written: u64,
    /// Entries skipped because their key existed (`skip-existing`).
    pub skipped: u64,
}

/// Reads a dump line by line: the header, then each entry, then checks the trailer against
/// what was read. `entry` sees every entry, in order; an error from it stops the read.
fn read_dump(
    input: impl BufRead,
    mut entry: impl FnMut(u64, Vec<u8>, Vec<u8>, Vec<u8>) -> Result<()>,
) -> Result<Summary> {
    let bad = |line: u64, what: String| Error::InvalidArgument {
        message: format!("dump: line {line}: {what}"),
        too_large: false,
    };
    let mut lines = input.lines();
    let header = lines
        .next()
        .ok_or_else(|| bad(1, "the file is empty".into()))?
        .map_err(io("reading the dump"))?;
    let header: Header = serde_json::from_str(&header)
        .map_err(|e| bad(1, format!("not a metakv dump header ({e})")))?;
    if header.metakv_dump != FORMAT_VERSION {
        return Err(bad(
            1,
            format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                header.metakv_dump
            ),
        ));
    }
    let mut summary = Summary::default();
    let mut number = 1u64;
    for line in lines {
        number += 1;
        let line = line.map_err(io("reading the dump"))?;
        if let Ok(trailer) = serde_json::from_str::<Trailer>(&line) {
            if trailer.entries != summary.entries || trailer.sha256 != summary.digest.hex() {
                return Err(bad(
                    number,
                    format!(
                        "the trailer says {} entries with digest {}, the file holds {} with digest {}: it was altered",
                        trailer.entries,
                        trailer.sha256,
                        summary.entries,
                        summary.digest.hex()
                    ),
                ));
            }
            return Ok(summary);
        }
        let parsed: Line =
            serde_json::from_str(&line).map_err(|e| bad(number, format!("not an entry ({e})")))?;
        let decode = |field: &str, text: &str| {
            STANDARD
                .decode(text)
                .map_err(|e| bad(number, format!("`{field}` is not base64 ({e})")))
        };
        let (p, k, v) = (
            decode("p", &parsed.p)?,
            decode("k", &parsed.k)?,
            decode("v", &parsed.v)?,
        );
        summary.add(&p, &k, &v);
        entry(number, p, k, v)?;
    }
    Err(bad(
        number,
        format!(
            "the file ends without a trailer after {} entries: it is truncated",
            summary.entries
        ),
    ))
}

/// Checks a whole dump (format, every entry's limits, the trailer) without writing anything;
/// `progress` sees the entries and bytes checked so far.
pub fn verify(input: impl BufRead, progress: &mut dyn FnMut(u64, u64)) -> Result<Summary> {
    let (mut entries, mut bytes) = (0u64, 0u64);
    read_dump(input, |line, p, k, v| {
        entries += 1;
        bytes += (p.len() + k.len() + v.len()) as u64;
        progress(entries, bytes);
        entry_types(line, p, k, v).map(|_| ())
    })
}

fn entry_types(line: u64, p: Vec<u8>, k: Vec<u8>, v: Vec<u8>) -> Result<(Partition, Key, Value)> {
    let at = |e: Error| Error::InvalidArgument {
        message: format!("dump: line {line}: {e}"),
        too_large: false,
    };
    Ok((
        Partition::new(p).map_err(at)?,
        Key::new(k).map_err(at)?,
        Value::new(v).map_err(at)?,
    ))
}

/// Writes every entry of a dump into `store` with `strategy`, in batches of one partition.
/// Entries are written as they are read: call [`verify`] first where the input can be read
/// twice, so that a damaged dump is refused before anything is written.
pub async fn load(
    store: Arc<dyn KvStore>,
    input: impl BufRead + Send + 'static,
    strategy: Strategy,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(Summary, LoadSummary)> {
    // The file is read on a blocking thread and handed over one batch at a time.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Partition, Vec<(u64, Key, Value)>)>(2);
    let reader = tokio::task::spawn_blocking(move || {
        let mut batcher = Batcher::new();
        let summary = read_dump(input, |line, p, k, v| {
            let (p, k, v) = entry_types(line, p, k, v)?;
            let (key, size) = (k.as_bytes().to_vec(), k.as_bytes().len() + v.len());
            if let Some(batch) = batcher.push(&p, &key, size, (line, k, v))
                && tx.blocking_send(batch).is_err()
            {
                return Err(Error::Closed);
            }
            Ok(())
        })?;
        if let Some(batch) = batcher.take() {
            let _ = tx.blocking_send(batch);
        }
        Ok::<_, Error>(summary)
    });
    let mut done = LoadSummary::default();
    let mut bytes = 0u64;
    while let Some((partition, entries)) = rx.recv().await {
        done.read += entries.len() as u64;
        bytes += entries
            .iter()
            .map(|(_, k, v)| (partition.as_bytes().len() + k.as_bytes().len() + v.len()) as u64)
            .sum::<u64>();
        write_batch(&store, &partition, entries, strategy, &mut done).await?;
        progress(done.read, bytes);
    }
    let summary = reader
        .await
        .map_err(|e| Error::backend("dump: the reader stopped", e))?
        .map_err(|e| match e {
            Error::InvalidArgument { message, .. } => Error::InvalidArgument {
                message: format!(
                    "{message} ({} entries were written before this was found)",
                    done.written
                ),
                too_large: false,
            },
            e => e,
        })?;
    Ok((summary, done))
}

async fn write_batch(
    store: &Arc<dyn KvStore>,
    partition: &Partition,
    mut entries: Vec<(u64, Key, Value)>,
    strategy: Strategy,
    done: &mut LoadSummary,
) -> Result<()> {
    let condition = match strategy {
        Strategy::Overwrite => Condition::None,
        Strategy::FailIfExists | Strategy::SkipExisting => Condition::Absent,
    };
    while !entries.is_empty() {
        let ops = entries
            .iter()
            .map(|(_, key, value)| BatchOp::Put {
                key: key.clone(),
                value: value.clone(),
                condition: condition.clone(),
            })
            .collect();
        match store.batch(partition, &Batch::new(ops)?).await {
            Ok(_) => {
                done.written += entries.len() as u64;
                return Ok(());
            }
            Err(Error::ConditionFailed {
                index: Some(index), ..
            }) if index < entries.len() => {
                let (line, key, _) = &entries[index];
                if strategy == Strategy::FailIfExists {
                    return Err(Error::ConditionFailed {
                        index: None,
                        source: Some(
                            format!(
                                "dump line {line}: key {key:?} exists in partition {partition:?} \
                                 (fail-if-exists); {} entries were written before it",
                                done.written
                            )
                            .into(),
                        ),
                    });
                }
                // skip-existing: leave that key alone, write the rest of the batch.
                entries.remove(index);
                done.skipped += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_close_at_each_limit_and_at_a_new_partition_or_a_repeated_key() {
        let (a, b) = (
            Partition::try_from("a").unwrap(),
            Partition::try_from("b").unwrap(),
        );
        let mut batcher = Batcher::new();
        let mut closed = Vec::new();
        for i in 0..250u32 {
            closed.extend(batcher.push(&a, &i.to_be_bytes(), 10, i));
        }
        // A new partition, then a key repeated inside one batch, then the byte limit.
        closed.extend(batcher.push(&b, b"k", 10, 1000));
        closed.extend(batcher.push(&b, b"k", 10, 1001));
        closed.extend(batcher.push(&b, b"big", MAX_BATCH_BYTES - 5, 1002));
        closed.extend(batcher.take());
        let sizes: Vec<_> = closed
            .iter()
            .map(|(p, items)| (p.clone(), items.len()))
            .collect();
        assert_eq!(
            sizes,
            [
                (a.clone(), 100),
                (a.clone(), 100),
                (a, 50),
                (b.clone(), 1),
                (b.clone(), 1),
                (b, 1)
            ]
        );
        assert!(batcher.take().is_none());
    }
}
