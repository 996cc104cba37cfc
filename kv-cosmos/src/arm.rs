//! Provisioning through Azure Resource Manager (the control plane), with an Entra ID
//! credential: what a Kubernetes Job with workload identity can do where the data plane cannot
//! (Entra ID data-plane roles may not create databases or containers).
//!
//! Create-or-verify, never delete: `GET` the database and the container; `PUT` what is
//! missing (the same partition key, indexing policy and throughput as the data-plane path,
//! from [`container_layout`](crate::container_layout)), following ARM's long-running
//! operations (`Azure-AsyncOperation`, else `Location`) until they end; check an existing
//! container's partition key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use kv_core::{Error, Result};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value as Json, json};

use crate::config::{ArmConfig, CosmosConfig, Throughput};
use crate::container::{PARTITION_KEY_PATH, container_layout};

/// The Microsoft.DocumentDB API version used for every request.
pub const API_VERSION: &str = "2024-08-15";

/// How long one long-running operation may take.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(600);

struct Arm<'a> {
    http: reqwest::Client,
    base: String,
    scope: String,
    credential: &'a Arc<dyn TokenCredential>,
}

impl Arm<'_> {
    async fn token(&self) -> Result<String> {
        let token = self
            .credential
            .get_token(&[&self.scope], None)
            .await
            .map_err(|e| Error::Unauthorized {
                message: format!(
                    "cosmos db: could not get an Entra ID token for Azure Resource Manager ({})",
                    self.scope
                ),
                source: Some(Box::new(e)),
            })?;
        Ok(token.token.secret().to_string())
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Json>,
    ) -> Result<reqwest::Response> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(self.token().await?);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            Error::unavailable(format!("azure resource manager: {method} {url}"), e)
        })?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(response);
        }
        let detail = response.text().await.unwrap_or_default();
        let message = format!("azure resource manager: {method} {url} answered {status}: {detail}");
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::Unauthorized {
                message: format!(
                    "{message} (the identity needs a control-plane role on the account, e.g. \"DocumentDB Account Contributor\")"
                ),
                source: None,
            },
            StatusCode::TOO_MANY_REQUESTS => Error::Throttled {
                retry_after: None,
                source: Some(message.into()),
            },
            s if s.is_server_error() => Error::Unavailable {
                message,
                source: None,
            },
            _ => Error::Backend {
                message,
                source: None,
            },
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}?api-version={API_VERSION}", self.base)
    }

    /// The resource at `path`, or `None` when it does not exist.
    async fn get(&self, path: &str) -> Result<Option<Json>> {
        let response = self.send(Method::GET, &self.url(path), None).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(response.json().await.map_err(|e| {
            Error::backend(format!("azure resource manager: reading {path}"), e)
        })?))
    }

    /// `PUT` of `body` at `path`, then the long-running operation it starts, to its end.
    async fn put(&self, path: &str, body: &Json) -> Result<()> {
        let response = self.send(Method::PUT, &self.url(path), Some(body)).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(Error::NotProvisioned {
                message: format!(
                    "azure resource manager: PUT {path} answered 404: does the account exist (subscription, resource group, account)?"
                ),
                source: None,
            });
        }
        let async_operation = header_value(&response, "azure-asyncoperation");
        let location = header_value(&response, header::LOCATION.as_str());
        let status = response.status();
        let deadline = Instant::now() + OPERATION_TIMEOUT;
        if let Some(operation) = async_operation {
            // The operation resource: {"status": "InProgress" | "Succeeded" | "Failed" | ...}.
            loop {
                let response = self.send(Method::GET, &operation, None).await?;
                let pause = retry_after(&response);
                let body: Json = response.json().await.map_err(|e| {
                    Error::backend("azure resource manager: reading an operation status", e)
                })?;
                match body["status"].as_str().unwrap_or_default() {
                    "Succeeded" => return Ok(()),
                    "Failed" | "Canceled" => {
                        return Err(Error::Backend {
                            message: format!(
                                "azure resource manager: creating {path} ended {}: {}",
                                body["status"], body["error"]
                            ),
                            source: None,
                        });
                    }
                    _ => wait(pause, deadline, path).await?,
                }
            }
        } else if status == StatusCode::ACCEPTED {
            let location = location.ok_or_else(|| Error::Backend {
                message: format!(
                    "azure resource manager: PUT {path} was accepted without an operation to follow"
                ),
                source: None,
            })?;
            loop {
                let response = self.send(Method::GET, &location, None).await?;
                if response.status() != StatusCode::ACCEPTED {
                    return Ok(());
                }
                wait(retry_after(&response), deadline, path).await?;
            }
        }
        Ok(())
    }
}

