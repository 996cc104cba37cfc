//! `metakv check` against live backends: it passes on every correctly configured backend, leaves
//! no scratch partition behind (also after Ctrl-C), never touches another partition, and
//! reports the failing behaviours of a broken store.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kv_conformance::Fixture;
use kv_core::{
    Batch, Condition, DeleteCondition, ExportPage, InMemoryStore, Key, KvStore, Partition, Result,
    ScanPage, ScanRequest, Value, Version, Versioned, Written,
};

const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

fn metakv(env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_metakv"));
    command
        .args(args)
        .env_remove("METAKV_CONFIG")
        .env_remove("KV_TEST_MODE")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn local(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("METAKV_DATABASE__TYPE", "local".into()),
        ("METAKV_DATABASE__LOCAL__PATH", dir.display().to_string()),
    ]
}

/// The last line of `metakv dump` (the summary with the count and digest).
fn dump_summary(env: &[(&str, String)]) -> String {
    let out = metakv(env, &["dump"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap()
        .to_string()
}

fn assert_all_pass(out: &Output, report: &Path) {
    assert!(out.status.success(), "{}", text(out));
    assert!(
        text(out).contains("check: 58 passed, 0 failed, 1 left out"),
        "{}",
        text(out)
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(
        (json["passed"].as_u64(), json["failed"].as_u64()),
        (Some(58), Some(0))
    );
    assert_eq!(json["behaviours"].as_array().unwrap().len(), 59);
}

#[test]
fn check_passes_on_the_embedded_store_and_leaves_only_what_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let env = local(&dir.path().join("data"));
    let put = metakv(&env, &["put", "production", "main", "commit-1"])
        .output()
        .unwrap();
    assert!(put.status.success(), "{}", text(&put));
    let before = dump_summary(&env);
    let report = dir.path().join("report.json");
    let out = metakv(&env, &["check", "--json", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_all_pass(&out, &report);
    assert!(text(&out).contains("no other partition is read or written"));
    assert_eq!(
        dump_summary(&env),
        before,
        "only the entry that was there is there"
    );
}

#[test]
fn check_passes_on_the_in_memory_store() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let env = vec![("METAKV_DATABASE__TYPE", "memory".to_string())];
    let out = metakv(&env, &["check", "--json", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_all_pass(&out, &report);
}

#[test]
fn check_passes_on_every_emulator() {
    let mut backends: Vec<Vec<(&str, String)>> = Vec::new();
    if let Some(url) = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL") {
        backends.push(vec![
            ("METAKV_DATABASE__TYPE", "postgres".into()),
            ("METAKV_DATABASE__POSTGRES__URL", url),
            ("METAKV_DATABASE__POSTGRES__TABLE", "metakv_check".into()),
            ("METAKV_DATABASE__POSTGRES__AUTO_CREATE", "true".into()),
        ]);
    }
    if let Some(url) = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL") {
        backends.push(vec![
            ("METAKV_DATABASE__TYPE", "dynamodb".into()),
            ("METAKV_DATABASE__DYNAMODB__ENDPOINT", url),
            ("METAKV_DATABASE__DYNAMODB__TABLE", "metakv-check".into()),
            ("METAKV_DATABASE__DYNAMODB__REGION", "us-east-1".into()),
            ("METAKV_DATABASE__DYNAMODB__ACCESS_KEY_ID", "test".into()),
            (
                "METAKV_DATABASE__DYNAMODB__SECRET_ACCESS_KEY",
                "test".into(),
            ),
            ("METAKV_DATABASE__DYNAMODB__AUTO_CREATE", "true".into()),
        ]);
    }
    if let Some(url) = kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL") {
        backends.push(vec![
            ("METAKV_DATABASE__TYPE", "cosmosdb".into()),
            ("METAKV_DATABASE__COSMOSDB__ENDPOINT", url),
            ("METAKV_DATABASE__COSMOSDB__KEY", EMULATOR_KEY.into()),
            ("METAKV_DATABASE__COSMOSDB__DATABASE", "metakv-check".into()),
            ("METAKV_DATABASE__COSMOSDB__CONTAINER", "check".into()),
            ("METAKV_DATABASE__COSMOSDB__AUTO_CREATE", "true".into()),
            ("METAKV_DATABASE__COSMOSDB__EMULATOR", "true".into()),
            (
                "METAKV_DATABASE__COSMOSDB__ACCEPT_WEAK_CONSISTENCY",
                "true".into(),
            ),
        ]);
    }
    let dir = tempfile::tempdir().unwrap();
    for env in backends {
        let report = dir.path().join(format!("{}.json", env[0].1));
        let out = metakv(&env, &["check", "--json", report.to_str().unwrap()])
            .output()
            .unwrap();
        assert_all_pass(&out, &report);
    }
}

#[test]
fn ctrl_c_stops_the_check_and_removes_its_scratch_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let env = local(&dir.path().join("data"));
    let child = metakv(&env, &["check"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        text(&out).contains("interrupted (scratch partitions removed)"),
        "{}",
        text(&out)
    );
    assert!(
        dump_summary(&env).starts_with("dumped 0 entries"),
        "nothing is left behind"
    );
}

/// A store whose conditional creates overwrite (the condition is ignored).
#[derive(Debug, Clone, Default)]
struct IgnoresConditions(InMemoryStore);

#[kv_core::async_trait]
impl KvStore for IgnoresConditions {
    async fn get(&self, p: &Partition, k: &Key) -> Result<Option<Versioned>> {
        self.0.get(p, k).await
    }
    async fn put(&self, p: &Partition, k: &Key, v: &Value, c: &Condition) -> Result<Written> {
        let c = if *c == Condition::Absent {
            Condition::None
        } else {
            c.clone()
        };
        self.0.put(p, k, v, &c).await
    }
    async fn delete(&self, p: &Partition, k: &Key, c: &DeleteCondition) -> Result<bool> {
        self.0.delete(p, k, c).await
    }
    async fn scan_page(&self, p: &Partition, r: &ScanRequest) -> Result<ScanPage> {
        self.0.scan_page(p, r).await
    }
    async fn batch(&self, p: &Partition, b: &Batch) -> Result<Vec<Option<Version>>> {
        self.0.batch(p, b).await
    }
    async fn delete_partition(&self, p: &Partition) -> Result<()> {
        self.0.delete_partition(p).await
    }
    async fn export_page(&self, t: Option<&str>, n: usize) -> Result<ExportPage> {
        self.0.export_page(t, n).await
    }
    async fn ping(&self) -> Result<()> {
        self.0.ping().await
    }
    async fn close(&self) -> Result<()> {
        self.0.close().await
    }
}

#[derive(Debug, Default)]
struct Broken(IgnoresConditions);

#[kv_core::async_trait]
impl Fixture for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(self.0.clone()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_store_fails_the_behaviours_it_breaks() {
    // A fresh broken store for every behaviour (closing a handle closes the in-memory store).
    let report = metakv::check::run(
        "broken",
        &kv_conformance::all_behaviours(),
        || Arc::new(Broken::default()) as Arc<dyn Fixture>,
        |_| {},
    )
    .await;
    let failed: Vec<_> = report
        .behaviours
        .iter()
        .filter(|o| o.result == "fail")
        .map(|o| o.name)
        .collect();
    assert!(
        failed.contains(&"put_absent_fails_on_a_present_key"),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"concurrent_absent_creates_have_exactly_one_winner"),
        "{failed:?}"
    );
    assert!(!failed.contains(&"binary_data_round_trips"), "{failed:?}");
    assert_eq!(report.failed, failed.len());
    let message = report
        .behaviours
        .iter()
        .find(|o| o.name == "put_absent_fails_on_a_present_key")
        .unwrap();
    assert!(message.message.is_some());
}
