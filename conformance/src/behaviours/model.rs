//! Model-based property test: random operation sequences against the store and a `BTreeMap`.

use std::collections::BTreeMap;

use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, ErrorKind, KvStore, Partition, ScanOptions, Version,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use super::*;
use crate::TestContext;

/// Cases of the model test (each a fresh partition and up to 24 operations).
pub const MODEL_CASES: u32 = 256;
const MAX_SHRINK_STEPS: usize = 256;

/// Keys chosen to collide and to sit next to each other in byte order.
const KEYS: [&[u8]; 10] = [
    b"a",
    b"a\x00",
    b"ab",
    b"abc",
    b"abc ",
    b"abc\x00",
    b"\x00",
    b"\xff",
    b"\xff\xff",
    b"b",
];

#[derive(Debug, Clone, Copy)]
enum Cond {
    None,
    Absent,
    Exists,
    /// The key's current version (or its last one, or a version of another key).
    Current,
    /// The key's first version ever, which may or may not still be current.
    Oldest,
}

#[derive(Debug, Clone)]
enum Op {
    Get(usize),
    Put(usize, u8, Cond),
    Delete(usize, Cond),
    Scan {
        prefix: Option<usize>,
        lower: Option<(bool, usize)>,
        end: Option<usize>,
        reverse: bool,
        limit: Option<usize>,
        page_size: usize,
    },
    Batch(Vec<(usize, Option<u8>, Cond)>),
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        Just(Cond::None),
        Just(Cond::Absent),
        Just(Cond::Exists),
        Just(Cond::Current),
        Just(Cond::Oldest)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..KEYS.len();
    prop_oneof![
        2 => k.clone().prop_map(Op::Get),
        4 => (k.clone(), any::<u8>(), cond()).prop_map(|(k, v, c)| Op::Put(k, v, c)),
        2 => (k.clone(), cond()).prop_map(|(k, c)| Op::Delete(k, c)),
        2 => (
            proptest::option::weighted(0.3, k.clone()),
            proptest::option::weighted(0.4, (any::<bool>(), k.clone())),
            proptest::option::weighted(0.3, k.clone()),
            any::<bool>(),
            proptest::option::weighted(0.3, 0usize..6),
            1usize..5,
        )
            .prop_map(|(prefix, lower, end, reverse, limit, page_size)| Op::Scan { prefix, lower, end, reverse, limit, page_size }),
        1 => proptest::collection::vec((k, proptest::option::of(any::<u8>()), cond()), 1..6).prop_map(Op::Batch),
    ]
}

#[derive(Default)]
struct Model {
    entries: BTreeMap<Vec<u8>, (Vec<u8>, Version)>,
    history: BTreeMap<Vec<u8>, Vec<Version>>,
    any_version: Option<Version>,
}

impl Model {
    fn version_for(&self, k: &[u8], c: Cond) -> Version {
        let history = self.history.get(k);
        let fallback = || {
            self.any_version
                .clone()
                .unwrap_or_else(|| Version::new("never-issued").unwrap())
        };
        match c {
            Cond::Oldest => history
                .and_then(|h| h.first().cloned())
                .unwrap_or_else(fallback),
            _ => self
                .entries
                .get(k)
                .map(|e| e.1.clone())
                .or_else(|| history.and_then(|h| h.last().cloned()))
                .unwrap_or_else(fallback),
        }
    }

    fn put_condition(&self, k: &[u8], c: Cond) -> Condition {
        match c {
            Cond::None => Condition::None,
            Cond::Absent => Condition::Absent,
            Cond::Exists => Condition::Exists,
            Cond::Current | Cond::Oldest => Condition::Version(self.version_for(k, c)),
        }
    }

    fn delete_condition(&self, k: &[u8], c: Cond) -> DeleteCondition {
        match c {
            Cond::None | Cond::Absent => DeleteCondition::None,
            Cond::Exists => DeleteCondition::Exists,
            Cond::Current | Cond::Oldest => DeleteCondition::Version(self.version_for(k, c)),
        }
    }

    /// Whether condition `c` holds for `k`, decided by the model itself (not by kv-core's
    /// `Condition::holds`, which the memory and embedded drivers use too).
    fn holds(&self, k: &[u8], c: Cond, delete: bool) -> bool {
        let current = self.entries.get(k).map(|e| &e.1);
        match c {
            Cond::None => true,
            // A delete has no `Absent` condition: the model sends `None`.
            Cond::Absent if delete => true,
            Cond::Absent => current.is_none(),
            Cond::Exists => current.is_some(),
            Cond::Current | Cond::Oldest => current == Some(&self.version_for(k, c)),
        }
    }

