//! The fixture shared by the conformance runs against each DynamoDB implementation, and the
//! SDK configuration of the tests that build their own client. (Each test binary compiles this
//! module and uses part of it.)
#![allow(dead_code)]

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result, Secret};
use kv_dynamo::{DynamoConfig, DynamoStore};

/// Every `open` is a new store (its own SDK client) on the same table.
struct DynamoFixture(&'static str, DynamoConfig);

#[kv_core::async_trait]
impl Fixture for DynamoFixture {
    fn name(&self) -> &str {
        self.0
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(DynamoStore::open(self.1.clone()).await?))
    }
}

/// The fixture of the emulator at `endpoint` (`None`: skip), exporting with `scan_segments`
/// segments.
pub async fn fixture(
    name: &'static str,
    endpoint: Option<String>,
    scan_segments: u32,
) -> Option<Arc<dyn Fixture>> {
    let endpoint = endpoint?;
    Some(Arc::new(DynamoFixture(
        name,
        DynamoConfig {
            table: "metakv-conformance".into(),
            endpoint: Some(endpoint),
            region: Some("us-east-1".into()),
            access_key_id: Some("test".into()),
            secret_access_key: Some(Secret::new("test")),
            auto_create: true,
            scan_segments,
            ..DynamoConfig::default()
        },
    )))
}

/// An SDK configuration for the emulator at `endpoint` (us-east-1, test keys), to which a test
/// adds its interceptors.
pub fn emulator_sdk(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
}
