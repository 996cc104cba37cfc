use std::time::Duration;

use kv_core::{Batch, BatchOp, Condition, DeleteCondition, ErrorKind, ScanOptions};

use super::*;
use crate::TestContext;

/// After `close`, every operation fails with `Closed`; closing again is fine.
pub async fn closed_store_refuses_every_operation(ctx: &TestContext) {
    let store = ctx.open_another().await;
    let p = ctx.partition("p");
    put(&store, &p, b"k", b"v").await;
    store.close().await.unwrap();
    store.close().await.unwrap();
    let closed = ErrorKind::Closed;
    assert_kind(store.get(&p, &key("k")).await, closed);
    assert_kind(
        store
            .put(&p, &key("k"), &value("v"), &Condition::None)
            .await,
        closed,
    );
    assert_kind(
        store.delete(&p, &key("k"), &DeleteCondition::None).await,
        closed,
    );
    assert_kind(
        kv_core::scan_page(&*store, &p, &ScanOptions::new()).await,
        closed,
    );
    assert_kind(scan_all(&store, &p, ScanOptions::new()).await, closed);
    let batch = Batch::new(vec![BatchOp::Delete {
        key: key("k"),
        condition: DeleteCondition::None,
    }])
    .unwrap();
    assert_kind(store.batch(&p, &batch).await, closed);
    assert_kind(store.delete_partition(&p).await, closed);
    assert_kind(store.export_page(None, 10).await, closed);
    assert_kind(store.ping().await, closed);
}

/// Dropping operations' futures mid-flight leaves the store usable; a cancelled write either
/// applied or did not, and the next read tells which.
pub async fn dropped_operation_leaves_the_store_usable(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    put(store, &p, b"k", b"old").await;
    for i in 0..20u64 {
        let new = value(format!("new{i}"));
        let k = key("k");
        let write = store.put(&p, &k, &new, &Condition::None);
        // Cancel after a varying short time: sometimes before the first poll completes,
        // sometimes in flight, sometimes after it finished.
        let _ = tokio::time::timeout(Duration::from_micros(i * 150), write).await;
        let scan = scan_all(store, &p, ScanOptions::new().with_page_size(1));
        let _ = tokio::time::timeout(Duration::from_micros(i * 100), scan).await;
    }
    let now = store
        .get(&p, &key("k"))
        .await
        .unwrap()
        .expect("the key is still there");
    let version = put(store, &p, b"k", b"final").await;
    assert_ne!(now.version, version);
    assert_eq!(
        store.get(&p, &key("k")).await.unwrap().unwrap().value,
        value("final")
    );
    store.ping().await.unwrap();
}
