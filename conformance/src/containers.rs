//! Backends in containers: when a backend's `KV_TEST_*_URL` is not set and a Docker API is
//! reachable, the suite starts the backend in a container with testcontainers, once per test
//! binary, and the container is removed when the test binary exits (however it exits).
//!
//! Images are configurable (`KV_TEST_POSTGRES_IMAGE`, `KV_TEST_DYNAMODB_IMAGE`,
//! `KV_TEST_COSMOS_IMAGE`) and default to the official ones. `scripts/test.sh` builds
//! stand-ins for them from Debian's packages (`docker/test-*.Dockerfile`) on machines that reach
//! no registry; the code below is the same for both.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use testcontainers::bollard::models::PortBinding;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, ContainerRequest, GenericImage, Image, ImageExt};
use testcontainers_modules::dynamodb_local::DynamoDb;
use testcontainers_modules::postgres::Postgres;

/// The label every container started for the tests carries (the test script checks that none
/// is left after the tests).
pub const TEST_LABEL: &str = "dev.metakv.test";

/// How long a backend may take to start and report ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);

/// A backend the suite can reach through an endpoint variable or start in a container.
#[derive(Debug)]
pub struct Service {
    /// A short name, for messages.
    pub backend: &'static str,
    /// The variable naming a running backend (always wins).
    pub variable: &'static str,
    /// The variable naming the image to start when `variable` is not set.
    pub image_variable: &'static str,
    /// The image used when `image_variable` is not set.
    pub default_image: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Postgres,
    DynamoDb,
    Cosmos,
}

/// PostgreSQL: the official image (`POSTGRES_USER` / `POSTGRES_PASSWORD` / `POSTGRES_DB`,
/// port 5432).
pub static POSTGRES: Service = Service {
    backend: "postgres",
    variable: "KV_TEST_POSTGRES_URL",
    image_variable: "KV_TEST_POSTGRES_IMAGE",
    default_image: "docker.io/library/postgres:17",
    kind: Kind::Postgres,
};

/// DynamoDB Local: AWS's image (in memory, port 8000).
pub static DYNAMODB: Service = Service {
    backend: "dynamodb-local",
    variable: "KV_TEST_DYNAMODB_URL",
    image_variable: "KV_TEST_DYNAMODB_IMAGE",
    default_image: "docker.io/amazon/dynamodb-local:latest",
    kind: Kind::DynamoDb,
};

/// The Cosmos DB emulator: Microsoft's Linux emulator image by default, or the project's
/// patched `@vercel/cosmosdb-server` image (`docker/test-cosmos.Dockerfile`). Both serve HTTPS
/// with a self-signed certificate on port 8081 and accept the emulator's well-known key.
pub static COSMOS: Service = Service {
    backend: "cosmosdb-emulator",
    variable: "KV_TEST_COSMOS_URL",
    image_variable: "KV_TEST_COSMOS_IMAGE",
    default_image: "mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator:latest",
    kind: Kind::Cosmos,
};

/// Name of the PostgreSQL role, password and database in a container the suite starts.
pub const POSTGRES_CREDENTIALS: &str = "metakv";

impl Service {
    /// The image to start: `image_variable`, or the default.
    pub fn image(&self) -> String {
        std::env::var(self.image_variable)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| self.default_image.to_string())
    }
}

/// Whether a Docker API looks reachable: `DOCKER_HOST` is set, or the usual socket exists.
pub fn docker_available() -> bool {
    std::env::var_os("DOCKER_HOST").is_some_and(|v| !v.is_empty())
        || std::path::Path::new("/var/run/docker.sock").exists()
}

/// Splits `registry/name:tag` into name and tag (`latest` when there is none).
pub fn split_image(image: &str) -> (&str, &str) {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_start..].rfind(':') {
        Some(i) => (&image[..name_start + i], &image[name_start + i + 1..]),
        None => (image, "latest"),
    }
}

