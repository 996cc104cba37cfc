use kv_core::{Batch, BatchOp, Condition, DeleteCondition, ErrorKind, ScanOptions};

use super::*;
use crate::TestContext;

/// A batch of puts and deletes applies every operation and returns the version of each put
/// (the one reads return) and `None` for each delete.
pub async fn batch_applies_every_operation_and_returns_versions(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let old = put(store, &p, b"old", b"x").await;
    put(store, &p, b"gone", b"x").await;
    let batch = Batch::new(vec![
        BatchOp::Put {
            key: key("new"),
            value: value("1"),
            condition: Condition::Absent,
        },
        BatchOp::Put {
            key: key("old"),
            value: value("2"),
            condition: Condition::Version(old.clone()),
        },
        BatchOp::Delete {
            key: key("gone"),
            condition: DeleteCondition::Exists,
        },
        BatchOp::Delete {
            key: key("never"),
            condition: DeleteCondition::None,
        },
        BatchOp::Put {
            key: key(b"\x00\xff"),
            value: value(""),
            condition: Condition::None,
        },
    ])
    .unwrap();
    let versions = store.batch(&p, &batch).await.expect("batch applies");
    assert_eq!(versions.len(), 5);
    assert!(versions[2].is_none() && versions[3].is_none());
    for (i, k) in [(0, "new"), (1, "old")] {
        let got = store.get(&p, &key(k)).await.unwrap().unwrap();
        assert_eq!(Some(got.version), versions[i].clone());
    }
    assert_ne!(versions[1], Some(old));
    assert_eq!(
        store
            .get(&p, &key(b"\x00\xff"))
            .await
            .unwrap()
            .unwrap()
            .version,
        versions[4].clone().unwrap()
    );
    assert!(store.get(&p, &key("gone")).await.unwrap().is_none());
    let keys = keys_of(&scan_all(store, &p, ScanOptions::new()).await.unwrap());
    assert_eq!(
        keys,
        vec![b"\x00\xff".to_vec(), b"new".to_vec(), b"old".to_vec()]
    );
}

/// When the k-th operation's condition fails, nothing of the batch applies (earlier puts leave
/// no trace, earlier deletes are undone) and the error names index k — first, middle or last.
pub async fn batch_is_all_or_nothing_when_an_operation_fails(ctx: &TestContext) {
    let store = ctx.store();
    for failing in [0usize, 3, 5, 9] {
        let p = ctx.partition(format!("p{failing}"));
        put(store, &p, b"existing", b"before").await;
        put(store, &p, b"doomed", b"before").await;
        let held = put(store, &p, b"held", b"before").await;
        let before = scan_all(store, &p, ScanOptions::new()).await.unwrap();
        let ops: Vec<BatchOp> = (0..10)
            .map(|i| match i {
                i if i == failing => BatchOp::Put {
                    key: key("existing"),
                    value: value("x"),
                    condition: Condition::Absent,
                },
                2 => BatchOp::Delete {
                    key: key("doomed"),
                    condition: DeleteCondition::Exists,
                },
                4 => BatchOp::Put {
                    key: key("held"),
                    value: value("y"),
                    condition: Condition::Version(held.clone()),
                },
                i => BatchOp::Put {
                    key: key(format!("new{i}")),
                    value: value("v"),
                    condition: Condition::None,
                },
            })
            .collect();
        let err = store
            .batch(&p, &Batch::new(ops).unwrap())
            .await
            .expect_err("the batch fails");
        assert_eq!(err.kind(), ErrorKind::ConditionFailed);
        assert_eq!(
            err.batch_index(),
            Some(failing),
            "the error names the failing operation"
        );
        let after = scan_all(store, &p, ScanOptions::new()).await.unwrap();
        assert_eq!(
            after, before,
            "a failed batch leaves no trace (failing index {failing})"
        );
    }
}

