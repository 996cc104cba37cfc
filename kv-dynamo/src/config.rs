//! `DynamoConfig`: table, region, credentials, retries, provisioning.

use kv_core::{Error, Result, Secret};
use serde::{Deserialize, Serialize};

/// Configuration of a [`DynamoStore`](crate::DynamoStore); the server's `[database.dynamodb]`
/// section. Credentials come from the default AWS chain (environment, profile, web identity /
/// IRSA, instance metadata) unless static keys are given here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamoConfig {
    /// Table name. Default `metakv`.
    pub table: String,
    /// AWS region; default from the environment/profile.
    pub region: Option<String>,
    /// A custom endpoint (an emulator such as DynamoDB Local, or a VPC endpoint).
    pub endpoint: Option<String>,
    /// Static access key id (with `secret_access_key`); otherwise the default chain.
    pub access_key_id: Option<String>,
    /// Static secret access key.
    pub secret_access_key: Option<Secret>,
    /// Create the table (on-demand billing) at open when it is missing, and wait until it is
    /// active. Default off: open then fails with `NotProvisioned`; use `metakv provision`.
    pub auto_create: bool,
    /// Attempts per request, including the first, for throttling and transient errors (the
    /// SDK's standard retry strategy). Default 10.
    pub max_attempts: u32,
    /// Parallel segments of the export `Scan`. Default 4.
    pub scan_segments: u32,
    /// Time limit of one attempt, in ms. Default 10000.
    pub attempt_timeout_ms: u64,
}

impl Default for DynamoConfig {
    fn default() -> Self {
        Self {
            table: "metakv".into(),
            region: None,
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            auto_create: false,
            max_attempts: 10,
            scan_segments: 4,
            attempt_timeout_ms: 10_000,
        }
    }
}

impl DynamoConfig {
    /// The defaults, then `METAKV_DYNAMODB_TABLE`, `METAKV_DYNAMODB_ENDPOINT` and
    /// `METAKV_DYNAMODB_AUTO_CREATE` where set (credentials and region: the AWS variables).
    pub fn from_env() -> Result<Self> {
        let mut config = Self::default();
        if let Ok(table) = std::env::var("METAKV_DYNAMODB_TABLE") {
            config.table = table;
        }
        if let Ok(endpoint) = std::env::var("METAKV_DYNAMODB_ENDPOINT") {
            config.endpoint = Some(endpoint);
        }
        if let Ok(v) = std::env::var("METAKV_DYNAMODB_AUTO_CREATE") {
            config.auto_create = v.parse().map_err(|_| {
                Error::config("METAKV_DYNAMODB_AUTO_CREATE", "expected true or false")
            })?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; errors name the key under `database.dynamodb`.
    pub fn validate(&self) -> Result<()> {
        let t = &self.table;
        let table_ok = (3..=255).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !table_ok {
            return Err(Error::config(
                "database.dynamodb.table",
                "expected 3 to 255 characters of a-z, A-Z, 0-9, _, -, .",
            ));
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(Error::config(
                "database.dynamodb.secret_access_key",
                "access_key_id and secret_access_key go together",
            ));
        }
        if self.max_attempts == 0 {
            return Err(Error::config(
                "database.dynamodb.max_attempts",
                "expected at least 1",
            ));
        }
        if !(1..=64).contains(&self.scan_segments) {
            return Err(Error::config(
                "database.dynamodb.scan_segments",
                "expected 1 to 64",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key_and_secrets_do_not_print() {
        let bad = DynamoConfig {
            table: "x".into(),
            ..DynamoConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("database.dynamodb.table")
        );
        let keys = DynamoConfig {
            access_key_id: Some("AKIDEXAMPLE".into()),
            secret_access_key: Some(Secret::new("wJalrXUtnFEMI")),
            ..DynamoConfig::default()
        };
        keys.validate().unwrap();
        assert!(!format!("{keys:?}").contains("wJalrXUtnFEMI"));
    }
}
