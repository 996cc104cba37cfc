//! `CosmosConfig`: account, credential, database and container, provisioning, consistency.

use kv_core::{Error, Result, Secret};
use serde::{Deserialize, Serialize};

/// How the driver authenticates to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// The account key in `key` (data plane and control plane). The fallback: prefer Entra ID.
    Key,
    /// Entra ID through AKS workload identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
    /// `AZURE_FEDERATED_TOKEN_FILE`, set by the workload identity webhook).
    WorkloadIdentity,
    /// Entra ID through the managed identity of the VM, App Service or pod
    /// (`managed_identity_client_id` for a user-assigned one).
    ManagedIdentity,
    /// Entra ID through developer tools (`az login`, `azd auth login`).
    Developer,
}

/// Offered throughput for a container created by `auto_create` or `metakv provision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", deny_unknown_fields)]
pub enum Throughput {
    /// No dedicated throughput: the container shares the database's (or a serverless account).
    None,
    /// Fixed request units per second.
    Manual {
        /// RU/s, at least 400.
        ru: u64,
    },
    /// Autoscale between 10% of `max_ru` and `max_ru`.
    Autoscale {
        /// Maximum RU/s, at least 1000.
        max_ru: u64,
    },
}

/// Configuration of a [`CosmosStore`](crate::CosmosStore); the server's `[database.cosmosdb]`
/// section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CosmosConfig {
    /// Account endpoint, e.g. `https://myaccount.documents.azure.com:443/`.
    pub endpoint: String,
    /// How to authenticate. Unset: `key` when a key is given, else `workload_identity`
    /// (see [`CosmosConfig::credential_kind`]).
    pub credential: Option<CredentialKind>,
    /// Account key (with `credential = "key"`, or when `credential` is unset).
    pub key: Option<Secret>,
    /// Regions to prefer, in order (e.g. `["westeurope", "northeurope"]`); empty: the
    /// account's own order.
    pub preferred_regions: Vec<String>,
    /// Client id of a user-assigned managed identity.
    pub managed_identity_client_id: Option<String>,
    /// Database name. Default `metakv`.
    pub database: String,
    /// Container name. Default `metakv`.
    pub container: String,
    /// Create the database and container at open when missing. Default off: open then fails
    /// with `NotProvisioned`. Needs control-plane rights (an account key); Entra ID data-plane
    /// roles cannot create them.
    pub auto_create: bool,
    /// Throughput of a container that metakv creates. Default autoscale up to 1000 RU/s.
    pub throughput: Throughput,
    /// Accept an account whose default consistency is weaker than Bounded Staleness (the
    /// emulator reports Session). Default off: open refuses such an account, since the
    /// contract's guarantees need Strong or Bounded Staleness in one region.
    pub accept_weak_consistency: bool,
    /// Retries of a throttled (429) request, by the SDK's policy, which waits as the service's
    /// `x-ms-retry-after-ms` says; then the call fails with `Throttled`. Default 9.
    pub max_throttle_retries: u32,
    /// Longest total wait across those retries, in seconds. Default 30.
    pub max_throttle_wait_secs: u64,
    /// The endpoint is a local emulator: its self-signed certificate is accepted (only for
    /// `localhost`/`127.0.0.1`) and HTTP/2 is off. Never set this for a real account.
    pub emulator: bool,
    /// Provision through Azure Resource Manager (the control plane) with the Entra ID
    /// credential, instead of the data plane with a key: `metakv provision` creates or checks
    /// the database and container under this account. For a Job with workload identity.
    pub arm: Option<ArmConfig>,
}

/// `[database.cosmosdb.arm]`: where the account is in Azure Resource Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    /// Subscription id of the account.
    pub subscription_id: String,
    /// Resource group of the account.
    pub resource_group: String,
    /// Account name.
    pub account: String,
    /// The Resource Manager endpoint. Default `https://management.azure.com` (another cloud's
    /// for sovereign clouds).
    #[serde(default = "default_arm_endpoint")]
    pub endpoint: String,
}

fn default_arm_endpoint() -> String {
    "https://management.azure.com".into()
}

impl Default for CosmosConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            credential: None,
            key: None,
            preferred_regions: Vec::new(),
            managed_identity_client_id: None,
            database: "metakv".into(),
            container: "metakv".into(),
            auto_create: false,
            throughput: Throughput::Autoscale { max_ru: 1000 },
            accept_weak_consistency: false,
            max_throttle_retries: 9,
            max_throttle_wait_secs: 30,
            emulator: false,
            arm: None,
        }
    }
}

