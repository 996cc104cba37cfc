//! The server image as users run it: `METAKV_TEST_IMAGE` (built from the Dockerfile by
//! `scripts/test.sh`), started through the Docker API with testcontainers.
//!
//! - on the embedded store in a named volume, read-only root filesystem: the HTTP API with
//!   binary keys, a restart of the container, a new container on the same volume, the user it
//!   runs as, and a clean stop on SIGTERM within the grace period;
//! - against PostgreSQL in another container on a shared network, configured only by
//!   `METAKV_*` environment variables, as the Helm chart configures it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use kv_conformance::containers::{self, POSTGRES_CREDENTIALS, split_image};
use kv_core::{Condition, Key, KvStore, KvStoreExt, Partition, ScanOptions, Value};
use metakv::HttpStore;
use testcontainers::bollard::Docker;
use testcontainers::core::{IntoContainerPort, Mount, WaitFor};
use testcontainers::{Container, GenericImage, ImageExt};
use testcontainers_modules::postgres::Postgres;

/// The grace period the test gives the server to stop after SIGTERM before the engine kills it.
const STOP_GRACE_SECS: i32 = 20;

fn image() -> Option<String> {
    kv_conformance::endpoint("metakv image", "METAKV_TEST_IMAGE")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A request for the image, printing "metakv listening" once it serves.
fn metakv(image: &str) -> testcontainers::ContainerRequest<GenericImage> {
    let (name, tag) = split_image(image);
    GenericImage::new(name, tag)
        .with_exposed_port(7070.tcp())
        .with_wait_for(WaitFor::message_on_stdout("metakv listening"))
        .with_readonly_rootfs(true)
}

/// Waits until `GET /readyz` answers 200 (after a restart, which testcontainers does not wait
/// for).
async fn ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} not ready after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Binary keys (the bytes that paths and JSON make hard) and their values.
fn entries() -> Vec<(Key, Value)> {
    [
        &b"\x00"[..],
        b"a/b",
        b"a%2Fb",
        b"\xff\xfe",
        b"with space",
        b"\x01\x02\x03",
    ]
    .iter()
    .enumerate()
    .map(|(i, k)| {
        let mut value = vec![0u8, 0xff, b'\n'];
        value.extend_from_slice(format!("value {i}").as_bytes());
        (Key::try_from(*k).unwrap(), Value::try_from(value).unwrap())
    })
    .collect()
}

async fn write_entries(store: &Arc<dyn KvStore>, partition: &Partition) {
    for (key, value) in entries() {
        let written = store
            .put(partition, &key, &value, &Condition::Absent)
            .await
            .unwrap();
        assert!(written.created);
        let read = store.get(partition, &key).await.unwrap().unwrap();
        assert_eq!((read.value, read.version), (value, written.version));
    }
}

/// Every entry comes back from a scan, in unsigned byte order, and a prefix scan finds its own.
async fn check_entries(store: &Arc<dyn KvStore>, partition: &Partition) {
    let mut expected = entries();
    expected.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let scanned: Vec<_> = store
        .scan(partition, ScanOptions::new().with_page_size(2))
        .try_collect()
        .await
        .unwrap();
    let scanned: Vec<_> = scanned.into_iter().map(|e| (e.key, e.value)).collect();
    assert_eq!(scanned, expected);
    let prefixed: Vec<_> = store
        .scan(partition, ScanOptions::new().with_prefix(b"a".to_vec()))
        .try_collect()
        .await
        .unwrap();
    let keys: Vec<_> = prefixed.iter().map(|e| e.key.as_bytes().to_vec()).collect();
    assert_eq!(keys, [b"a%2Fb".to_vec(), b"a/b".to_vec()]);
}

fn store(port: u16) -> Arc<dyn KvStore> {
    Arc::new(HttpStore::new(&base_url(port), None).unwrap())
}

/// The container's state as the engine reports it: the user of its main process (from /proc
/// when the engine runs on this host, else the configured user), whether its root filesystem is
/// read-only, and its exit code once stopped.
struct Inspected {
    uid: String,
    readonly_rootfs: bool,
    running: bool,
    exit_code: Option<i64>,
}

async fn inspect(id: &str) -> Inspected {
    let docker = Docker::connect_with_defaults().unwrap();
    let info = docker.inspect_container(id, None).await.unwrap();
    let state = info.state.unwrap_or_default();
    let configured = info.config.and_then(|c| c.user).unwrap_or_default();
    let uid = state
        .pid
        .filter(|pid| *pid > 0)
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_else(|| configured.split(':').next().unwrap_or_default().to_string());
    Inspected {
        uid,
        readonly_rootfs: info
            .host_config
            .and_then(|h| h.readonly_rootfs)
            .unwrap_or(false),
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code,
    }
}

async fn remove_volume(name: &str) {
    let docker = Docker::connect_with_defaults().unwrap();
    let _ = docker
        .remove_volume(
            name,
            None::<testcontainers::bollard::query_parameters::RemoveVolumeOptions>,
        )
        .await;
}

