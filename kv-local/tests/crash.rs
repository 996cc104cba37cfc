//! Crash safety: a child process writes with many concurrent tasks and reports each acknowledged
//! write; the parent kills it with SIGKILL at random moments, reopens the store, and requires
//! every acknowledged write with its version. The child is this same test binary, run with
//! `KV_LOCAL_CRASH_CHILD` set.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kv_core::{Condition, Key, KvStore, Partition, Value};
use kv_local::{LocalConfig, LocalStore};
use rand::Rng;

const CYCLES: u32 = 20;
const WRITERS: usize = 32;

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
    let mut rng = rand::rng();
    for cycle in 0..CYCLES {
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
            store.close().await.unwrap();
        });
        eprintln!(
            "cycle {cycle}: {acked_now} writes acknowledged, {} verified in all",
            acknowledged.len()
        );
    }
    assert!(
        acknowledged.len() > CYCLES as usize,
        "the children acknowledged too few writes to prove anything"
    );
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
        for task in tasks {
            task.await.unwrap();
        }
    });
}
