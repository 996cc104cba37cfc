use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kv_core::{Condition, ErrorKind, KvStore, ScanOptions};

use super::*;
use crate::TestContext;

/// Every value each churning key was ever given.
type WrittenValues = BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>;

/// N tasks × M read-modify-write increments with `Version` conditions, retried on
/// `ConditionFailed`, through two independently opened stores, end at exactly N×M (N and M
/// from the context's [`crate::Load`]; 8 × 20 by default).
pub async fn concurrent_version_increments_lose_no_update(ctx: &TestContext) {
    let stores = [Arc::clone(ctx.store()), ctx.open_another().await];
    let p = ctx.partition("p");
    let (tasks_n, increments) = (ctx.load().incrementers(), ctx.load().increments_each());
    let mut tasks = Vec::new();
    for t in 0..tasks_n {
        let store = Arc::clone(&stores[t % 2]);
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let k = key("counter");
            for _ in 0..increments {
                loop {
                    let current = store.get(&p, &k).await.unwrap();
                    let (n, condition) = match current {
                        None => (0u64, Condition::Absent),
                        Some(c) => {
                            let n = u64::from_be_bytes(c.value.as_bytes().try_into().unwrap());
                            (n, Condition::Version(c.version))
                        }
                    };
                    match store
                        .put(&p, &k, &value((n + 1).to_be_bytes()), &condition)
                        .await
                    {
                        Ok(_) => break,
                        Err(e) if e.kind() == ErrorKind::ConditionFailed => continue,
                        Err(e) => panic!("increment failed: {e:?}"),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let last = ctx.store().get(&p, &key("counter")).await.unwrap().unwrap();
    assert_eq!(
        u64::from_be_bytes(last.value.as_bytes().try_into().unwrap()),
        (tasks_n * increments) as u64
    );
}

/// Of N concurrent `Absent` creates of one key exactly one wins, and its value and version are
/// what the key then holds (N from the context's [`crate::Load`]; 16 by default).
pub async fn concurrent_absent_creates_have_exactly_one_winner(ctx: &TestContext) {
    let stores = [Arc::clone(ctx.store()), ctx.open_another().await];
    let p = ctx.partition("p");
    let contenders = ctx.load().contenders();
    for round in 0..5u8 {
        let k = key([b'k', round]);
        let mut tasks = Vec::new();
        for t in 0..contenders {
            let store = Arc::clone(&stores[t % 2]);
            let (p, k) = (p.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                let v = value((t as u32).to_be_bytes());
                (v.clone(), store.put(&p, &k, &v, &Condition::Absent).await)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                (v, Ok(written)) => {
                    assert!(written.created, "the winning create reports created");
                    winners.push((v, written.version))
                }
                (_, Err(e)) => assert_eq!(e.kind(), ErrorKind::ConditionFailed, "{e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one create wins, got {winners:?}");
        let got = ctx.store().get(&p, &k).await.unwrap().unwrap();
        assert_eq!(
            (got.value, got.version),
            (winners[0].0.clone(), winners[0].1.clone())
        );
    }
}

/// Scans running while other tasks write and delete keys keep the contract: strict order, no
/// duplicates, every entry unchanged during the scan exactly once, and every other value one
/// that was really written.
pub async fn scans_during_writes_keep_order_and_stable_entries(ctx: &TestContext) {
    let store = ctx.store();
    let p = ctx.partition("p");
    // Every third key churns; the others stay unchanged for the whole test.
    let all_keys: Vec<Vec<u8>> = (0..90u32)
        .map(|i| format!("k{i:03}").into_bytes())
        .collect();
    let churn: Vec<Vec<u8>> = all_keys.iter().step_by(3).cloned().collect();
    let written: Arc<Mutex<WrittenValues>> = Arc::default();
    let mut stable = BTreeMap::new();
    for k in &all_keys {
        let v = [k.as_slice(), b"=initial"].concat();
        put(store, &p, k, &v).await;
        if churn.contains(k) {
            written
                .lock()
                .unwrap()
                .entry(k.clone())
                .or_default()
                .insert(v);
        } else {
            stable.insert(k.clone(), v);
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2u32 {
        let (store, p, churn, written, stop) = (
            Arc::clone(store),
            p.clone(),
            churn.clone(),
            Arc::clone(&written),
            Arc::clone(&stop),
        );
        writers.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) && i < 100_000 {
                let k = &churn[(i as usize * 7 + w as usize) % churn.len()];
                if i % 4 == 3 {
                    delete(&store, &p, k).await;
                } else {
                    let v = format!("{}=w{w}i{i}", String::from_utf8_lossy(k)).into_bytes();
                    // Recorded before the write, so a scan can never see an unrecorded value.
                    written
                        .lock()
                        .unwrap()
                        .entry(k.clone())
                        .or_default()
                        .insert(v.clone());
                    put(&store, &p, k, &v).await;
                }
                i += 1;
                tokio::task::yield_now().await;
            }
        }));
    }

    for round in 0..6 {
        let reverse = round % 2 == 1;
        let mut options = ScanOptions::new().with_page_size(7);
        options.reverse = reverse;
        let entries = scan_all(store, &p, options).await.unwrap();
        let keys = keys_of(&entries);
        for pair in keys.windows(2) {
            let ordered = if reverse {
                pair[0] > pair[1]
            } else {
                pair[0] < pair[1]
            };
            assert!(ordered, "keys out of order or duplicated: {:?}", pair);
        }
        let seen: BTreeMap<Vec<u8>, Vec<u8>> = entries
            .iter()
            .map(|e| (e.key.as_bytes().to_vec(), e.value.as_bytes().to_vec()))
            .collect();
        for (k, v) in &stable {
            assert_eq!(
                seen.get(k),
                Some(v),
                "stable key {:?} missing or changed",
                String::from_utf8_lossy(k)
            );
        }
        let written = written.lock().unwrap();
        for (k, v) in &seen {
            if !stable.contains_key(k) {
                let ok = written.get(k).is_some_and(|vs| vs.contains(v));
                assert!(
                    ok,
                    "value {:?} was never written",
                    String::from_utf8_lossy(v)
                );
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
}

/// A write that returned through one store is seen by a read through a second, independently
/// opened store at once, and conditional writes across them use each other's versions.
pub async fn writes_through_one_store_are_read_through_another(ctx: &TestContext) {
    let a = Arc::clone(ctx.store());
    let b: Arc<dyn KvStore> = ctx.open_another().await;
    let p = ctx.partition("p");
    let k = key("k");
    for i in 0..30u32 {
        let va = a
            .put(&p, &k, &value(format!("a{i}")), &Condition::None)
            .await
            .unwrap()
            .version;
        let seen = b.get(&p, &k).await.unwrap().expect("b sees a's write");
        assert_eq!((seen.value, &seen.version), (value(format!("a{i}")), &va));
        let vb = b
            .put(&p, &k, &value(format!("b{i}")), &Condition::Version(va))
            .await
            .unwrap()
            .version;
        assert_eq!(a.get(&p, &k).await.unwrap().unwrap().version, vb);
        if i % 5 == 4 {
            assert!(
                a.delete(&p, &k, &kv_core::DeleteCondition::Version(vb))
                    .await
                    .unwrap()
            );
            assert_eq!(b.get(&p, &k).await.unwrap(), None);
        }
    }
}
