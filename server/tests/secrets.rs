//! Secrets never appear in any output: recognisable values in every configuration field that
//! holds a secret, then the server's logs at trace level, its error bodies during an outage,
//! `/metrics`, `config show`, and the `Debug` of the loaded configuration are searched for
//! them.

use std::io::BufRead;
use std::process::{Command, Stdio};

const SECRETS: [(&str, &str); 6] = [
    ("METAKV_SERVER__AUTH__TOKENS", "[SECRET-TOKEN-0f3a]"),
    (
        "METAKV_DATABASE__POSTGRES__PASSWORD",
        "SECRET-PG-PASSWORD-91c2",
    ),
    (
        "METAKV_DATABASE__POSTGRES__URL",
        // Nothing listens on port 1: the server waits for its backend, answering 503s.
        "postgres://metakv:SECRET-URL-PASSWORD-77d0@127.0.0.1:1/metakv",
    ),
    ("METAKV_DATABASE__DYNAMODB__ACCESS_KEY_ID", "AKIDEXAMPLE"),
    (
        "METAKV_DATABASE__DYNAMODB__SECRET_ACCESS_KEY",
        "SECRET-AWS-KEY-5b8e",
    ),
    (
        "METAKV_DATABASE__COSMOSDB__KEY",
        "U0VDUkVULUNPU01PUy1LRVktYTQ0Ng==",
    ),
];

/// The values that must never be printed.
fn needles() -> Vec<&'static str> {
    vec![
        "SECRET-TOKEN-0f3a",
        "SECRET-PG-PASSWORD-91c2",
        "SECRET-URL-PASSWORD-77d0",
        "SECRET-AWS-KEY-5b8e",
        "U0VDUkVULUNPU01PUy1LRVktYTQ0Ng==",
    ]
}

fn metakv(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_metakv"));
    c.args(args)
        .env_remove("METAKV_CONFIG")
        .env("METAKV_DATABASE__TYPE", "postgres")
        .env("METAKV_DATABASE__POSTGRES__CONNECT_TIMEOUT_MS", "300")
        .env("METAKV_SERVER__WAIT_FOR_BACKEND", "true")
        .envs(SECRETS);
    c
}

fn assert_clean(what: &str, text: &str) {
    for n in needles() {
        assert!(!text.contains(n), "{what} shows the secret {n}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = metakv(&["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("metakv listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let client = reqwest::Client::new();
    let mut bodies = String::new();
    for path in [
        "/v1/p/cA/k/a2V5",
        "/v1/p/cA/k",
        "/v1/export",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        for token in [Some("SECRET-TOKEN-0f3a"), Some("a-wrong-token"), None] {
            let mut r = client.get(format!("{base}{path}"));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            bodies.push_str(&format!("{path} {}\n{:?}\n", r.status(), r.headers()));
            bodies.push_str(&r.text().await.unwrap());
        }
    }
    // The outage answered with its cause, so the bodies were really looked at.
    assert!(bodies.contains("Connection refused"), "{bodies}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logging was on:\n{logs}"
    );
    assert_clean("an HTTP answer", &bodies);
    assert_clean("the trace log", &logs);

    let shown = metakv(&["config", "show"]).output().unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&shown.stdout),
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(shown.contains("[database.postgres]"), "{shown}");
    assert_clean("config show", &shown);

    // The Debug of the loaded configuration.
    let file = dir.path().join("metakv.toml");
    std::fs::write(
        &file,
        r#"
[database]
type = "postgres"
[database.postgres]
url = "postgres://metakv:SECRET-URL-PASSWORD-77d0@db:5432/metakv"
password = "SECRET-PG-PASSWORD-91c2"
[database.dynamodb]
access_key_id = "AKIDEXAMPLE"
secret_access_key = "SECRET-AWS-KEY-5b8e"
[database.cosmosdb]
key = "U0VDUkVULUNPU01PUy1LRVktYTQ0Ng=="
[server.auth]
tokens = ["SECRET-TOKEN-0f3a"]
"#,
    )
    .unwrap();
    let config = metakv::Config::load(Some(&file)).unwrap();
    assert_clean(
        "Debug of the configuration",
        &format!("{config:?} {config:#?}"),
    );
}
