//! The behaviours of the contract, one `pub async fn` each.

use futures::TryStreamExt;
use kv_core::{
    Condition, DeleteCondition, Entry, ErrorKind, Key, KvStore, KvStoreExt, Partition, Result,
    ScanOptions, Value, Version,
};
use std::sync::Arc;

mod admin;
mod basics;
mod batch;
mod concurrency;
mod conditions;
mod lifecycle;
mod limits;
mod model;
mod reads;
mod scan;

pub use admin::*;
pub use basics::*;
pub use batch::*;
pub use concurrency::*;
pub use conditions::*;
pub use lifecycle::*;
pub use limits::*;
pub use model::*;
pub use reads::*;
pub use scan::*;

/// A key from bytes that are known to be valid.
pub(crate) fn key(bytes: impl AsRef<[u8]>) -> Key {
    Key::new(bytes.as_ref()).expect("test key within limits")
}

/// A value from bytes that are known to be valid.
pub(crate) fn value(bytes: impl AsRef<[u8]>) -> Value {
    Value::new(bytes.as_ref()).expect("test value within limits")
}

/// Unconditional put that must succeed.
pub(crate) async fn put(store: &Arc<dyn KvStore>, p: &Partition, k: &[u8], v: &[u8]) -> Version {
    store
        .put(p, &key(k), &value(v), &Condition::None)
        .await
        .expect("unconditional put succeeds")
        .version
}

/// Unconditional delete that must succeed.
pub(crate) async fn delete(store: &Arc<dyn KvStore>, p: &Partition, k: &[u8]) -> bool {
    store
        .delete(p, &key(k), &DeleteCondition::None)
        .await
        .expect("unconditional delete succeeds")
}

/// The whole scan as a vector.
pub(crate) async fn scan_all(
    store: &Arc<dyn KvStore>,
    p: &Partition,
    options: ScanOptions,
) -> Result<Vec<Entry>> {
    store.scan(p, options).try_collect().await
}

/// Keys of entries, as raw bytes.
pub(crate) fn keys_of(entries: &[Entry]) -> Vec<Vec<u8>> {
    entries.iter().map(|e| e.key.as_bytes().to_vec()).collect()
}

/// Asserts that `result` is an error of `kind`.
#[track_caller]
pub(crate) fn assert_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind) {
    match result {
        Err(e) => assert_eq!(e.kind(), kind, "expected {kind}, got error {e:?}"),
        Ok(v) => panic!("expected {kind}, got Ok({v:?})"),
    }
}
