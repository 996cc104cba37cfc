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
    let keys = kv_core::KeyList::new(vec![key("k")]).unwrap();
    assert_kind(store.get_many(&p, &keys).await, closed);
    assert_kind(
        kv_core::count(&*store, &p, &ScanOptions::new()).await,
        closed,
    );
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

/// After the store is closed and the database opened again (as by a restarted process), every
/// entry is there with its value and version, a version from before is still honoured (and a
/// superseded one still refused), and no write after it reuses a version issued before it.
/// Backends that cannot be reopened (the in-memory store) have nothing to check.
pub async fn a_reopened_store_keeps_every_entry_and_never_reuses_a_version(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let mut issued = std::collections::HashSet::new();
    let mut current = std::collections::BTreeMap::new();
    for i in 0..12u32 {
        let k = format!("k{i:02}").into_bytes();
        let mut v = put(store, &p, &k, format!("first {i}").as_bytes()).await;
        issued.insert(v.clone());
        if i % 3 == 0 {
            v = put(store, &p, &k, format!("second {i}").as_bytes()).await;
            issued.insert(v.clone());
        }
        if i % 4 == 1 {
            delete(store, &p, &k).await;
            continue;
        }
        let value = if i % 3 == 0 { "second" } else { "first" };
        current.insert(k, (format!("{value} {i}").into_bytes(), v));
    }
    let Some(store) = ctx.reopen().await else {
        return;
    };
    let got: Vec<(Vec<u8>, Vec<u8>, Version)> = scan_all(&store, &p, ScanOptions::new())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.key.into_bytes(), e.value.into_bytes(), e.version))
        .collect();
    let want: Vec<(Vec<u8>, Vec<u8>, Version)> = current
        .iter()
        .map(|(k, (v, ver))| (k.clone(), v.clone(), ver.clone()))
        .collect();
    assert_eq!(
        got, want,
        "every entry, value and version survives the reopen"
    );
    // The version read before the reopen is still the key's version...
    let (k0, (_, v0)) = current.iter().next().unwrap();
    let after = store
        .put(
            &p,
            &key(k0),
            &value("after"),
            &Condition::Version(v0.clone()),
        )
        .await
        .expect("a version from before the reopen still matches");
    // ...and every version issued from now on is new.
    let mut fresh = vec![after.version];
    for i in 0..12u32 {
        let k = format!("k{i:02}").into_bytes();
        fresh.push(put(&store, &p, &k, b"after the reopen").await);
        fresh.push(put(&store, &p, format!("n{i:02}").as_bytes(), b"new").await);
    }
    for v in &fresh {
        assert!(
            !issued.contains(v),
            "version {v} was issued before the reopen and again after it"
        );
    }
    let superseded = store
        .put(
            &p,
            &key(k0),
            &value("stale"),
            &Condition::Version(v0.clone()),
        )
        .await
        .expect_err("the superseded version no longer matches");
    assert_eq!(superseded.kind(), kv_core::ErrorKind::ConditionFailed);
    // The context's own store is closed now: clean up with this one.
    store.delete_partition(&p).await.unwrap();
    let _ = store.close().await;
}
