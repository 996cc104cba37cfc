//! The conformance suite against DynamoDB Local (`KV_TEST_DYNAMODB_URL`), with a parallel
//! (4-segment) export.
kv_conformance::suite!(fixture);

mod common;

async fn fixture() -> Option<std::sync::Arc<dyn kv_conformance::Fixture>> {
    common::fixture("dynamodb-local", "KV_TEST_DYNAMODB_URL", 4).await
}
