//! The emulator configuration shared by the Cosmos DB tests. (Each test binary compiles this
//! module and uses part of it.)
#![allow(dead_code)]

use kv_core::Secret;
use kv_cosmos::CosmosConfig;

/// The key the Cosmos DB emulators use (the server accepts any key; this one is public).
pub const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

/// A configuration for the emulator at `endpoint`, in `container`, created on demand.
pub fn config(endpoint: String, container: &str) -> CosmosConfig {
    CosmosConfig {
        endpoint,
        key: Some(Secret::new(EMULATOR_KEY)),
        database: "metakv-test".into(),
        container: container.into(),
        auto_create: true,
        accept_weak_consistency: true,
        emulator: true,
        ..CosmosConfig::default()
    }
}

/// An HTTP client for the emulator's own endpoints (its self-signed certificate accepted):
/// the launcher's `/_metakv/` test hooks and raw requests.
pub fn emulator_http() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}
