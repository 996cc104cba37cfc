//! The server's configuration: a TOML file with `METAKV_` environment overrides.
//!
//! ```toml
//! [database]
//! type = "local"            # local | memory | postgres | dynamodb | cosmosdb
//!
//! [database.local]
//! path = "./metakv-data"
//!
//! [server]
//! listen = "127.0.0.1:7070"
//!
//! [server.auth]
//! tokens = ["change-me"]    # or token_file = "/etc/metakv/tokens"
//! ```
//!
//! Every key can be overridden from the environment: `METAKV_` followed by the key path with
//! `__` between levels, e.g. `METAKV_DATABASE__TYPE=memory`,
//! `METAKV_DATABASE__LOCAL__PATH=/data`, `METAKV_SERVER__AUTH__TOKENS=[a,b]`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use kv_core::{Error, Result, Secret};
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Which backend, and its settings.
    pub database: DatabaseConfig,
    /// The HTTP server.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
    /// Traces.
    pub telemetry: TelemetryConfig,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `[telemetry.otlp]`: trace export.
    pub otlp: OtlpConfig,
}

/// `[telemetry.otlp]`: OpenTelemetry traces over OTLP/HTTP, off unless `endpoint` is set. Each
/// request is a server span (`PUT /v1/p/{partition}/k/{key}`: the route, never the key),
/// continuing the caller's W3C `traceparent`; each database call inside it a client span
/// (`kv.put`, with `db.system`). Headers such as authentication come from the standard
/// `OTEL_EXPORTER_OTLP_HEADERS` variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// The collector's OTLP/HTTP base URL, e.g. `http://otel-collector:4318`; spans go to
    /// `<endpoint>/v1/traces`. Empty or absent: no export.
    pub endpoint: Option<String>,
    /// `http/protobuf` (default) or `http/json`.
    pub protocol: OtlpProtocol,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Fraction of new traces sampled, 0.0 to 1.0; a caller's sampled `traceparent` is always
    /// followed.
    pub sample_ratio: f64,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: OtlpProtocol::default(),
            service_name: "metakv".into(),
            sample_ratio: 1.0,
        }
    }
}

impl OtlpConfig {
    /// The endpoint, when export is on.
    pub fn enabled_endpoint(&self) -> Option<&str> {
        self.endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }
}

/// The OTLP/HTTP encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    /// Protobuf, the OTLP default.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// JSON.
    #[serde(rename = "http/json")]
    HttpJson,
}

/// `[database]`: `type` picks the backend; each backend has its own section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The backend: `local` (default), `memory`, `postgres`, `dynamodb` or `cosmosdb`.
    #[serde(rename = "type")]
    pub kind: DatabaseType,
    /// `[database.local]`: the embedded store.
    #[cfg(feature = "local")]
    pub local: kv_local::LocalConfig,
    /// `[database.postgres]`: PostgreSQL.
    #[cfg(feature = "postgres")]
    pub postgres: kv_postgres::PostgresConfig,
    /// `[database.dynamodb]`: Amazon DynamoDB.
    #[cfg(feature = "dynamodb")]
    pub dynamodb: kv_dynamo::DynamoConfig,
    /// `[database.cosmosdb]`: Azure Cosmos DB for NoSQL.
    #[cfg(feature = "cosmosdb")]
    pub cosmosdb: kv_cosmos::CosmosConfig,
}

/// The backends this binary was built with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseType {
    /// The embedded store in one local file (`kv-local`).
    #[cfg(feature = "local")]
    #[cfg_attr(feature = "local", default)]
    Local,
    /// In memory, lost at exit: for tests and demos.
    #[cfg_attr(not(feature = "local"), default)]
    Memory,
    /// PostgreSQL (`kv-postgres`).
    #[cfg(feature = "postgres")]
    Postgres,
    /// Amazon DynamoDB (`kv-dynamo`).
    #[cfg(feature = "dynamodb")]
    Dynamodb,
    /// Azure Cosmos DB for NoSQL (`kv-cosmos`).
    #[cfg(feature = "cosmosdb")]
    Cosmosdb,
}

