//! The conformance suite against a real PostgreSQL (`KV_TEST_POSTGRES_URL`).
kv_conformance::suite!(fixture);

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

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let url = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL")?;
    let config = PostgresConfig {
        auto_create: true,
        table: "metakv_conformance".into(),
        pool_size: 8,
        ..PostgresConfig::with_url(url)
    };
    Some(Arc::new(PostgresFixture(config)))
}
