//! The on-disk layout: one redb table whose keys are `u16 partition length ‖ partition ‖ key`
//! and whose values are `u64 version ‖ value`.
//!
//! The length prefix makes the layout unambiguous: partition `a` with key `b/c` and partition
//! `a/b` with key `c` are different rows (lakeFS's local store joins them with `/`, where they
//! collide). All keys of one partition share the prefix `len ‖ partition`, and redb orders
//! `&[u8]` keys as unsigned bytes, so a partition's keys come out in the contract's order.

use std::ops::Bound;

use kv_core::{Error, Key, KeyRange, Partition, Result, Version, prefix_successor};

/// `len ‖ partition`: the prefix of every row of the partition.
pub(crate) fn partition_prefix(partition: &Partition) -> Vec<u8> {
    let p = partition.as_bytes();
    let mut out = Vec::with_capacity(2 + p.len());
    // Partitions are at most 512 bytes, so the length fits in a u16.
    out.extend_from_slice(&(p.len() as u16).to_be_bytes());
    out.extend_from_slice(p);
    out
}

/// The row key of `key` in `partition`.
pub(crate) fn row_key(partition: &Partition, key: &Key) -> Vec<u8> {
    let mut out = partition_prefix(partition);
    out.extend_from_slice(key.as_bytes());
    out
}

/// The partition and key of a row key.
pub(crate) fn split_row_key(row: &[u8]) -> Result<(Partition, Key)> {
    let corrupt = || Error::Backend {
        message: "malformed row key in the local store file".into(),
        source: None,
    };
    let (len, rest) = row.split_at_checked(2).ok_or_else(corrupt)?;
    let len = u16::from_be_bytes([len[0], len[1]]) as usize;
    let (p, k) = rest.split_at_checked(len).ok_or_else(corrupt)?;
    Ok((
        Partition::new(p).map_err(|_| corrupt())?,
        Key::new(k).map_err(|_| corrupt())?,
    ))
}

/// The row-key range of `range` within `partition`.
pub(crate) fn row_range(
    partition: &Partition,
    range: &KeyRange,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let prefix = partition_prefix(partition);
    let with_prefix = |k: &[u8]| [prefix.as_slice(), k].concat();
    let lower = match &range.lower {
        Bound::Unbounded => Bound::Included(prefix.clone()),
        Bound::Included(k) => Bound::Included(with_prefix(k)),
        Bound::Excluded(k) => Bound::Excluded(with_prefix(k)),
    };
    let upper = match &range.upper {
        Bound::Included(k) => Bound::Included(with_prefix(k)),
        Bound::Excluded(k) => Bound::Excluded(with_prefix(k)),
        // The partition's length prefix is at most 0x0200, so the prefix always has a successor.
        Bound::Unbounded => {
            Bound::Excluded(prefix_successor(&prefix).expect("prefix has a successor"))
        }
    };
    (lower, upper)
}

/// `version ‖ value`.
pub(crate) fn encode_value(version: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The version counter and the value of a row.
pub(crate) fn decode_value(row: &[u8]) -> Result<(u64, &[u8])> {
    let (v, value) = row.split_at_checked(8).ok_or_else(|| Error::Backend {
        message: "malformed row value in the local store file".into(),
        source: None,
    })?;
    Ok((u64::from_be_bytes(v.try_into().expect("8 bytes")), value))
}

/// The public version token of a version counter.
pub(crate) fn version_token(counter: u64) -> Version {
    Version::new(format!("{counter:x}")).expect("hex digits are a valid version")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(b: &[u8]) -> Partition {
        Partition::new(b).unwrap()
    }
    fn k(b: &[u8]) -> Key {
        Key::new(b).unwrap()
    }

    #[test]
    fn partition_and_key_never_collide() {
        assert_ne!(row_key(&p(b"a"), &k(b"b/c")), row_key(&p(b"a/b"), &k(b"c")));
        assert_ne!(row_key(&p(b"m"), &k(b"a")), row_key(&p(b"ma"), &k(b"\x00")));
        let (part, key) = split_row_key(&row_key(&p(b"a\x00"), &k(b"\xff"))).unwrap();
        assert_eq!((part, key), (p(b"a\x00"), k(b"\xff")));
    }

    #[test]
    fn a_partition_range_holds_only_its_rows() {
        let range = row_range(&p(b"m"), &KeyRange::full());
        let inside = |row: Vec<u8>| {
            RangeBounds::<Vec<u8>>::contains(&(range.0.as_ref(), range.1.as_ref()), &row)
        };
        use std::ops::RangeBounds;
        assert!(inside(row_key(&p(b"m"), &k(b"\xff\xff"))));
        assert!(inside(row_key(&p(b"m"), &k(b"\x00"))));
        assert!(!inside(row_key(&p(b"ma"), &k(b"a"))));
        assert!(!inside(row_key(&p(b"\xff"), &k(b"a"))));
        assert!(!inside(row_key(&p(b"l"), &k(b"\xff"))));
    }

    #[test]
    fn versions_round_trip() {
        assert_eq!(version_token(0xabc).as_str(), "abc");
        assert_eq!(
            decode_value(&encode_value(7, b"xy")).unwrap(),
            (7, &b"xy"[..])
        );
    }
}
