//! The conformance suite against the Cosmos DB emulator (`KV_TEST_COSMOS_URL`, started by
//! `scripts/test.sh` through `scripts/cosmos-emulator/launch.js`).
kv_conformance::suite!(fixture);

mod common;

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_cosmos::{CosmosConfig, CosmosStore};

/// Every `open` is a new store (its own SDK client) on the same container.
struct CosmosFixture(CosmosConfig);

#[kv_core::async_trait]
impl Fixture for CosmosFixture {
    fn name(&self) -> &str {
        "cosmosdb-emulator"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(CosmosStore::open(self.0.clone()).await?))
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let endpoint = kv_conformance::service_endpoint(&kv_conformance::COSMOS)?;
    Some(Arc::new(CosmosFixture(common::config(
        endpoint,
        "conformance",
    ))))
}
