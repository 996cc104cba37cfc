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
    })
}
