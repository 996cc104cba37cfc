//! Serving before the backend can be opened (`server.wait_for_backend`): the server listens at
//! once, `/healthz` answers, every other request (and `/readyz`) is `unavailable` with the
//! reason, and the backend is opened again and again in the background until it opens. This
//! is what a Kubernetes rollout needs while Azure Service Operator or ACK is still creating the
//! container or table, or while a role assignment propagates: a pod that is not ready, not a
//! crash loop.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kv_core::{
    Batch, Condition, DeleteCondition, Error, ErrorKind, ExportPage, Key, KvStore, Partition,
    Result, ScanPage, ScanRequest, Value, Version, Versioned, Written,
};

use crate::Config;

/// The errors worth waiting out: the backend is not there yet, not provisioned yet, or not yet
/// letting this identity in. Configuration errors end the server at once.
pub fn worth_waiting_for(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::NotProvisioned
            | ErrorKind::Unavailable
            | ErrorKind::Unauthorized
            | ErrorKind::Throttled
            | ErrorKind::OutcomeUnknown
    )
}

/// A store that is being opened in the background.
#[derive(Debug, Default)]
pub struct PendingStore {
    store: OnceLock<Arc<dyn KvStore>>,
    last_error: Mutex<String>,
}

impl PendingStore {
    /// Opens the configured store in the background, retrying with a growing pause (1 s up to
    /// 30 s) while the error is worth waiting for; `first_error` is why the first attempt
    /// failed. A configuration error stops the retries (the reason stays in every answer).
    pub fn open_in_background(config: Config, first_error: &Error) -> Arc<Self> {
        let pending = Arc::new(PendingStore {
            store: OnceLock::new(),
            last_error: Mutex::new(first_error.with_causes()),
        });
        let opener = Arc::clone(&pending);
        tokio::spawn(async move {
            let mut pause = Duration::from_secs(1);
            loop {
                tokio::time::sleep(pause).await;
                match crate::open_store(&config).await {
                    Ok(store) => {
                        tracing::info!("backend opened; ready");
                        let _ = opener.store.set(store);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.with_causes(), "backend not open yet; retrying");
                        *opener.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                            e.with_causes();
                        if !worth_waiting_for(&e) {
                            tracing::error!(error = %e.with_causes(), "giving up opening the backend");
                            return;
                        }
                    }
                }
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        });
        pending
    }

    fn store(&self) -> Result<&Arc<dyn KvStore>> {
        self.store.get().ok_or_else(|| Error::Unavailable {
            message: format!(
                "the backend is not open yet: {}",
                self.last_error.lock().unwrap_or_else(|p| p.into_inner())
            ),
            source: None,
        })
    }
}

#[kv_core::async_trait]
impl KvStore for PendingStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        self.store()?.get(partition, key).await
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        self.store()?.put(partition, key, value, condition).await
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        self.store()?.delete(partition, key, condition).await
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        self.store()?.scan_page(partition, request).await
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        self.store()?.batch(partition, batch).await
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        self.store()?.delete_partition(partition).await
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        self.store()?.export_page(page_token, page_size).await
    }

    async fn ping(&self) -> Result<()> {
        self.store()?.ping().await
    }

    async fn close(&self) -> Result<()> {
        match self.store.get() {
            Some(store) => store.close().await,
            None => Ok(()),
        }
    }
}
