//! How partitions and keys become Cosmos strings.
//!
//! Cosmos compares strings by their characters; every encoding here uses only the ASCII
//! characters `0-9` and `A-V`, whose code points increase in that order, so ordinal,
//! UTF-8 byte and UTF-16 code unit comparisons all agree on them.
//!
//! The sort field `k` is **unpadded** base32hex (RFC 4648 §7). It preserves unsigned byte
//! order: each character carries the next 5 bits most significant first, so the first
//! differing bit of two keys lands in the same character position, and a key that is a
//! proper prefix of another encodes to a string that is a prefix of, or sorts before, the
//! other's (its last character's spare bits are zeros). The padded form that lakeFS uses
//! breaks this: `=` (0x3D) sorts above the digits, so `abc` (`C5H66===`) would sort after
//! `abc ` (`C5H6680=`).

use data_encoding::BASE32HEX_NOPAD;
use sha2::{Digest, Sha256};

/// Longest `k` used as the document id as is; longer keys get a hashed id. Cosmos allows
/// ids of up to 255 characters.
const MAX_PLAIN_ID: usize = 200;

/// The order-preserving string form of a key or partition.
pub(crate) fn encode(bytes: &[u8]) -> String {
    BASE32HEX_NOPAD.encode(bytes)
}

/// The bytes of an [`encode`]d string.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    BASE32HEX_NOPAD.decode(text.as_bytes()).ok()
}

/// The document id of a key, derived from its encoded form `k`: `k` itself when it is at
/// most 200 characters (keys up to 125 bytes), otherwise `_` followed by the base32hex
/// SHA-256 of the key (53 characters). `_` is not a base32hex character, so the two forms
/// never collide, and neither contains a character Cosmos forbids in ids (`/ \ ? #`).
pub(crate) fn document_id(key: &[u8], k: &str) -> String {
    if k.len() <= MAX_PLAIN_ID {
        k.to_owned()
    } else {
        format!("_{}", BASE32HEX_NOPAD.encode(&Sha256::digest(key)))
    }
}

/// A version from an `_etag`: the service sends it in quotes; the contract's versions carry
/// none (they are added back when sent as `If-Match`).
pub(crate) fn version_of_etag(etag: &str) -> &str {
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

/// The `If-Match` value of a version.
pub(crate) fn etag_of_version(version: &str) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..40)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn round_trips(k in prop::collection::vec(any::<u8>(), 0..1025)) {
            prop_assert_eq!(decode(&encode(&k)), Some(k));
        }

        #[test]
        fn preserves_unsigned_byte_order(a in key(), b in key()) {
            prop_assert_eq!(encode(&a).cmp(&encode(&b)), a.cmp(&b));
        }

        #[test]
        fn preserves_order_of_prefix_pairs(base in key(), tail in key()) {
            // A key, and the same key followed by anything: the shorter sorts first.
            let mut longer = base.clone();
            longer.extend_from_slice(&tail);
            prop_assert_eq!(encode(&base).cmp(&encode(&longer)), base.cmp(&longer));
        }

        #[test]
        fn ids_fit_cosmos_rules(k in prop::collection::vec(any::<u8>(), 1..1025)) {
            let id = document_id(&k, &encode(&k));
            prop_assert!(!id.is_empty() && id.len() <= 255);
            prop_assert!(!id.contains(['/', '\\', '?', '#']));
        }
    }

    /// Every prefix pair with a trailing byte 0x00..=0x40 (lakeFS's padded encoding
    /// mis-orders `abc` and `abc `), after bases of every length up to 12.
    #[test]
    fn orders_all_prefix_pairs_with_a_low_trailing_byte() {
        let bases: Vec<Vec<u8>> = (0..=12u8)
            .flat_map(|n| {
                [
                    (0..n).map(|i| b'a' + i % 26).collect::<Vec<u8>>(),
                    vec![0x00; n as usize],
                    vec![0xFF; n as usize],
                ]
            })
            .collect();
        for base in &bases {
            for t in 0x00..=0x40u8 {
                let mut longer = base.clone();
                longer.push(t);
                assert!(encode(base) < encode(&longer), "{base:?} vs {longer:?}");
                for u in t + 1..=0x40u8 {
                    let mut other = base.clone();
                    other.push(u);
                    assert!(encode(&longer) < encode(&other), "{longer:?} vs {other:?}");
                }
            }
        }
        assert!(encode(b"abc") < encode(b"abc "));
    }

    #[test]
    fn long_keys_get_hashed_ids_and_short_keys_keep_theirs() {
        let short = vec![7u8; 125];
        assert_eq!(document_id(&short, &encode(&short)), encode(&short));
        let long = vec![7u8; 126];
        let id = document_id(&long, &encode(&long));
        assert!(id.starts_with('_') && id.len() == 53);
        assert_ne!(id, document_id(&[8u8; 126], &encode(&[8u8; 126])));
    }

    #[test]
    fn etags_lose_and_regain_their_quotes() {
        assert_eq!(version_of_etag("\"0000-11\""), "0000-11");
        assert_eq!(version_of_etag("plain"), "plain");
        assert_eq!(etag_of_version("0000-11"), "\"0000-11\"");
    }
}
