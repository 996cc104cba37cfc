//! Checking and creating the table.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TableDescription,
};
use kv_core::{Error, Result};

use crate::DynamoConfig;
use crate::client::{K, P};
use crate::error::map_sdk;

/// The table's description, or `None` when it does not exist. Needs only `DescribeTable`.
///
/// It runs at open and provisioning, where a wrong endpoint or a stopped emulator must be said
/// within a second or two rather than after the data path's whole retry budget (ten attempts
/// with backoff took 70 s): three attempts, 100 ms apart at first.
pub(crate) async fn describe(client: &Client, table: &str) -> Result<Option<TableDescription>> {
    let quick = aws_sdk_dynamodb::config::Builder::default().retry_config(
        aws_sdk_dynamodb::config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(std::time::Duration::from_millis(100)),
    );
    match client
        .describe_table()
        .table_name(table)
        .customize()
        .config_override(quick)
        .send()
        .await
    {
        Ok(out) => Ok(out.table),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(map_sdk("describing the table", false, e)),
    }
}

/// Fails with `Config` unless the key schema is `p` (binary, hash) and `k` (binary, range).
pub(crate) fn check_schema(table: &str, desc: &TableDescription) -> Result<()> {
    let key = |name: &str, kind: KeyType| {
        desc.key_schema()
            .iter()
            .any(|k| k.attribute_name() == name && *k.key_type() == kind)
    };
    let binary = |name: &str| {
        desc.attribute_definitions()
            .iter()
            .any(|a| a.attribute_name() == name && *a.attribute_type() == ScalarAttributeType::B)
    };
    if key(P, KeyType::Hash)
        && key(K, KeyType::Range)
        && binary(P)
        && binary(K)
        && desc.key_schema().len() == 2
    {
        Ok(())
    } else {
        Err(Error::config(
            "database.dynamodb.table",
            format!(
                "table {table} exists with another key schema; expected hash key `p` (binary) and range key `k` (binary)"
            ),
        ))
    }
}

/// The attributes of the key: `p` and `k`, both binary.
fn attribute_definitions() -> Vec<AttributeDefinition> {
    [P, K]
        .map(|name| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::B)
                .build()
                .expect("name and type are set")
        })
        .into()
}

/// The key: hash key `p`, range key `k`.
fn key_schema() -> Vec<KeySchemaElement> {
    [(P, KeyType::Hash), (K, KeyType::Range)]
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("name and type are set")
        })
        .into()
}

/// The table the driver creates — attribute definitions, key schema, billing mode — in the
/// form of the DynamoDB API (which CloudFormation, Terraform and the ACK `Table` resource use
/// too). For provisioning by other tools (the Helm chart's ACK resource is checked against
/// it); `metakv layout` prints it.
pub fn table_layout() -> serde_json::Value {
    let attributes: Vec<_> = attribute_definitions()
        .iter()
        .map(|a| {
            serde_json::json!({
                "attributeName": a.attribute_name(),
                "attributeType": a.attribute_type().as_str(),
            })
        })
        .collect();
    let keys: Vec<_> = key_schema()
        .iter()
        .map(|k| {
            serde_json::json!({
                "attributeName": k.attribute_name(),
                "keyType": k.key_type().as_str(),
            })
        })
        .collect();
    serde_json::json!({
        "attributeDefinitions": attributes,
        "keySchema": keys,
        "billingMode": BillingMode::PayPerRequest.as_str(),
    })
}

/// Creates the table on on-demand billing unless it exists, then waits until it is active.
/// Concurrent creators are fine: the loser sees `ResourceInUseException` and waits too.
pub(crate) async fn create(client: &Client, config: &DynamoConfig) -> Result<()> {
    let table = &config.table;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attribute_definitions()))
        .set_key_schema(Some(key_schema()))
        .send()
        .await;
    match created {
        Ok(_) => tracing::info!(table, "created dynamodb table"),
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) if e.code() == Some("AccessDeniedException") => {
            return Err(Error::Unauthorized {
                message: format!(
                    "not allowed to create table {table}; create it with `metakv provision` using a role that may, \
                     the Helm chart's provisioning, or your infrastructure tooling"
                ),
                source: Some(Box::new(e)),
            });
        }
        Err(e) => return Err(map_sdk("creating the table", true, e)),
    }
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(|e| Error::unavailable(format!("table {table} did not become active"), e))?;
    Ok(())
}
