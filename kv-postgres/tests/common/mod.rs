//! The fixture shared by the conformance runs against PostgreSQL.

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_postgres::{PostgresConfig, PostgresStore};

/// Every `open` is a new store (its own pool) on the same table.
struct PostgresFixture(PostgresConfig);

#[kv_core::async_trait]
impl Fixture for PostgresFixture {
    fn name(&self) -> &str {
        "postgres"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(PostgresStore::open(self.0.clone()).await?))
    }
}

/// The fixture of `table` (created with `table_partitions` hash partitions) on the server at
/// `KV_TEST_POSTGRES_URL`, or in a container when it is not set and Docker is reachable.
pub async fn fixture(table: &str, table_partitions: u32) -> Option<Arc<dyn Fixture>> {
    let url = kv_conformance::service_endpoint(&kv_conformance::POSTGRES)?;
    Some(Arc::new(PostgresFixture(PostgresConfig {
        auto_create: true,
        table: table.into(),
        table_partitions,
        pool_size: 8,
        ..PostgresConfig::with_url(url)
    })))
}
