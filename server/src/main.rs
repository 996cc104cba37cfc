//! The `metakv` command: `serve`, operator commands on the configured backend, `config show`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use futures::TryStreamExt;
use kv_core::{
    Condition, DeleteCondition, ErrorKind, Key, KeyList, KvStore, KvStoreExt, Partition,
    ScanOptions, Value, Version,
};
use metakv::config::{Config, LogFormat};
use metakv::http::{self, Tokens};

#[derive(Parser)]
#[command(
    name = "metakv",
    version,
    about = "A key-value metadata store with one API over several databases"
)]
struct Cli {
    /// Configuration file (TOML). Without one, the defaults serve the embedded store from
    /// ./metakv-data. `METAKV_<SECTION>__<KEY>` variables override any key.
    #[arg(long, global = true, env = "METAKV_CONFIG")]
    config: Option<PathBuf>,
    /// A running metakv server (e.g. `http://127.0.0.1:7070`): `get`, `put`, `delete`, `scan`,
    /// `dump`, `load` and `bench` go through it instead of opening the configured backend.
    #[arg(long, global = true, env = "METAKV_URL")]
    url: Option<String>,
    /// The bearer token for `--url` (prefer `METAKV_TOKEN`: arguments show in `ps`).
    #[arg(long, global = true, env = "METAKV_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Log more: `-v` info, `-vv` debug (operator commands log only warnings by default;
    /// `serve` logs at `log.level`). `RUST_LOG` wins over both.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

/// How `get`, `put`, `delete` and `scan` print their result.
#[derive(Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    /// The value (get), the version (put), `key<TAB>version<TAB>value` lines (scan).
    #[default]
    Text,
    /// JSON, keys and values in standard base64 as in the HTTP API: get prints
    /// `{"key","version","value"}`, put `{"version","created"}`, delete `{"deleted"}`, scan one
    /// such object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured backend over HTTP.
    Serve {
        /// Address to listen on (overrides `server.listen`); port 0 picks a free port.
        #[arg(long, env = "METAKV_LISTEN")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Print a key's value to stdout (its version to stderr); exit 4 when absent.
    Get {
        #[command(flatten)]
        key: KeyArgs,
        /// Text (the value's bytes) or JSON.
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Write a value (from the argument, or stdin when it is absent or `-`); prints the version.
    Put {
        #[command(flatten)]
        key: KeyArgs,
        /// The value.
        value: Option<String>,
        /// Only create: fail if the key exists.
        #[arg(long, conflicts_with = "if_version")]
        if_absent: bool,
        /// Only replace this version.
        #[arg(long)]
        if_version: Option<String>,
        /// Text (the version) or JSON.
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Delete a key; exit 4 when absent.
    Delete {
        #[command(flatten)]
        key: KeyArgs,
        /// Only delete this version.
        #[arg(long)]
        if_version: Option<String>,
        /// Text (nothing) or JSON.
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Read several keys of one partition at once (one round trip where the backend allows):
    /// `key<TAB>version<TAB>value` per key found, `key<TAB>-` per key absent, in the order given.
    GetMany {
        /// The partition.
        partition: String,
        /// The keys (1 to 100, each once).
        #[arg(required = true, num_args = 1..)]
        keys: Vec<String>,
        /// Partition, keys and values are standard base64 instead of text.
        #[arg(long)]
        base64: bool,
        /// Text lines or JSON lines (`null` for an absent key).
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Count a partition's entries (all, or those with a prefix).
    Count {
        /// The partition.
        partition: String,
        /// Only keys with this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Partition and prefix are standard base64.
        #[arg(long)]
        base64: bool,
        /// Text (the number) or JSON (`{"count":N}`).
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// List a partition's entries: `key<TAB>version<TAB>value`, one per line.
    Scan {
        /// The partition.
        partition: String,
        /// Only keys with this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// At most this many entries.
        #[arg(long)]
        limit: Option<usize>,
        /// Decreasing key order.
        #[arg(long)]
        reverse: bool,
        /// Keys and versions only (`key<TAB>version`); values are not read.
        #[arg(long)]
        keys_only: bool,
        /// Arguments and output are standard base64 instead of text.
        #[arg(long)]
        base64: bool,
        /// Text lines or JSON lines.
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Create what the configured backend needs (PostgreSQL: schema, table, sequence;
    /// DynamoDB: the table; Cosmos DB: database and container), idempotently; safe to run from
    /// several processes at once. Says "nothing changed" when everything existed.
    Provision {
        /// Print what would be created and change nothing (reads only).
        #[arg(long)]
        dry_run: bool,
    },
    /// Print, as JSON, the layout each cloud backend needs (Cosmos DB partition key and
    /// indexing policy; DynamoDB key schema), for provisioning it with other tools.
    Layout,
    /// Write every entry (or those of the given partitions) as a dump: one JSON line per
    /// entry between a header and a trailer with the count and a digest (README, "Dump and
    /// load"). Zstd-compressed when the file name ends in `.zst`.
    Dump {
        /// Only this partition (repeatable); all partitions when absent.
        #[arg(long)]
        partition: Vec<String>,
        /// Partition names are standard base64.
        #[arg(long)]
        base64: bool,
        /// The file to write; standard output when absent or `-`.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Write a dump's entries into the configured backend. A file is verified whole (format,
    /// limits, count and digest) before anything is written; standard input is verified as it
    /// streams.
    Load {
        /// The dump; standard input when absent or `-`.
        #[arg(long)]
        input: Option<PathBuf>,
        /// What to do with an entry whose key exists.
        #[arg(long, value_enum)]
        strategy: metakv::dump::Strategy,
    },
    /// Run the conformance behaviours against the configured, live backend, inside scratch
    /// partitions that are removed afterwards; exit 1 when a behaviour fails.
    Check {
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Only this behaviour (repeatable).
        #[arg(long)]
        only: Vec<String>,
        /// Most tasks a concurrency behaviour runs at once against the backend.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(2..=256))]
        concurrency: u16,
        /// Conditional increments of the lost-update behaviour (shared by its tasks).
        #[arg(long, default_value_t = 160, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        operations: u32,
        /// Exit 3 when the settings show a risk (after every behaviour passed).
        #[arg(long)]
        fail_on_risk: bool,
    },
    /// Copy every entry of one backend into another (each named by its own configuration
    /// file, read without environment overrides), resumable from a checkpoint.
    Copy {
        /// The source's configuration file.
        #[arg(long)]
        from: PathBuf,
        /// The target's configuration file.
        #[arg(long)]
        to: PathBuf,
        /// The checkpoint file (default: `metakv-copy-<hash of both paths>.checkpoint` here).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Afterwards, read both sides whole and compare entries and digests per partition.
        #[arg(long)]
        verify: bool,
        /// Batches written at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Entries per export page of the source (a checkpoint is written after each).
        #[arg(long, default_value_t = 1000)]
        page_size: usize,
    },
    /// Put load on the configured backend (or, with `--url`, a running server) in a scratch
    /// partition removed afterwards, and report throughput, latency percentiles (p50 to
    /// p99.9), errors by kind and the backend's cost per 1,000 operations.
    Bench {
        /// Operations and their weights: get, put, cas (read, then a write conditional on the
        /// version read), delete, scan (up to 100 entries).
        #[arg(long, default_value = "get=80,put=20")]
        mix: String,
        /// Distinct keys.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
        keys: u64,
        /// How keys are drawn.
        #[arg(long, value_enum, default_value = "uniform")]
        distribution: metakv::bench::Distribution,
        /// Tasks running operations at once.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=4096))]
        concurrency: u16,
        /// Seconds to run (unless --operations is given).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Run this many operations instead of a duration.
        #[arg(long)]
        operations: Option<u64>,
        /// Bytes per written value.
        #[arg(long, default_value_t = 100)]
        value_size: usize,
        /// Do not write every key once before measuring.
        #[arg(long)]
        no_prefill: bool,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (file + environment), secrets masked.
    Show,
}

#[derive(Args)]
struct KeyArgs {
    /// The partition.
    partition: String,
    /// The key.
    key: String,
    /// Partition, key and value are standard base64 (for bytes that are not text).
    #[arg(long)]
    base64: bool,
}

impl KeyArgs {
    fn parse(&self) -> kv_core::Result<(Partition, Key)> {
        Ok((
            Partition::new(decode(&self.partition, self.base64, "the partition")?)?,
            Key::new(decode(&self.key, self.base64, "the key")?)?,
        ))
    }
}

/// An argument's bytes: its text, or its standard base64 with `--base64` (`what` names the
/// argument in the error).
fn decode(text: &str, base64: bool, what: &str) -> kv_core::Result<Vec<u8>> {
    if base64 {
        metakv::api::unb64(text, what)
    } else {
        Ok(text.as_bytes().to_vec())
    }
}

/// An entry as `--output json` prints it (the HTTP API's item; no value for keys only).
fn json_item(key: &[u8], version: &Version, value: Option<&[u8]>) -> String {
    serde_json::to_string(&metakv::api::Item {
        key: metakv::api::b64(key),
        value: value.map(metakv::api::b64),
        version: version.to_string(),
    })
    .expect("an item serializes")
}

/// One line of `scan` or `get-many`: `key<TAB>version<TAB>value` (`key<TAB>version` without a
/// value), or the JSON item.
fn entry_line(
    output: Output,
    base64: bool,
    key: &[u8],
    version: &Version,
    value: Option<&[u8]>,
) -> String {
    match (output, value) {
        (Output::Json, _) => json_item(key, version, value) + "\n",
        (Output::Text, Some(value)) => format!(
            "{}\t{version}\t{}\n",
            show(key, base64),
            show(value, base64)
        ),
        (Output::Text, None) => format!("{}\t{version}\n", show(key, base64)),
    }
}

fn show(bytes: &[u8], base64: bool) -> String {
    if base64 {
        metakv::api::b64(bytes)
    } else {
        bytes.escape_ascii().to_string()
    }
}

/// Exit codes: 0 ok, 1 error, 2 usage, 3 condition failed, 4 not found.
fn exit_for(e: &kv_core::Error) -> ExitCode {
    eprintln!("error: {e}");
    for cause in kv_core::causes(e) {
        eprintln!("  caused by: {cause}");
    }
    match e.kind() {
        ErrorKind::ConditionFailed => ExitCode::from(3),
        _ => ExitCode::from(1),
    }
}

/// Logs go to stderr: at `log.level` for `serve`, warnings only (more with `-v`) for the
/// operator commands, whose stdout and stderr scripts read. Colours only on a terminal and
/// without `NO_COLOR`.
/// `serve` also starts the trace exporter when `telemetry.otlp.endpoint` is set.
fn init_logging(
    config: &Config,
    serving: bool,
    verbose: u8,
) -> kv_core::Result<metakv::telemetry::Traces> {
    use std::io::IsTerminal as _;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let level = match (serving, verbose) {
        (true, 0) => config.log.level.as_str(),
        // The AWS SDK warns about each credentials provider it tries; the error says it all.
        (false, 0) => "warn,aws_config=error,rustls_platform_verifier=off",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let mut layers = vec![match config.log.format {
        LogFormat::Json => lines.json().with_filter(filter).boxed(),
        LogFormat::Text => lines.with_filter(filter).boxed(),
    }];
    let (exporter, traces) = if serving {
        metakv::telemetry::start(&config.telemetry.otlp)?
    } else {
        (None, metakv::telemetry::Traces::default())
    };
    layers.extend(exporter);
    tracing_subscriber::registry().with(layers).init();
    Ok(traces)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn serve(
    mut config: Config,
    listen: Option<std::net::SocketAddr>,
    traced: bool,
) -> kv_core::Result<()> {
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    let metrics = metakv::metrics::install()?;
    let tokens = Tokens::new(config.server.auth.load_tokens()?);
    if !tokens.enabled() && !config.server.listen.ip().is_loopback() {
        tracing::warn!(listen = %config.server.listen, "authentication is off on a non-loopback address; set server.auth.tokens");
    }
    let store: Arc<dyn kv_core::KvStore> = match metakv::open_store(&config).await {
        Ok(store) => store,
        Err(e) if config.server.wait_for_backend && metakv::pending::worth_waiting_for(&e) => {
            tracing::warn!(error = %e.with_causes(), "the backend is not open; serving, not ready, until it opens (server.wait_for_backend)");
            metakv::pending::PendingStore::open_in_background(config.clone(), &e)
        }
        Err(e) => return Err(e),
    };
    let mut router = http::router(Arc::clone(&store), Some(metrics), tokens, &config.server);
    if traced {
        router = metakv::telemetry::traced(router);
    }
    let listener =
        std::net::TcpListener::bind(config.server.listen).map_err(|e| kv_core::Error::Config {
            key: "server.listen".into(),
            message: format!("cannot listen on {}", config.server.listen),
            source: Some(Box::new(e)),
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| kv_core::Error::backend("no local address", e))?;
    let scheme = if config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%addr, backend = config.database.kind.as_str(), "metakv listening");
    // One line on stdout, for scripts and tests that started us on port 0.
    println!("metakv listening on {scheme}://{addr}");
    let _ = std::io::stdout().flush();
    let served = http::serve(listener, router, &config.server, shutdown_signal()).await;
    store.close().await?;
    tracing::info!("stopped");
    served
}

/// Writes a `--json` report (`check`, `bench`) as pretty JSON.
fn write_report(path: &std::path::Path, report: &impl serde::Serialize) -> Result<(), ExitCode> {
    let text = serde_json::to_string_pretty(report).expect("the report serializes");
    std::fs::write(path, text + "\n").map_err(|e| {
        eprintln!("error: writing {}: {e}", path.display());
        ExitCode::from(1)
    })
}

async fn check(
    config: &Config,
    json: Option<&std::path::Path>,
    only: &[String],
    load: metakv::check::Load,
    fail_on_risk: bool,
) -> Result<(), ExitCode> {
    println!(
        "metakv check on {}: every behaviour works in scratch partitions kvt-<random>-, removed after it; no other partition is read or written",
        config.database.kind.as_str()
    );
    let show_findings = |findings: &[kv_core::Finding]| {
        println!("settings:");
        for f in findings {
            println!("  {f}");
        }
        println!(
            "behaviours (concurrency {}, {} conditional increments):",
            load.concurrency,
            load.incrementers() * load.increments_each()
        );
    };
    let report = metakv::check::check(config, only, load, show_findings, |o| {
        let first = o
            .message
            .as_deref()
            .and_then(|m| m.lines().next())
            .unwrap_or("");
        let result = match o.result {
            "pass" => "pass",
            "fail" => "FAIL",
            _ => "left out",
        };
        println!("  {result:<8} {:>7} ms  {}", o.ms, o.name);
        if !first.is_empty() {
            println!("           {first}");
        }
    })
    .await;
    let left_out = report
        .behaviours
        .iter()
        .filter(|o| o.result == "left_out")
        .count();
    let risks = report
        .findings
        .iter()
        .filter(|f| f.level == kv_core::Level::Risk)
        .count();
    println!(
        "check: {} passed, {} failed, {left_out} left out; {risks} risk(s) in the settings{}",
        report.passed,
        report.failed,
        if report.interrupted {
            "; interrupted (scratch partitions removed)"
        } else {
            ""
        }
    );
    if let Some(path) = json {
        write_report(path, &report)?;
    }
    if report.interrupted {
        Err(ExitCode::from(130))
    } else if report.failed > 0 {
        Err(ExitCode::from(1))
    } else if fail_on_risk && risks > 0 {
        eprintln!("check: failing on {risks} risk(s) in the settings (--fail-on-risk)");
        Err(ExitCode::from(3))
    } else {
        Ok(())
    }
}

/// A configuration file for `copy`: the file only, no environment overrides (one environment
/// must not point both sides at the same store).
fn copy_config(path: &std::path::Path, flag: &str) -> kv_core::Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| kv_core::Error::Config {
        key: flag.into(),
        message: format!("cannot read {}", path.display()),
        source: Some(Box::new(e)),
    })?;
    Config::from_toml(&text)
}

/// Partition names for people: the text when it is printable UTF-8, else `b64:` and base64.
fn partition_name(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| !c.is_control()) => s.to_string(),
        _ => format!("b64:{}", metakv::api::b64(bytes)),
    }
}

async fn copy(
    from: PathBuf,
    to: PathBuf,
    checkpoint: Option<PathBuf>,
    verify: bool,
    concurrency: usize,
    page_size: usize,
) -> Result<(), ExitCode> {
    use sha2::Digest as _;
    let fail = |e: kv_core::Error| exit_for(&e);
    let source_config = copy_config(&from, "--from").map_err(fail)?;
    let target_config = copy_config(&to, "--to").map_err(fail)?;
    if source_config.database == target_config.database {
        return Err(fail(kv_core::Error::config(
            "--to",
            "the source and the target are the same store",
        )));
    }
    let checkpoint = checkpoint.unwrap_or_else(|| {
        let id = sha2::Sha256::digest(format!("{}\n{}", from.display(), to.display()));
        PathBuf::from(format!(
            "metakv-copy-{}.checkpoint",
            id.iter()
                .take(4)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ))
    });
    let source = metakv::open_store(&source_config).await.map_err(fail)?;
    let target = metakv::open_store(&target_config).await.map_err(fail)?;
    let start = metakv::copy::Checkpoint::load(&checkpoint).map_err(fail)?;
    let (from_kind, to_kind) = (
        source_config.database.kind.as_str(),
        target_config.database.kind.as_str(),
    );
    if start.done {
        eprintln!(
            "copy {from_kind} -> {to_kind}: already complete ({} entries) according to {}; delete it to copy again",
            start.entries,
            checkpoint.display()
        );
    } else if start.entries > 0 {
        eprintln!(
            "copy {from_kind} -> {to_kind}: resuming after {} entries from {}",
            start.entries,
            checkpoint.display()
        );
    } else {
        eprintln!(
            "copy {from_kind} -> {to_kind}: checkpoint {}",
            checkpoint.display()
        );
    }
    let options = metakv::copy::CopyOptions {
        page_size,
        concurrency,
        checkpoint: checkpoint.clone(),
    };
    let mut meter = metakv::progress::Meter::new("copied", None, start.entries);
    let done = metakv::copy::copy(Arc::clone(&source), Arc::clone(&target), &options, |c| {
        meter.set(c.entries, c.bytes)
    })
    .await
    .map_err(fail)?;
    meter.set(done.entries, done.bytes);
    meter.finish();
    if !start.done {
        eprintln!("{}; complete", meter.line());
    }
    let mut result = Ok(());
    if verify {
        let (s, t) = futures::try_join!(
            metakv::copy::census(Arc::clone(&source)),
            metakv::copy::census(Arc::clone(&target))
        )
        .map_err(fail)?;
        let rows = metakv::copy::compare(&s, &t);
        println!(
            "{:<40} {:>12} {:>12}  same",
            "partition", from_kind, to_kind
        );
        for row in &rows {
            println!(
                "{:<40} {:>12} {:>12}  {}",
                partition_name(&row.partition),
                row.source,
                row.target,
                if row.same { "yes" } else { "NO" }
            );
        }
        let differing = rows.iter().filter(|r| !r.same).count();
        if differing == 0 {
            println!(
                "verified: {} partitions, the same entries on both sides",
                rows.len()
            );
        } else {
            println!(
                "verification failed: {differing} of {} partitions differ",
                rows.len()
            );
            result = Err(ExitCode::from(1));
        }
    }
    let _ = source.close().await;
    let _ = target.close().await;
    result
}

/// Whether `path` names standard input/output.
fn is_std(path: &Option<PathBuf>) -> bool {
    path.as_deref().is_none_or(|p| p.as_os_str() == "-")
}

fn is_zstd(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "zst")
}

async fn dump(
    store: &Arc<dyn KvStore>,
    source: &str,
    partitions: Vec<String>,
    base64: bool,
    output: Option<PathBuf>,
) -> Result<(), ExitCode> {
    let fail = |e: kv_core::Error| exit_for(&e);
    let partitions = partitions
        .iter()
        .map(|p| Partition::new(decode(p, base64, "--partition")?))
        .collect::<kv_core::Result<Vec<_>>>()
        .map_err(fail)?;
    let io_fail = |e: std::io::Error| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    };
    let store = Arc::clone(store);
    let mut meter = metakv::progress::Meter::new("dumped", None, 0);
    let progress = &mut |entries, bytes| meter.set(entries, bytes);
    // A device or a pipe (e.g. /dev/null) is written in place: a rename would replace it.
    let special = output
        .as_deref()
        .is_some_and(|p| std::fs::metadata(p).is_ok_and(|m| !m.is_file()));
    let summary = if is_std(&output) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        metakv::dump::dump(store, &partitions, source, &mut out, progress).await
    } else if special {
        let path = output.expect("not standard output");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_fail)?;
        let mut out = std::io::BufWriter::new(file);
        metakv::dump::dump(store, &partitions, source, &mut out, progress).await
    } else {
        let path = output.expect("not standard output");
        // Written beside the target and renamed at the end: a dump file is always whole.
        let partial = path.with_extension(format!(
            "{}partial",
            path.extension()
                .map(|e| format!("{}.", e.to_string_lossy()))
                .unwrap_or_default()
        ));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io_fail)?);
        let summary = if is_zstd(&path) {
            let mut out = zstd::stream::write::Encoder::new(file, 3).map_err(io_fail)?;
            let summary = metakv::dump::dump(store, &partitions, source, &mut out, progress).await;
            file = out.finish().map_err(io_fail)?;
            summary
        } else {
            metakv::dump::dump(store, &partitions, source, &mut file, progress).await
        };
        let file = file.into_inner().map_err(|e| io_fail(e.into_error()))?;
        if summary.is_ok() {
            file.sync_all().map_err(io_fail)?;
            std::fs::rename(&partial, &path).map_err(io_fail)?;
        } else {
            let _ = std::fs::remove_file(&partial);
        }
        summary
    }
    .map_err(fail)?;
    meter.finish();
    eprintln!(
        "dumped {} entries ({} bytes) from {source}; digest {}",
        summary.entries,
        summary.bytes,
        summary.digest.hex()
    );
    Ok(())
}

/// Opens a dump for reading, decompressing `.zst`.
fn open_dump(path: &std::path::Path) -> std::io::Result<Box<dyn std::io::BufRead + Send>> {
    let file = std::fs::File::open(path)?;
    Ok(if is_zstd(path) {
        Box::new(std::io::BufReader::new(zstd::stream::read::Decoder::new(
            file,
        )?))
    } else {
        Box::new(std::io::BufReader::new(file))
    })
}

async fn load(
    store: &Arc<dyn KvStore>,
    input: Option<PathBuf>,
    strategy: metakv::dump::Strategy,
) -> Result<(), ExitCode> {
    let fail = |e: kv_core::Error| exit_for(&e);
    let io_fail = |e: std::io::Error| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    };
    let (reader, total): (Box<dyn std::io::BufRead + Send>, _) = if is_std(&input) {
        (Box::new(std::io::BufReader::new(std::io::stdin())), None)
    } else {
        let path = input.expect("not standard input");
        // A file is read twice: verified whole first, so a damaged dump writes nothing.
        let mut meter = metakv::progress::Meter::new("verified", None, 0);
        let verified =
            metakv::dump::verify(open_dump(&path).map_err(io_fail)?, &mut |entries, bytes| {
                meter.set(entries, bytes)
            })
            .map_err(fail)?;
        meter.finish();
        eprintln!(
            "verified {} entries; digest {}",
            verified.entries,
            verified.digest.hex()
        );
        (open_dump(&path).map_err(io_fail)?, Some(verified.entries))
    };
    let mut meter = metakv::progress::Meter::new("loaded", total, 0);
    let (summary, done) = metakv::dump::load(
        Arc::clone(store),
        reader,
        strategy,
        &mut |entries, bytes| meter.set(entries, bytes),
    )
    .await
    .map_err(fail)?;
    meter.finish();
    eprintln!(
        "loaded {} entries: {} written, {} skipped (existing keys); digest {}",
        done.read,
        done.written,
        done.skipped,
        summary.digest.hex()
    );
    Ok(())
}

async fn bench(
    store: &Arc<dyn KvStore>,
    target: String,
    mix: String,
    options: metakv::bench::Options,
    url: Option<&str>,
    token: Option<&str>,
    json: Option<PathBuf>,
) -> Result<(), ExitCode> {
    let fail = |e: kv_core::Error| exit_for(&e);
    // The cost: this process's own metrics, or the server's.
    let local = match url {
        None => Some(metakv::metrics::install().map_err(fail)?),
        Some(_) => None,
    };
    let http = reqwest::Client::new();
    let cost = async || match (&local, url) {
        (Some(handle), _) => metakv::bench::cost_in(&handle.render()),
        (None, Some(url)) => {
            let mut request = http.get(format!("{}/metrics", url.trim_end_matches('/')));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let text = request.send().await.ok()?.text().await.ok()?;
            metakv::bench::cost_in(&text)
        }
        (None, None) => None,
    };
    let total = options.operations;
    let mut meter = metakv::progress::Meter::new("operations", total, 0);
    let report = metakv::bench::run(Arc::clone(store), target, mix, options, cost, |done| {
        meter.set(done, 0)
    })
    .await
    .map_err(fail)?;
    meter.finish();
    print!("{report}");
    match json {
        Some(path) => write_report(&path, &report),
        None => Ok(()),
    }
}

/// What `metakv layout` prints: the layout of every cloud backend built in.
fn layout() -> String {
    #[allow(unused_mut)]
    let mut layout = serde_json::Map::new();
    #[cfg(feature = "cosmosdb")]
    layout.insert("cosmosdb".into(), kv_cosmos::container_layout());
    #[cfg(feature = "dynamodb")]
    layout.insert("dynamodb".into(), kv_dynamo::table_layout());
    serde_json::to_string_pretty(&layout).expect("JSON serializes")
}

async fn run(cli: Cli) -> Result<(), ExitCode> {
    let config = Config::load(cli.config.as_deref()).map_err(|e| exit_for(&e))?;
    let serving = matches!(cli.command, Command::Serve { .. });
    let unmatched = metakv::config::unmatched_environment();
    if let Command::Config {
        command: ConfigCommand::Show,
    } = &cli.command
    {
        for name in &unmatched {
            eprintln!("warning: {}", metakv::config::unmatched_warning(name));
        }
        print!("{}", config.to_masked_toml());
        return Ok(());
    }
    let traces = init_logging(&config, serving, cli.verbose).map_err(|e| exit_for(&e))?;
    for name in &unmatched {
        let warning = metakv::config::unmatched_warning(name);
        if serving {
            tracing::warn!("{warning}");
        } else {
            eprintln!("warning: {warning}");
        }
    }
    let through_server = matches!(
        cli.command,
        Command::Get { .. }
            | Command::Put { .. }
            | Command::Delete { .. }
            | Command::Scan { .. }
            | Command::GetMany { .. }
            | Command::Count { .. }
            | Command::Dump { .. }
            | Command::Load { .. }
            | Command::Bench { .. }
    );
    if cli.url.is_some() && !through_server {
        return Err(exit_for(&kv_core::Error::config(
            "--url",
            "only get, get-many, put, delete, scan, count, dump, load and bench go through a server; the other commands work on the configured backend itself",
        )));
    }
    if let Command::Serve { listen } = cli.command {
        let served = serve(config, listen, traces.enabled()).await;
        traces.shutdown();
        return served.map_err(|e| exit_for(&e));
    }
    if let Command::Check {
        json,
        only,
        concurrency,
        operations,
        fail_on_risk,
    } = &cli.command
    {
        let load = metakv::check::Load {
            concurrency: usize::from(*concurrency),
            operations: *operations as usize,
        };
        return check(&config, json.as_deref(), only, load, *fail_on_risk).await;
    }
    if let Command::Copy {
        from,
        to,
        checkpoint,
        verify,
        concurrency,
        page_size,
    } = cli.command
    {
        return copy(from, to, checkpoint, verify, concurrency, page_size).await;
    }
    if let Command::Layout = cli.command {
        println!("{}", layout());
        return Ok(());
    }
    if let Command::Provision { dry_run } = cli.command {
        println!(
            "{}",
            metakv::provision(&config, dry_run)
                .await
                .map_err(|e| exit_for(&e))?
        );
        return Ok(());
    }
    let (store, source): (Arc<dyn KvStore>, String) = match &cli.url {
        Some(url) => {
            let token = cli.token.clone().map(kv_core::Secret::new);
            let store = metakv::HttpStore::new(url, token).map_err(|e| exit_for(&e))?;
            (Arc::new(store), format!("server {url}"))
        }
        None => (
            metakv::open_store(&config)
                .await
                .map_err(|e| exit_for(&e))?,
            config.database.kind.as_str().to_string(),
        ),
    };
    let result = match cli.command {
        Command::Dump {
            partition,
            base64,
            output,
        } => dump(&store, &source, partition, base64, output).await,
        Command::Load { input, strategy } => load(&store, input, strategy).await,
        Command::Bench {
            mix,
            keys,
            distribution,
            concurrency,
            seconds,
            operations,
            value_size,
            no_prefill,
            json,
        } => {
            let parsed = mix
                .parse::<metakv::bench::Mix>()
                .map_err(|m| exit_for(&kv_core::Error::config("--mix", m)))?;
            let options = metakv::bench::Options {
                mix: parsed,
                keys,
                distribution,
                concurrency: usize::from(concurrency),
                duration: std::time::Duration::from_secs(seconds),
                operations,
                value_size,
                prefill: !no_prefill,
            };
            bench(
                &store,
                source,
                mix,
                options,
                cli.url.as_deref(),
                cli.token.as_deref(),
                json,
            )
            .await
        }
        command => operate(&store, command).await,
    };
    let _ = store.close().await;
    result
}

async fn operate(store: &Arc<dyn KvStore>, command: Command) -> Result<(), ExitCode> {
    let fail = |e: kv_core::Error| exit_for(&e);
    match command {
        Command::Get { key: args, output } => {
            let (p, k) = args.parse().map_err(fail)?;
            match store.get(&p, &k).await.map_err(fail)? {
                None => {
                    eprintln!("not found");
                    return Err(ExitCode::from(4));
                }
                Some(found) if output == Output::Json => {
                    println!(
                        "{}",
                        json_item(k.as_bytes(), &found.version, Some(found.value.as_bytes()))
                    );
                }
                Some(found) => {
                    eprintln!("version {}", found.version);
                    let out = if args.base64 {
                        metakv::api::b64(found.value.as_bytes()).into_bytes()
                    } else {
                        found.value.into_bytes()
                    };
                    std::io::stdout()
                        .write_all(&out)
                        .map_err(|_| ExitCode::from(1))?;
                }
            }
        }
        Command::Put {
            key,
            value,
            if_absent,
            if_version,
            output,
        } => {
            let (p, k) = key.parse().map_err(fail)?;
            let raw = match value.as_deref() {
                None | Some("-") => {
                    let mut buf = Vec::new();
                    std::io::stdin()
                        .read_to_end(&mut buf)
                        .map_err(|_| ExitCode::from(1))?;
                    if key.base64 {
                        decode(String::from_utf8_lossy(&buf).trim(), true, "the value")
                            .map_err(fail)?
                    } else {
                        buf
                    }
                }
                Some(v) => decode(v, key.base64, "the value").map_err(fail)?,
            };
            let condition = match (if_absent, if_version) {
                (true, _) => Condition::Absent,
                (false, Some(v)) => Condition::Version(Version::new(v).map_err(fail)?),
                (false, None) => Condition::None,
            };
            let written = store
                .put(&p, &k, &Value::new(raw).map_err(fail)?, &condition)
                .await
                .map_err(fail)?;
            if output == Output::Json {
                let answer = metakv::api::PutResponse {
                    version: written.version.to_string(),
                    created: written.created,
                };
                println!("{}", serde_json::to_string(&answer).expect("JSON"));
            } else {
                println!("{}", written.version);
            }
        }
        Command::Delete {
            key,
            if_version,
            output,
        } => {
            let (p, k) = key.parse().map_err(fail)?;
            let condition = match if_version {
                Some(v) => DeleteCondition::Version(Version::new(v).map_err(fail)?),
                None => DeleteCondition::None,
            };
            let deleted = store.delete(&p, &k, &condition).await.map_err(fail)?;
            if output == Output::Json {
                println!("{}", serde_json::json!({ "deleted": deleted }));
            }
            if !deleted {
                eprintln!("not found");
                return Err(ExitCode::from(4));
            }
        }
        Command::Scan {
            partition,
            prefix,
            limit,
            reverse,
            keys_only,
            base64,
            output,
        } => {
            let p = Partition::new(decode(&partition, base64, "the partition").map_err(fail)?)
                .map_err(fail)?;
            let mut options = ScanOptions::new();
            options.prefix = prefix
                .map(|x| decode(&x, base64, "--prefix"))
                .transpose()
                .map_err(fail)?;
            options.limit = limit;
            options.reverse = reverse;
            options.keys_only = keys_only;
            let mut entries = store.scan(&p, options);
            let mut out = std::io::stdout().lock();
            while let Some(e) = entries.try_next().await.map_err(fail)? {
                let value = (!keys_only).then(|| e.value.as_bytes());
                let line = entry_line(output, base64, e.key.as_bytes(), &e.version, value);
                out.write_all(line.as_bytes())
                    .map_err(|_| ExitCode::from(1))?;
            }
        }
        Command::GetMany {
            partition,
            keys,
            base64,
            output,
        } => {
            let p = Partition::new(decode(&partition, base64, "the partition").map_err(fail)?)
                .map_err(fail)?;
            let keys = keys
                .iter()
                .enumerate()
                .map(|(i, k)| Key::new(decode(k, base64, &format!("key {}", i + 1))?))
                .collect::<kv_core::Result<Vec<_>>>()
                .and_then(KeyList::new)
                .map_err(fail)?;
            let found = store.get_many(&p, &keys).await.map_err(fail)?;
            let mut out = std::io::stdout().lock();
            for (k, item) in keys.keys().iter().zip(found) {
                let line = match (item, output) {
                    (Some(v), _) => entry_line(
                        output,
                        base64,
                        k.as_bytes(),
                        &v.version,
                        Some(v.value.as_bytes()),
                    ),
                    (None, Output::Json) => "null\n".to_string(),
                    (None, Output::Text) => format!("{}\t-\n", show(k.as_bytes(), base64)),
                };
                out.write_all(line.as_bytes())
                    .map_err(|_| ExitCode::from(1))?;
            }
        }
        Command::Count {
            partition,
            prefix,
            base64,
            output,
        } => {
            let p = Partition::new(decode(&partition, base64, "the partition").map_err(fail)?)
                .map_err(fail)?;
            let mut options = ScanOptions::new();
            options.prefix = prefix
                .map(|x| decode(&x, base64, "--prefix"))
                .transpose()
                .map_err(fail)?;
            let count = kv_core::count(&**store, &p, &options).await.map_err(fail)?;
            match output {
                Output::Json => println!("{}", serde_json::json!({ "count": count })),
                Output::Text => println!("{count}"),
            }
        }
        Command::Serve { .. }
        | Command::Config { .. }
        | Command::Provision { .. }
        | Command::Layout
        | Command::Copy { .. }
        | Command::Check { .. }
        | Command::Dump { .. }
        | Command::Load { .. }
        | Command::Bench { .. } => {
            unreachable!("handled before opening the store")
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
