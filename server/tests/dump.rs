//! `metakv dump` and `metakv load` as an operator runs them (the real binary): byte-identical
//! round trips of binary data at the limits, plain and zstd, every strategy doing what its
//! name says, damaged dumps refused before anything is written, and the same dump loaded into
//! every driver and dumped back with the same digest.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use futures::TryStreamExt;
use kv_core::limits::{MAX_KEY_LEN, MAX_VALUE_LEN};
use kv_core::{Condition, Key, KvStore, KvStoreExt, Partition, Value};

use common::EMULATOR_KEY;

fn unique(prefix: &str) -> String {
    format!("{prefix}{:08x}", rand::random::<u32>())
}

fn local(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("METAKV_DATABASE__TYPE", "local".into()),
        ("METAKV_DATABASE__LOCAL__PATH", dir.display().to_string()),
    ]
}

fn metakv(env: &[(&str, String)], args: &[&str], stdin: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_metakv"));
    command
        .args(args)
        .env_remove("METAKV_CONFIG")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    if let Some(path) = stdin {
        command.stdin(Stdio::from(std::fs::File::open(path).unwrap()));
    }
    command.output().unwrap()
}

/// `metakv load --input FILE --strategy STRATEGY` into the local store at `target`.
fn load(target: &Path, file: &Path, strategy: &str) -> Output {
    metakv(
        &local(target),
        &[
            "load",
            "--input",
            file.to_str().unwrap(),
            "--strategy",
            strategy,
        ],
        None,
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The digest a dump or load printed.
fn digest(out: &Output) -> String {
    let text = stderr(out);
    text.lines()
        .rev()
        .find_map(|l| l.split("digest ").nth(1))
        .unwrap_or_else(|| panic!("no digest in {text}"))
        .trim()
        .to_string()
}

/// Binary partitions, keys and values at and around the limits.
fn entries(run: &str) -> Vec<(Partition, Key, Value)> {
    let partitions = [
        Partition::new([run.as_bytes(), b"\x00\xff"].concat()).unwrap(),
        Partition::new([run.as_bytes(), b"/%2F"].concat()).unwrap(),
    ];
    let mut out = Vec::new();
    for p in &partitions {
        out.push((
            p.clone(),
            Key::try_from(&b"\x00"[..]).unwrap(),
            Value::try_from(&b""[..]).unwrap(),
        ));
        out.push((
            p.clone(),
            Key::try_from(&b"\xff\xff"[..]).unwrap(),
            Value::try_from(&b"\x00\xff\n\"\\"[..]).unwrap(),
        ));
        out.push((
            p.clone(),
            Key::new(vec![0xab; MAX_KEY_LEN]).unwrap(),
            Value::new(
                (0..MAX_VALUE_LEN)
                    .map(|i| (i % 251) as u8)
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
        ));
        for i in 0..150u32 {
            out.push((
                p.clone(),
                Key::new(format!("k{i:04}").into_bytes()).unwrap(),
                Value::new(i.to_be_bytes().to_vec()).unwrap(),
            ));
        }
    }
    out
}

async fn open_local(dir: &Path) -> Arc<dyn KvStore> {
    let toml = format!(
        "[database]\ntype = \"local\"\n[database.local]\npath = {:?}\n",
        dir.display().to_string()
    );
    metakv::open_store(&metakv::Config::from_toml(&toml).unwrap())
        .await
        .unwrap()
}

async fn fill(dir: &Path, entries: &[(Partition, Key, Value)]) {
    let store = open_local(dir).await;
    for (p, k, v) in entries {
        store.put(p, k, v, &Condition::None).await.unwrap();
    }
    store.close().await.unwrap();
}

/// Every entry of a local store, sorted.
async fn contents(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let store = open_local(dir).await;
    let mut all: Vec<_> = store
        .export()
        .map_ok(|e| {
            (
                e.partition.as_bytes().to_vec(),
                e.entry.key.as_bytes().to_vec(),
                e.entry.value.as_bytes().to_vec(),
            )
        })
        .try_collect()
        .await
        .unwrap();
    store.close().await.unwrap();
    all.sort();
    all
}

fn sorted(entries: &[(Partition, Key, Value)]) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let mut all: Vec<_> = entries
        .iter()
        .map(|(p, k, v)| {
            (
                p.as_bytes().to_vec(),
                k.as_bytes().to_vec(),
                v.as_bytes().to_vec(),
            )
        })
        .collect();
    all.sort();
    all
}

struct Dirs {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Dirs {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        Dirs { _tmp: tmp, root }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_and_load_round_trip_binary_data_byte_for_byte_plain_and_zstd() {
    let dirs = Dirs::new();
    let data = entries("rt-");
    fill(&dirs.path("source"), &data).await;
    for name in ["dump.jsonl", "dump.jsonl.zst"] {
        let file = dirs.path(name);
        let dumped = metakv(
            &local(&dirs.path("source")),
            &["dump", "--output", file.to_str().unwrap()],
            None,
        );
        assert!(dumped.status.success(), "{}", stderr(&dumped));
        assert!(!dirs.path(&format!("{name}.partial")).exists());
        let target = dirs.path(&format!("target-{name}"));
        let loaded = load(&target, &file, "fail-if-exists");
        assert!(loaded.status.success(), "{}", stderr(&loaded));
        assert_eq!(digest(&loaded), digest(&dumped));
        assert!(
            stderr(&loaded).contains(&format!("{} written, 0 skipped", data.len())),
            "{}",
            stderr(&loaded)
        );
        assert_eq!(
            contents(&target).await,
            sorted(&data),
            "{name}: byte-identical"
        );
    }
    // A device is written in place, never replaced by a rename.
    let to_device = metakv(
        &local(&dirs.path("source")),
        &["dump", "--output", "/dev/null"],
        None,
    );
    assert!(to_device.status.success(), "{}", stderr(&to_device));
    assert!(
        !std::fs::metadata("/dev/null").unwrap().is_file(),
        "/dev/null is still a device"
    );
    let plain = std::fs::metadata(dirs.path("dump.jsonl")).unwrap().len();
    let compressed = std::fs::metadata(dirs.path("dump.jsonl.zst"))
        .unwrap()
        .len();
    assert!(
        compressed < plain,
        "zstd compresses ({compressed} < {plain})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_dump_is_refused_before_anything_is_written() {
    let dirs = Dirs::new();
    let data = entries("dmg-");
    fill(&dirs.path("source"), &data).await;
    let file = dirs.path("dump.jsonl");
    assert!(
        metakv(
            &local(&dirs.path("source")),
            &["dump", "--output", file.to_str().unwrap()],
            None
        )
        .status
        .success()
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // One value altered (still valid base64 and JSON): the digest no longer matches.
    let mut altered = lines.clone();
    let changed = altered[5].replacen("\"v\":\"", "\"v\":\"AAAA", 1);
    altered[5] = &changed;
    // The trailer cut off: truncated.
    let truncated = &lines[..lines.len() - 1];
    for (name, body, expected) in [
        ("altered.jsonl", altered.join("\n") + "\n", "altered"),
        ("truncated.jsonl", truncated.join("\n") + "\n", "truncated"),
    ] {
        let path = dirs.path(name);
        std::fs::write(&path, body).unwrap();
        let target = dirs.path(&format!("target-{name}"));
        let out = load(&target, &path, "overwrite");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
        assert!(
            contents(&target).await.is_empty(),
            "{name}: nothing was written"
        );
    }

    // From standard input it cannot be read twice: it says how far it got.
    let target = dirs.path("target-stdin");
    let out = metakv(
        &local(&target),
        &["load", "--strategy", "overwrite"],
        Some(&dirs.path("truncated.jsonl")),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("truncated")
            && stderr(&out).contains("were written before this was found"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_strategy_does_what_its_name_says() {
    let dirs = Dirs::new();
    let p = Partition::try_from("strategies").unwrap();
    let source: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|k| {
            (
                p.clone(),
                Key::try_from(*k).unwrap(),
                Value::try_from(format!("new-{k}").as_str()).unwrap(),
            )
        })
        .collect();
    fill(&dirs.path("source"), &source).await;
    let file = dirs.path("dump.jsonl");
    assert!(
        metakv(
            &local(&dirs.path("source")),
            &["dump", "--output", file.to_str().unwrap()],
            None
        )
        .status
        .success()
    );
    let existing = (
        p.clone(),
        Key::try_from("b").unwrap(),
        Value::try_from("old-b").unwrap(),
    );
    let value_of_b =
        |all: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>| all.into_iter().find(|e| e.1 == b"b").map(|e| e.2);

    let target = dirs.path("fail");
    fill(&target, std::slice::from_ref(&existing)).await;
    let out = load(&target, &file, "fail-if-exists");
    assert_eq!(
        out.status.code(),
        Some(3),
        "condition failed: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("key b\"b\" exists") && stderr(&out).contains("fail-if-exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(value_of_b(contents(&target).await), Some(b"old-b".to_vec()));

    let target = dirs.path("skip");
    fill(&target, std::slice::from_ref(&existing)).await;
    let out = load(&target, &file, "skip-existing");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 written, 1 skipped"),
        "{}",
        stderr(&out)
    );
    let all = contents(&target).await;
    assert_eq!(all.len(), 3);
    assert_eq!(
        value_of_b(all),
        Some(b"old-b".to_vec()),
        "the existing key is left alone"
    );

    let target = dirs.path("overwrite");
    fill(&target, std::slice::from_ref(&existing)).await;
    let out = load(&target, &file, "overwrite");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        contents(&target).await,
        sorted(&source),
        "every value replaced"
    );
}

/// The backends of the emulators, each with fresh names.
fn backends() -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let mut out = Vec::new();
    if let Some(url) = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL") {
        out.push((
            "postgres",
            vec![
                ("METAKV_DATABASE__TYPE", "postgres".into()),
                ("METAKV_DATABASE__POSTGRES__URL", url),
                ("METAKV_DATABASE__POSTGRES__TABLE", unique("metakv_dump_")),
                ("METAKV_DATABASE__POSTGRES__AUTO_CREATE", "true".into()),
            ],
        ));
    }
    if let Some(url) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") {
        out.push((
            "dynamodb",
            vec![
                ("METAKV_DATABASE__TYPE", "dynamodb".into()),
                ("METAKV_DATABASE__DYNAMODB__ENDPOINT", url),
                ("METAKV_DATABASE__DYNAMODB__TABLE", unique("metakv-dump-")),
                ("METAKV_DATABASE__DYNAMODB__REGION", "us-east-1".into()),
                ("METAKV_DATABASE__DYNAMODB__ACCESS_KEY_ID", "test".into()),
                (
                    "METAKV_DATABASE__DYNAMODB__SECRET_ACCESS_KEY",
                    "test".into(),
                ),
                ("METAKV_DATABASE__DYNAMODB__AUTO_CREATE", "true".into()),
            ],
        ));
    }
    if let Some(url) = kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL") {
        out.push((
            "cosmosdb",
            vec![
                ("METAKV_DATABASE__TYPE", "cosmosdb".into()),
                ("METAKV_DATABASE__COSMOSDB__ENDPOINT", url),
                ("METAKV_DATABASE__COSMOSDB__KEY", EMULATOR_KEY.into()),
                ("METAKV_DATABASE__COSMOSDB__DATABASE", "metakv-dump".into()),
                ("METAKV_DATABASE__COSMOSDB__CONTAINER", unique("dump-")),
                ("METAKV_DATABASE__COSMOSDB__AUTO_CREATE", "true".into()),
                ("METAKV_DATABASE__COSMOSDB__EMULATOR", "true".into()),
                (
                    "METAKV_DATABASE__COSMOSDB__ACCEPT_WEAK_CONSISTENCY",
                    "true".into(),
                ),
            ],
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dump_loads_into_every_driver_and_dumps_back_with_the_same_digest() {
    let dirs = Dirs::new();
    let data = entries(&unique("all-"));
    fill(&dirs.path("source"), &data).await;
    let file = dirs.path("dump.jsonl.zst");
    let dumped = metakv(
        &local(&dirs.path("source")),
        &["dump", "--output", file.to_str().unwrap()],
        None,
    );
    assert!(dumped.status.success(), "{}", stderr(&dumped));
    let partitions: Vec<String> = {
        let mut ps: Vec<_> = data
            .iter()
            .map(|(p, _, _)| metakv::api::b64(p.as_bytes()))
            .collect();
        ps.dedup();
        ps
    };
    for (name, env) in backends() {
        let loaded = metakv(
            &env,
            &[
                "load",
                "--input",
                file.to_str().unwrap(),
                "--strategy",
                "fail-if-exists",
            ],
            None,
        );
        assert!(loaded.status.success(), "{name}: {}", stderr(&loaded));
        // Only this test's partitions: the emulators hold other tests' data too.
        let mut args = vec!["dump", "--base64", "--output"];
        let back = dirs.path(&format!("{name}.jsonl"));
        args.push(back.to_str().unwrap());
        for p in &partitions {
            args.extend(["--partition", p.as_str()]);
        }
        let again = metakv(&env, &args, None);
        assert!(again.status.success(), "{name}: {}", stderr(&again));
        assert_eq!(digest(&again), digest(&dumped), "{name}: the same entries");
    }
}
