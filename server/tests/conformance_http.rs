//! The conformance suite through `HttpStore` against a running server (in this process, on a
//! free port, over the in-memory store): the HTTP layer must add no semantics.
kv_conformance::suite!(fixture);

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{InMemoryStore, KvStore, Result, Secret};
use metakv::HttpStore;
use metakv::config::ServerConfig;
use metakv::http::{self, Tokens};

/// A server per test; every `open` is a new client of it.
struct HttpFixture {
    base: String,
}

#[kv_core::async_trait]
impl Fixture for HttpFixture {
    fn name(&self) -> &str {
        "http"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(HttpStore::new(
            &self.base,
            Some(Secret::new("conformance-token")),
        )?))
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    let config = ServerConfig::default();
    let store: Arc<dyn KvStore> = Arc::new(InMemoryStore::new());
    let tokens = Tokens::new(vec![Secret::new("conformance-token")]);
    let router = http::router(store, None, tokens, &config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        http::serve(listener, router, &config, std::future::pending())
            .await
            .expect("server runs");
    });
    Some(Arc::new(HttpFixture { base }))
}
