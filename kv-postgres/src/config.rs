//! `PostgresConfig`: connection, pool, table and schema management.

use std::path::PathBuf;
use std::time::Duration;

use kv_core::{Error, Result, Secret};
use serde::{Deserialize, Serialize};

/// Configuration of a [`PostgresStore`](crate::PostgresStore); the server's
/// `[database.postgres]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// A connection URL (`postgres://user:password@host:port/dbname?...`). When set, it wins
    /// over the discrete fields below (except `password`, which fills a URL without one).
    pub url: Option<Secret>,
    /// Host (or Unix socket directory). Default `localhost`.
    pub host: String,
    /// Port. Default 5432.
    pub port: u16,
    /// User. Default `metakv`.
    pub user: String,
    /// Password.
    pub password: Option<Secret>,
    /// Database. Default `metakv`.
    pub dbname: String,
    /// Schema of the table. Default `public`.
    pub schema: String,
    /// Table name. Default `metakv`.
    pub table: String,
    /// Create (and migrate) the schema at open. Default off: run `metakv provision` instead.
    pub auto_create: bool,
    /// Hash-partition the table into this many partitions when creating it (0: a plain table).
    /// Default 0: one B-tree serves hundreds of millions of rows; partitioning helps only
    /// vacuum and maintenance of very large tables, and costs planning time and export speed.
    pub table_partitions: u32,
    /// Most connections. Default 16.
    pub pool_size: usize,
    /// Time to wait for a free connection, in ms. Default 5000.
    pub pool_timeout_ms: u64,
    /// Time to establish a connection, in ms. Default 5000.
    pub connect_timeout_ms: u64,
    /// Server-side `statement_timeout`, in ms (0: none). Default 10000.
    pub statement_timeout_ms: u64,
    /// TLS: `disable`, `prefer` (TLS when the server offers it) or `require`. Certificates are
    /// always verified against the system roots plus `tls_ca_file`, so `prefer` fails (rather
    /// than falling back to plain text) when the server's certificate is not trusted. A
    /// `sslmode` in the URL wins. Default `disable`: TLS is an explicit choice with its CA.
    pub ssl_mode: SslMode,
    /// A PEM file of extra trusted CA certificates (e.g. a private CA or the cloud provider's).
    pub tls_ca_file: Option<PathBuf>,
}

/// When to use TLS to PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SslMode {
    /// Never.
    #[default]
    Disable,
    /// When the server offers it.
    Prefer,
    /// Always; fail otherwise.
    Require,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: None,
            host: "localhost".into(),
            port: 5432,
            user: "metakv".into(),
            password: None,
            dbname: "metakv".into(),
            schema: "public".into(),
            table: "metakv".into(),
            auto_create: false,
            table_partitions: 0,
            pool_size: 16,
            pool_timeout_ms: 5000,
            connect_timeout_ms: 5000,
            statement_timeout_ms: 10_000,
            ssl_mode: SslMode::Disable,
            tls_ca_file: None,
        }
    }
}

fn identifier(key: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 48
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            key,
            "expected a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 48 characters)",
        ))
    }
}

