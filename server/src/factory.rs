//! `open_store`: the configured backend, instrumented.

use std::sync::Arc;

use kv_core::{Finding, InMemoryStore, Instrumented, KvStore, Result};

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
/// did, for the operator. With `dry_run`, reads only and returns what it would do.
pub async fn provision(config: &Config, dry_run: bool) -> Result<String> {
    if dry_run {
        return plan(config).await;
    }
    Ok(match config.database.kind {
        #[cfg(feature = "local")]
        DatabaseType::Local => format!(
            "local: nothing to provision; the store is created at {} on first open",
            config.database.local.path.display()
        ),
        DatabaseType::Memory => "memory: nothing to provision".to_string(),
        #[cfg(feature = "postgres")]
        DatabaseType::Postgres => {
            let pg = &config.database.postgres;
            let applied = kv_postgres::PostgresStore::provision(pg).await?;
            if applied.is_empty() {
                format!(
                    "postgres: table {}.{} is at the current schema version; nothing changed",
                    pg.schema, pg.table
                )
            } else {
                format!(
                    "postgres: applied migration(s) {applied:?} to {}.{}; ready",
                    pg.schema, pg.table
                )
            }
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

/// `provision --dry-run`: what provisioning would do, one line per step, read-only.
#[cfg_attr(
    not(any(feature = "postgres", feature = "dynamodb", feature = "cosmosdb")),
    allow(unreachable_code, unused_variables)
)]
async fn plan(config: &Config) -> Result<String> {
    let kind = config.database.kind.as_str();
    let steps: Vec<String> = match config.database.kind {
        #[cfg(feature = "local")]
        DatabaseType::Local | DatabaseType::Memory => {
            return Ok(format!(
                "dry run: {}",
                Box::pin(provision(config, false)).await?
            ));
        }
        #[cfg(not(feature = "local"))]
        DatabaseType::Memory => return Ok("dry run: memory: nothing to provision".into()),
        #[cfg(feature = "postgres")]
        DatabaseType::Postgres => {
            kv_postgres::PostgresStore::plan(&config.database.postgres).await?
        }
        #[cfg(feature = "dynamodb")]
        DatabaseType::Dynamodb => kv_dynamo::DynamoStore::plan(&config.database.dynamodb).await?,
        #[cfg(feature = "cosmosdb")]
        DatabaseType::Cosmosdb => kv_cosmos::CosmosStore::plan(&config.database.cosmosdb).await?,
    };
    Ok(if steps.is_empty() {
        format!("{kind}: dry run: nothing to do; everything provisioning creates exists")
    } else {
        let mut out = format!("{kind}: dry run: provisioning would");
        for step in steps {
            out.push_str("\n  - ");
            out.push_str(&step);
        }
        out.push_str("\nnothing was changed");
        out
    })
}

/// The configured backend's settings that bear on the contract and on the data (for
/// `metakv check`).
pub async fn inspect(config: &Config) -> Result<Vec<Finding>> {
    Ok(match config.database.kind {
        #[cfg(feature = "local")]
        DatabaseType::Local => vec![Finding::ok(
            "store",
            format!(
                "embedded store at {}; one process opens it at a time",
                config.database.local.path.display()
            ),
        )],
        DatabaseType::Memory => vec![Finding::risk(
            "store",
            "in memory: nothing survives a restart (tests only)",
        )],
        #[cfg(feature = "postgres")]
        DatabaseType::Postgres => {
            kv_postgres::PostgresStore::inspect(&config.database.postgres).await?
        }
        #[cfg(feature = "dynamodb")]
        DatabaseType::Dynamodb => {
            kv_dynamo::DynamoStore::inspect(&config.database.dynamodb).await?
        }
        #[cfg(feature = "cosmosdb")]
        DatabaseType::Cosmosdb => {
            kv_cosmos::CosmosStore::inspect(&config.database.cosmosdb).await?
        }
    })
}
