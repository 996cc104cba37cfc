//! Opening, checking and creating the database and container.

use azure_data_cosmos::CosmosClient;
use azure_data_cosmos::clients::ContainerClient;
use azure_data_cosmos::models::{
    ContainerProperties, IndexingMode, IndexingPolicy, PartitionKeyDefinition, PropertyPath,
    ThroughputProperties,
};
use azure_data_cosmos::options::CreateContainerOptions;
use kv_core::{Error, Result};

use crate::config::{CosmosConfig, Throughput};
use crate::error::{Outcome, classify_error};

/// The partition key path: the encoded partition.
pub(crate) const PARTITION_KEY_PATH: &str = "/p";

/// Why the database or container cannot be created with the credential in use.
const HOW_TO_PROVISION: &str = "run `metakv provision` with an account key (credential = \"key\"), install the Helm chart with cosmosdb provisioning on, or create them with ARM/Bicep/Terraform (Entra ID data-plane roles cannot create databases or containers)";

/// The container's client when it exists (`None` when the database or container is missing).
pub(crate) async fn open(
    client: &CosmosClient,
    config: &CosmosConfig,
) -> Result<Option<ContainerClient>> {
    let database = client.database_client(config.database.as_str());
    match database
        .container_client(config.container.as_str(), None)
        .await
    {
        Ok(container) => Ok(Some(container)),
        Err(e) => match classify_error(e, "opening the container", false) {
            Outcome::Absent => Ok(None),
            Outcome::Error(e) if e.kind() == kv_core::ErrorKind::NotProvisioned => Ok(None),
            Outcome::Error(e) => Err(e),
            Outcome::ConditionFailed => Err(Error::Backend {
                message: "cosmos db: unexpected conflict opening the container".into(),
                source: None,
            }),
        },
    }
}

/// Checks that the container is partitioned on [`PARTITION_KEY_PATH`].
pub(crate) async fn check(container: &ContainerClient, config: &CosmosConfig) -> Result<()> {
    let properties: ContainerProperties =
        container
            .read(None)
            .await
            .and_then(|r| r.into_model())
            .map_err(|e| crate::error::map(e, "reading the container's properties", false))?;
    let paths = properties.partition_key.paths();
    if paths.len() != 1 || paths[0] != PARTITION_KEY_PATH {
        return Err(Error::config(
            "database.cosmosdb.container",
            format!(
                "container {}/{} is partitioned on {:?}; metakv needs a container partitioned on [\"{PARTITION_KEY_PATH}\"] (use another container name, or let `metakv provision` create it)",
                config.database, config.container, paths
            ),
        ));
    }
    Ok(())
}

/// The container's definition: partition key `/p`, and an index on the key field `k` only
/// (range queries and `ORDER BY` need it; leaving the value out of the index makes writes
/// cheaper).
pub(crate) fn definition(config: &CosmosConfig) -> ContainerProperties {
    let mut indexing = IndexingPolicy::default().with_indexing_mode(IndexingMode::Consistent);
    indexing.automatic = true;
    indexing
        .included_paths
        .push(PropertyPath::default().with_path("/k/?"));
    indexing
        .excluded_paths
        .push(PropertyPath::default().with_path("/*"));
    ContainerProperties::new(
        config.container.clone(),
        PartitionKeyDefinition::new(vec![PARTITION_KEY_PATH.into()]),
    )
    .with_indexing_policy(indexing)
}

/// The container the driver needs — partition key and indexing policy — in the form of the
/// Cosmos DB REST API, which ARM, Bicep and Azure Service Operator use too. For provisioning
/// by other tools (the Helm chart's ASO resources are checked against it); `metakv layout`
/// prints it.
pub fn container_layout() -> serde_json::Value {
    let definition = definition(&CosmosConfig::default());
    let json = serde_json::to_value(&definition).expect("container properties serialize");
    serde_json::json!({
        "partitionKey": json["partitionKey"],
        "indexingPolicy": json["indexingPolicy"],
    })
}