impl PostgresConfig {
    /// The defaults with a connection URL.
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            url: Some(Secret::new(url)),
            ..Self::default()
        }
    }

    /// The defaults, then `METAKV_POSTGRES_URL`, `METAKV_POSTGRES_TABLE` and
    /// `METAKV_POSTGRES_AUTO_CREATE` where set.
    pub fn from_env() -> Result<Self> {
        let mut config = Self::default();
        if let Ok(url) = std::env::var("METAKV_POSTGRES_URL") {
            config.url = Some(Secret::new(url));
        }
        if let Ok(table) = std::env::var("METAKV_POSTGRES_TABLE") {
            config.table = table;
        }
        if let Ok(v) = std::env::var("METAKV_POSTGRES_AUTO_CREATE") {
            config.auto_create = v.parse().map_err(|_| {
                Error::config("METAKV_POSTGRES_AUTO_CREATE", "expected true or false")
            })?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; errors name the key under `database.postgres`.
    pub fn validate(&self) -> Result<()> {
        identifier("database.postgres.schema", &self.schema)?;
        identifier("database.postgres.table", &self.table)?;
        if self.pool_size == 0 {
            return Err(Error::config(
                "database.postgres.pool_size",
                "expected at least 1",
            ));
        }
        if self.table_partitions > 1024 {
            return Err(Error::config(
                "database.postgres.table_partitions",
                "expected 0 to 1024",
            ));
        }
        self.pg_config().map(drop)
    }

    /// Where it connects, for messages: `host:port` (the first of several), or the socket
    /// directory; never the user or password.
    pub(crate) fn endpoint(&self) -> String {
        let Ok(pg) = self.pg_config() else {
            return "(an invalid database.postgres.url)".into();
        };
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => format!("{host}:{port}"),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(dir)) => {
                format!("{}/.s.PGSQL.{port}", dir.display())
            }
            None => format!("localhost:{port}"),
        }
    }

    /// The `tokio_postgres` connection settings.
    pub(crate) fn pg_config(&self) -> Result<tokio_postgres::Config> {
        let mut pg = match &self.url {
            Some(url) => url
                .expose()
                .parse::<tokio_postgres::Config>()
                .map_err(|e| Error::Config {
                    key: "database.postgres.url".into(),
                    // The parser's message may quote the URL, which may hold a password: not kept.
                    message: "expected postgres://user:password@host:port/dbname".into(),
                    source: Some(Box::new(std::io::Error::other(redact(&e.to_string())))),
                })?,
            None => {
                let mut pg = tokio_postgres::Config::new();
                pg.host(&self.host)
                    .port(self.port)
                    .user(&self.user)
                    .dbname(&self.dbname);
                pg
            }
        };
        if let (Some(password), None) = (&self.password, pg.get_password()) {
            pg.password(password.expose());
        }
        pg.connect_timeout(Duration::from_millis(self.connect_timeout_ms));
        pg.application_name("metakv");
        if self
            .url
            .as_ref()
            .is_none_or(|u| !u.expose().contains("sslmode="))
        {
            pg.ssl_mode(match self.ssl_mode {
                SslMode::Disable => tokio_postgres::config::SslMode::Disable,
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                SslMode::Require => tokio_postgres::config::SslMode::Require,
            });
        }
        if self.statement_timeout_ms > 0 {
            pg.options(format!(
                "-c statement_timeout={}",
                self.statement_timeout_ms
            ));
        }
        Ok(pg)
    }

    /// `"schema"."table"`, safe to splice into SQL (both are validated identifiers).
    pub(crate) fn qualified_table(&self) -> String {
        format!("\"{}\".\"{}\"", self.schema, self.table)
    }
}

/// Drops anything after `://` up to `@`, so that a password in a URL never reaches a message.
fn redact(message: &str) -> String {
    match (message.find("://"), message.rfind('@')) {
        (Some(start), Some(end)) if end > start => {
            format!("{}://***{}", &message[..start], &message[end..])
        }
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked_and_named() {
        let bad = PostgresConfig {
            table: "Drop Table".into(),
            ..PostgresConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("database.postgres.table")
        );
        PostgresConfig::default().validate().unwrap();
    }

    #[test]
    fn passwords_never_print() {
        let config = PostgresConfig::with_url("postgres://u:hunter2@localhost:1/db");
        assert!(!format!("{config:?}").contains("hunter2"));
        let bad = PostgresConfig::with_url("postgres://u:hunter2@localhost:notaport/db");
        let err = bad.validate().unwrap_err();
        let mut text = err.to_string();
        for cause in kv_core::causes(&err) {
            text.push_str(&cause.to_string());
        }
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("database.postgres.url"), "{text}");
    }
}
