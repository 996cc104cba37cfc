//! `LocalStore`: metakv's embedded default store, one [redb](https://docs.rs/redb) file on local
//! disk. It needs nothing but itself, is crash-safe (every acknowledged write is fsynced) and
//! commits concurrent writers together so durability stays fast.
//!
//! # Contract
//!
//! `LocalStore` implements the whole `KvStore` contract (`docs/CONTRACT.md`) and passes the
//! conformance suite:
//!
//! - Layout: one table, row key `u16 partition length ‖ partition ‖ key`, row value
//!   `u64 version ‖ value`. The length prefix keeps partitions apart whatever their bytes, and
//!   redb orders byte keys as unsigned bytes, so scans come out in the contract's order.
//! - Versions are a counter persisted in the same transaction as the write: never reused, not
//!   after a delete and re-create, not after a restart.
//! - Every write is checked and applied inside the single writer's transaction, so conditions are
//!   atomic; a batch checks all its conditions before applying any operation.
//! - A write is acknowledged only after its transaction committed with `Durability::Immediate`
//!   (fsync). Writes that arrive during a commit are committed together in the next one
//!   (group commit), up to `group_commit_max_ops`.
//! - Reads and scans use redb's MVCC read transactions: they never wait for writes, and each page
//!   of a scan reads at most `page_size + 1` rows.
//! - One process at a time: a second one gets `Unavailable` naming the file and the holder's
//!   process id.
//!
//! # Example
//!
//! ```
//! use kv_core::{Condition, Key, KvStore, Partition, Value};
//! use kv_local::{LocalConfig, LocalStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kv_core::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! let store = LocalStore::open(LocalConfig::at(dir.path())).await?;
//! let p = Partition::try_from("leases")?;
//! let k = Key::try_from("job-1")?;
//! let version = store.put(&p, &k, &Value::try_from("worker-a")?, &Condition::Absent).await?.version;
//! assert_eq!(store.get(&p, &k).await?.unwrap().version, version);
//! store.close().await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod config;
mod encoding;
mod error;
mod lock;
mod store;
mod writer;

pub use config::LocalConfig;
pub use store::{DB_FILE, LocalStore};