/// Whether the database exists.
pub(crate) async fn database_exists(client: &CosmosClient, config: &CosmosConfig) -> Result<bool> {
    match client
        .database_client(config.database.as_str())
        .read(None)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => match classify_error(e, "reading the database", false) {
            Outcome::Absent => Ok(false),
            Outcome::Error(e) if e.kind() == kv_core::ErrorKind::NotProvisioned => Ok(false),
            Outcome::Error(e) => Err(e),
            Outcome::ConditionFailed => Err(Error::Backend {
                message: "cosmos db: unexpected conflict reading the database".into(),
                source: None,
            }),
        },
    }
}

/// The container that provisioning creates, in a sentence (`metakv provision --dry-run`).
pub(crate) fn describe(config: &CosmosConfig) -> String {
    let throughput = match config.throughput {
        Throughput::None => "no dedicated throughput (the database's, or serverless)".to_string(),
        Throughput::Manual { ru } => format!("{ru} RU/s manual throughput"),
        Throughput::Autoscale { max_ru } => format!("autoscale throughput up to {max_ru} RU/s"),
    };
    format!(
        "create container {}/{}: partition key {PARTITION_KEY_PATH}, indexing /k/? only, {throughput}",
        config.database, config.container
    )
}

/// Creates the database and the container where missing; existing ones are kept (and the
/// container checked).
pub(crate) async fn create(
    client: &CosmosClient,
    config: &CosmosConfig,
) -> Result<ContainerClient> {
    let not_allowed = |e: Error| match e.kind() {
        kv_core::ErrorKind::Unauthorized => Error::Unauthorized {
            message: format!(
                "cosmos db: the credential may not create database {} or container {}: {HOW_TO_PROVISION}",
                config.database, config.container
            ),
            source: Some(Box::new(e)),
        },
        _ => e,
    };
    match client.create_database(&config.database, None).await {
        Ok(_) => tracing::info!(database = %config.database, "created the cosmos db database"),
        Err(e) => match classify_error(e, "creating the database", true) {
            Outcome::ConditionFailed => {} // 409: it exists.
            Outcome::Error(e) => return Err(not_allowed(e)),
            Outcome::Absent => {
                return Err(Error::Backend {
                    message: "cosmos db: creating the database answered 404".into(),
                    source: None,
                });
            }
        },
    }
    let database = client.database_client(config.database.as_str());
    let options = match config.throughput {
        Throughput::None => CreateContainerOptions::default(),
        Throughput::Manual { ru } => {
            CreateContainerOptions::default().with_throughput(ThroughputProperties::manual(ru))
        }
        Throughput::Autoscale { max_ru } => CreateContainerOptions::default()
            .with_throughput(ThroughputProperties::autoscale(max_ru, None)),
    };
    match database
        .create_container(definition(config), Some(options))
        .await
    {
        Ok(_) => tracing::info!(
            database = %config.database,
            container = %config.container,
            "created the cosmos db container"
        ),
        Err(e) => match classify_error(e, "creating the container", true) {
            Outcome::ConditionFailed => {} // 409: it exists; checked below.
            Outcome::Error(e) => return Err(not_allowed(e)),
            Outcome::Absent => {
                return Err(Error::Backend {
                    message: "cosmos db: creating the container answered 404".into(),
                    source: None,
                });
            }
        },
    }
    let container = open(client, config)
        .await?
        .ok_or_else(|| Error::NotProvisioned {
            message: format!(
                "cosmos db: container {}/{} is still missing after creating it",
                config.database, config.container
            ),
            source: None,
        })?;
    check(&container, config).await?;
    Ok(container)
}

/// The error for a missing database or container with `auto_create` off.
pub(crate) fn missing(config: &CosmosConfig) -> Error {
    Error::NotProvisioned {
        message: format!(
            "cosmos db: database {} or container {} does not exist; set database.cosmosdb.auto_create = true (with an account key), or {HOW_TO_PROVISION}",
            config.database, config.container
        ),
        source: None,
    }
}