impl DatabaseType {
    /// The name used in configuration and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            #[cfg(feature = "local")]
            DatabaseType::Local => "local",
            DatabaseType::Memory => "memory",
            #[cfg(feature = "postgres")]
            DatabaseType::Postgres => "postgres",
            #[cfg(feature = "dynamodb")]
            DatabaseType::Dynamodb => "dynamodb",
            #[cfg(feature = "cosmosdb")]
            DatabaseType::Cosmosdb => "cosmosdb",
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:7070`; `--listen` and `METAKV_LISTEN` override.
    pub listen: SocketAddr,
    /// Largest request body, in bytes (values are at most 384 KiB; batches carry base64 JSON).
    /// Default 4 MiB.
    pub body_limit_bytes: usize,
    /// Time limit of one request, in seconds. Default 30.
    pub request_timeout_secs: u64,
    /// Seconds to let in-flight requests finish after SIGTERM. Default 30.
    pub shutdown_grace_secs: u64,
    /// How long `/readyz` waits for the backend's ping before answering 503, in
    /// milliseconds. Default 2000.
    pub readiness_timeout_ms: u64,
    /// A client must send a request's whole head within this many milliseconds of the
    /// connection being ready for it, or the connection is closed (slow clients; also an idle
    /// kept-alive connection). Default 10000.
    pub header_read_timeout_ms: u64,
    /// Most open connections; one more is closed at once. Default 1024.
    pub max_connections: usize,
    /// When the backend cannot be opened yet (not provisioned, unreachable, the identity not
    /// yet allowed), serve anyway: `/healthz` answers, `/readyz` and every request are 503
    /// with the reason, and the backend is opened again in the background until it opens.
    /// Default false (the server exits with the error); the Helm chart sets it.
    pub wait_for_backend: bool,
    /// Bearer-token authentication.
    pub auth: AuthConfig,
    /// TLS; plain HTTP when absent.
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            body_limit_bytes: 4 << 20,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
            readiness_timeout_ms: 2000,
            header_read_timeout_ms: 10_000,
            max_connections: 1024,
            wait_for_backend: false,
            auth: AuthConfig::default(),
            tls: None,
        }
    }
}

/// `[server.auth]`: accepted bearer tokens. With none configured, authentication is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Tokens, inline.
    pub tokens: Vec<Secret>,
    /// A file with one token per line (blank lines and `#` comments ignored).
    pub token_file: Option<PathBuf>,
}

impl AuthConfig {
    /// Every accepted token: the inline ones and those of `token_file`.
    pub fn load_tokens(&self) -> Result<Vec<Secret>> {
        let mut tokens: Vec<Secret> = self
            .tokens
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect();
        if let Some(file) = &self.token_file {
            let text = std::fs::read_to_string(file).map_err(|e| Error::Config {
                key: "server.auth.token_file".into(),
                message: format!("cannot read {}", file.display()),
                source: Some(Box::new(e)),
            })?;
            tokens.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(Secret::new),
            );
            if tokens.is_empty() {
                return Err(Error::config(
                    "server.auth.token_file",
                    "the file holds no token",
                ));
            }
        }
        Ok(tokens)
    }
}