impl CosmosConfig {
    /// The credential in effect: `credential` when set, else `key` when a key is given, else
    /// workload identity.
    pub fn credential_kind(&self) -> CredentialKind {
        match (self.credential, &self.key) {
            (Some(kind), _) => kind,
            (None, Some(_)) => CredentialKind::Key,
            (None, None) => CredentialKind::WorkloadIdentity,
        }
    }

    /// Checks every value; errors name the key under `database.cosmosdb`.
    pub fn validate(&self) -> Result<()> {
        let url = reqwest::Url::parse(&self.endpoint).map_err(|_| {
            Error::config(
                "database.cosmosdb.endpoint",
                "expected the account URL, e.g. https://myaccount.documents.azure.com:443/",
            )
        })?;
        if url.scheme() != "https" {
            return Err(Error::config(
                "database.cosmosdb.endpoint",
                "expected an https:// URL (the emulator too speaks https)",
            ));
        }
        if self.credential_kind() == CredentialKind::Key && self.key.is_none() {
            return Err(Error::config(
                "database.cosmosdb.key",
                "credential = \"key\" needs the account key",
            ));
        }
        for (name, value) in [
            ("database.cosmosdb.database", &self.database),
            ("database.cosmosdb.container", &self.container),
        ] {
            let ok = (1..=255).contains(&value.len())
                && !value.contains(['/', '\\', '?', '#'])
                && !value.ends_with(' ');
            if !ok {
                return Err(Error::config(
                    name,
                    "expected 1 to 255 characters without / \\ ? # or a trailing space",
                ));
            }
        }
        if let Some(arm) = &self.arm {
            if self.credential_kind() == CredentialKind::Key {
                return Err(Error::config(
                    "database.cosmosdb.arm",
                    "provisioning through Azure Resource Manager needs an Entra ID credential \
                     (workload_identity, managed_identity or developer), not an account key",
                ));
            }
            for (name, value) in [
                (
                    "database.cosmosdb.arm.subscription_id",
                    &arm.subscription_id,
                ),
                ("database.cosmosdb.arm.resource_group", &arm.resource_group),
                ("database.cosmosdb.arm.account", &arm.account),
            ] {
                if value.is_empty() || value.contains(['/', '?', '#']) {
                    return Err(Error::config(name, "expected a name without / ? #"));
                }
            }
            if reqwest::Url::parse(&arm.endpoint).is_err() {
                return Err(Error::config(
                    "database.cosmosdb.arm.endpoint",
                    "expected a URL, e.g. https://management.azure.com",
                ));
            }
        }
        match self.throughput {
            Throughput::Manual { ru } if ru < 400 => Err(Error::config(
                "database.cosmosdb.throughput.ru",
                "expected at least 400",
            )),
            Throughput::Autoscale { max_ru } if max_ru < 1000 => Err(Error::config(
                "database.cosmosdb.throughput.max_ru",
                "expected at least 1000",
            )),
            _ => Ok(()),
        }
    }

    /// Whether the endpoint's host is the local machine (where `emulator` is allowed).
    pub(crate) fn is_local(&self) -> bool {
        reqwest::Url::parse(&self.endpoint)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> CosmosConfig {
        CosmosConfig {
            endpoint: "https://acct.documents.azure.com:443/".into(),
            ..CosmosConfig::default()
        }
    }

    #[test]
    fn bad_values_name_their_key_and_secrets_do_not_print() {
        let http = CosmosConfig {
            endpoint: "http://acct.documents.azure.com/".into(),
            ..base()
        };
        assert!(format!("{}", http.validate().unwrap_err()).contains("database.cosmosdb.endpoint"));
        let keyless = CosmosConfig {
            credential: Some(CredentialKind::Key),
            ..base()
        };
        assert!(format!("{}", keyless.validate().unwrap_err()).contains("database.cosmosdb.key"));
        let slow = CosmosConfig {
            throughput: Throughput::Manual { ru: 100 },
            ..base()
        };
        assert!(format!("{}", slow.validate().unwrap_err()).contains("throughput.ru"));
        let keyed = CosmosConfig {
            key: Some(Secret::new("c2VjcmV0LWFjY291bnQta2V5")),
            ..base()
        };
        keyed.validate().unwrap();
        assert_eq!(keyed.credential_kind(), CredentialKind::Key);
        assert!(!format!("{keyed:?}").contains("c2VjcmV0LWFjY291bnQta2V5"));
        assert_eq!(base().credential_kind(), CredentialKind::WorkloadIdentity);
    }
}
