use kv_core::{ErrorKind, ScanOptions, ScanPage};
use rand::seq::SliceRandom;

use super::*;
use crate::TestContext;

/// Keys that catch wrong orderings: prefix pairs, every trailing byte 0x00..=0x40 after `abc`
/// (padded encodings mis-order `abc` and `abc `), 0x00 and 0xFF runs, separators.
pub(crate) fn tricky_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = [
        &b"a"[..],
        b"a\x00",
        b"a\x00\x00",
        b"a\x01",
        b"ab",
        b"abc",
        b"abd",
        b"a0",
        b"a/b",
        b"a/b/c",
        b"\x00",
        b"\x00\x00",
        b"\x01",
        b"\x7f",
        b"\x80",
        b"\xfe",
        b"\xfe\xff",
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\xff",
        b"A",
        b"Z",
        b"z",
        b"~",
        b"/",
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    keys.extend((0x00..=0x40u8).map(|b| [b"abc".as_slice(), &[b]].concat()));
    keys
}

/// What a scan must return, computed directly from the options over a sorted key list.
pub(crate) fn expected(sorted: &[Vec<u8>], o: &ScanOptions) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = sorted
        .iter()
        .filter(|k| o.prefix.as_ref().is_none_or(|p| k.starts_with(p)))
        .filter(|k| o.start.as_ref().is_none_or(|s| *k >= s))
        .filter(|k| o.after.as_ref().is_none_or(|a| *k > a))
        .filter(|k| o.end.as_ref().is_none_or(|e| *k < e))
        .cloned()
        .collect();
    if o.reverse {
        out.reverse();
    }
    out.truncate(o.limit.unwrap_or(usize::MAX));
    out
}

/// Writes `keys` in random order (value = key) and returns them sorted.
pub(crate) async fn fill(
    store: &Arc<dyn KvStore>,
    p: &Partition,
    keys: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    let mut shuffled = keys.to_vec();
    shuffled.shuffle(&mut rand::rng());
    for k in &shuffled {
        put(store, p, k, k).await;
    }
    shuffled.sort();
    shuffled.dedup();
    shuffled
}

/// Pages through a scan by hand with tokens, checking each page's size.
async fn scan_by_pages(
    store: &Arc<dyn KvStore>,
    p: &Partition,
    options: &ScanOptions,
) -> Vec<Vec<u8>> {
    let mut options = options.clone();
    let page_size = options
        .page_size
        .unwrap_or(kv_core::limits::DEFAULT_PAGE_SIZE);
    let mut keys = Vec::new();
    for _ in 0..10_000 {
        let ScanPage {
            entries,
            next_page_token,
        } = kv_core::scan_page(&**store, p, &options).await.unwrap();
        assert!(
            entries.len() <= page_size,
            "a page holds at most page_size entries"
        );
        keys.extend(keys_of(&entries));
        match next_page_token {
            Some(token) => {
                assert!(!entries.is_empty(), "a page with a token is not empty");
                options.page_token = Some(token);
            }
            None => return keys,
        }
    }
    panic!("scan did not end after 10,000 pages");
}

/// A full scan returns keys in strictly increasing unsigned byte order (`a` < `a\x00` < `ab`,
/// `abc` < `abc\x00` < ... < `abc ` < ... < `abd`, 0xFF last), with values and versions.
pub async fn scan_returns_keys_in_unsigned_byte_order(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let sorted = fill(store, &p, &tricky_keys()).await;
    let all = scan_all(store, &p, ScanOptions::new()).await.unwrap();
    assert_eq!(keys_of(&all), sorted);
    for e in &all {
        assert_eq!(e.value.as_bytes(), e.key.as_bytes());
        assert_eq!(
            store.get(&p, &e.key).await.unwrap().unwrap().version,
            e.version
        );
    }
}

/// `reverse` returns the same keys in strictly decreasing order.
pub async fn scan_in_reverse_returns_decreasing_order(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let sorted = fill(store, &p, &tricky_keys()).await;
    let all = scan_all(store, &p, ScanOptions::new().reversed())
        .await
        .unwrap();
    let mut expected = sorted;
    expected.reverse();
    assert_eq!(keys_of(&all), expected);
}

/// `prefix` returns exactly the keys starting with it, in both directions, including prefixes
/// ending in 0x00 or 0xFF.
pub async fn scan_with_prefix_returns_only_matching_keys(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let sorted = fill(store, &p, &tricky_keys()).await;
    for prefix in [
        &b"a"[..],
        b"a\x00",
        b"ab",
        b"abc",
        b"abc ",
        b"\x00",
        b"\xff",
        b"\xff\xff",
        b"\xfe",
        b"a/",
        b"q",
    ] {
        for reverse in [false, true] {
            let mut o = ScanOptions::new().with_prefix(prefix);
            o.reverse = reverse;
            let got = keys_of(&scan_all(store, &p, o.clone()).await.unwrap());
            assert_eq!(
                got,
                expected(&sorted, &o),
                "prefix {prefix:?} reverse {reverse}"
            );
        }
    }
}

