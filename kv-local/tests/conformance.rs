//! The conformance suite against `LocalStore` in a temporary directory.
kv_conformance::suite!(fixture);

use std::sync::{Arc, Mutex};

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_local::{LocalConfig, LocalStore};

/// One store per test in its own directory; every `open` is a handle on that store (a second
/// process could not open the file while the first holds it). `reopen` closes it and opens
/// the directory again, as a restarted process would.
struct LocalFixture {
    dir: tempfile::TempDir,
    store: Mutex<LocalStore>,
}

#[kv_core::async_trait]
impl Fixture for LocalFixture {
    fn name(&self) -> &str {
        "local"
    }

    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(self.store.lock().unwrap().clone()))
    }

    async fn reopen(&self, store: Arc<dyn KvStore>) -> Option<Result<Arc<dyn KvStore>>> {
        let _ = store.close().await;
        let current = self.store.lock().unwrap().clone();
        let _ = current.close().await;
        Some(
            LocalStore::open(LocalConfig::at(self.dir.path()))
                .await
                .map(|reopened| {
                    *self.store.lock().unwrap() = reopened.clone();
                    Arc::new(reopened) as Arc<dyn KvStore>
                }),
        )
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = LocalStore::open(LocalConfig::at(dir.path()))
        .await
        .expect("local store opens");
    Some(Arc::new(LocalFixture {
        dir,
        store: Mutex::new(store),
    }))
}
