//! The core of metakv: the [`KvStore`] trait every driver implements, its validated types, the
//! one [`Error`] type, the limits, the pagination helper, the reference [`InMemoryStore`] and
//! the [`Instrumented`] decorator. No database client lives here.
//!
//! # Contract
//!
//! Every driver has exactly these semantics (the full text is `docs/CONTRACT.md`; the
//! `kv-conformance` crate makes it executable):
//!
//! - A store holds **partitions** of **entries** `key -> (value, version)`. Partition names,
//!   keys and values are arbitrary bytes. Limits: partition 1..=512 bytes, key 1..=1024 bytes,
//!   value 0..=393,216 bytes, batch 1..=100 operations and 1 MiB of keys and values, each key
//!   once. They are checked when a [`Partition`], [`Key`], [`Value`] or [`Batch`] is built,
//!   before any I/O, with [`ErrorKind::InvalidArgument`].
//! - Every write gives the entry a new [`Version`] (1 to 64 visible ASCII characters without
//!   `"`), never reused for the same key, also across delete and re-create. The version a write
//!   returns is the one a following read returns.
//! - [`Condition`]s on put: `None`, `Absent`, `Exists`, `Version(v)`; [`DeleteCondition`]s on
//!   delete: `None`, `Exists`, `Version(v)`. A condition that does not hold fails with
//!   `ConditionFailed` and changes nothing; `Version(v)` on a key deleted since is
//!   `ConditionFailed`, never "not found". Deleting an absent key unconditionally succeeds and
//!   reports that nothing was removed.
//! - Scans return one partition's entries in strictly increasing unsigned byte order of keys
//!   (`a` < `a\x00` < `ab`), or strictly decreasing with `reverse`, limited by `prefix`,
//!   `start` (inclusive) or `after` (exclusive), `end` (exclusive) and `limit`, fetched in
//!   pages of `page_size`; a page token resumes exactly after the last entry returned. A scan
//!   is not a snapshot, but keys come in strict order without duplicates, entries unchanged
//!   during the scan are returned exactly once, and every value returned was current at some
//!   moment. Partitions are fully isolated.
//! - [`KvStore::get_many`] answers 1 to 100 distinct keys ([`KeyList`]) in the order asked,
//!   `None` for absent ones; [`count`] counts the entries in a scan's bounds; a `keys_only`
//!   scan returns keys and versions with empty values.
//! - A [`Batch`] applies all its operations or none; a failed condition reports the index of
//!   the first failing operation.
//! - Single-key operations are linearizable; conditional writes are checked by the database.
//!   Of concurrent writers holding the same version at most one wins; of N concurrent
//!   `Absent` creates exactly one wins.
//! - `delete_partition` is idempotent and leaves the partition empty; `export` streams every
//!   entry of every partition.
//! - Errors have the kinds of [`ErrorKind`] and keep their source; after `close`, every
//!   operation fails with `Closed`. Dropping an operation's future leaves the store usable.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use futures::TryStreamExt;
//! use kv_core::{Condition, InMemoryStore, Key, KvStore, KvStoreExt, Partition, ScanOptions, Value};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kv_core::Result<()> {
//! let store: Arc<dyn KvStore> = Arc::new(InMemoryStore::new());
//! let branches = Partition::try_from("branches")?;
//! let main = Key::try_from("main")?;
//!
//! let v1 = store.put(&branches, &main, &Value::try_from("commit-1")?, &Condition::Absent).await?.version;
//! // Compare-and-swap: only succeeds if nobody wrote since we read v1.
//! store.put(&branches, &main, &Value::try_from("commit-2")?, &Condition::Version(v1)).await?;
//!
//! let all: Vec<_> = store.scan(&branches, ScanOptions::new()).try_collect().await?;
//! assert_eq!(all.len(), 1);
//! assert_eq!(all[0].value.as_bytes(), b"commit-2");
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod batch;
mod error;
mod finding;
mod instrument;
mod lifecycle;
pub mod limits;
mod memory;
mod pagination;
mod scan;
mod secret;
mod store;
mod types;

pub use batch::{Batch, BatchOp};
pub use error::{BoxError, Error, ErrorKind, Result, causes};
pub use finding::{Finding, Level};
pub use instrument::Instrumented;
pub use lifecycle::Lifecycle;
pub use memory::InMemoryStore;
pub use scan::{KeyRange, ScanOptions, ScanPage, ScanRequest, prefix_successor};
pub use secret::Secret;
pub use store::{ExportEntry, ExportPage, KvStore, KvStoreExt, count, export_token, scan_page};
pub use types::{
    Condition, DeleteCondition, Entry, Key, KeyList, Partition, Value, Version, Versioned, Written,
};

// Re-exported so drivers and callers name one version of these.
pub use async_trait::async_trait;
pub use futures::stream::BoxStream;
