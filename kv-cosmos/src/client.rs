//! Building the SDK client from a `CosmosConfig`, and the one request the SDK has no method
//! for: reading the account's default consistency.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_core::credentials::TokenCredential;
use azure_data_cosmos::options::{
    BinaryEncodingOptions, ConnectionPoolOptions, OperationOptionsBuilder, Region,
    ServerCertificateValidation, ThrottlingRetryOptionsBuilder,
};
use azure_data_cosmos::{
    AccountEndpoint, AccountReference, CosmosClient, CosmosRuntime, RoutingStrategy,
};
use azure_identity::{
    DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential,
};
use kv_core::{Error, Result};
use serde::Deserialize;

use crate::config::{CosmosConfig, CredentialKind};

/// The credential of the account: its key, or an Entra ID token source.
#[derive(Clone)]
pub(crate) enum Credential {
    Key(kv_core::Secret),
    Token(Arc<dyn TokenCredential>),
}

impl Credential {
    pub(crate) fn from_config(config: &CosmosConfig) -> Result<Self> {
        let entra = |e: azure_core::Error| Error::Unauthorized {
            message: "cosmos db: could not set up the Entra ID credential".into(),
            source: Some(Box::new(e)),
        };
        Ok(match config.credential_kind() {
            CredentialKind::Key => {
                let key = config.key.clone().ok_or_else(|| {
                    Error::config(
                        "database.cosmosdb.key",
                        "credential = \"key\" needs the key",
                    )
                })?;
                Credential::Key(key)
            }
            CredentialKind::WorkloadIdentity => {
                Credential::Token(WorkloadIdentityCredential::new(None).map_err(entra)?)
            }
            CredentialKind::ManagedIdentity => {
                let options = ManagedIdentityCredentialOptions {
                    user_assigned_id: config
                        .managed_identity_client_id
                        .clone()
                        .map(UserAssignedId::ClientId),
                    ..Default::default()
                };
                Credential::Token(ManagedIdentityCredential::new(Some(options)).map_err(entra)?)
            }
            CredentialKind::Developer => {
                Credential::Token(DeveloperToolsCredential::new(None).map_err(entra)?)
            }
        })
    }

    pub(crate) fn is_key(&self) -> bool {
        matches!(self, Credential::Key(_))
    }
}

/// An SDK client for the configured account.
pub(crate) async fn sdk_client(
    config: &CosmosConfig,
    credential: &Credential,
) -> Result<CosmosClient> {
    let endpoint: AccountEndpoint = config
        .endpoint
        .parse()
        .map_err(|_| Error::config("database.cosmosdb.endpoint", "not a valid account URL"))?;
    let account = match credential {
        Credential::Key(key) => {
            AccountReference::with_authentication_key(endpoint, key.expose().to_owned())
        }
        Credential::Token(token) => AccountReference::with_credential(endpoint, token.clone()),
    };
    let sdk = |doing: &'static str| {
        move |e: azure_data_cosmos::CosmosError| Error::Backend {
            message: format!("cosmos db: could not {doing}"),
            source: Some(Box::new(e)),
        }
    };
    let emulator = config.emulator && config.is_local();
    let mut pool = ConnectionPoolOptions::builder();
    if emulator {
        // The emulator's certificate is self-signed; the SDK accepts that only for local
        // hosts. It also speaks HTTP/1.1 only.
        pool = pool
            .with_server_certificate_validation(ServerCertificateValidation::RequiredUnlessEmulator)
            .with_is_http2_allowed(false);
    }
    let runtime = CosmosRuntime::builder()
        .with_connection_pool(pool.build().map_err(sdk("configure the connection pool"))?)
        .build()
        .await
        .map_err(sdk("start the SDK runtime"))?;
    let throttling = ThrottlingRetryOptionsBuilder::new()
        .with_max_retry_count(config.max_throttle_retries)
        .with_max_retry_wait_time(Duration::from_secs(config.max_throttle_wait_secs))
        .build();
    let mut builder = CosmosClient::builder()
        .with_runtime(runtime)
        .with_default_operation_options(
            OperationOptionsBuilder::new()
                .with_throttling_retry_options(throttling)
                .build(),
        );
    if emulator {
        // Emulators speak text JSON only.
        builder =
            builder.with_binary_encoding_options(BinaryEncodingOptions::new().with_enabled(false));
    }
    builder
        .build(
            account,
            RoutingStrategy::PreferredRegions(
                config
                    .preferred_regions
                    .iter()
                    .cloned()
                    .map(Region::from)
                    .collect(),
            ),
        )
        .await
        .map_err(|e| crate::error::map(e, "connecting to the account", false))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountProperties {
    user_consistency_policy: ConsistencyPolicy,
    #[serde(default)]
    readable_locations: Vec<serde_json::Value>,
    #[serde(default)]
    enable_multiple_write_locations: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyPolicy {
    default_consistency_level: String,
}

/// What the consistency check needs to know of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountConsistency {
    /// `Strong`, `BoundedStaleness`, `Session`, `ConsistentPrefix` or `Eventual`.
    pub(crate) level: String,
    /// Regions it serves reads from.
    pub(crate) read_regions: usize,
    /// Whether every region takes writes.
    pub(crate) multi_region_writes: bool,
}

