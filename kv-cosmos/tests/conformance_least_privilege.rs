//! The conformance suite on a database where the emulator enforces data-plane RBAC with
//! exactly the data actions of `docs/least-privilege/cosmos-role.json` (the launcher's
//! `/_metakv/rbac` hook answers 403 / 5301 for any other request, as the real service does):
//! the documented role is enough for every behaviour. The database and container are
//! provisioned first, before the role applies: with RBAC that is the control plane's job.
kv_conformance::suite!(fixture);

mod common;

use std::sync::Arc;

use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_cosmos::{CosmosConfig, CosmosStore};
use tokio::sync::OnceCell;

const DATABASE: &str = "metakv-least-privilege";

struct LeastPrivilege(CosmosConfig);

#[kv_core::async_trait]
impl Fixture for LeastPrivilege {
    fn name(&self) -> &str {
        "cosmosdb-emulator (least privilege)"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        Ok(Arc::new(CosmosStore::open(self.0.clone()).await?))
    }
}

/// The data actions of the shipped role definition.
fn data_actions() -> Vec<String> {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/least-privilege/cosmos-role.json"
    );
    let role: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("the role exists"))
            .expect("the role is JSON");
    role["Permissions"][0]["DataActions"]
        .as_array()
        .expect("data actions")
        .iter()
        .map(|a| a.as_str().expect("an action").to_string())
        .collect()
}

async fn enforce(endpoint: &str) {
    let answer = common::emulator_http()
        .post(format!("{endpoint}_metakv/rbac?db={DATABASE}"))
        .json(&serde_json::json!({ "dataActions": data_actions() }))
        .send()
        .await
        .expect("the emulator's RBAC hook answers");
    assert!(answer.status().is_success(), "{answer:?}");
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    static PROVISIONED: OnceCell<()> = OnceCell::const_new();
    let endpoint = kv_conformance::service_endpoint(&kv_conformance::COSMOS)?;
    let config = CosmosConfig {
        database: DATABASE.into(),
        ..common::config(endpoint.clone(), "conformance")
    };
    PROVISIONED
        .get_or_init(|| async {
            CosmosStore::provision(&config)
                .await
                .expect("provisioning before the role applies");
            enforce(&endpoint).await;
        })
        .await;
    Some(Arc::new(LeastPrivilege(CosmosConfig {
        auto_create: false,
        ..config
    })))
}
