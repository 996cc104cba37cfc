//! `open_store`: the configured backend, instrumented.

use std::sync::Arc;

use kv_core::{InMemoryStore, Instrumented, KvStore, Result};

use crate::config::{Config, DatabaseType};

/// Opens the backend named by `database.type`, wrapped in the metrics/tracing decorator.
pub async fn open_store(config: &Config) -> Result<Arc<dyn KvStore>> {
    let kind = config.database.kind;
    tracing::info!(backend = kind.as_str(), "opening the store");
    Ok(match kind {
        #[cfg(feature = "local")]
        DatabaseType::Local => {
            let store = kv_local::LocalStore::open(config.database.local.clone()).await?;
            Arc::new(Instrumented::new(store, "local"))
        }
        DatabaseType::Memory => Arc::new(Instrumented::new(InMemoryStore::new(), "memory")),
        #[cfg(feature = "postgres")]
        DatabaseType::Postgres => {
            let store = kv_postgres::PostgresStore::open(config.database.postgres.clone()).await?;
            Arc::new(Instrumented::new(store, "postgres"))
        }
        #[cfg(feature = "dynamodb")]
        DatabaseType::Dynamodb => {
            let store = kv_dynamo::DynamoStore::open(config.database.dynamodb.clone()).await?;
            Arc::new(Instrumented::new(store, "dynamodb"))
        }
        #[cfg(feature = "cosmosdb")]
        DatabaseType::Cosmosdb => {
            let store = kv_cosmos::CosmosStore::open(config.database.cosmosdb.clone()).await?;
            Arc::new(Instrumented::new(store, "cosmosdb"))
        }
    })
}

/// Creates what the configured backend needs (tables, schema), idempotently; returns what it
/// did, for the operator.
pub async fn provision(config: &Config) -> Result<String> {
    Ok(match config.database.kind {
        #[cfg(feature = "local")]
        DatabaseType::Local => format!(
            "local: nothing to provision; the store is created at {} on first open",
            config.database.local.path.display()
        ),
        DatabaseType::Memory => "memory: nothing to provision".to_string(),
        #[cfg(feature = "postgres")]
        DatabaseType::Postgres => {
            kv_postgres::PostgresStore::provision(&config.database.postgres).await?;
            format!(
                "postgres: table {}.{} is ready",
                config.database.postgres.schema, config.database.postgres.table
            )
        }
        #[cfg(feature = "dynamodb")]
        DatabaseType::Dynamodb => {
            let table = &config.database.dynamodb.table;
            if kv_dynamo::DynamoStore::provision(&config.database.dynamodb).await? {
                format!("dynamodb: created table {table}; it is active")
            } else {
                format!(
                    "dynamodb: table {table} already exists with the right key schema; nothing changed"
                )
            }
        }
        #[cfg(feature = "cosmosdb")]
        DatabaseType::Cosmosdb => {
            let c = &config.database.cosmosdb;
            if kv_cosmos::CosmosStore::provision(c).await? {
                format!(
                    "cosmosdb: created container {} in database {} (partition key /p); ready",
                    c.container, c.database
                )
            } else {
                format!(
                    "cosmosdb: database {} and container {} already exist, partitioned on /p; nothing changed",
                    c.database, c.container
                )
            }
        }
    })
}
