//! The conformance suite against DynamoDB Local (`KV_TEST_DYNAMODB_URL`).
kv_conformance::suite!(fixture);

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result, Secret};
use kv_dynamo::{DynamoConfig, DynamoStore};

/// Every `open` is a new store (its own SDK client) on the same table.
struct DynamoFixture(DynamoConfig);

#[kv_core::async_trait]
impl Fixture for DynamoFixture {
    fn name(&self) -> &str {
        "dynamodb-local"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(DynamoStore::open(self.0.clone()).await?))
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let endpoint = kv_conformance::endpoint("dynamodb-local", "KV_TEST_DYNAMODB_URL")?;
    Some(Arc::new(DynamoFixture(DynamoConfig {
        table: "metakv-conformance".into(),
        endpoint: Some(endpoint),
        region: Some("us-east-1".into()),
        access_key_id: Some("test".into()),
        secret_access_key: Some(Secret::new("test")),
        auto_create: true,
        ..DynamoConfig::default()
    })))
}