/// `start` is inclusive, `after` exclusive, `end` exclusive, alone and combined with each other
/// and with a prefix, in both directions.
pub async fn scan_bounds_are_start_inclusive_after_exclusive_end_exclusive(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let sorted = fill(store, &p, &tricky_keys()).await;
    let lowers: [Option<(bool, &[u8])>; 5] = [
        None,
        Some((true, b"abc")),
        Some((false, b"abc")),
        Some((true, b"a\x00")),
        Some((false, b"\xff")),
    ];
    let ends: [Option<&[u8]>; 4] = [None, Some(b"abc "), Some(b"ab"), Some(b"\xff\xff")];
    let prefixes: [Option<&[u8]>; 2] = [None, Some(b"abc")];
    for lower in lowers {
        for end in ends {
            for prefix in prefixes {
                for reverse in [false, true] {
                    let mut o = ScanOptions::new();
                    match lower {
                        Some((true, s)) => o.start = Some(s.to_vec()),
                        Some((false, a)) => o.after = Some(a.to_vec()),
                        None => {}
                    }
                    o.end = end.map(<[u8]>::to_vec);
                    o.prefix = prefix.map(<[u8]>::to_vec);
                    o.reverse = reverse;
                    let got = keys_of(&scan_all(store, &p, o.clone()).await.unwrap());
                    assert_eq!(got, expected(&sorted, &o), "options {o:?}");
                }
            }
        }
    }
}

/// `limit` caps the total number of entries across pages, and the last page has no token.
pub async fn scan_limit_caps_the_total_across_pages(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let keys: Vec<Vec<u8>> = (0..20u8).map(|i| vec![b'k', i]).collect();
    let sorted = fill(store, &p, &keys).await;
    for (limit, page_size) in [(1, 1), (5, 2), (5, 5), (5, 100), (19, 7), (20, 7), (25, 7)] {
        for reverse in [false, true] {
            let mut o = ScanOptions::new()
                .with_limit(limit)
                .with_page_size(page_size);
            o.reverse = reverse;
            let want = expected(&sorted, &o);
            assert_eq!(
                scan_by_pages(store, &p, &o).await,
                want,
                "limit {limit} page {page_size}"
            );
            assert_eq!(
                keys_of(&scan_all(store, &p, o.clone()).await.unwrap()),
                want
            );
        }
    }
}

/// Every combination of options that describes no key yields nothing, without error.
pub async fn scan_of_an_empty_range_yields_nothing(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    fill(store, &p, &tricky_keys()).await;
    for o in [
        ScanOptions::new().with_start("abc").with_end("abc"),
        ScanOptions::new().with_start("abd").with_end("abc"),
        ScanOptions::new().with_after("abc").with_end("abc\x00"),
        ScanOptions::new().with_after(b"\xff\xff\xff".to_vec()),
        ScanOptions::new().with_prefix("b").with_end("b"),
        ScanOptions::new().with_prefix("abc").with_start("abd"),
        ScanOptions::new().with_prefix("abc").with_end("abb"),
        ScanOptions::new().with_prefix("q"),
        ScanOptions::new().with_end(Vec::new()),
        ScanOptions::new().with_end("\x00"),
        ScanOptions::new().with_limit(0),
    ] {
        for reverse in [false, true] {
            let mut o = o.clone();
            o.reverse = reverse;
            let page = kv_core::scan_page(&**store, &p, &o).await.unwrap();
            assert!(
                page.entries.is_empty() && page.next_page_token.is_none(),
                "options {o:?}"
            );
            assert!(
                scan_all(store, &p, o.clone()).await.unwrap().is_empty(),
                "options {o:?}"
            );
        }
    }
}

