//! The wire format and the SDK client: the only place that knows attribute names.
//!
//! Item layout (readable with the AWS CLI):
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `p` | B (hash key) | partition |
//! | `k` | B (range key) | key; DynamoDB orders binary sort keys as unsigned bytes |
//! | `v` | B | value (may be empty) |
//! | `ver` | S | version: 128 random bits, URL-safe base64 |

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};
use kv_core::{Error, Key, Partition, Result, Value, Version};

use crate::DynamoConfig;

/// Partition (hash key).
pub(crate) const P: &str = "p";
/// Key (range key).
pub(crate) const K: &str = "k";
/// Value.
pub(crate) const V: &str = "v";
/// Version.
pub(crate) const VER: &str = "ver";

/// An item as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// An SDK client from the configuration: the default credential chain unless static keys are
/// configured, the standard retry strategy with `max_attempts`, per-attempt timeouts. No
/// region anywhere (configuration, `AWS_REGION`, the profile, instance metadata) is a `Config`
/// error at once: the SDK would only fail at the first request, as if the database were down.
pub(crate) async fn sdk_client(config: &DynamoConfig) -> Result<Client> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_millis(config.attempt_timeout_ms))
                .build(),
        );
    match (&config.region, &config.endpoint) {
        (Some(region), _) => loader = loader.region(Region::new(region.clone())),
        // An emulator needs some region to sign with; AWS itself needs the real one.
        (None, Some(_)) => loader = loader.region(Region::new("us-east-1")),
        (None, None) => {}
    }
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            id,
            secret.expose(),
            None,
            None,
            "metakv-config",
        ));
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(Error::config(
            "database.dynamodb.region",
            "no AWS region is configured: set database.dynamodb.region, AWS_REGION, or a profile's region",
        ));
    }
    Ok(Client::new(&sdk))
}

/// Where requests of `client` go, for messages: the configured endpoint, or the region's
/// public one.
pub(crate) fn endpoint_of(config: &DynamoConfig, client: &Client) -> String {
    match (&config.endpoint, client.config().region()) {
        (Some(endpoint), _) => endpoint.clone(),
        (None, Some(region)) => format!("https://dynamodb.{region}.amazonaws.com"),
        (None, None) => "(no region)".into(),
    }
}

pub(crate) fn b(bytes: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(bytes))
}

/// The primary key of an entry.
pub(crate) fn key_of(partition: &Partition, key: &Key) -> Item {
    HashMap::from([
        (P.to_string(), b(partition.as_bytes())),
        (K.to_string(), b(key.as_bytes())),
    ])
}

/// A whole item.
pub(crate) fn item(partition: &Partition, key: &Key, value: &Value, version: &Version) -> Item {
    let mut item = key_of(partition, key);
    item.insert(V.to_string(), b(value.as_bytes()));
    item.insert(VER.to_string(), AttributeValue::S(version.to_string()));
    item
}

/// An item that metakv did not write (or that was changed by another tool): named by its key,
/// so that it can be found and fixed, since every scan of its partition meets it.
fn corrupt(item: &Item, what: &str) -> Error {
    use base64::Engine as _;
    let name = |attribute: &str| match item.get(attribute) {
        Some(AttributeValue::B(blob)) => {
            base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
        }
        Some(_) => "(not binary)".into(),
        None => "(absent)".into(),
    };
    Error::Backend {
        message: format!(
            "dynamodb item with partition `p` = {} and key `k` = {} (base64) has no valid `{what}` attribute: metakv writes `v` (binary) and `ver` (string) on every item; fix or delete the item",
            name(P),
            name(K)
        ),
        source: None,
    }
}

/// A binary attribute of an item.
pub(crate) fn bytes<'a>(item: &'a Item, name: &str) -> Result<&'a [u8]> {
    match item.get(name) {
        Some(AttributeValue::B(blob)) => Ok(blob.as_ref()),
        _ => Err(corrupt(item, name)),
    }
}

/// The value and version of an item.
pub(crate) fn value_and_version(item: &Item) -> Result<(Value, Version)> {
    Ok((Value::new(bytes(item, V)?)?, version_of(item)?))
}

/// The version of an item.
pub(crate) fn version_of(item: &Item) -> Result<Version> {
    match item.get(VER) {
        Some(AttributeValue::S(s)) => Version::new(s.as_str()).map_err(|_| corrupt(item, VER)),
        _ => Err(corrupt(item, VER)),
    }
}

/// Records the capacity an operation consumed (`metakv_dynamodb_consumed_capacity_units`).
pub(crate) fn record_capacity(op: &'static str, consumed: Option<&ConsumedCapacity>) {
    if let Some(units) = consumed.and_then(ConsumedCapacity::capacity_units) {
        metrics::histogram!("metakv_dynamodb_consumed_capacity_units", "op" => op).record(units);
    }
}

/// Records capacity consumed across several tables or items.
pub(crate) fn record_capacities(op: &'static str, consumed: &[ConsumedCapacity]) {
    let units: f64 = consumed
        .iter()
        .filter_map(ConsumedCapacity::capacity_units)
        .sum();
    if !consumed.is_empty() {
        metrics::histogram!("metakv_dynamodb_consumed_capacity_units", "op" => op).record(units);
    }
}
