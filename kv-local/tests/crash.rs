//! Crash safety: a child process writes with many concurrent tasks — unique-key creates and
//! compare-and-swap increments of shared counters — and reports each acknowledged write; the
//! parent kills it with SIGKILL at random moments, reopens the store, and requires every
//! acknowledged write with its version, and every counter at or above its last acknowledged
//! value and never below what an earlier reopen saw. The child is this same test binary, run
//! with `KV_LOCAL_CRASH_CHILD` set. `KV_LOCAL_CRASH_CYCLES` sets the kills (default 50; the
//! long soak: `KV_LOCAL_CRASH_CYCLES=1000 cargo test --release -p kv-local --test crash`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_core::{Condition, Key, KvStore, Partition, Value};
use kv_local::{LocalConfig, LocalStore};
use rand::Rng;

const WRITERS: usize = 32;
/// Counters incremented with `Version` conditions, each by several tasks.
const COUNTERS: usize = 4;
const INCREMENTERS_EACH: usize = 4;

fn cycles() -> u32 {
    std::env::var("KV_LOCAL_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

fn partition() -> Partition {
    Partition::try_from("crash").unwrap()
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if std::env::var_os("KV_LOCAL_CRASH_CHILD").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut acknowledged: BTreeMap<String, String> = BTreeMap::new();
    // Per counter: the highest acknowledged value, and the value the last reopen read.
    let mut acked_counts = [0u64; COUNTERS];
    let mut seen_counts = [0u64; COUNTERS];
    let mut increments = 0u64;
    let mut rng = rand::rng();
    let cycles = cycles();
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("KV_LOCAL_CRASH_CHILD", dir.path())
            .env("KV_LOCAL_CRASH_CYCLE", cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("child starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child has opened the store, then let it write for a random while.
        let started = Instant::now();
        loop {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("child reports READY");
            // libtest prints "test crash_child ... " on the same line before the child's output.
            if line.ends_with("READY") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "child never became ready"
            );
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(20..400)));
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reader.join().unwrap();
        let mut acked_now = 0;
        for line in lines_rx.try_iter() {
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (key, version) = rest.split_once(' ').expect("ACK key version");
                acknowledged.insert(key.to_string(), version.to_string());
                acked_now += 1;
            } else if let Some(rest) = line.strip_prefix("CNT ") {
                let (c, n) = rest.split_once(' ').expect("CNT counter value");
                let (c, n): (usize, u64) = (c.parse().unwrap(), n.parse().unwrap());
                acked_counts[c] = acked_counts[c].max(n);
                increments += 1;
            }
        }

        // Reopen: no error, and every write acknowledged in any cycle so far is there.
        runtime.block_on(async {
            let store = LocalStore::open(LocalConfig::at(dir.path()))
                .await
                .unwrap_or_else(|e| panic!("reopen after kill {cycle} failed: {e}"));
            for (key, version) in &acknowledged {
                let got = store
                    .get(&partition(), &Key::try_from(key.as_str()).unwrap())
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("acknowledged write {key} lost after kill {cycle}"));
                assert_eq!(got.version.as_str(), version, "version of {key}");
                assert_eq!(got.value.as_bytes(), key.as_bytes());
            }
            for c in 0..COUNTERS {
                let n = store
                    .get(&partition(), &counter_key(c))
                    .await
                    .unwrap()
                    .map_or(0, |v| {
                        u64::from_be_bytes(v.value.as_bytes().try_into().unwrap())
                    });
                assert!(
                    n >= acked_counts[c],
                    "counter {c} is {n} after kill {cycle}, but {} was acknowledged",
                    acked_counts[c]
                );
                assert!(
                    n >= seen_counts[c],
                    "counter {c} went backwards after kill {cycle}: {} then {n}",
                    seen_counts[c]
                );
                seen_counts[c] = n;
            }
            store.close().await.unwrap();
        });
        eprintln!(
            "cycle {cycle}: {acked_now} writes acknowledged, {} verified in all",
            acknowledged.len()
        );
    }
    eprintln!(
        "{cycles} kills: {} unique writes and {increments} counter increments acknowledged, none lost; counters {seen_counts:?}",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > cycles as usize && increments > u64::from(cycles),
        "the children acknowledged too few writes to prove anything"
    );
}

fn counter_key(c: usize) -> Key {
    Key::try_from(format!("counter-{c}").as_str()).unwrap()
}

/// The child: writes unique keys from many tasks until it is killed, printing `ACK key version`
/// after each write returned.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os("KV_LOCAL_CRASH_CHILD") else {
        return;
    };
    let cycle = std::env::var("KV_LOCAL_CRASH_CYCLE").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let store = Arc::new(LocalStore::open(LocalConfig::at(dir)).await.unwrap());
        println!("READY");
        let mut tasks = Vec::new();
        for t in 0..WRITERS {
            let (store, cycle) = (Arc::clone(&store), cycle.clone());
            tasks.push(tokio::spawn(async move {
                // Bounded, in case the parent never kills us.
                for i in 0..1_000_000u32 {
                    let key = format!("c{cycle}-t{t}-{i}");
                    let value = Value::try_from(key.as_str()).unwrap();
                    let k = Key::try_from(key.as_str()).unwrap();
                    let version = store
                        .put(&partition(), &k, &value, &Condition::Absent)
                        .await
                        .unwrap()
                        .version;
                    println!("ACK {key} {version}");
                }
            }));
        }
        for t in 0..COUNTERS * INCREMENTERS_EACH {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let k = counter_key(t % COUNTERS);
                for _ in 0..1_000_000u32 {
                    let current = store.get(&partition(), &k).await.unwrap();
                    let (n, condition) = match current {
                        None => (0, Condition::Absent),
                        Some(c) => (
                            u64::from_be_bytes(c.value.as_bytes().try_into().unwrap()),
                            Condition::Version(c.version),
                        ),
                    };
                    let next = Value::new((n + 1).to_be_bytes().to_vec()).unwrap();
                    match store.put(&partition(), &k, &next, &condition).await {
                        Ok(_) => println!("CNT {} {}", t % COUNTERS, n + 1),
                        Err(e) if e.kind() == kv_core::ErrorKind::ConditionFailed => {}
                        Err(e) => panic!("increment failed: {e:?}"),
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}
