//! The conformance suite against a hash-partitioned table (`table_partitions = 8`).
kv_conformance::suite!(fixture);

mod common;

async fn fixture() -> Option<std::sync::Arc<dyn kv_conformance::Fixture>> {
    common::fixture("metakv_conformance_hashed", 8).await
}
