//! Multi-gets, keys-only scans and counts: the cheap reads metadata services make constantly.

use kv_core::{Batch, BatchOp, KeyList, ScanOptions, limits};
use rand::seq::SliceRandom;

use super::scan::{expected, fill, tricky_keys};
use super::*;
use crate::TestContext;

/// Writes `n` entries `key(i)` with values of `size` bytes in as few batches as the limits
/// allow, and returns the keys in order.
async fn fill_sized(
    store: &Arc<dyn KvStore>,
    p: &Partition,
    n: usize,
    size: usize,
) -> Vec<Vec<u8>> {
    let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("k{i:05}").into_bytes()).collect();
    for chunk in keys.chunks(limits::puts_per_batch(6, size)) {
        let ops = chunk
            .iter()
            .map(|k| BatchOp::Put {
                key: key(k),
                value: value(vec![k[k.len() - 1]; size]),
                condition: Condition::None,
            })
            .collect();
        store
            .batch(p, &Batch::new(ops).expect("a batch within limits"))
            .await
            .expect("the batch applies");
    }
    keys
}

/// A multi-get answers one item per key in the order asked, `None` for absent (never written,
/// deleted) keys, with the value and version a `get` returns, and only from its own partition:
/// tricky keys, an empty value, 100 keys at once, and values large enough that the answer is
/// over 16 MB (DynamoDB's and Cosmos DB's page limits, so a driver must follow up on what the
/// database leaves out).
pub async fn get_many_answers_in_the_order_asked_with_none_for_absent_keys(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let other = ctx.partition("q");
    let mut present = fill(store, &p, &tricky_keys()).await;
    put(store, &p, b"empty", b"").await;
    present.push(b"empty".to_vec());
    put(store, &p, b"gone", b"x").await;
    delete(store, &p, b"gone").await;
    for k in &present {
        put(store, &other, k, b"another partition").await;
    }
    put(store, &other, b"only-in-q", b"q").await;

    let mut asked: Vec<Vec<u8>> = present.clone();
    asked.extend([b"gone".to_vec(), b"only-in-q".to_vec(), b"never".to_vec()]);
    asked.shuffle(&mut rand::rng());
    for chunk in asked.chunks(limits::MAX_GET_KEYS).chain([&asked[..1]]) {
        let keys = KeyList::new(chunk.iter().map(key).collect()).unwrap();
        let got = store.get_many(&p, &keys).await.unwrap();
        assert_eq!(got.len(), chunk.len(), "one item per key asked");
        for (k, item) in chunk.iter().zip(&got) {
            assert_eq!(
                item,
                &store.get(&p, &key(k)).await.unwrap(),
                "multi-get of {k:?} differs from get"
            );
            assert_eq!(item.is_some(), present.contains(k), "presence of {k:?}");
            if let Some(v) = item {
                let want: &[u8] = if k == b"empty" { b"" } else { k };
                assert_eq!(v.value.as_bytes(), want, "value of {k:?}");
            }
        }
    }

    let big = ctx.partition("big");
    let size = 300_000;
    let mut keys = fill_sized(store, &big, 60, size).await;
    keys.shuffle(&mut rand::rng());
    let got = store
        .get_many(&big, &KeyList::new(keys.iter().map(key).collect()).unwrap())
        .await
        .unwrap();
    for (k, item) in keys.iter().zip(&got) {
        let item = item.as_ref().unwrap_or_else(|| panic!("{k:?} is present"));
        assert_eq!(item.value.len(), size);
        assert_eq!(item.value.as_bytes()[0], k[k.len() - 1], "value of {k:?}");
    }
}

/// A keys-only scan returns the same keys and versions as the full scan, in both directions,
/// with bounds and across pages, and every value empty.
pub async fn keys_only_scans_return_keys_and_versions_without_values(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let sorted = fill(store, &p, &tricky_keys()).await;
    for o in [
        ScanOptions::new(),
        ScanOptions::new().reversed(),
        ScanOptions::new().with_prefix("abc").with_page_size(7),
        ScanOptions::new()
            .with_after("a")
            .with_end("b")
            .reversed()
            .with_page_size(3),
        ScanOptions::new().with_limit(5).with_page_size(2),
    ] {
        let full = scan_all(store, &p, o.clone()).await.unwrap();
        assert_eq!(keys_of(&full), expected(&sorted, &o), "options {o:?}");
        let keys = scan_all(store, &p, o.clone().keys_only()).await.unwrap();
        assert_eq!(keys_of(&keys), keys_of(&full), "keys-only keys, {o:?}");
        for (k, f) in keys.iter().zip(&full) {
            assert_eq!(k.version, f.version, "version of {:?}", k.key);
            assert!(k.value.is_empty(), "keys-only scan returned a value");
        }
    }
}

/// A count is the number of entries the scan of the same bounds returns: the whole partition,
/// prefixes, start/after/end, empty ranges, a missing partition, and partitions larger than one
/// page of the database (1,100 entries, and 12 entries of 300 KB: 3.6 MB).
pub async fn count_is_the_length_of_the_scan_of_the_same_bounds(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let sorted = fill(store, &p, &tricky_keys()).await;
    put(store, &ctx.partition("p\x00"), b"abc", b"").await;
    for o in [
        ScanOptions::new(),
        ScanOptions::new().with_prefix("abc"),
        ScanOptions::new().with_prefix(b"\xff".to_vec()),
        ScanOptions::new().with_start("a").with_end("b"),
        ScanOptions::new().with_after("abc").with_prefix("abc"),
        ScanOptions::new().with_start("abc").with_end("abc"),
        ScanOptions::new().with_prefix("q"),
    ] {
        assert_eq!(
            kv_core::count(&**store, &p, &o).await.unwrap(),
            expected(&sorted, &o).len() as u64,
            "count of {o:?}"
        );
    }
    let missing = ctx.partition("never written");
    assert_eq!(
        kv_core::count(&**store, &missing, &ScanOptions::new())
            .await
            .unwrap(),
        0
    );
    assert_kind(
        kv_core::count(&**store, &p, &ScanOptions::new().with_limit(1)).await,
        ErrorKind::InvalidArgument,
    );

    let many = ctx.partition("many");
    fill_sized(store, &many, 1_100, 1).await;
    let all = ScanOptions::new();
    assert_eq!(kv_core::count(&**store, &many, &all).await.unwrap(), 1_100);
    let some = ScanOptions::new().with_start("k00100").with_end("k01050");
    assert_eq!(kv_core::count(&**store, &many, &some).await.unwrap(), 950);

    let big = ctx.partition("big");
    fill_sized(store, &big, 12, 300_000).await;
    assert_eq!(kv_core::count(&**store, &big, &all).await.unwrap(), 12);
}