    fn record_write(&mut self, k: &[u8], v: Vec<u8>, version: Version) -> Result<(), String> {
        let history = self.history.entry(k.to_vec()).or_default();
        if history.contains(&version) {
            return Err(format!("version {version} reused for key {k:?}"));
        }
        history.push(version.clone());
        self.any_version = Some(version.clone());
        self.entries.insert(k.to_vec(), (v, version));
        Ok(())
    }
}

/// The value a generated byte stands for: one in eight is the empty value.
fn model_value(v: u8) -> Vec<u8> {
    if v.is_multiple_of(8) {
        Vec::new()
    } else {
        vec![v]
    }
}

async fn run_case(store: &Arc<dyn KvStore>, p: &Partition, ops: &[Op]) -> Result<(), String> {
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let fail = |what: String| Err(format!("step {step} {op:?}: {what}"));
        match op {
            Op::Get(k) => {
                let got = store
                    .get(p, &key(KEYS[*k]))
                    .await
                    .map_err(|e| format!("get: {e:?}"))?;
                let want = model.entries.get(KEYS[*k]);
                let same = match (&got, want) {
                    (None, None) => true,
                    (Some(g), Some((v, ver))) => {
                        g.value.as_bytes() == v.as_slice() && &g.version == ver
                    }
                    _ => false,
                };
                if !same {
                    return fail(format!("got {got:?}, model has {want:?}"));
                }
            }
            Op::Put(k, v, c) => {
                let kb = KEYS[*k];
                let condition = model.put_condition(kb, *c);
                let holds = model.holds(kb, *c, false);
                let v = model_value(*v);
                match (store.put(p, &key(kb), &value(&v), &condition).await, holds) {
                    (Ok(written), true) if written.created != model.entries.contains_key(kb) => {
                        model.record_write(kb, v, written.version)?
                    }
                    (Err(e), false) if e.kind() == ErrorKind::ConditionFailed => {}
                    (result, holds) => {
                        return fail(format!("{condition:?} holds={holds}, got {result:?}"));
                    }
                }
            }
            Op::Delete(k, c) => {
                let kb = KEYS[*k];
                let condition = model.delete_condition(kb, *c);
                let holds = model.holds(kb, *c, true);
                match (store.delete(p, &key(kb), &condition).await, holds) {
                    (Ok(removed), true) if removed == model.entries.contains_key(kb) => {
                        model.entries.remove(kb);
                    }
                    (Err(e), false) if e.kind() == ErrorKind::ConditionFailed => {}
                    (result, holds) => {
                        return fail(format!("{condition:?} holds={holds}, got {result:?}"));
                    }
                }
            }
            Op::Scan {
                prefix,
                lower,
                end,
                reverse,
                limit,
                page_size,
            } => {
                let mut o = ScanOptions::new().with_page_size(*page_size);
                o.prefix = prefix.map(|i| KEYS[i].to_vec());
                match lower {
                    Some((true, i)) => o.start = Some(KEYS[*i].to_vec()),
                    Some((false, i)) => o.after = Some(KEYS[*i].to_vec()),
                    None => {}
                }
                o.end = end.map(|i| KEYS[i].to_vec());
                o.reverse = *reverse;
                o.limit = *limit;
                let sorted: Vec<Vec<u8>> = model.entries.keys().cloned().collect();
                let want: Vec<(Vec<u8>, Vec<u8>, Version)> = super::scan::expected(&sorted, &o)
                    .into_iter()
                    .map(|k| {
                        let (v, ver) = model.entries[&k].clone();
                        (k, v, ver)
                    })
                    .collect();
                let got: Vec<(Vec<u8>, Vec<u8>, Version)> = scan_all(store, p, o)
                    .await
                    .map_err(|e| format!("scan: {e:?}"))?
                    .into_iter()
                    .map(|e| (e.key.into_bytes(), e.value.into_bytes(), e.version))
                    .collect();
                if got != want {
                    return fail(format!("scan got {got:?}, model has {want:?}"));
                }
            }
            Op::Batch(items) => {
                let mut seen = Vec::new();
                let mut ops = Vec::new();
                let mut holds = Vec::new();
                for (k, v, c) in items {
                    if seen.contains(k) {
                        continue;
                    }
                    seen.push(*k);
                    let kb = KEYS[*k];
                    holds.push(model.holds(kb, *c, v.is_none()));
                    ops.push(match v {
                        Some(v) => BatchOp::Put {
                            key: key(kb),
                            value: value(model_value(*v)),
                            condition: model.put_condition(kb, *c),
                        },
                        None => BatchOp::Delete {
                            key: key(kb),
                            condition: model.delete_condition(kb, *c),
                        },
                    });
                }
                let failing = holds.iter().position(|h| !h);
                let batch = Batch::new(ops.clone()).map_err(|e| format!("batch: {e:?}"))?;
                match (store.batch(p, &batch).await, failing) {
                    (Ok(versions), None) if versions.len() == ops.len() => {
                        for (op, version) in ops.iter().zip(versions) {
                            match (op, version) {
                                (BatchOp::Put { key, value, .. }, Some(version)) => model
                                    .record_write(
                                        key.as_bytes(),
                                        value.as_bytes().to_vec(),
                                        version,
                                    )?,
                                (BatchOp::Delete { key, .. }, None) => {
                                    model.entries.remove(key.as_bytes());
                                }
                                (op, version) => {
                                    return fail(format!("batch returned {version:?} for {op:?}"));
                                }
                            }
                        }
                    }
                    (Err(e), Some(index))
                        if e.kind() == ErrorKind::ConditionFailed
                            && e.batch_index() == Some(index) => {}
                    (result, failing) => {
                        return fail(format!(
                            "model expects failure at {failing:?}, got {result:?}"
                        ));
                    }
                }
            }
        }
    }
    // Every case ends by reading the whole partition both ways in one page, so that a store
    // which only diverges once several neighbouring keys share a page (an ordering bug) or which
    // loses a write no step happened to read back is caught on every case, not by luck.
    for reverse in [false, true] {
        let mut want: Vec<(Vec<u8>, Vec<u8>, Version)> = model
            .entries
            .iter()
            .map(|(k, (v, ver))| (k.clone(), v.clone(), ver.clone()))
            .collect();
        if reverse {
            want.reverse();
        }
        let o = ScanOptions {
            reverse,
            ..ScanOptions::new().with_page_size(KEYS.len())
        };
        let got: Vec<(Vec<u8>, Vec<u8>, Version)> = scan_all(store, p, o)
            .await
            .map_err(|e| format!("final scan: {e:?}"))?
            .into_iter()
            .map(|e| (e.key.into_bytes(), e.value.into_bytes(), e.version))
            .collect();
        if got != want {
            return Err(format!(
                "after the last step, a full scan (reverse={reverse}) got {got:?}, model has {want:?}"
            ));
        }
    }
    Ok(())
}

