//! The limits of the contract, identical for every driver, checked here and nowhere else.
//!
//! Every check runs when a [`Partition`](crate::Partition), [`Key`](crate::Key),
//! [`Value`](crate::Value), [`Version`](crate::Version), [`Batch`](crate::Batch) or
//! [`ScanRequest`](crate::ScanRequest) is built, so no driver can be handed an input that breaks
//! a limit, and no I/O happens before the check.

use crate::{Error, Result};

/// Largest partition name, in bytes.
pub const MAX_PARTITION_LEN: usize = 512;
/// Largest key, in bytes. DynamoDB caps a binary sort key at 1024 bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Largest value, in bytes (384 KiB). DynamoDB caps an item at 400 KB including its keys.
pub const MAX_VALUE_LEN: usize = 393_216;
/// Most operations in one batch (Cosmos DB transactional batches and DynamoDB transactions).
pub const MAX_BATCH_OPS: usize = 100;
/// Most bytes of keys and values together in one batch (1 MiB).
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// Most keys of one multi-get ([`crate::KeyList`]).
pub const MAX_GET_KEYS: usize = 100;
/// Longest version token, in characters.
pub const MAX_VERSION_LEN: usize = 64;
/// Largest number of entries one scan page fetches; larger `page_size` hints are clamped.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Entries per page when the caller gives no `page_size`.
pub const DEFAULT_PAGE_SIZE: usize = 100;

pub(crate) fn check_len(what: &str, len: usize, min: usize, max: usize) -> Result<()> {
    if len < min {
        return Err(Error::invalid(format!(
            "{what} is empty; it must be {min} to {max} bytes"
        )));
    }
    if len > max {
        return Err(Error::invalid(format!(
            "{what} is {len} bytes; the limit is {max}"
        )));
    }
    Ok(())
}

pub(crate) fn check_value_len(len: usize) -> Result<()> {
    if len > MAX_VALUE_LEN {
        return Err(Error::InvalidArgument {
            message: format!("value is {len} bytes; the limit is {MAX_VALUE_LEN}"),
            too_large: true,
        });
    }
    Ok(())
}

/// A version is 1 to 64 visible ASCII characters (0x21..=0x7E) without `"`, so that it fits an
/// HTTP ETag as is.
pub(crate) fn check_version(token: &str) -> Result<()> {
    check_len("version", token.len(), 1, MAX_VERSION_LEN)?;
    if let Some(bad) = token
        .bytes()
        .find(|b| !(0x21..=0x7e).contains(b) || *b == b'"')
    {
        return Err(Error::invalid(format!(
            "version contains byte 0x{bad:02x}; only visible ASCII without '\"' is allowed"
        )));
    }
    Ok(())
}

/// How many puts of keys of `key_len` bytes and values of `value_len` bytes fit in one batch
/// (at most `MAX_BATCH_OPS` operations and `MAX_BATCH_BYTES` of keys and values; at least one),
/// for callers that write many entries of one size.
pub fn puts_per_batch(key_len: usize, value_len: usize) -> usize {
    (MAX_BATCH_BYTES / (key_len + value_len).max(1)).clamp(1, MAX_BATCH_OPS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn lengths_are_checked_inclusively() {
        assert!(check_len("key", 1, 1, MAX_KEY_LEN).is_ok());
        assert!(check_len("key", MAX_KEY_LEN, 1, MAX_KEY_LEN).is_ok());
        assert_eq!(
            check_len("key", 0, 1, MAX_KEY_LEN).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert!(check_len("key", MAX_KEY_LEN + 1, 1, MAX_KEY_LEN).is_err());
    }

    #[test]
    fn oversized_values_are_marked_too_large() {
        assert!(check_value_len(MAX_VALUE_LEN).is_ok());
        match check_value_len(MAX_VALUE_LEN + 1) {
            Err(Error::InvalidArgument { too_large, .. }) => assert!(too_large),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn puts_per_batch_keeps_both_batch_limits() {
        assert_eq!(puts_per_batch(12, 100), MAX_BATCH_OPS);
        let n = puts_per_batch(12, MAX_VALUE_LEN);
        assert_eq!(n, 2);
        assert!(n * (12 + MAX_VALUE_LEN) <= MAX_BATCH_BYTES);
    }

    #[test]
    fn versions_are_etag_safe() {
        assert!(check_version("abc-123_~").is_ok());
        assert!(check_version(&"x".repeat(64)).is_ok());
        assert!(check_version(&"x".repeat(65)).is_err());
        assert!(check_version("").is_err());
        assert!(check_version("a b").is_err());
        assert!(check_version("a\"b").is_err());
        assert!(check_version("é").is_err());
    }
}
