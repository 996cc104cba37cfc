//! The conformance suite against DynamoDB Local (`KV_TEST_DYNAMODB_URL`), with a parallel
//! (4-segment) export.
kv_conformance::suite!(fixture);

mod common;

async fn fixture() -> Option<std::sync::Arc<dyn kv_conformance::Fixture>> {
    let endpoint = kv_conformance::service_endpoint(&kv_conformance::DYNAMODB);
    common::fixture("dynamodb-local", endpoint, 4).await
}