/// `[server.tls]`: PEM files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, PEM.
    pub cert_file: PathBuf,
    /// Private key, PEM.
    pub key_file: PathBuf,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `metakv=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Environment variables the server reads itself, besides the `METAKV_<SECTION>__...`
/// overrides.
const OWN_VARIABLES: [&str; 4] = ["config", "listen", "url", "token"];

/// Every backend a full build has, with the cargo feature that builds it in.
const BACKENDS: [(&str, bool); 4] = [
    ("local", cfg!(feature = "local")),
    ("postgres", cfg!(feature = "postgres")),
    ("dynamodb", cfg!(feature = "dynamodb")),
    ("cosmosdb", cfg!(feature = "cosmosdb")),
];

/// The message for a backend this binary was built without, if `name` is one.
fn compiled_out(name: &str) -> Option<String> {
    BACKENDS
        .iter()
        .any(|(backend, built)| *backend == name && !built)
        .then(|| {
            format!(
                "this build has no {name} backend; rebuild with `--features {name}` (or the default features)"
            )
        })
}

/// `METAKV_*` variables in the environment that set nothing: neither one the server reads
/// itself nor a `METAKV_<SECTION>__<KEY>` override (two underscores between levels), e.g. a
/// lakeFS-style `METAKV_DATABASE_TYPE`. A mistyped override with two underscores is an error
/// at load (an unknown key); these would otherwise be ignored without a word.
pub fn unmatched_environment() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            name.strip_prefix("METAKV_").is_some_and(|rest| {
                !rest.contains("__") && !OWN_VARIABLES.contains(&rest.to_ascii_lowercase().as_str())
            })
        })
        .collect()
}

/// What to say about an unmatched variable: the override it probably meant.
pub fn unmatched_warning(name: &str) -> String {
    let rest = name.strip_prefix("METAKV_").unwrap_or(name);
    let guess = ["DATABASE", "SERVER", "LOG"]
        .iter()
        .find_map(|section| {
            rest.strip_prefix(section)
                .and_then(|r| r.strip_prefix('_'))
                .map(|key| format!("; did you mean METAKV_{section}__{key}?"))
        })
        .unwrap_or_default();
    format!(
        "{name} sets nothing: overrides are METAKV_<SECTION>__<KEY>, with two underscores between levels{guess}"
    )
}

impl Config {
    /// Loads `file` (if any), then the `METAKV_` environment overrides; whatever neither sets
    /// takes its default (`#[serde(default)]` on every section). Unknown keys and bad values
    /// are `Config` errors that name the key.
    ///
    /// The defaults are not a figment layer of their own: figment merges layers key by key,
    /// which would mix a default `throughput = { mode = "autoscale", max_ru = 1000 }` into a
    /// configured `{ mode = "manual", ru = 400 }` (and fail as an unknown `max_ru`).
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(Error::config(
                    "--config",
                    format!("file {} does not exist", file.display()),
                ));
            }
            figment = figment.merge(Toml::file(file));
        }
        let env = Env::prefixed("METAKV_")
            .filter(|key| !OWN_VARIABLES.contains(&key.as_str().to_ascii_lowercase().as_str()))
            .filter(|key| key.as_str().contains("__"))
            .split("__");
        Self::extract(figment.merge(env))
    }

    /// Parses a configuration from TOML text (no environment).
    pub fn from_toml(text: &str) -> Result<Self> {
        Self::extract(Figment::from(Toml::string(text)))
    }

    fn extract(figment: Figment) -> Result<Self> {
        let config: Config = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            let key = if key.is_empty() {
                "(root)".to_string()
            } else {
                key
            };
            // A backend left out of this build: `type = "postgres"` is an unknown variant and
            // `[database.postgres]` an unknown field; both say how to get it.
            let missing = match &e.kind {
                figment::error::Kind::UnknownVariant(name, _) if key == "database.type" => {
                    compiled_out(name)
                }
                figment::error::Kind::UnknownField(name, _)
                    if key == "database" || key == format!("database.{name}") =>
                {
                    compiled_out(name)
                }
                _ => None,
            };
            Error::Config {
                message: missing.unwrap_or_else(|| e.kind.to_string()),
                key,
                source: None,
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that the types alone do not.
    pub fn validate(&self) -> Result<()> {
        #[cfg(feature = "local")]
        self.database.local.validate()?;
        #[cfg(feature = "postgres")]
        if self.database.kind == DatabaseType::Postgres {
            self.database.postgres.validate()?;
        }
        #[cfg(feature = "dynamodb")]
        if self.database.kind == DatabaseType::Dynamodb {
            self.database.dynamodb.validate()?;
        }
        #[cfg(feature = "cosmosdb")]
        if self.database.kind == DatabaseType::Cosmosdb {
            self.database.cosmosdb.validate()?;
        }
        if self.server.body_limit_bytes < kv_core::limits::MAX_VALUE_LEN {
            return Err(Error::config(
                "server.body_limit_bytes",
                format!(
                    "expected at least {} (the value limit)",
                    kv_core::limits::MAX_VALUE_LEN
                ),
            ));
        }
        let otlp = &self.telemetry.otlp;
        if !(0.0..=1.0).contains(&otlp.sample_ratio) {
            return Err(Error::config(
                "telemetry.otlp.sample_ratio",
                format!("expected 0.0 to 1.0, got {}", otlp.sample_ratio),
            ));
        }
        if let Some(endpoint) = otlp.enabled_endpoint() {
            if !cfg!(feature = "otlp") {
                return Err(Error::config(
                    "telemetry.otlp.endpoint",
                    "this build has no OTLP exporter; rebuild with --features otlp",
                ));
            }
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(Error::config(
                    "telemetry.otlp.endpoint",
                    "expected an http:// or https:// URL of the collector (e.g. http://otel-collector:4318)",
                ));
            }
        }
        if self.server.request_timeout_secs == 0 {
            return Err(Error::config(
                "server.request_timeout_secs",
                "expected at least 1",
            ));
        }
        Ok(())
    }

    /// The effective configuration as TOML, with every secret shown as `***`.
    ///
    /// Only the active backend's section is shown (the others are not read), and where two
    /// settings say the same thing a comment says which one wins.
    pub fn to_masked_toml(&self) -> String {
        let active = self.database.kind.as_str();
        let mut value = match toml::Value::try_from(self) {
            Ok(value) => value,
            Err(e) => return format!("# cannot print the configuration: {e}\n"),
        };
        if let Some(database) = value.get_mut("database").and_then(|d| d.as_table_mut()) {
            database.retain(|name, _| name == "type" || name == active);
        }
        #[cfg(feature = "postgres")]
        let text = match (self.database.kind, &self.database.postgres.url) {
            (DatabaseType::Postgres, Some(_)) => {
                "# database.postgres.url is set: it wins over host, port, user and dbname (password fills a URL without one)\n"
            }
            (DatabaseType::Postgres, None) => {
                "# database.postgres.url is not set: host, port, user, password and dbname are used\n"
            }
            _ => "",
        }
        .to_string();
        #[cfg(not(feature = "postgres"))]
        let text = String::new();
        match toml::to_string_pretty(&value) {
            Ok(shown) => text + &shown,
            Err(e) => format!("# cannot print the configuration: {e}\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_serve_the_local_store_on_loopback() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.database.kind, DatabaseType::Local);
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:7070");
    }

    #[cfg(feature = "cosmosdb")]
    #[test]
    fn a_configured_enum_replaces_its_default_instead_of_merging_with_it() {
        let config = Config::from_toml(
            "[database.cosmosdb]\nthroughput = { mode = \"manual\", ru = 400 }\n",
        )
        .unwrap();
        assert_eq!(
            config.database.cosmosdb.throughput,
            kv_cosmos::Throughput::Manual { ru: 400 }
        );
        let config =
            Config::from_toml("[database.cosmosdb]\nthroughput = { mode = \"none\" }\n").unwrap();
        assert_eq!(
            config.database.cosmosdb.throughput,
            kv_cosmos::Throughput::None
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = Config::from_toml("[database]\ntype = \"mysql\"\n").unwrap_err();
        assert!(err.to_string().contains("database.type"), "{err}");
        let err = Config::from_toml("[database.local]\npaht = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("database.local"), "{err}");
        assert!(err.to_string().contains("paht"), "{err}");
        let err = Config::from_toml("[server]\nlisten = \"nowhere\"\n").unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
        let err = Config::from_toml("[server]\nbody_limit_bytes = 10\n").unwrap_err();
        assert!(err.to_string().contains("server.body_limit_bytes"), "{err}");
    }

    #[test]
    fn config_show_prints_only_the_active_backend() {
        let shown = Config::from_toml("[database]\ntype = \"memory\"\n")
            .unwrap()
            .to_masked_toml();
        assert!(shown.contains("type = \"memory\""), "{shown}");
        assert!(!shown.contains("[database.local]"), "{shown}");
        #[cfg(feature = "postgres")]
        {
            let shown =
                Config::from_toml("[database]\ntype = \"postgres\"\n[database.postgres]\nurl = \"postgres://u:pw@h/db\"\n")
                    .unwrap()
                    .to_masked_toml();
            assert!(shown.contains("[database.postgres]"), "{shown}");
            assert!(shown.contains("url is set: it wins"), "{shown}");
            assert!(!shown.contains("pw@"), "{shown}");
        }
    }

    /// Runs in the embedded-only build (`scripts/test.sh` builds one).
    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_compiled_out_backend_says_how_to_get_it() {
        for toml in [
            "[database]\ntype = \"postgres\"\n",
            "[database.postgres]\nhost = \"db\"\n",
        ] {
            let err = Config::from_toml(toml).unwrap_err().to_string();
            assert!(
                err.contains("this build has no postgres backend")
                    && err.contains("--features postgres"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_single_underscore_override_is_named_with_the_one_it_meant() {
        let warning = unmatched_warning("METAKV_DATABASE_TYPE");
        assert!(
            warning.contains("did you mean METAKV_DATABASE__TYPE?"),
            "{warning}"
        );
        assert!(compiled_out("memory").is_none());
    }

    #[test]
    fn secrets_are_masked_when_shown() {
        let config = Config::from_toml("[server.auth]\ntokens = [\"s3cret-token\"]\n").unwrap();
        let shown = config.to_masked_toml();
        assert!(!shown.contains("s3cret-token"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        assert!(!format!("{config:?}").contains("s3cret-token"));
        assert_eq!(
            config.server.auth.load_tokens().unwrap()[0].expose(),
            "s3cret-token"
        );
    }
}
