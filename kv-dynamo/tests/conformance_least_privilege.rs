//! The conformance suite through an SDK client that refuses every operation the serving
//! statement of `docs/least-privilege/dynamodb-policy.json` does not allow (DynamoDB Local
//! checks no IAM policy, so the client plays IAM): the documented actions are enough for every
//! behaviour. The table is provisioned first with the provisioning policy's actions only.
kv_conformance::suite!(fixture);

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use kv_conformance::Fixture;
use kv_core::{KvStore, Result};
use kv_dynamo::{DynamoConfig, DynamoStore};
use tokio::sync::OnceCell;

const TABLE: &str = "metakv-least-privilege";

/// The actions of the statement `sid` of a shipped policy file.
fn allowed(file: &str, sid: &str) -> BTreeSet<String> {
    let path = format!(
        "{}/../docs/least-privilege/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the policy exists"))
            .expect("the policy is JSON");
    let statement = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("{file} has a statement {sid}"));
    assert_eq!(statement["Effect"], "Allow");
    statement["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a.as_str().expect("an action").to_string())
        .collect()
}

/// Plays IAM: an operation outside `allowed` fails before it is sent, as AccessDenied would.
#[derive(Debug)]
struct Policy {
    name: &'static str,
    allowed: BTreeSet<String>,
}

impl Intercept for Policy {
    fn name(&self) -> &'static str {
        "least-privilege policy"
    }
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| format!("dynamodb:{}", m.name()))
            .unwrap_or_else(|| "dynamodb:(unknown)".into());
        if self.allowed.contains(&operation) {
            Ok(())
        } else {
            Err(format!("AccessDenied: {operation} is not in {}", self.name).into())
        }
    }
}

fn config(endpoint: &str) -> DynamoConfig {
    DynamoConfig {
        table: TABLE.into(),
        endpoint: Some(endpoint.into()),
        region: Some("us-east-1".into()),
        ..DynamoConfig::default()
    }
}

/// An SDK client for the emulator, allowed only the statement `sid` of `file`.
fn client(endpoint: &str, file: &'static str, sid: &str) -> aws_sdk_dynamodb::Client {
    let sdk = common::emulator_sdk(endpoint)
        .interceptor(Policy {
            name: file,
            allowed: allowed(file, sid),
        })
        .build();
    aws_sdk_dynamodb::Client::from_conf(sdk)
}

struct LeastPrivilege(String);

#[kv_core::async_trait]
impl Fixture for LeastPrivilege {
    fn name(&self) -> &str {
        "dynamodb (least privilege)"
    }
    async fn open(&self) -> Result<Arc<dyn KvStore>> {
        let client = client(&self.0, "dynamodb-policy.json", "MetakvServe");
        Ok(Arc::new(
            DynamoStore::with_client(client, &config(&self.0)).await?,
        ))
    }
}

async fn fixture() -> Option<Arc<dyn Fixture>> {
    static PROVISIONED: OnceCell<()> = OnceCell::const_new();
    let endpoint = kv_conformance::service_endpoint(&kv_conformance::DYNAMODB)?;
    PROVISIONED
        .get_or_init(|| async {
            // Creating the table with the provisioning policy's actions only.
            let client = client(
                &endpoint,
                "dynamodb-provision-policy.json",
                "MetakvProvision",
            );
            let creating = DynamoConfig {
                auto_create: true,
                ..config(&endpoint)
            };
            DynamoStore::with_client(client, &creating)
                .await
                .expect("provisioning with the provisioning policy");
        })
        .await;
    Some(Arc::new(LeastPrivilege(endpoint)))
}
