//! `Instrumented`: a decorator that records every operation's latency and outcome.
//!
//! Metrics go through the `metrics` facade (the server installs a Prometheus recorder):
//!
//! - `metakv_operation_duration_seconds{backend, op, outcome}`: histogram; `outcome` is `ok` or
//!   an error kind (`condition_failed`, `throttled`, ...).
//! - `metakv_operation_errors_total{backend, op, kind}`: counter.
//!
//! Each operation also runs in a `tracing` span `kv` with `backend` and `op` fields (exported
//! as the OpenTelemetry client span `kv.<op>` when the server exports traces). Keys and values
//! are never recorded: they may be sensitive.

use std::time::Instant;

use async_trait::async_trait;
use tracing::Instrument as _;

use crate::{
    Batch, Condition, DeleteCondition, ExportPage, Key, KeyList, KeyRange, KvStore, Partition,
    Result, ScanPage, ScanRequest, Value, Version, Versioned, Written,
};

/// Wraps a store and records metrics and spans for each operation.
#[derive(Debug)]
pub struct Instrumented<S> {
    inner: S,
    backend: &'static str,
}

impl<S: KvStore> Instrumented<S> {
    /// Instruments `inner`, labelling its metrics with `backend` (e.g. `"postgres"`).
    pub fn new(inner: S, backend: &'static str) -> Self {
        Self { inner, backend }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    async fn observe<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        // `otel.*` name the span when traces are exported (the server's OTLP exporter).
        let span = tracing::debug_span!(
            "kv",
            backend = self.backend,
            op,
            otel.name = %format_args!("kv.{op}"),
            otel.kind = "client",
        );
        let started = Instant::now();
        let result = fut.instrument(span).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => {
                let kind = e.kind().as_str();
                metrics::counter!("metakv_operation_errors_total", "backend" => self.backend, "op" => op, "kind" => kind)
                    .increment(1);
                tracing::debug!(backend = self.backend, op, error = %e, "kv operation failed");
                kind
            }
        };
        metrics::histogram!("metakv_operation_duration_seconds", "backend" => self.backend, "op" => op, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    }
}

#[async_trait]
impl<S: KvStore> KvStore for Instrumented<S> {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        self.observe("get", self.inner.get(partition, key)).await
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        self.observe("put", self.inner.put(partition, key, value, condition))
            .await
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        self.observe("delete", self.inner.delete(partition, key, condition))
            .await
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        self.observe("scan_page", self.inner.scan_page(partition, request))
            .await
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        self.observe("get_many", self.inner.get_many(partition, keys))
            .await
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        self.observe("count", self.inner.count(partition, range))
            .await
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        self.observe("batch", self.inner.batch(partition, batch))
            .await
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        self.observe("delete_partition", self.inner.delete_partition(partition))
            .await
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        self.observe("export_page", self.inner.export_page(page_token, page_size))
            .await
    }

    async fn ping(&self) -> Result<()> {
        self.observe("ping", self.inner.ping()).await
    }

    async fn close(&self) -> Result<()> {
        self.observe("close", self.inner.close()).await
    }
}