/// A partition that was never written scans as empty.
pub async fn scan_of_a_missing_partition_yields_nothing(ctx: &TestContext) {
    let p = ctx.partition("never-written");
    assert!(
        scan_all(ctx.store(), &p, ScanOptions::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        scan_all(ctx.store(), &p, ScanOptions::new().reversed())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Concatenating pages of size 1, 2, 7, 100 and more than the entries equals one full scan,
/// in both directions and with bounds.
pub async fn scan_pages_concatenate_to_the_full_scan(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let keys: Vec<Vec<u8>> = tricky_keys()
        .into_iter()
        .filter(|k| k.len() <= 3 && k[0] != b'a' || k.starts_with(b"abc"))
        .take(40)
        .collect();
    let sorted = fill(store, &p, &keys).await;
    for page_size in [1, 2, 7, 100, sorted.len() + 1] {
        for base in [
            ScanOptions::new(),
            ScanOptions::new().with_prefix("abc"),
            ScanOptions::new()
                .with_after("\x01")
                .with_end(b"\xff\x00".to_vec()),
        ] {
            for reverse in [false, true] {
                let mut o = base.clone().with_page_size(page_size);
                o.reverse = reverse;
                let want = expected(&sorted, &o);
                assert_eq!(
                    scan_by_pages(store, &p, &o).await,
                    want,
                    "page size {page_size}, {o:?}"
                );
                assert_eq!(
                    keys_of(&scan_all(store, &p, o.clone()).await.unwrap()),
                    want
                );
            }
        }
    }
}

/// A page token resumes exactly after the last entry returned: keys written later before the
/// cursor are not returned, keys right after it are, deleted ones are gone.
pub async fn scan_resumes_exactly_after_the_page_token(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let keys: Vec<Vec<u8>> = (1..=9u8).map(|i| vec![b'k', b'0' + i]).collect();
    fill(store, &p, &keys).await;

    let first = kv_core::scan_page(&**store, &p, &ScanOptions::new().with_page_size(3))
        .await
        .unwrap();
    assert_eq!(
        keys_of(&first.entries),
        vec![b"k1".to_vec(), b"k2".to_vec(), b"k3".to_vec()]
    );
    put(store, &p, b"k2\x00", b"before the cursor").await;
    put(store, &p, b"k3\x00", b"right after the cursor").await;
    delete(store, &p, b"k4").await;
    let token = first.next_page_token.expect("more pages");
    let rest = scan_all(
        store,
        &p,
        ScanOptions::new().with_page_size(3).with_page_token(token),
    )
    .await
    .unwrap();
    assert_eq!(
        keys_of(&rest),
        [&b"k3\x00"[..], b"k5", b"k6", b"k7", b"k8", b"k9"]
            .map(<[u8]>::to_vec)
            .to_vec()
    );

    // The same in reverse: resume strictly below the last key returned.
    let first = kv_core::scan_page(
        &**store,
        &p,
        &ScanOptions::new().reversed().with_page_size(2),
    )
    .await
    .unwrap();
    assert_eq!(
        keys_of(&first.entries),
        vec![b"k9".to_vec(), b"k8".to_vec()]
    );
    put(store, &p, b"k8\x00", b"after the cursor in reverse").await;
    put(store, &p, b"k7\xff", b"right after the cursor in reverse").await;
    let token = first.next_page_token.expect("more pages");
    let rest = scan_all(
        store,
        &p,
        ScanOptions::new()
            .reversed()
            .with_page_size(2)
            .with_page_token(token),
    )
    .await
    .unwrap();
    assert_eq!(keys_of(&rest)[..2], [b"k7\xff".to_vec(), b"k7".to_vec()]);
}

/// A page token that was not made by a scan, is damaged, or comes from a scan in the other
/// direction is `InvalidArgument`.
pub async fn scan_rejects_a_malformed_page_token(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    fill(store, &p, &[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]).await;
    let page = kv_core::scan_page(&**store, &p, &ScanOptions::new().with_page_size(1))
        .await
        .unwrap();
    let token = page.next_page_token.expect("more pages");
    let mut damaged = token.clone();
    let last = damaged.pop().unwrap();
    damaged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in ["", "garbage", "AAAAAAAAAAAA", "!!!", damaged.as_str()] {
        let o = ScanOptions::new().with_page_token(bad);
        assert_kind(
            kv_core::scan_page(&**store, &p, &o).await,
            ErrorKind::InvalidArgument,
        );
    }
    let wrong_direction = ScanOptions::new().reversed().with_page_token(token);
    assert_kind(
        kv_core::scan_page(&**store, &p, &wrong_direction).await,
        ErrorKind::InvalidArgument,
    );
}

/// Partitions never see each other's entries, whatever their bytes: `m` and `ma`, byte
/// prefixes, 0x00 and `/` (partition `m` + key `/a` is not partition `m/` + key `a`).
pub async fn partitions_are_isolated(ctx: &TestContext) {
    let store = ctx.store();
    let suffixes: [&[u8]; 8] = [
        b"m", b"ma", b"m\x00", b"m\x00a", b"m/", b"m/a", b"\xff", b"m\xff",
    ];
    let keys: [&[u8]; 4] = [b"/a", b"a", b"\x00a", b"a/b"];
    for s in suffixes {
        let p = ctx.partition(s);
        for k in keys {
            put(store, &p, k, &[s, b"|", k].concat()).await;
        }
    }
    for s in suffixes {
        let p = ctx.partition(s);
        let all = scan_all(store, &p, ScanOptions::new()).await.unwrap();
        let mut want: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        want.sort();
        assert_eq!(keys_of(&all), want, "partition suffix {s:?}");
        for e in all {
            assert_eq!(
                e.value.as_bytes(),
                [s, b"|", e.key.as_bytes()].concat().as_slice()
            );
        }
    }
    // Deleting one partition leaves its byte-prefix relatives alone.
    store.delete_partition(&ctx.partition(b"m")).await.unwrap();
    assert!(
        store
            .get(&ctx.partition(b"m"), &key("a"))
            .await
            .unwrap()
            .is_none()
    );
    for s in &suffixes[1..] {
        assert!(
            store
                .get(&ctx.partition(s), &key("a"))
                .await
                .unwrap()
                .is_some(),
            "partition suffix {s:?}"
        );
    }
}

/// The page that uses up `limit` carries no page token, in both directions, whether or not
/// more entries follow it in the partition.
pub async fn the_page_that_reaches_the_limit_carries_no_token(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let keys: Vec<Vec<u8>> = (0..12u8).map(|i| vec![b'k', i]).collect();
    fill(store, &p, &keys).await;
    for (limit, page_size) in [(1, 1), (3, 3), (4, 2), (5, 3), (12, 4), (12, 12)] {
        for reverse in [false, true] {
            let mut o = ScanOptions::new()
                .with_limit(limit)
                .with_page_size(page_size);
            o.reverse = reverse;
            let mut seen = 0;
            for _ in 0..100 {
                let page = kv_core::scan_page(&**store, &p, &o).await.unwrap();
                seen += page.entries.len();
                match page.next_page_token {
                    Some(token) => {
                        assert!(
                            seen < limit,
                            "limit {limit} page {page_size} reverse {reverse}: the page that reached the limit has a token"
                        );
                        o.page_token = Some(token);
                    }
                    None => break,
                }
            }
            assert_eq!(
                seen, limit,
                "limit {limit} page {page_size} reverse {reverse}"
            );
        }
    }
}

/// Bounds of exactly the largest key size (1024 bytes) work for `start`, `after`, `end` and
/// `prefix`, in both directions.
pub async fn scan_bounds_of_the_largest_key_size_work(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let max = kv_core::limits::MAX_KEY_LEN;
    let long = |last: u8| {
        let mut k = vec![b'x'; max - 1];
        k.push(last);
        k
    };
    let keys = vec![
        long(b'a'),
        long(b'b'),
        long(b'c'),
        vec![b'x'; max - 1],
        vec![b'x'; max - 2],
        b"w".to_vec(),
        b"y".to_vec(),
    ];
    let sorted = fill(store, &p, &keys).await;
    let bound = long(b'b');
    for reverse in [false, true] {
        for o in [
            ScanOptions::new().with_start(bound.clone()),
            ScanOptions::new().with_after(bound.clone()),
            ScanOptions::new().with_end(bound.clone()),
            ScanOptions::new().with_prefix(bound.clone()),
            ScanOptions::new()
                .with_after(long(b'a'))
                .with_end(long(b'c')),
            ScanOptions::new().with_prefix(vec![b'x'; max - 1]),
        ] {
            let o = ScanOptions { reverse, ..o };
            let want = expected(&sorted, &o);
            assert_eq!(
                keys_of(&scan_all(store, &p, o.clone()).await.unwrap()),
                want,
                "{o:?}"
            );
            assert_eq!(scan_by_pages(store, &p, &o.with_page_size(2)).await, want);
        }
    }
}

/// A page token resumes only the scan that returned it: with another partition, other bounds
/// or the other direction it is refused with `InvalidArgument` (it would otherwise resume
/// after its key somewhere it was never read).
pub async fn a_page_token_resumes_only_its_own_scan(ctx: &TestContext) {
    let store = ctx.store();
    let (a, b) = (ctx.partition("a"), ctx.partition("b"));
    let keys: Vec<Vec<u8>> = (0..6u8).map(|i| vec![b'k', i]).collect();
    fill(store, &a, &keys).await;
    fill(store, &b, &keys).await;
    let options = ScanOptions::new().with_prefix("k").with_page_size(2);
    let first = kv_core::scan_page(&**store, &a, &options).await.unwrap();
    let token = first.next_page_token.expect("more pages");
    let resumed = kv_core::scan_page(&**store, &a, &options.clone().with_page_token(&token))
        .await
        .unwrap();
    assert_eq!(keys_of(&resumed.entries), [vec![b'k', 2], vec![b'k', 3]]);
    for (p, o, what) in [
        (&b, options.clone(), "another partition"),
        (&a, ScanOptions::new().with_page_size(2), "other bounds"),
        (&a, options.clone().with_end(vec![b'k', 4]), "another end"),
        (&a, options.clone().reversed(), "the other direction"),
    ] {
        let err = kv_core::scan_page(&**store, p, &o.with_page_token(&token))
            .await
            .expect_err(what);
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}: {err:?}");
    }
}