fn header_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The pause a polled operation asks for (`Retry-After` seconds), 1 s by default, at most 30 s.
fn retry_after(response: &reqwest::Response) -> Duration {
    header_value(response, header::RETRY_AFTER.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_secs(1), |s| Duration::from_secs(s.min(30)))
}

async fn wait(pause: Duration, deadline: Instant, path: &str) -> Result<()> {
    if Instant::now() + pause > deadline {
        return Err(Error::Unavailable {
            message: format!(
                "azure resource manager: creating {path} did not finish within {} s",
                OPERATION_TIMEOUT.as_secs()
            ),
            source: None,
        });
    }
    tokio::time::sleep(pause).await;
    Ok(())
}

/// The container's `options`: its dedicated throughput.
fn options(throughput: Throughput) -> Json {
    match throughput {
        Throughput::None => json!({}),
        Throughput::Manual { ru } => json!({ "throughput": ru }),
        Throughput::Autoscale { max_ru } => {
            json!({ "autoscaleSettings": { "maxThroughput": max_ru } })
        }
    }
}

/// The database and container paths under the account.
pub(crate) fn paths(arm: &ArmConfig, config: &CosmosConfig) -> (String, String) {
    let database = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DocumentDB/databaseAccounts/{}/sqlDatabases/{}",
        arm.subscription_id, arm.resource_group, arm.account, config.database
    );
    let container = format!("{database}/containers/{}", config.container);
    (database, container)
}

fn arm_client<'a>(arm: &ArmConfig, credential: &'a Arc<dyn TokenCredential>) -> Result<Arm<'a>> {
    let base = arm.endpoint.trim_end_matches('/').to_string();
    Ok(Arm {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::backend("azure resource manager: building an HTTP client", e))?,
        scope: format!("{base}/.default"),
        base,
        credential,
    })
}

/// Fails with `Config` unless the container (an ARM resource) is partitioned on `/p`.
fn check_partition_key(config: &CosmosConfig, existing: &Json) -> Result<()> {
    let paths = &existing["properties"]["resource"]["partitionKey"]["paths"];
    if *paths != json!([PARTITION_KEY_PATH]) {
        return Err(Error::config(
            "database.cosmosdb.container",
            format!(
                "container {}/{} is partitioned on {paths}; metakv needs [\"{PARTITION_KEY_PATH}\"] (use another container name)",
                config.database, config.container
            ),
        ));
    }
    Ok(())
}

/// What [`provision`] would do, with `GET`s only.
pub(crate) async fn plan(
    config: &CosmosConfig,
    arm: &ArmConfig,
    credential: &Arc<dyn TokenCredential>,
) -> Result<Vec<String>> {
    let client = arm_client(arm, credential)?;
    let (database_path, container_path) = paths(arm, config);
    let mut steps = Vec::new();
    if client.get(&database_path).await?.is_none() {
        steps.push(format!(
            "create database {} (PUT {database_path})",
            config.database
        ));
    }
    match client.get(&container_path).await? {
        Some(existing) => check_partition_key(config, &existing)?,
        None => steps.push(format!(
            "{} (PUT {container_path})",
            crate::container::describe(config)
        )),
    }
    Ok(steps)
}

/// Creates the database and container where missing and checks an existing container;
/// returns whether it created anything.
pub(crate) async fn provision(
    config: &CosmosConfig,
    arm: &ArmConfig,
    credential: &Arc<dyn TokenCredential>,
) -> Result<bool> {
    let client = arm_client(arm, credential)?;
    let (database_path, container_path) = paths(arm, config);
    let mut created = false;
    if client.get(&database_path).await?.is_none() {
        let body = json!({
            "properties": { "resource": { "id": config.database }, "options": {} }
        });
        client.put(&database_path, &body).await?;
        tracing::info!(database = %config.database, "created the cosmos db database through ARM");
        created = true;
    }
    match client.get(&container_path).await? {
        Some(existing) => check_partition_key(config, &existing)?,
        None => {
            let layout = container_layout();
            let body = json!({
                "properties": {
                    "resource": {
                        "id": config.container,
                        "partitionKey": layout["partitionKey"],
                        "indexingPolicy": layout["indexingPolicy"],
                    },
                    "options": options(config.throughput),
                }
            });
            client.put(&container_path, &body).await?;
            tracing::info!(container = %config.container, "created the cosmos db container through ARM");
            created = true;
        }
    }
    Ok(created)
}
