use kv_core::limits::{
    MAX_BATCH_BYTES, MAX_BATCH_OPS, MAX_KEY_LEN, MAX_PARTITION_LEN, MAX_VALUE_LEN,
};
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Error, ErrorKind, Key, Partition, ScanOptions,
    Value,
};

use super::*;
use crate::TestContext;

/// A partition, key and value each exactly at its limit round-trip, and so does a batch of the
/// most operations carrying exactly the most bytes.
pub async fn entries_at_every_limit_round_trip(ctx: &TestContext) {
    let store = ctx.store();
    // The partition must be exactly 512 bytes, including the run's random prefix.
    let mut suffix = b"x".to_vec();
    suffix.resize(MAX_PARTITION_LEN - ctx.run_prefix().len(), 0xff);
    let partition = ctx.partition(suffix);
    assert_eq!(partition.as_bytes().len(), MAX_PARTITION_LEN);

    let k = Key::new(vec![0xab; MAX_KEY_LEN]).expect("1024 bytes is allowed");
    let v = Value::new(
        (0..MAX_VALUE_LEN)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("384 KiB is allowed");
    let version = store
        .put(&partition, &k, &v, &Condition::Absent)
        .await
        .expect("put at the limits")
        .version;
    let got = store
        .get(&partition, &k)
        .await
        .unwrap()
        .expect("entry at the limits");
    assert_eq!(got.value, v);
    assert_eq!(got.version, version);

    // 100 operations and exactly 1 MiB of keys and values.
    let p = ctx.partition("batch");
    let key_len = 4;
    let per_value = (MAX_BATCH_BYTES - MAX_BATCH_OPS * key_len) / MAX_BATCH_OPS;
    let mut ops: Vec<BatchOp> = (0..MAX_BATCH_OPS)
        .map(|i| BatchOp::Put {
            key: key(format!("{i:04}")),
            value: value(vec![i as u8; per_value]),
            condition: Condition::Absent,
        })
        .collect();
    let used = MAX_BATCH_OPS * (key_len + per_value);
    if let BatchOp::Put { value: v, .. } = &mut ops[0] {
        *v = value(vec![0; per_value + (MAX_BATCH_BYTES - used)]);
    }
    let batch = Batch::new(ops).expect("a batch exactly at the limits is allowed");
    let versions = store
        .batch(&p, &batch)
        .await
        .expect("batch at the limits applies");
    assert_eq!(versions.len(), MAX_BATCH_OPS);
    let all = scan_all(store, &p, ScanOptions::new()).await.unwrap();
    assert_eq!(all.len(), MAX_BATCH_OPS);
    assert_eq!(
        all.iter()
            .map(|e| e.key.as_bytes().len() + e.value.len())
            .sum::<usize>(),
        MAX_BATCH_BYTES
    );
}

/// One byte over any limit is `InvalidArgument`, raised when the argument is built, before any
/// I/O; an oversized value is marked `too_large`.
pub async fn oversized_inputs_are_rejected_before_any_io(_ctx: &TestContext) {
    let invalid = |r: kv_core::Result<()>| assert_kind(r, ErrorKind::InvalidArgument);
    invalid(Partition::new(vec![]).map(drop));
    invalid(Partition::new(vec![1; MAX_PARTITION_LEN + 1]).map(drop));
    invalid(Key::new(vec![]).map(drop));
    invalid(Key::new(vec![1; MAX_KEY_LEN + 1]).map(drop));
    match Value::new(vec![1; MAX_VALUE_LEN + 1]) {
        Err(Error::InvalidArgument { too_large, .. }) => {
            assert!(too_large, "oversized value is marked too_large")
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    invalid(kv_core::Version::new("").map(drop));
    invalid(kv_core::Version::new("x".repeat(65)).map(drop));

    invalid(Batch::new(vec![]).map(drop));
    let ops = |n: usize| -> Vec<BatchOp> {
        (0..n)
            .map(|i| BatchOp::Delete {
                key: key(format!("{i:04}")),
                condition: DeleteCondition::None,
            })
            .collect()
    };
    assert!(Batch::new(ops(MAX_BATCH_OPS)).is_ok());
    invalid(Batch::new(ops(MAX_BATCH_OPS + 1)).map(drop));
    let big = (0..3)
        .map(|i| BatchOp::Put {
            key: key([i]),
            value: value(vec![0; (MAX_BATCH_BYTES - 3) / 3 + 1]),
            condition: Condition::None,
        })
        .collect();
    invalid(Batch::new(big).map(drop));
    let duplicate = vec![
        BatchOp::Put {
            key: key("k"),
            value: value("1"),
            condition: Condition::None,
        },
        BatchOp::Delete {
            key: key("k"),
            condition: DeleteCondition::None,
        },
    ];
    invalid(Batch::new(duplicate).map(drop));
}

/// Scan options that cannot describe a scan are `InvalidArgument`, from the store's page call.
pub async fn bad_scan_options_are_rejected(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    put(store, &p, b"a", b"1").await;
    for options in [
        ScanOptions::new().with_start("a").with_after("a"),
        ScanOptions::new().with_page_size(0),
        ScanOptions::new().with_prefix(vec![0; MAX_KEY_LEN + 1]),
        ScanOptions::new().with_end(vec![0; MAX_KEY_LEN + 1]),
    ] {
        assert_kind(
            kv_core::scan_page(&**store, &p, &options).await,
            ErrorKind::InvalidArgument,
        );
        assert_kind(
            scan_all(store, &p, options).await,
            ErrorKind::InvalidArgument,
        );
    }
}
