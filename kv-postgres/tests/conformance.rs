//! The conformance suite against a real PostgreSQL (`KV_TEST_POSTGRES_URL`).
kv_conformance::suite!(fixture);

mod common;

async fn fixture() -> Option<std::sync::Arc<dyn kv_conformance::Fixture>> {
    common::fixture("metakv_conformance", 0).await
}
