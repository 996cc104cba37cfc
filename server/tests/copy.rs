//! `metakv copy` as an operator runs it: a chain local → PostgreSQL → DynamoDB → Cosmos DB →
//! local that ends with the same entries, verified; and a copy killed with SIGKILL halfway that
//! resumes from its checkpoint and finishes without counting any page twice.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kv_core::{Batch, BatchOp, Condition, Key, Partition, Value};

use common::EMULATOR_KEY;

fn unique(prefix: &str) -> String {
    format!("{prefix}{:08x}", rand::random::<u32>())
}

fn local_toml(dir: &Path) -> String {
    format!(
        "[database]\ntype = \"local\"\n[database.local]\npath = {:?}\n",
        dir.display().to_string()
    )
}

fn write(dir: &Path, name: &str, toml: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path
}

fn copy(from: &Path, to: &Path, checkpoint: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_metakv"));
    command
        .args(["copy", "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .arg("--checkpoint")
        .arg(checkpoint)
        .args(extra)
        .env_remove("METAKV_CONFIG")
        .env("RUST_LOG", "warn");
    command
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fills a local store with `partitions` × `per_partition` entries (binary names included).
async fn fill(dir: &Path, partitions: usize, per_partition: usize) {
    let config = metakv::Config::from_toml(&local_toml(dir)).unwrap();
    let store = metakv::open_store(&config).await.unwrap();
    for p in 0..partitions {
        let partition = Partition::new(vec![b'p', p as u8, 0x00, 0xff]).unwrap();
        for chunk in (0..per_partition).collect::<Vec<_>>().chunks(100) {
            let ops = chunk
                .iter()
                .map(|i| BatchOp::Put {
                    key: Key::new(format!("key-{i:06}").into_bytes()).unwrap(),
                    value: Value::new(vec![(*i % 256) as u8; 1 + i % 300]).unwrap(),
                    condition: Condition::None,
                })
                .collect();
            store
                .batch(&partition, &Batch::new(ops).unwrap())
                .await
                .unwrap();
        }
    }
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_through_every_driver_ends_with_the_same_entries() {
    let urls = (
        kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL"),
        kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL"),
        kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL"),
    );
    let (Some(pg), Some(dynamo), Some(cosmos)) = urls else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fill(&dir.join("source"), 3, 250).await;
    let chain = [
        write(dir, "local-source.toml", &local_toml(&dir.join("source"))),
        write(
            dir,
            "postgres.toml",
            &format!(
                "[database]\ntype = \"postgres\"\n[database.postgres]\nurl = {pg:?}\ntable = {:?}\nauto_create = true\n",
                unique("metakv_copy_")
            ),
        ),
        write(
            dir,
            "dynamodb.toml",
            &format!(
                "[database]\ntype = \"dynamodb\"\n[database.dynamodb]\nendpoint = {dynamo:?}\ntable = {:?}\nregion = \"us-east-1\"\naccess_key_id = \"test\"\nsecret_access_key = \"test\"\nauto_create = true\n",
                unique("metakv-copy-")
            ),
        ),
        write(
            dir,
            "cosmosdb.toml",
            &format!(
                "[database]\ntype = \"cosmosdb\"\n[database.cosmosdb]\nendpoint = {cosmos:?}\nkey = {EMULATOR_KEY:?}\ndatabase = \"metakv-copy\"\ncontainer = {:?}\nauto_create = true\nemulator = true\naccept_weak_consistency = true\n",
                unique("copy-")
            ),
        ),
        write(dir, "local-target.toml", &local_toml(&dir.join("target"))),
    ];
    for pair in chain.windows(2) {
        let checkpoint = dir.join(format!(
            "{}.checkpoint",
            pair[1].file_stem().unwrap().to_string_lossy()
        ));
        let out = tokio::task::spawn_blocking({
            let mut command = copy(
                &pair[0],
                &pair[1],
                &checkpoint,
                &["--verify", "--page-size", "200"],
            );
            move || command.output().unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{:?} -> {:?}: {}",
            pair[0],
            pair[1],
            text(&out)
        );
        assert!(
            text(&out).contains("verified: 3 partitions, the same entries on both sides"),
            "{}",
            text(&out)
        );
    }
    // The end of the chain against its start.
    let out = copy(
        &chain[0],
        &chain[4],
        &dir.join("final.checkpoint"),
        &["--verify"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("verified: 3 partitions"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_killed_halfway_resumes_from_its_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (partitions, per_partition) = (4, 5000);
    let total = (partitions * per_partition) as u64;
    fill(&dir.join("source"), partitions, per_partition).await;
    let from = write(dir, "from.toml", &local_toml(&dir.join("source")));
    let to = write(dir, "to.toml", &local_toml(&dir.join("target")));
    let checkpoint = dir.join("copy.checkpoint");

    let mut child = copy(
        &from,
        &to,
        &checkpoint,
        &["--page-size", "100", "--concurrency", "1"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // SIGKILL once the checkpoint shows progress, well before the end.
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let saved = metakv::copy::Checkpoint::load(&checkpoint).unwrap();
        if saved.entries >= 1000 {
            child.kill().unwrap();
            child.wait().unwrap();
            break saved;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the copy ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    };
    let saved = metakv::copy::Checkpoint::load(&checkpoint).unwrap();
    assert!(
        !saved.done && saved.entries < total,
        "killed halfway: {saved:?}"
    );
    assert!(saved.entries >= at_kill.entries);

    let out = copy(&from, &to, &checkpoint, &["--page-size", "100", "--verify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("resuming after {} entries", saved.entries)),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("verified: 4 partitions, the same entries on both sides"),
        "{}",
        text(&out)
    );
    let finished = metakv::copy::Checkpoint::load(&checkpoint).unwrap();
    // Each page is counted once: had a page been copied again past the checkpoint, or the
    // copy restarted from the beginning, the count would exceed the source's.
    assert_eq!((finished.done, finished.entries), (true, total));

    // A third run has nothing to do and says so.
    let out = copy(&from, &to, &checkpoint, &[]).output().unwrap();
    assert!(
        out.status.success() && text(&out).contains("already complete"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_same_store_on_both_sides_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "a.toml", &local_toml(&tmp.path().join("s")));
    let out = copy(&a, &a, &tmp.path().join("c"), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("the same store"), "{}", text(&out));
}

#[test]
fn a_checkpoint_that_is_not_a_regular_file_is_refused_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "a.toml", &local_toml(&tmp.path().join("a")));
    let b = write(tmp.path(), "b.toml", &local_toml(&tmp.path().join("b")));
    let out = copy(&a, &b, Path::new("/dev/null"), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));
    assert!(
        !std::fs::metadata("/dev/null").unwrap().is_file(),
        "/dev/null is still a device"
    );
}