/// Stops `container` with SIGTERM and a grace period; it must exit by itself (status 0), not be
/// killed when the grace period runs out (137).
fn stop_cleanly(rt: &tokio::runtime::Runtime, container: &Container<GenericImage>) {
    container.stop_with_timeout(Some(STOP_GRACE_SECS)).unwrap();
    let state = rt.block_on(inspect(container.id()));
    assert!(!state.running);
    assert_eq!(
        state.exit_code,
        Some(0),
        "metakv must stop by itself on SIGTERM within {STOP_GRACE_SECS} s"
    );
    let logs = String::from_utf8_lossy(&container.stdout_to_vec().unwrap()).into_owned();
    let errors = String::from_utf8_lossy(&container.stderr_to_vec().unwrap()).into_owned();
    assert!(
        format!("{logs}{errors}").contains("stopped"),
        "the server logs its clean stop:\n{logs}\n{errors}"
    );
}

#[test]
fn the_image_serves_the_embedded_store_from_its_volume_as_an_unprivileged_read_only_container() {
    let Some(image) = image() else {
        return;
    };
    let rt = runtime();
    let volume = unique("metakv-test-data");
    let partition = Partition::try_from(&b"p\x00/\xff"[..]).unwrap();
    let request = metakv(&image).with_mount(Mount::volume_mount(&volume, "/var/lib/metakv"));
    let (container, port) = containers::start(request, 7070, None).unwrap();

    let state = rt.block_on(inspect(container.id()));
    assert_eq!(state.uid, "65532", "the server runs as user 65532");
    assert!(state.readonly_rootfs);

    rt.block_on(async {
        ready(&base_url(port)).await;
        let store = store(port);
        write_entries(&store, &partition).await;
        check_entries(&store, &partition).await;
    });

    // The same container, stopped with SIGTERM and started again.
    stop_cleanly(&rt, &container);
    container.start().unwrap();
    let port = container.get_host_port_ipv4(7070).unwrap();
    rt.block_on(async {
        ready(&base_url(port)).await;
        check_entries(&store(port), &partition).await;
    });
    stop_cleanly(&rt, &container);
    drop(container);

    // A new container on the same volume: the data lives in the volume, not in the container.
    let request = metakv(&image).with_mount(Mount::volume_mount(&volume, "/var/lib/metakv"));
    let (container, port) = containers::start(request, 7070, None).unwrap();
    rt.block_on(async {
        ready(&base_url(port)).await;
        check_entries(&store(port), &partition).await;
    });
    stop_cleanly(&rt, &container);
    drop(container);
    rt.block_on(remove_volume(&volume));
}

#[test]
fn the_image_runs_against_postgres_in_another_container_configured_by_environment_only() {
    let Some(image) = image() else {
        return;
    };
    let postgres_image = kv_conformance::POSTGRES.image();
    let rt = runtime();
    let network = unique("metakv-test-net");
    let db_host = unique("metakv-test-db");
    let (name, tag) = split_image(&postgres_image);
    let (c, password) = (POSTGRES_CREDENTIALS, unique("image-test-secret"));
    let db = Postgres::default()
        .with_user(c)
        .with_password(&password)
        .with_db_name(c)
        .with_name(name)
        .with_tag(tag)
        .with_network(&network)
        .with_container_name(&db_host);
    let (db, _) = containers::start(db, 5432, None).unwrap();

    let request = metakv(&image)
        .with_network(&network)
        .with_env_var("METAKV_DATABASE__TYPE", "postgres")
        .with_env_var(
            "METAKV_DATABASE__POSTGRES__URL",
            format!("postgres://{c}:{password}@{db_host}:5432/{c}"),
        )
        .with_env_var("METAKV_DATABASE__POSTGRES__AUTO_CREATE", "true")
        .with_env_var("METAKV_SERVER__AUTH__TOKENS", "[image-test-token]")
        .with_env_var("METAKV_LOG__FORMAT", "json");
    let (container, port) = containers::start(request, 7070, None).unwrap();
    let partition = Partition::try_from(unique("image-pg").as_str()).unwrap();
    rt.block_on(async {
        ready(&base_url(port)).await;
        // Tokens from the environment: no token, no access.
        let anonymous = store(port);
        let err = anonymous
            .get(&partition, &Key::try_from("k").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kv_core::ErrorKind::Unauthorized, "{err}");
        let store: Arc<dyn KvStore> = Arc::new(
            HttpStore::new(
                &base_url(port),
                Some(kv_core::Secret::new("image-test-token")),
            )
            .unwrap(),
        );
        write_entries(&store, &partition).await;
        check_entries(&store, &partition).await;
    });
    stop_cleanly(&rt, &container);
    let logs = [
        container.stdout_to_vec().unwrap(),
        container.stderr_to_vec().unwrap(),
    ]
    .concat();
    let logs = String::from_utf8_lossy(&logs);
    assert!(
        logs.contains(r#""backend":"postgres""#),
        "the server used the backend named by METAKV_DATABASE__TYPE:\n{logs}"
    );
    assert!(
        !logs.contains(&password),
        "the database password never appears in the logs"
    );
    drop(container);
    drop(db);
}
