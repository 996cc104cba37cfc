//! The CLI as a script sees it: through a running server (`--url`, `METAKV_URL`), JSON output,
//! quiet and colourless stderr, exit codes, and warnings and errors that say what to change.

mod common;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use common::{EMULATOR_KEY, Server, TOKEN};
use serde_json::Value as Json;

/// `metakv <args>` with only `env` set among the METAKV_* variables, `stdin` fed to it.
fn metakv(env: &[(&str, &str)], args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_metakv"));
    for (name, _) in std::env::vars() {
        if name.starts_with("METAKV_")
            || name.starts_with("AWS_")
            || name == "RUST_LOG"
            || name == "NO_COLOR"
        {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// The version of the binary key `00 ff` in partition `branches`, read through `env`'s server.
fn binary_key_version(env: &[(&str, &str)]) -> String {
    let out = metakv(
        env,
        &[
            "get",
            "YnJhbmNoZXM=",
            "AP8=",
            "--base64",
            "--output",
            "json",
        ],
        None,
    );
    let item: Json = serde_json::from_str(&stdout(&out)).unwrap();
    item["version"].as_str().unwrap().to_string()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[tokio::test]
async fn the_cli_goes_through_a_running_server_that_holds_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    // The server holds the embedded store's lock: the CLI must go through it.
    let server = Server::start(&[("METAKV_DATABASE__LOCAL__PATH", path.clone())]);
    let env = [
        ("METAKV_URL", server.base.as_str()),
        ("METAKV_TOKEN", TOKEN),
    ];

    let out = metakv(
        &env,
        &["put", "branches", "main", "commit-1", "--if-absent"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let version = stdout(&out).trim().to_string();
    assert!(!version.is_empty());
    // Quiet: nothing on stderr, and never a colour code.
    assert_eq!(stderr(&out), "");

    let out = metakv(&env, &["put", "branches", "main", "x", "--if-absent"], None);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("condition"), "{}", stderr(&out));

    let out = metakv(
        &env,
        &[
            "put",
            "branches",
            "main",
            "--if-version",
            &version,
            "--output",
            "json",
        ],
        Some(b"commit-2"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let put: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(put["created"], false);
    let version = put["version"].as_str().unwrap().to_string();

    let out = metakv(&env, &["get", "branches", "main"], None);
    assert_eq!(out.stdout, b"commit-2");
    assert_eq!(stderr(&out), format!("version {version}\n"));
    let out = metakv(&env, &["get", "branches", "main", "--output", "json"], None);
    let got: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(got["version"], version.as_str());
    assert_eq!(got["key"], "bWFpbg==");
    assert_eq!(got["value"], "Y29tbWl0LTI=");
    assert_eq!(stderr(&out), "");

    // Binary keys, base64 on the command line; scan as JSON lines.
    let out = metakv(
        &env,
        &["put", "YnJhbmNoZXM=", "AP8=", "AAEC", "--base64"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = metakv(&env, &["scan", "branches", "--output", "json"], None);
    let lines: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&out));
    assert_eq!(lines[0]["key"], "AP8=");
    assert_eq!(lines[0]["value"], "AAEC");
    assert_eq!(lines[1]["key"], "bWFpbg==");

    // Several keys at once, keys only, and a count, in text and JSON.
    let out = metakv(&env, &["get-many", "branches", "main", "gone"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("main\t{version}\tcommit-2\ngone\t-\n")
    );
    let out = metakv(
        &env,
        &["get-many", "branches", "gone", "main", "--output", "json"],
        None,
    );
    let lines: Vec<Json> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0], Json::Null);
    assert_eq!(lines[1]["value"], "Y29tbWl0LTI=");
    let out = metakv(&env, &["get-many", "branches", "main", "main"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("repeats"), "{}", stderr(&out));
    let out = metakv(&env, &["scan", "branches", "--keys-only"], None);
    assert_eq!(
        stdout(&out),
        format!(
            "\\x00\\xff\t{}\nmain\t{version}\n",
            binary_key_version(&env)
        )
    );
    let out = metakv(
        &env,
        &["scan", "branches", "--keys-only", "--output", "json"],
        None,
    );
    assert!(
        stdout(&out).lines().all(|l| !l.contains("value")),
        "{}",
        stdout(&out)
    );
    let out = metakv(&env, &["count", "branches"], None);
    assert_eq!(stdout(&out), "2\n");
    let out = metakv(
        &env,
        &["count", "branches", "--prefix", "ma", "--output", "json"],
        None,
    );
    assert_eq!(stdout(&out).trim(), r#"{"count":1}"#);

    // A dump through the server names it as the source.
    let file = dir.path().join("through-server.jsonl");
    let out = metakv(&env, &["dump", "--output", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let header = std::fs::read_to_string(&file).unwrap();
    assert!(
        header.lines().next().unwrap().contains(&server.base),
        "{header}"
    );

    let out = metakv(
        &env,
        &["delete", "branches", "main", "--output", "json"],
        None,
    );
    assert_eq!(stdout(&out).trim(), r#"{"deleted":true}"#);
    let out = metakv(&env, &["get", "branches", "main"], None);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stderr(&out), "not found\n");

    // Without the token: refused, with the reason.
    let out = metakv(
        &[("METAKV_URL", server.base.as_str())],
        &["get", "branches", "main"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unauthorized"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(TOKEN));
    // The server's own commands are not sent to it.
    let out = metakv(&env, &["provision"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--url"), "{}", stderr(&out));
    assert!(server.terminate().await.success());
}

#[test]
fn operator_commands_are_quiet_unless_asked_and_never_colour_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let env = [("METAKV_DATABASE__LOCAL__PATH", path)];
    let out = metakv(&env, &["put", "p", "k", "v"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no logs by default");
    let out = metakv(&env, &["-v", "get", "p", "k"], None);
    assert!(out.status.success());
    let logs = stderr(&out);
    assert!(logs.contains("INFO"), "-v logs at info:\n{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "no colour codes on a pipe:\n{logs}"
    );
}

#[test]
fn a_single_underscore_override_is_warned_about_with_the_one_it_meant() {
    let out = metakv(
        &[("METAKV_DATABASE_TYPE", "memory")],
        &["config", "show"],
        None,
    );
    assert!(out.status.success());
    let warning = stderr(&out);
    assert!(
        warning.contains("METAKV_DATABASE_TYPE sets nothing")
            && warning.contains("did you mean METAKV_DATABASE__TYPE?"),
        "{warning}"
    );
    // Only the active backend's section is shown.
    let shown = stdout(&out);
    assert!(shown.contains("type = \"local\""), "{shown}");
    assert!(!shown.contains("[database.postgres]"), "{shown}");
}

#[test]
fn a_bad_base64_argument_is_named() {
    let out = metakv(
        &[("METAKV_DATABASE__TYPE", "memory")],
        &["get", "cGFydA==", "not base64!", "--base64"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the key"), "{}", stderr(&out));
}

#[test]
fn a_refused_postgres_connection_names_the_endpoint_and_the_cause() {
    let out = metakv(
        &[
            ("METAKV_DATABASE__TYPE", "postgres"),
            ("METAKV_DATABASE__POSTGRES__HOST", "127.0.0.1"),
            ("METAKV_DATABASE__POSTGRES__PORT", "1"),
        ],
        &["get", "p", "k"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("connecting to 127.0.0.1:1") && message.contains("Connection refused"),
        "{message}"
    );
}

#[test]
fn a_wrong_postgres_password_says_so_with_its_sqlstate() {
    let Some(url) = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL") else {
        return;
    };
    // postgres://user:password@host:port/db with another password.
    let (user, rest) = url.split_once("://").unwrap().1.split_once(':').unwrap();
    let at_host = &rest[rest.find('@').unwrap()..];
    let wrong = format!("postgres://{user}:not-the-password{at_host}");
    let out = metakv(
        &[
            ("METAKV_DATABASE__TYPE", "postgres"),
            ("METAKV_DATABASE__POSTGRES__URL", &wrong),
        ],
        &["get", "p", "k"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("unauthorized")
            && message.contains("SQLSTATE 28P01")
            && message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
}

#[test]
fn dynamodb_says_where_it_tried_and_tells_configuration_from_an_outage() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap();
    let dynamodb = |extra: &[(&'static str, &'static str)]| {
        let mut env = vec![
            ("METAKV_DATABASE__TYPE", "dynamodb"),
            // No profile, no instance metadata: only what the test sets.
            ("HOME", home),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        env.extend_from_slice(extra);
        metakv(&env, &["get", "p", "k"], None)
    };
    // A refused endpoint: unavailable, at once, naming the table and the endpoint.
    let started = std::time::Instant::now();
    let out = dynamodb(&[
        ("METAKV_DATABASE__DYNAMODB__ENDPOINT", "http://127.0.0.1:1"),
        ("METAKV_DATABASE__DYNAMODB__REGION", "us-east-1"),
        ("METAKV_DATABASE__DYNAMODB__ACCESS_KEY_ID", "id"),
        ("METAKV_DATABASE__DYNAMODB__SECRET_ACCESS_KEY", "secret"),
    ]);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(
        message.contains("unavailable")
            && message.contains("table metakv at http://127.0.0.1:1")
            && message.contains("Connection refused"),
        "{message}"
    );
    // (not a timing assertion: the data path's retry budget took 70 s here before)
    eprintln!("refused endpoint reported after {:?}", started.elapsed());
    // No region anywhere: a configuration error naming the key.
    let message = stderr(&dynamodb(&[]));
    assert!(
        message.contains("configuration error at `database.dynamodb.region`"),
        "{message}"
    );
    // A region but no credentials: unauthorized, listing where they may come from.
    let message = stderr(&dynamodb(&[(
        "METAKV_DATABASE__DYNAMODB__REGION",
        "eu-west-1",
    )]));
    assert!(
        message.contains("unauthorized") && message.contains("no AWS credentials were found"),
        "{message}"
    );
}

#[test]
fn an_untrusted_cosmos_certificate_is_named_as_the_cause() {
    let Some(endpoint) = kv_conformance::endpoint("cosmosdb-emulator", "KV_TEST_COSMOS_URL") else {
        return;
    };
    // The emulator's self-signed certificate, without `emulator = true`.
    let out = metakv(
        &[
            ("METAKV_DATABASE__TYPE", "cosmosdb"),
            ("METAKV_DATABASE__COSMOSDB__ENDPOINT", &endpoint),
            ("METAKV_DATABASE__COSMOSDB__CREDENTIAL", "key"),
            ("METAKV_DATABASE__COSMOSDB__KEY", EMULATOR_KEY),
            ("METAKV_DATABASE__COSMOSDB__ACCEPT_WEAK_CONSISTENCY", "true"),
        ],
        &["get", "p", "k"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains(&format!("(account {endpoint})"))
            && message.contains("TLS verification failed")
            && message.contains("database.cosmosdb.emulator = true"),
        "{message}"
    );
    assert!(!message.contains("C2y6yDjf5"), "{message}");
}

#[tokio::test]
async fn bench_reports_every_operation_of_its_mix_in_process_and_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("bench.json");
    let report = report.to_str().unwrap();
    let args = [
        "bench",
        "--mix",
        "get=60,put=10,cas=10,delete=10,scan=10",
        "--keys",
        "100",
        "--distribution",
        "zipfian",
        "--concurrency",
        "4",
        "--operations",
        "400",
        "--json",
        report,
    ];
    let check = |out: &Output| {
        assert!(out.status.success(), "{}", stderr(out));
        let text = stdout(out);
        assert!(text.contains("p99.9 µs") && text.contains("cas"), "{text}");
        let json: Json = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        assert_eq!(json["operations"], 400, "{json}");
        for op in ["get", "put", "cas", "delete", "scan"] {
            let figures = &json["ops"][op];
            assert!(figures["count"].as_u64().unwrap() > 0, "{json}");
            assert!(
                figures["p50_us"].as_u64().unwrap() <= figures["p999_us"].as_u64().unwrap(),
                "{json}"
            );
        }
        json
    };
    let json = check(&metakv(&[("METAKV_DATABASE__TYPE", "memory")], &args, None));
    assert_eq!(json["target"], "memory");

    let server = Server::start(&[("METAKV_DATABASE__TYPE", "memory".to_string())]);
    let env = [
        ("METAKV_URL", server.base.as_str()),
        ("METAKV_TOKEN", TOKEN),
    ];
    let json = check(&metakv(&env, &args, None));
    assert_eq!(json["target"], format!("server {}", server.base));
    // The scratch partition is gone afterwards.
    let out = metakv(&env, &["dump"], None);
    assert!(stdout(&out).lines().count() <= 2, "{}", stdout(&out));
    assert!(server.terminate().await.success());
}