/// The account's default consistency level and regions, from `GET /` on the account endpoint
/// (the SDK reads it too, but does not expose it).
pub(crate) async fn account_consistency(
    config: &CosmosConfig,
    credential: &Credential,
) -> Result<AccountConsistency> {
    let url = reqwest::Url::parse(&config.endpoint)
        .map_err(|_| Error::config("database.cosmosdb.endpoint", "not a valid account URL"))?;
    let date = httpdate::fmt_http_date(SystemTime::now());
    let authorization = match credential {
        Credential::Key(key) => {
            // The master-key signature of `GET` on the account resource (no type, no link).
            let payload = format!("get\n\n\n{}\n\n", date.to_lowercase());
            let secret = azure_core::credentials::Secret::new(key.expose().to_owned());
            let sig = azure_core::hmac::hmac_sha256(&payload, &secret).map_err(|_| {
                Error::config("database.cosmosdb.key", "the key is not valid base64")
            })?;
            format!("type=master&ver=1.0&sig={sig}")
        }
        Credential::Token(token) => {
            let scope = format!(
                "{}://{}/.default",
                url.scheme(),
                url.host_str().unwrap_or_default()
            );
            let token =
                token
                    .get_token(&[&scope], None)
                    .await
                    .map_err(|e| Error::Unauthorized {
                        message: "cosmos db: could not get an Entra ID token".into(),
                        source: Some(Box::new(e)),
                    })?;
            format!("type=aad&ver=1.0&sig={}", token.token.secret())
        }
    };
    let encoded =
        percent_encoding::utf8_percent_encode(&authorization, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(config.emulator && config.is_local())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| Error::backend("cosmos db: building an HTTP client", e))?;
    let response = client
        .get(url)
        .header("x-ms-date", &date)
        .header("x-ms-version", "2020-07-15")
        .header("authorization", encoded)
        .send()
        .await
        .map_err(|e| Error::unavailable("cosmos db: reading the account properties", e))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Error::Unauthorized {
            message: format!(
                "cosmos db: the account refused the credential ({status}) reading its properties"
            ),
            source: None,
        });
    }
    if !status.is_success() {
        return Err(Error::Backend {
            message: format!("cosmos db: reading the account properties answered {status}"),
            source: None,
        });
    }
    let properties: AccountProperties = response
        .json()
        .await
        .map_err(|e| Error::backend("cosmos db: reading the account properties", e))?;
    Ok(AccountConsistency {
        level: properties.user_consistency_policy.default_consistency_level,
        read_regions: properties.readable_locations.len(),
        multi_region_writes: properties.enable_multiple_write_locations,
    })
}

/// Refuses an account whose default consistency cannot give the contract's guarantees:
/// Strong, or Bounded Staleness with reads and writes in one region.
pub(crate) fn check_consistency(account: &AccountConsistency, accept_weak: bool) -> Result<()> {
    let AccountConsistency {
        level,
        read_regions,
        multi_region_writes,
    } = account;
    let strong_enough = match level.as_str() {
        "Strong" => true,
        "BoundedStaleness" => *read_regions <= 1 && !multi_region_writes,
        _ => false,
    };
    if strong_enough || accept_weak {
        return Ok(());
    }
    Err(Error::config(
        "database.cosmosdb.accept_weak_consistency",
        format!(
            "the account's default consistency is {level} (read regions: {read_regions}, multi-region writes: {multi_region_writes}); metakv needs Strong, or Bounded Staleness with one region, for linearizable reads and scans. Change the account's consistency, or set accept_weak_consistency = true to run with weaker guarantees (emulators)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(level: &str, read_regions: usize, multi_region_writes: bool) -> AccountConsistency {
        AccountConsistency {
            level: level.into(),
            read_regions,
            multi_region_writes,
        }
    }

    #[test]
    fn weak_consistency_is_refused_unless_accepted() {
        check_consistency(&account("Strong", 3, false), false).unwrap();
        check_consistency(&account("BoundedStaleness", 1, false), false).unwrap();
        for weak in [
            account("BoundedStaleness", 2, false),
            account("BoundedStaleness", 1, true),
            account("Session", 1, false),
            account("ConsistentPrefix", 1, false),
            account("Eventual", 1, false),
        ] {
            let err = check_consistency(&weak, false).unwrap_err();
            assert_eq!(err.kind(), kv_core::ErrorKind::Config, "{weak:?}");
            assert!(err.to_string().contains("accept_weak_consistency"), "{err}");
            check_consistency(&weak, true).unwrap();
        }
    }
}
