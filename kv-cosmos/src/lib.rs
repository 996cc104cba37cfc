//! `CosmosStore`: metakv on Azure Cosmos DB for NoSQL, over the official `azure_data_cosmos`
//! 1.x, with Entra ID through `azure_identity` (workload identity, managed identity, developer
//! tools) and account keys as a fallback.
//!
//! # Contract
//!
//! `CosmosStore` implements the whole `KvStore` contract (`docs/CONTRACT.md`) and passes the
//! conformance suite against `@vercel/cosmosdb-server` (started by `scripts/test.sh` through
//! `scripts/cosmos-emulator/launch.js`, which restores the real service's behaviour where that
//! server differs):
//!
//! - Layout: one container (default database and container `metakv`) partitioned on `/p`.
//!   A document is `{"id", "p", "k", "v"}`: `p` and `k` are the partition and the key in
//!   **unpadded base32hex** (characters `0-9A-V`), which sorts exactly like the bytes (a
//!   property test checks it, including every prefix pair with a trailing byte 0x00..=0x40);
//!   `v` is the value in base64; `id` is `k` when it has at most 200 characters, otherwise
//!   `_` and the base32hex SHA-256 of the key, so every key up to 1024 bytes fits Cosmos's
//!   255-character ids without a forbidden character. The version is the document's `_etag`
//!   without its quotes. The indexing policy indexes `/k/?` only.
//! - Every single-key operation is one request: `read_item`; `upsert_item`, `create_item`
//!   (`Absent`), `replace_item` (`Exists`, and `Version` with `If-Match`); `delete_item`
//!   (with `If-Match` for `Version`). Never a query for a single key.
//! - A scan page is one single-partition query `SELECT TOP n c.k, c.v, c._etag FROM c WHERE
//!   c.k >= @lo AND c.k < @hi ORDER BY c.k ASC|DESC`, its continuations followed within the
//!   page. Page tokens are metakv's keyset tokens (resume after the last key), which do not
//!   expire and survive a partition split.
//! - A batch is one transactional batch (≤ 100 operations). An unconditional delete of a key
//!   that turns out absent fails a transactional batch; that operation is left out and the
//!   batch sent again.
//! - `delete_partition` lists 100 ids per query and deletes them in one transactional batch.
//!   `export` is a cross-partition query; its page tokens wrap the SDK's continuation tokens.
//! - 429s are retried by the SDK's throttling policy (`max_throttle_retries`, default 9, within
//!   `max_throttle_wait_secs`, honouring `x-ms-retry-after-ms`), then surface as `Throttled`
//!   with the hint. The request charge of
//!   every response is recorded in the histogram `metakv_cosmos_request_units{op}`.
//! - At open: the account's default consistency must be Strong, or Bounded Staleness with one
//!   read region (`accept_weak_consistency` opts out, for emulators); the container must exist
//!   and be partitioned on `/p`. `auto_create` creates the database and container.
//!
//! # Example
//!
//! ```no_run
//! use kv_core::{Condition, Key, KvStore, Partition, Value};
//! use kv_cosmos::{CosmosConfig, CosmosStore};
//!
//! # async fn example() -> kv_core::Result<()> {
//! let store = CosmosStore::open(CosmosConfig {
//!     endpoint: "https://myaccount.documents.azure.com:443/".into(),
//!     ..CosmosConfig::default() // Entra ID through AKS workload identity
//! })
//! .await?;
//! let p = Partition::try_from("leases")?;
//! store.put(&p, &Key::try_from("job-7")?, &Value::try_from("worker-b")?, &Condition::Absent).await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod arm;
mod client;
mod config;
mod container;
mod encoding;
mod error;
mod inspect;
mod store;

pub use config::{ArmConfig, CosmosConfig, CredentialKind, Throughput};
pub use container::container_layout;
pub use store::CosmosStore;
