//! The conformance suite against `LocalStore` in a temporary directory.
kv_conformance::suite!(fixture);

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_local::{LocalConfig, LocalStore};

/// One store per test in its own directory; every `open` is a handle on that store (a second
/// process could not open the file while the first holds it).
struct LocalFixture {
    _dir: tempfile::TempDir,
    store: LocalStore,
}

#[kv_core::async_trait]
impl Fixture for LocalFixture {
    fn name(&self) -> &str {
        "local"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(self.store.clone()))
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = LocalStore::open(LocalConfig::at(dir.path()))
        .await
        .expect("local store opens");
    Some(Arc::new(LocalFixture { _dir: dir, store }))
}
