use std::collections::BTreeSet;

use futures::TryStreamExt;
use kv_core::{KvStoreExt, ScanOptions};

use super::*;
use crate::TestContext;

/// `delete_partition` removes every entry of one partition (more than a page's worth), leaves
/// other partitions alone, can be repeated, and the partition can be used again afterwards.
pub async fn delete_partition_empties_only_that_partition_and_is_idempotent(ctx: &TestContext) {
    let store = ctx.store();
    let doomed = ctx.partition("doomed");
    let kept = ctx.partition("doomed-not");
    for i in 0..250u32 {
        put(store, &doomed, &i.to_be_bytes(), b"x").await;
    }
    put(store, &kept, b"k", b"x").await;
    store.delete_partition(&doomed).await.unwrap();
    assert!(
        scan_all(store, &doomed, ScanOptions::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .get(&doomed, &key(0u32.to_be_bytes()))
            .await
            .unwrap()
            .is_none()
    );
    store.delete_partition(&doomed).await.unwrap();
    store
        .delete_partition(&ctx.partition("never-written"))
        .await
        .unwrap();
    assert_eq!(
        scan_all(store, &kept, ScanOptions::new())
            .await
            .unwrap()
            .len(),
        1
    );
    put(store, &doomed, b"again", b"y").await;
    assert_eq!(
        scan_all(store, &doomed, ScanOptions::new())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// `export` streams every entry of every partition exactly once, with values and versions
/// (entries of other test runs in the same database are ignored here).
pub async fn export_streams_every_entry_of_every_partition(ctx: &TestContext) {
    let store = ctx.store();
    let mut want = BTreeSet::new();
    for (s, n) in [(&b"a"[..], 3u8), (b"b\x00", 120), (b"c/\xff", 1)] {
        let p = ctx.partition(s);
        for i in 0..n {
            let k = [b'k', i];
            let version = put(store, &p, &k, &[i]).await;
            want.insert((
                p.as_bytes().to_vec(),
                k.to_vec(),
                vec![i],
                version.to_string(),
            ));
        }
    }
    let exported: Vec<_> = store.export().try_collect().await.unwrap();
    let mut got = BTreeSet::new();
    for item in exported {
        if !item.partition.as_bytes().starts_with(ctx.run_prefix()) {
            continue;
        }
        let row = (
            item.partition.as_bytes().to_vec(),
            item.entry.key.as_bytes().to_vec(),
            item.entry.value.as_bytes().to_vec(),
            item.entry.version.to_string(),
        );
        assert!(got.insert(row.clone()), "exported twice: {row:?}");
    }
    assert_eq!(got, want);
}
