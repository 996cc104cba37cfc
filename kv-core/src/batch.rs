//! Atomic batches of puts and deletes in one partition.

use std::collections::HashSet;

use crate::limits::{MAX_BATCH_BYTES, MAX_BATCH_OPS};
use crate::{Condition, DeleteCondition, Error, Key, Result, Value};

/// One operation of a batch, with its own condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Write `value` at `key` if `condition` holds.
    Put {
        /// The key.
        key: Key,
        /// The new value.
        value: Value,
        /// When to write.
        condition: Condition,
    },
    /// Remove `key` if `condition` holds.
    Delete {
        /// The key.
        key: Key,
        /// When to remove.
        condition: DeleteCondition,
    },
}

impl BatchOp {
    /// The key this operation touches.
    pub fn key(&self) -> &Key {
        match self {
            BatchOp::Put { key, .. } | BatchOp::Delete { key, .. } => key,
        }
    }

    /// Bytes of key and value this operation carries.
    fn size(&self) -> usize {
        match self {
            BatchOp::Put { key, value, .. } => key.as_bytes().len() + value.len(),
            BatchOp::Delete { key, .. } => key.as_bytes().len(),
        }
    }
}

/// A validated batch: 1 to 100 operations, at most 1 MiB of keys and values, each key once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch(Vec<BatchOp>);

impl Batch {
    /// Validates the batch limits of the contract.
    pub fn new(ops: Vec<BatchOp>) -> Result<Self> {
        if ops.is_empty() {
            return Err(Error::invalid(format!(
                "batch is empty; it must hold 1 to {MAX_BATCH_OPS} operations"
            )));
        }
        if ops.len() > MAX_BATCH_OPS {
            return Err(Error::invalid(format!(
                "batch holds {} operations; the limit is {MAX_BATCH_OPS}",
                ops.len()
            )));
        }
        let bytes: usize = ops.iter().map(BatchOp::size).sum();
        if bytes > MAX_BATCH_BYTES {
            return Err(Error::InvalidArgument {
                message: format!(
                    "batch carries {bytes} bytes of keys and values; the limit is {MAX_BATCH_BYTES}"
                ),
                too_large: true,
            });
        }
        let mut seen = HashSet::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            if !seen.insert(op.key()) {
                return Err(Error::invalid(format!(
                    "batch operation {index} repeats key {:?}; a key may appear once per batch",
                    op.key()
                )));
            }
        }
        Ok(Self(ops))
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.0
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a batch holds at least one operation.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, n: usize) -> BatchOp {
        BatchOp::Put {
            key: Key::try_from(k).unwrap(),
            value: Value::new(vec![0; n]).unwrap(),
            condition: Condition::None,
        }
    }

    #[test]
    fn limits_hold_at_both_ends() {
        assert!(Batch::new(vec![]).is_err());
        let full: Vec<_> = (0..MAX_BATCH_OPS)
            .map(|i| put(&format!("k{i:03}"), 0))
            .collect();
        assert!(Batch::new(full.clone()).is_ok());
        let mut over = full;
        over.push(put("k999", 0));
        assert!(Batch::new(over).is_err());
    }

    #[test]
    fn byte_limit_counts_keys_and_values() {
        // Four keys of 2 bytes and four values of 262,142 bytes: exactly 1 MiB.
        let per_value = (MAX_BATCH_BYTES - 8) / 4;
        let ops = |extra: usize| -> Vec<BatchOp> {
            (0..4)
                .map(|i| put(&format!("k{i}"), per_value + usize::from(i == 0) * extra))
                .collect()
        };
        assert!(Batch::new(ops(0)).is_ok());
        assert!(Batch::new(ops(1)).is_err());
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let dup = vec![
            put("a", 1),
            BatchOp::Delete {
                key: Key::try_from("a").unwrap(),
                condition: DeleteCondition::None,
            },
        ];
        let err = Batch::new(dup).unwrap_err();
        assert!(err.to_string().contains("operation 1"), "{err}");
    }
}