/// Each operation's own condition is checked: a stale version or an `Exists` on a missing key
/// fails the batch; a batch whose conditions all hold applies.
pub async fn batch_checks_each_condition(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let v1 = put(store, &p, b"a", b"1").await;
    let v2 = put(store, &p, b"a", b"2").await;
    let b = put(store, &p, b"b", b"1").await;
    let cases: Vec<(Vec<BatchOp>, Option<usize>)> = vec![
        (
            vec![
                BatchOp::Put {
                    key: key("c"),
                    value: value("c"),
                    condition: Condition::None,
                },
                BatchOp::Put {
                    key: key("a"),
                    value: value("3"),
                    condition: Condition::Version(v1),
                },
            ],
            Some(1),
        ),
        (
            vec![
                BatchOp::Delete {
                    key: key("b"),
                    condition: DeleteCondition::Version(b.clone()),
                },
                BatchOp::Put {
                    key: key("missing"),
                    value: value("x"),
                    condition: Condition::Exists,
                },
            ],
            Some(1),
        ),
        (
            vec![BatchOp::Delete {
                key: key("missing"),
                condition: DeleteCondition::Exists,
            }],
            Some(0),
        ),
        (
            vec![
                BatchOp::Put {
                    key: key("a"),
                    value: value("3"),
                    condition: Condition::Version(v2),
                },
                BatchOp::Delete {
                    key: key("b"),
                    condition: DeleteCondition::Version(b),
                },
                BatchOp::Put {
                    key: key("c"),
                    value: value("c"),
                    condition: Condition::Absent,
                },
                BatchOp::Delete {
                    key: key("missing"),
                    condition: DeleteCondition::None,
                },
            ],
            None,
        ),
    ];
    for (ops, failing) in cases {
        let before = scan_all(store, &p, ScanOptions::new()).await.unwrap();
        let result = store.batch(&p, &Batch::new(ops).unwrap()).await;
        match failing {
            Some(index) => {
                let err = result.expect_err("a condition fails");
                assert_eq!(
                    (err.kind(), err.batch_index()),
                    (ErrorKind::ConditionFailed, Some(index))
                );
                assert_eq!(
                    scan_all(store, &p, ScanOptions::new()).await.unwrap(),
                    before
                );
            }
            None => {
                result.expect("every condition holds");
            }
        }
    }
    let after = scan_all(store, &p, ScanOptions::new()).await.unwrap();
    assert_eq!(keys_of(&after), vec![b"a".to_vec(), b"c".to_vec()]);
    assert_eq!(after[0].value, value("3"));
}

/// When several operations of a batch fail, the error names the first of them, and nothing is
/// applied.
pub async fn batch_names_the_first_failing_operation(ctx: &TestContext) {
    let store = ctx.store();
    for (first, second) in [(0usize, 1usize), (2, 7), (5, 9), (0, 9)] {
        let p = ctx.partition(format!("p{first}-{second}"));
        put(store, &p, b"present", b"before").await;
        let ops: Vec<BatchOp> = (0..10)
            .map(|i| match i {
                // Two different ways to fail: an Absent create of a present key...
                i if i == first => BatchOp::Put {
                    key: key("present"),
                    value: value("x"),
                    condition: Condition::Absent,
                },
                // ...and an Exists delete of a missing key.
                i if i == second => BatchOp::Delete {
                    key: key("missing"),
                    condition: DeleteCondition::Exists,
                },
                i => BatchOp::Put {
                    key: key(format!("new{i}")),
                    value: value(b""),
                    condition: Condition::None,
                },
            })
            .collect();
        let err = store
            .batch(&p, &Batch::new(ops).unwrap())
            .await
            .expect_err("the batch fails");
        assert_eq!(err.kind(), ErrorKind::ConditionFailed, "{err:?}");
        assert_eq!(
            err.batch_index(),
            Some(first),
            "operations {first} and {second} fail; the first is named"
        );
        let after = scan_all(store, &p, ScanOptions::new()).await.unwrap();
        assert_eq!(
            keys_of(&after),
            [b"present".to_vec()],
            "nothing was applied"
        );
    }
}
