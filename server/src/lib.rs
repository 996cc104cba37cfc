//! metakv: a key-value metadata store with one API over several databases. This crate is the
//! server binary `metakv` and a library for services that embed metakv:
//!
//! - [`Config`] and [`open_store`]: the backend named by `database.type`, as an
//!   `Arc<dyn KvStore>`;
//! - [`http::router`]: the HTTP API over any store;
//! - [`HttpStore`]: a `KvStore` client of a metakv server (re-exported from the thin
//!   `metakv-client` crate, which services that only need a client use directly).
//!
//! # Contract
//!
//! The HTTP API adds no semantics to `KvStore` (see `kv_core`'s contract): statuses and headers
//! follow HTTP's conditional requests (`ETag`, `If-Match`, `If-None-Match: *`, 412), and the
//! conformance suite passes through [`HttpStore`].
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kv_core::Result<()> {
//! let config = metakv::Config::from_toml("[database]\ntype = \"memory\"\n")?;
//! let store = metakv::open_store(&config).await?;
//! store.ping().await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod bench;
pub mod check;
pub mod config;
pub mod copy;
pub mod dump;
mod factory;
pub mod http;
pub mod metrics;
pub mod pending;
pub mod progress;
pub mod telemetry;

pub use config::Config;
pub use factory::{inspect, open_store, provision};
pub use metakv_client::HttpStore;
/// The JSON shapes of the HTTP API (from `metakv-client`).
pub use metakv_client::api;
