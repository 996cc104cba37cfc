//! `DynamoStore`: metakv on Amazon DynamoDB, over the official `aws-sdk-dynamodb` and
//! `aws-config` (default credential chain: environment, profile, web identity/IRSA, instance
//! metadata; or static keys and a custom endpoint for emulators).
//!
//! # Contract
//!
//! `DynamoStore` implements the whole `KvStore` contract (`docs/CONTRACT.md`) and passes the
//! conformance suite against DynamoDB Local and against moto:
//!
//! - Layout: one table (default `metakv`), binary hash key `p` (partition), binary range key `k`
//!   (key; DynamoDB orders binary sort keys as unsigned bytes), binary `v` (value), string
//!   `ver` (version: 128 random bits). Read it with the AWS CLI, e.g.
//!   `aws dynamodb query --table-name metakv --key-condition-expression "p = :p"
//!   --expression-attribute-values '{":p":{"B":"<base64 partition>"}}'`.
//! - Every single-key operation is one request: `GetItem` with `ConsistentRead`, `PutItem` and
//!   `DeleteItem` with condition expressions (`attribute_not_exists`, `attribute_exists`,
//!   `ver = :v`); never a read followed by a write.
//! - Scans are `Query` with `ConsistentRead`, the range as one key condition (`>`, `>=`, `<`,
//!   `BETWEEN`), `ScanIndexForward` for direction; empty pages that still carry a
//!   `LastEvaluatedKey` are followed.
//! - A multi-get is one `BatchGetItem` with `ConsistentRead`; keys DynamoDB leaves unprocessed
//!   (an answer over 16 MB, throttling) are asked again. A keys-only scan is the scan's `Query`
//!   projected to `k, ver`; a count is that `Query` projected to `k`, page after page.
//! - A batch is one `TransactWriteItems`; the failing index comes from the cancellation reasons.
//!   Transaction conflicts (nothing applied) are retried up to 5 times.
//! - `delete_partition` is `Query` + `BatchWriteItem`, resending unprocessed items.
//!   `export` is a parallel `Scan` over `scan_segments` segments.
//! - Throttling is retried by the SDK's standard strategy (`max_attempts`, default 10) and
//!   surfaces as `Throttled` after that. Consumed capacity is requested on every call and
//!   recorded in the histogram `metakv_dynamodb_consumed_capacity_units{op}`.
//! - Open needs only `DescribeTable` when the table exists; with `auto_create` it creates the
//!   table (on-demand billing) and waits until it is active; otherwise a missing table is
//!   `NotProvisioned`.
//!
//! # Example
//!
//! ```no_run
//! use kv_core::{Condition, Key, KvStore, Partition, Value};
//! use kv_dynamo::{DynamoConfig, DynamoStore};
//!
//! # async fn example() -> kv_core::Result<()> {
//! let store = DynamoStore::open(DynamoConfig { table: "metakv".into(), ..DynamoConfig::default() }).await?;
//! let p = Partition::try_from("leases")?;
//! store.put(&p, &Key::try_from("job-7")?, &Value::try_from("worker-b")?, &Condition::Absent).await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod export;
mod inspect;
mod store;
mod table;

pub use config::DynamoConfig;
pub use store::DynamoStore;
pub use table::table_layout;