/// The endpoint of `service`'s container, started on first use in this process (later callers
/// wait for it and share it).
pub(crate) fn started(service: &'static Service) -> Result<String, String> {
    static STARTED: [OnceLock<Result<String, String>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = &STARTED[service.kind as usize];
    slot.get_or_init(|| {
        // testcontainers' blocking runner has its own runtime; it must not run on the test's.
        std::thread::spawn(move || start_service(service))
            .join()
            .unwrap_or_else(|_| Err(format!("starting {} panicked", service.backend)))
    })
    .clone()
}

fn start_service(service: &Service) -> Result<String, String> {
    let image = service.image();
    let (name, tag) = split_image(&image);
    let fail = |e: testcontainers::TestcontainersError| {
        format!("{} in a container ({image}): {e}", service.backend)
    };
    eprintln!(
        "{}: {} is not set; starting {image} with testcontainers",
        service.backend, service.variable
    );
    match service.kind {
        Kind::Postgres => {
            let request = Postgres::default()
                .with_user(POSTGRES_CREDENTIALS)
                .with_password(POSTGRES_CREDENTIALS)
                .with_db_name(POSTGRES_CREDENTIALS);
            let request = request.with_name(name).with_tag(tag);
            let (container, port) = start(request, 5432, None).map_err(fail)?;
            let c = POSTGRES_CREDENTIALS;
            Ok(keep(
                container,
                format!("postgres://{c}:{c}@127.0.0.1:{port}/{c}"),
            ))
        }
        Kind::DynamoDb => {
            let request = DynamoDb::default().with_name(name).with_tag(tag);
            let (container, port) = start(request, 8000, None).map_err(fail)?;
            Ok(keep(container, format!("http://127.0.0.1:{port}")))
        }
        Kind::Cosmos => {
            let emulator =
                CosmosImage::of(name).map_err(|e| format!("{}: {e}", service.backend))?;
            let mut request: ContainerRequest<GenericImage> = GenericImage::new(name, tag)
                .with_exposed_port(emulator.port.tcp())
                .with_wait_for(WaitFor::message_on_stdout(emulator.ready_message))
                .into();
            for (key, value) in emulator.env {
                request = request.with_env_var(*key, *value);
            }
            if !emulator.cmd.is_empty() {
                request = request.with_cmd(emulator.cmd);
            }
            // Both emulators advertise the port they listen on in the account's endpoints,
            // which the SDK then uses: the host port must be that port.
            let (container, port) =
                start(request, emulator.port, Some(emulator.port)).map_err(fail)?;
            Ok(keep(container, format!("https://127.0.0.1:{port}/")))
        }
    }
}

/// What differs between Microsoft's Linux emulator and the project's emulator image.
struct CosmosImage {
    /// The port it listens on inside the container, and (see above) on the host.
    port: u16,
    /// The line the emulator prints once it serves requests.
    ready_message: &'static str,
    env: &'static [(&'static str, &'static str)],
    cmd: Vec<String>,
}

impl CosmosImage {
    fn of(name: &str) -> std::io::Result<Self> {
        Ok(if name.contains("azure-cosmos-emulator") {
            // Microsoft's: always 8081 (so one at a time per machine), its certificate is
            // self-signed like ours, "Started" once every partition is up.
            CosmosImage {
                port: 8081,
                ready_message: "Started",
                env: &[
                    ("AZURE_COSMOS_EMULATOR_PARTITION_COUNT", "3"),
                    ("AZURE_COSMOS_EMULATOR_ENABLE_DATA_PERSISTENCE", "false"),
                    ("AZURE_COSMOS_EMULATOR_IP_ADDRESS_OVERRIDE", "127.0.0.1"),
                ],
                cmd: Vec::new(),
            }
        } else {
            // Ours (launch.js): listens on the port its command names, so a free one is
            // chosen and several can run side by side.
            let port = free_port()?;
            CosmosImage {
                port,
                ready_message: "listening",
                env: &[],
                cmd: vec![port.to_string(), "0.0.0.0".into()],
            }
        })
    }
}

/// A TCP port free on 127.0.0.1 right now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `request` with the test label, publishes its `port` on 127.0.0.1 (on `host_port`, or
/// a free one), arranges its removal when this process exits (see [`reap_at_exit`]; dropping
/// the container removes it sooner), and returns it with the host port.
///
/// The port is published explicitly on 127.0.0.1 rather than with "publish all ports": that
/// keeps test databases off the machine's other interfaces, and podman (4.3) reports the
/// bindings of "publish all" without a host address, which testcontainers cannot classify.
pub fn start<I: Image>(
    request: impl Into<ContainerRequest<I>>,
    port: u16,
    host_port: Option<u16>,
) -> Result<(Container<I>, u16), testcontainers::TestcontainersError> {
    let binding = format!("{port}/tcp");
    let container = request
        .into()
        .with_label(TEST_LABEL, "1")
        .with_startup_timeout(STARTUP_TIMEOUT)
        .with_host_config_modifier(move |host| {
            host.publish_all_ports = Some(false);
            host.port_bindings = Some(HashMap::from([(
                binding.clone(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(host_port.map(|p| p.to_string()).unwrap_or_default()),
                }]),
            )]));
        })
        .start()?;
    reap_at_exit(container.id());
    let mapped = container.get_host_port_ipv4(port)?;
    Ok((container, mapped))
}