/// Random sequences of gets, conditional puts and deletes, scans and batches give exactly the
/// results of a `BTreeMap` model, and the partition holds exactly the model's entries at the end
/// of each ([`MODEL_CASES`] cases, shrunk to a minimal failing sequence).
pub async fn random_operations_match_a_btreemap_model(ctx: &TestContext) {
    let store = ctx.store();
    let strategy = proptest::collection::vec(op(), 1..24);
    let mut runner = TestRunner::new(Config {
        cases: MODEL_CASES,
        ..Config::default()
    });
    let mut case = 0u32;
    let mut fresh = || {
        case += 1;
        ctx.partition(format!("model{case}"))
    };
    for _ in 0..MODEL_CASES {
        let mut tree = strategy.new_tree(&mut runner).expect("strategy generates");
        let Err(mut failure) = run_case(store, &fresh(), &tree.current()).await else {
            continue;
        };
        // Proptest's own shrinking loop: simplify while the case fails, complicate when a
        // simplification passes.
        let mut minimal = tree.current();
        let mut failing = tree.simplify();
        for _ in 0..MAX_SHRINK_STEPS {
            if !failing {
                break;
            }
            match run_case(store, &fresh(), &tree.current()).await {
                Err(f) => {
                    failure = f;
                    minimal = tree.current();
                    failing = tree.simplify();
                }
                Ok(()) => failing = tree.complicate(),
            }
        }
        panic!("the store differs from the model: {failure}\nminimal sequence: {minimal:#?}");
    }
}
