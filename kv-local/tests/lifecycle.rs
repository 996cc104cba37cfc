//! Opening, closing, reopening and a second process.

use std::process::Command;

use kv_core::{Condition, ErrorKind, Key, KvStore, Partition, Value};
use kv_local::{DB_FILE, LocalConfig, LocalStore};

fn pk() -> (Partition, Key) {
    (
        Partition::try_from("p").unwrap(),
        Key::try_from("k").unwrap(),
    )
}

#[tokio::test]
async fn versions_are_not_reused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (p, k) = pk();
    let v = Value::try_from("same").unwrap();
    let store = LocalStore::open(LocalConfig::at(dir.path())).await.unwrap();
    let first = store
        .put(&p, &k, &v, &Condition::None)
        .await
        .unwrap()
        .version;
    assert!(store.delete(&p, &k, &Default::default()).await.unwrap());
    store.close().await.unwrap();

    let store = LocalStore::open(LocalConfig::at(dir.path())).await.unwrap();
    let second = store
        .put(&p, &k, &v, &Condition::Absent)
        .await
        .unwrap()
        .version;
    assert_ne!(first, second);
    let err = store
        .put(&p, &k, &v, &Condition::Version(first))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConditionFailed);
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_second_open_names_the_file_and_the_holding_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(LocalConfig::at(dir.path())).await.unwrap();
    let err = LocalStore::open(LocalConfig::at(dir.path()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let message = err.to_string();
    assert!(
        message.contains(&format!("process {}", std::process::id())),
        "{message}"
    );
    assert!(message.contains(DB_FILE), "{message}");

    // Another process gets the same answer, at once.
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "second_process_open",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KV_LOCAL_SECOND_OPEN", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("OPEN-ERROR unavailable: database unavailable: local store"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("in use by process {}", std::process::id())),
        "{stdout}"
    );

    // Once closed, the directory opens again.
    store.close().await.unwrap();
    LocalStore::open(LocalConfig::at(dir.path()))
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
}

/// Run as a child by the test above.
#[tokio::test]
async fn second_process_open() {
    let Some(dir) = std::env::var_os("KV_LOCAL_SECOND_OPEN") else {
        return;
    };
    match LocalStore::open(LocalConfig::at(dir)).await {
        Ok(_) => println!("OPENED"),
        Err(e) => println!("OPEN-ERROR {}: {e}", e.kind()),
    }
}

#[tokio::test]
async fn closed_store_refuses_operations_and_releases_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (p, k) = pk();
    let store = LocalStore::open(LocalConfig::at(dir.path())).await.unwrap();
    let clone = store.clone();
    store.close().await.unwrap();
    assert_eq!(
        clone.get(&p, &k).await.unwrap_err().kind(),
        ErrorKind::Closed
    );
    assert_eq!(
        clone
            .put(&p, &k, &Value::default(), &Condition::None)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Closed
    );
}

#[tokio::test]
async fn group_commit_off_still_passes_basic_operations() {
    let dir = tempfile::tempdir().unwrap();
    let (p, k) = pk();
    let config = LocalConfig {
        group_commit: false,
        ..LocalConfig::at(dir.path())
    };
    let store = LocalStore::open(config).await.unwrap();
    let v1 = store
        .put(&p, &k, &Value::try_from("a").unwrap(), &Condition::Absent)
        .await
        .unwrap()
        .version;
    store
        .put(
            &p,
            &k,
            &Value::try_from("b").unwrap(),
            &Condition::Version(v1),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get(&p, &k).await.unwrap().unwrap().value.as_bytes(),
        b"b"
    );
    store.close().await.unwrap();
}
