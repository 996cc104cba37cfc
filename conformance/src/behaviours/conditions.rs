//! The contract's condition table: every condition against every state of a key, one
//! behaviour per cell. Every failed cell must change nothing.

use kv_core::{Condition, DeleteCondition, ErrorKind, Version};

use super::*;
use crate::TestContext;

#[derive(Debug, Clone, Copy)]
enum State {
    /// Never written.
    Absent,
    /// Written once; `v` is its version.
    Present,
    /// Written (`v`), deleted, written again (`v'`).
    Recreated,
    /// Written (`v`), then deleted.
    Deleted,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    PutNone,
    PutAbsent,
    PutExists,
    PutVersion,
    DeleteNone,
    DeleteExists,
    DeleteVersion,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Writes,
    Removes,
    RemovesNothing,
    Fails,
}

async fn cell(ctx: &TestContext, state: State, op: Op, expect: Expect) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let k = key("k");
    // `v` is the version the condition names: the key's first version, or for a key never
    // written a real version of another key (so that it cannot match by accident).
    let v: Version = match state {
        State::Absent => put(store, &p, b"other", b"o").await,
        _ => put(store, &p, b"k", b"first").await,
    };
    match state {
        State::Absent | State::Present => {}
        State::Recreated => {
            assert!(delete(store, &p, b"k").await);
            put(store, &p, b"k", b"second").await;
        }
        State::Deleted => assert!(delete(store, &p, b"k").await),
    }
    let before = store.get(&p, &k).await.unwrap();

    let new_value = value("new");
    let result: kv_core::Result<Outcome> = match op {
        Op::PutNone => store
            .put(&p, &k, &new_value, &Condition::None)
            .await
            .map(Outcome::Put),
        Op::PutAbsent => store
            .put(&p, &k, &new_value, &Condition::Absent)
            .await
            .map(Outcome::Put),
        Op::PutExists => store
            .put(&p, &k, &new_value, &Condition::Exists)
            .await
            .map(Outcome::Put),
        Op::PutVersion => store
            .put(&p, &k, &new_value, &Condition::Version(v))
            .await
            .map(Outcome::Put),
        Op::DeleteNone => store
            .delete(&p, &k, &DeleteCondition::None)
            .await
            .map(Outcome::Deleted),
        Op::DeleteExists => store
            .delete(&p, &k, &DeleteCondition::Exists)
            .await
            .map(Outcome::Deleted),
        Op::DeleteVersion => store
            .delete(&p, &k, &DeleteCondition::Version(v))
            .await
            .map(Outcome::Deleted),
    };
    let after = store.get(&p, &k).await.unwrap();
    match expect {
        Expect::Writes => {
            let Ok(Outcome::Put(written)) = result else {
                panic!("{op:?} on a {state:?} key must write, got {result:?}");
            };
            assert_eq!(
                written.created,
                before.is_none(),
                "`created` says whether the key was absent"
            );
            let version = written.version;
            let after = after.expect("the key is present after the write");
            assert_eq!(after.value, new_value);
            assert_eq!(after.version, version);
            if let Some(before) = before {
                assert_ne!(before.version, version, "an overwrite gets a new version");
            }
        }
        Expect::Removes => {
            assert!(before.is_some());
            assert!(
                matches!(result, Ok(Outcome::Deleted(true))),
                "{op:?} on a {state:?} key must remove it, got {result:?}"
            );
            assert_eq!(after, None);
        }
        Expect::RemovesNothing => {
            assert!(
                matches!(result, Ok(Outcome::Deleted(false))),
                "{op:?} on a {state:?} key must succeed removing nothing, got {result:?}"
            );
            assert_eq!(after, None);
        }
        Expect::Fails => {
            assert_kind(result, ErrorKind::ConditionFailed);
            assert_eq!(after, before, "a failed condition changes nothing");
        }
    }
}

#[derive(Debug)]
enum Outcome {
    Put(kv_core::Written),
    Deleted(bool),
}

