//! The conformance suite against a hash-partitioned table (`table_partitions = 8`).
kv_conformance::suite!(fixture);

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_postgres::{PostgresConfig, PostgresStore};

struct PartitionedFixture(PostgresConfig);

#[kv_core::async_trait]
impl Fixture for PartitionedFixture {
    fn name(&self) -> &str {
        "postgres (hash-partitioned)"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(PostgresStore::open(self.0.clone()).await?))
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let url = kv_conformance::endpoint("postgres", "KV_TEST_POSTGRES_URL")?;
    let config = PostgresConfig {
        auto_create: true,
        table: "metakv_conformance_hashed".into(),
        table_partitions: 8,
        pool_size: 8,
        ..PostgresConfig::with_url(url)
    };
    Some(Arc::new(PartitionedFixture(config)))
}