/// Keeps `container` running for the rest of the process (its removal is the reaper's) and
/// returns `endpoint`.
fn keep<I: Image>(container: Container<I>, endpoint: String) -> String {
    eprintln!("started container {} at {endpoint}", container.id());
    std::mem::forget(container);
    endpoint
}

/// Removes container `id` once this process has exited, whatever ends it (a panic, a failed
/// test, SIGKILL): a small reaper process waits for the end of a pipe that only this process
/// holds, then removes the container with the Docker CLI (`docker`, or `podman`). It runs in a
/// process group of its own, so that Ctrl-C in the terminal does not end it first.
pub fn reap_at_exit(id: &str) {
    static PIPES: Mutex<Vec<ChildStdin>> = Mutex::new(Vec::new());
    let Some(cli) = ["docker", "podman"].into_iter().find(|cli| on_path(cli)) else {
        eprintln!(
            "warning: neither docker nor podman is on PATH; container {id} stays after the tests"
        );
        return;
    };
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(r#"cat >/dev/null; "$0" rm -f -v "$1" >/dev/null 2>&1"#)
        .arg(cli)
        .arg(id)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    match spawned {
        Ok(mut child) => {
            if let Some(mut pipe) = child.stdin.take() {
                let _ = pipe.flush();
                PIPES.lock().unwrap_or_else(|e| e.into_inner()).push(pipe);
            }
        }
        Err(e) => eprintln!("warning: cannot start the reaper of container {id}: {e}"),
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_name_and_tag() {
        assert_eq!(
            split_image("localhost/metakv-test-postgres:0123abcd"),
            ("localhost/metakv-test-postgres", "0123abcd")
        );
        assert_eq!(
            split_image("localhost:5000/postgres"),
            ("localhost:5000/postgres", "latest")
        );
        assert_eq!(
            split_image("mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator:latest"),
            (
                "mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator",
                "latest"
            )
        );
        assert_eq!(split_image("postgres:17"), ("postgres", "17"));
    }

    #[test]
    fn the_two_cosmos_emulators_differ_only_where_documented() {
        let microsoft =
            CosmosImage::of("mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator").unwrap();
        let ours = CosmosImage::of("localhost/metakv-test-cosmos").unwrap();
        assert_eq!((microsoft.port, microsoft.cmd.len()), (8081, 0));
        assert_eq!(ours.cmd, [ours.port.to_string(), "0.0.0.0".to_string()]);
        assert_eq!(
            (microsoft.ready_message, ours.ready_message),
            ("Started", "listening")
        );
    }
}