macro_rules! cells {
    ($($(#[$doc:meta])* $name:ident: $state:ident, $op:ident => $expect:ident;)*) => {
        $(
            $(#[$doc])*
            pub async fn $name(ctx: &TestContext) {
                cell(ctx, State::$state, Op::$op, Expect::$expect).await
            }
        )*
    };
}

cells! {
    /// put `None` on a key never written creates it.
    put_none_creates_an_absent_key: Absent, PutNone => Writes;
    /// put `None` on a present key overwrites it.
    put_none_overwrites_a_present_key: Present, PutNone => Writes;
    /// put `None` on a deleted-then-recreated key overwrites it.
    put_none_overwrites_a_recreated_key: Recreated, PutNone => Writes;
    /// put `Absent` on a key never written creates it.
    put_absent_creates_an_absent_key: Absent, PutAbsent => Writes;
    /// put `Absent` on a present key fails.
    put_absent_fails_on_a_present_key: Present, PutAbsent => Fails;
    /// put `Absent` on a recreated key fails.
    put_absent_fails_on_a_recreated_key: Recreated, PutAbsent => Fails;
    /// put `Absent` on a deleted key creates it (deleted behaves as absent).
    put_absent_creates_a_deleted_key: Deleted, PutAbsent => Writes;
    /// put `Exists` on a key never written fails.
    put_exists_fails_on_an_absent_key: Absent, PutExists => Fails;
    /// put `Exists` on a present key overwrites it.
    put_exists_overwrites_a_present_key: Present, PutExists => Writes;
    /// put `Exists` on a recreated key overwrites it.
    put_exists_overwrites_a_recreated_key: Recreated, PutExists => Writes;
    /// put `Exists` on a deleted key fails.
    put_exists_fails_on_a_deleted_key: Deleted, PutExists => Fails;
    /// put `Version(v)` on a key never written fails (never "not found").
    put_version_fails_on_an_absent_key: Absent, PutVersion => Fails;
    /// put `Version(v)` with the current version overwrites.
    put_version_overwrites_the_matching_version: Present, PutVersion => Writes;
    /// put `Version(v)` with the version from before a delete and re-create fails.
    put_version_fails_on_a_recreated_key: Recreated, PutVersion => Fails;
    /// put `Version(v)` on a key deleted since it was read fails with `ConditionFailed`.
    put_version_fails_on_a_deleted_key: Deleted, PutVersion => Fails;
    /// delete `None` of a key never written succeeds and removes nothing.
    delete_none_on_an_absent_key_removes_nothing: Absent, DeleteNone => RemovesNothing;
    /// delete `None` removes a present key.
    delete_none_removes_a_present_key: Present, DeleteNone => Removes;
    /// delete `None` removes a recreated key.
    delete_none_removes_a_recreated_key: Recreated, DeleteNone => Removes;
    /// delete `Exists` of a key never written fails.
    delete_exists_fails_on_an_absent_key: Absent, DeleteExists => Fails;
    /// delete `Exists` removes a present key.
    delete_exists_removes_a_present_key: Present, DeleteExists => Removes;
    /// delete `Exists` removes a recreated key.
    delete_exists_removes_a_recreated_key: Recreated, DeleteExists => Removes;
    /// delete `Version(v)` of a key never written fails.
    delete_version_fails_on_an_absent_key: Absent, DeleteVersion => Fails;
    /// delete `Version(v)` with the current version removes the key.
    delete_version_removes_the_matching_version: Present, DeleteVersion => Removes;
    /// delete `Version(v)` with the version from before a re-create fails.
    delete_version_fails_on_a_recreated_key: Recreated, DeleteVersion => Fails;
    /// delete `Version(v)` of a key deleted since it was read fails.
    delete_version_fails_on_a_deleted_key: Deleted, DeleteVersion => Fails;
}

/// put `Version(v1)` after the key was overwritten (v1 → v2) fails and changes nothing.
pub async fn put_version_fails_on_a_stale_version(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    let v1 = put(store, &p, b"k", b"one").await;
    let v2 = put(store, &p, b"k", b"two").await;
    assert_kind(
        store
            .put(&p, &key("k"), &value("three"), &Condition::Version(v1))
            .await,
        ErrorKind::ConditionFailed,
    );
    let now = store.get(&p, &key("k")).await.unwrap().unwrap();
    assert_eq!((now.value, now.version), (value("two"), v2));
}

/// A version is only ever the version of its own partition's key: presented for the same key
/// in another partition it matches nothing, for a put, a delete and a batch, and neither
/// partition changes (a driver whose conditional `WHERE` forgets the partition overwrites or
/// deletes the other partition's entry and reports success).
pub async fn versions_from_another_partition_never_match(ctx: &TestContext) {
    let store = ctx.store();
    let (a, b) = (ctx.partition("a"), ctx.partition("b"));
    let k = key("same-key");
    let va = put(store, &a, b"same-key", b"in a").await;
    let vb = put(store, &b, b"same-key", b"in b").await;
    assert_ne!(va, vb, "two partitions' entries never share a version");
    fn failed<T>(r: Result<T>, what: &str) {
        match r {
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConditionFailed, "{what}: {e:?}"),
            Ok(_) => panic!("{what}: a version of partition a matched the entry of partition b"),
        }
    }
    failed(
        store
            .put(
                &b,
                &k,
                &value("overwritten"),
                &Condition::Version(va.clone()),
            )
            .await,
        "put with a's version on b",
    );
    failed(
        store
            .delete(&b, &k, &DeleteCondition::Version(va.clone()))
            .await,
        "delete with a's version on b",
    );
    let batch = kv_core::Batch::new(vec![kv_core::BatchOp::Put {
        key: k.clone(),
        value: value("overwritten"),
        condition: Condition::Version(va.clone()),
    }])
    .unwrap();
    failed(store.batch(&b, &batch).await, "batch with a's version on b");
    let batch = kv_core::Batch::new(vec![kv_core::BatchOp::Delete {
        key: k.clone(),
        condition: DeleteCondition::Version(va.clone()),
    }])
    .unwrap();
    failed(
        store.batch(&b, &batch).await,
        "batch delete with a's version on b",
    );
    for (p, v, want) in [(&a, &va, "in a"), (&b, &vb, "in b")] {
        let got = store
            .get(p, &k)
            .await
            .unwrap()
            .expect("the entry is still there");
        assert_eq!(
            (got.value, &got.version),
            (value(want), v),
            "nothing changed"
        );
    }
}
