//! The Prometheus recorder: every distribution is a histogram with fixed buckets (summaries'
//! quantiles cannot be aggregated across replicas; a histogram's buckets, `_sum` and `_count`
//! can), and every count a counter.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of `metakv_operation_duration_seconds`: 0.5 ms to 10 s (an embedded read takes tens
/// of microseconds, a cloud write a few milliseconds, a throttled retry seconds).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of the per-request cost histograms (Cosmos DB request units, DynamoDB consumed
/// capacity units): a point read costs 1 RU (0.5 capacity unit), a 4 KiB write about 6 RU, a
/// scan page or a batch up to hundreds.
pub const COST_BUCKETS: [f64; 12] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];

/// Installs the process's recorder and returns the handle `/metrics` renders.
pub fn install() -> kv_core::Result<PrometheusHandle> {
    let fail = |e| kv_core::Error::backend("cannot install the metrics recorder", e);
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("metakv_operation_duration_seconds".into()),
            &DURATION_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("metakv_cosmos_request_units".into()),
                &COST_BUCKETS,
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("metakv_dynamodb_consumed_capacity_units".into()),
                &COST_BUCKETS,
            )
        })
        .map_err(fail)?
        .install_recorder()
        .map_err(fail)
}
