//! metakv-client: [`HttpStore`], a [`KvStore`](kv_core::KvStore) that talks to a metakv server
//! over its HTTP API, for services that use a shared server. It adds no semantics of its own:
//! the conformance suite runs through it (in the `metakv` crate, against the real server).
//!
//! It depends on `kv-core`, `reqwest` and `serde` only; the server (`metakv`: axum, clap,
//! figment, Prometheus and every database SDK) is not in its dependency tree.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kv_core::Result<()> {
//! use kv_core::{Condition, Key, KvStore, Partition, Value};
//! let token = std::env::var("METAKV_TOKEN").ok().map(kv_core::Secret::new);
//! let store = metakv_client::HttpStore::new("http://127.0.0.1:7070", token)?;
//! let (p, k) = (Partition::new(b"branches".to_vec())?, Key::new(b"main".to_vec())?);
//! let written = store.put(&p, &k, &Value::new(b"commit-1".to_vec())?, &Condition::Absent).await?;
//! assert_eq!(store.get(&p, &k).await?.unwrap().version, written.version);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod path;
mod store;

pub use store::HttpStore;
