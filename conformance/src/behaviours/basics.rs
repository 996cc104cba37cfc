use kv_core::{Condition, ErrorKind, ScanOptions};

use super::*;
use crate::TestContext;

/// Reading a key that was never written is `Ok(None)`, not an error.
pub async fn get_of_a_missing_key_is_none(ctx: &TestContext) {
    let p = ctx.partition("p");
    assert_eq!(ctx.store().get(&p, &key("missing")).await.unwrap(), None);
}

/// Partitions, keys and values with 0x00, 0xFF and invalid UTF-8 come back byte for byte.
pub async fn binary_data_round_trips(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition([0x00, 0xff, b'/', 0xc3, 0x28]);
    let cases: [&[u8]; 6] = [
        b"\x00",
        b"\xff",
        b"\x00\xff\x00",
        b"\xc3\x28",         // invalid UTF-8
        b"a/b\\c\"d'e%",     // separators and quoting
        b"\xf0\x9f\x92\x96", // valid 4-byte UTF-8
    ];
    for (i, k) in cases.iter().enumerate() {
        let v: Vec<u8> = [*k, &[i as u8, 0x00, 0xff]].concat();
        let version = put(store, &p, k, &v).await;
        let got = store.get(&p, &key(k)).await.unwrap().expect("written");
        assert_eq!(got.value.as_bytes(), v.as_slice());
        assert_eq!(got.version, version);
    }
    let all = scan_all(store, &p, ScanOptions::new()).await.unwrap();
    let mut expected: Vec<Vec<u8>> = cases.iter().map(|k| k.to_vec()).collect();
    expected.sort();
    assert_eq!(keys_of(&all), expected);
}

/// An empty value is stored and read as an empty value, distinct from absence.
pub async fn empty_value_is_a_real_value(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    store
        .put(&p, &key("k"), &value(b""), &Condition::Absent)
        .await
        .unwrap();
    let got = store
        .get(&p, &key("k"))
        .await
        .unwrap()
        .expect("an empty value is present");
    assert!(got.value.is_empty());
    assert_kind(
        store
            .put(&p, &key("k"), &value(b"x"), &Condition::Absent)
            .await,
        ErrorKind::ConditionFailed,
    );
    let all = scan_all(store, &p, ScanOptions::new()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].value.is_empty());
}

/// The version a write returns is the version the next get and scan return.
pub async fn written_version_equals_read_version(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    for round in 0..3u8 {
        let version = put(store, &p, b"k", &[round]).await;
        assert_eq!(
            store.get(&p, &key("k")).await.unwrap().unwrap().version,
            version
        );
        let scanned = scan_all(store, &p, ScanOptions::new()).await.unwrap();
        assert_eq!(scanned[0].version, version);
    }
    let version = store
        .put(&p, &key("c"), &value("x"), &Condition::Absent)
        .await
        .unwrap()
        .version;
    assert_eq!(
        store.get(&p, &key("c")).await.unwrap().unwrap().version,
        version
    );
}

/// Writing the same bytes twice gives two versions, and the first no longer matches (no ABA).
pub async fn identical_writes_get_distinct_versions(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let first = put(store, &p, b"k", b"same").await;
    let second = put(store, &p, b"k", b"same").await;
    assert_ne!(
        first, second,
        "rewriting identical bytes must give a new version"
    );
    assert_kind(
        store
            .put(&p, &key("k"), &value("same"), &Condition::Version(first))
            .await,
        ErrorKind::ConditionFailed,
    );
    store
        .put(&p, &key("k"), &value("same"), &Condition::Version(second))
        .await
        .unwrap();
}

/// Deleting and re-creating a key gives a new version; the old one never matches again.
pub async fn recreated_key_gets_a_new_version(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let version = store
            .put(&p, &key("k"), &value("v"), &Condition::Absent)
            .await
            .unwrap()
            .version;
        assert!(
            !seen.contains(&version),
            "version {version} was reused after re-creation"
        );
        seen.push(version);
        assert!(delete(store, &p, b"k").await);
    }
    put(store, &p, b"k", b"v").await;
    for old in seen {
        assert_kind(
            store
                .put(&p, &key("k"), &value("w"), &Condition::Version(old))
                .await,
            ErrorKind::ConditionFailed,
        );
    }
}

/// Unconditional delete says whether it removed an entry.
pub async fn delete_reports_whether_an_entry_was_removed(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    assert!(!delete(store, &p, b"k").await);
    put(store, &p, b"k", b"v").await;
    assert!(delete(store, &p, b"k").await);
    assert!(!delete(store, &p, b"k").await);
    assert_eq!(store.get(&p, &key("k")).await.unwrap(), None);
}
