//! `PostgresStore`: metakv on PostgreSQL, over `tokio-postgres` with a `deadpool` connection
//! pool and prepared statements.
//!
//! # Contract
//!
//! `PostgresStore` implements the whole `KvStore` contract (`docs/CONTRACT.md`) and passes the
//! conformance suite against a real PostgreSQL:
//!
//! - Layout: one table (default `public.metakv`): `partition bytea, key bytea, value bytea,
//!   version bigint, inserted boolean` (whether the last write created the row), primary key
//!   `(partition, key)`. `bytea` compares as unsigned bytes, so the primary key orders scans as
//!   the contract says. A sequence `<table>_version` issues versions (hex of its value), in the
//!   same statement as the write: never reused.
//! - Every single-key operation is one statement: `INSERT ... ON CONFLICT` (upsert or create),
//!   `UPDATE ... WHERE version = $v RETURNING` (conditional replace), `DELETE ... WHERE`; the
//!   database checks every condition, never a read followed by a write.
//! - Scans are keyset queries (`WHERE partition = $1 AND key > $2 ORDER BY key LIMIT $3`) in
//!   either direction; prefixes are turned into key ranges, never `LIKE`.
//! - A batch is one transaction, rolled back at the first failed condition; a deadlock or
//!   serialization failure (already rolled back by the server) is retried up to 5 times.
//! - `delete_partition` is one `DELETE`. Export is keyset-paged over `(partition, key)`.
//! - Schema management: versioned migrations (`<table>_migrations`) run in one transaction
//!   under an advisory lock, at open with `auto_create` or by [`PostgresStore::provision`]
//!   (`metakv provision`). With `auto_create` off and the table missing, open fails with
//!   `NotProvisioned` naming the table and the command.
//!
//! Privileges: `SELECT, INSERT, UPDATE, DELETE` on the table and `USAGE` on the sequence for
//! normal operation; `CREATE` on the schema (or database, for a new schema) to provision.
//!
//! # Example
//!
//! ```no_run
//! use kv_core::{Condition, Key, KvStore, Partition, Value};
//! use kv_postgres::{PostgresConfig, PostgresStore};
//!
//! # async fn example() -> kv_core::Result<()> {
//! let config = PostgresConfig { auto_create: true, ..PostgresConfig::with_url("postgres://metakv@localhost/metakv") };
//! let store = PostgresStore::open(config).await?;
//! let p = Partition::try_from("catalogs")?;
//! store.put(&p, &Key::try_from("sales")?, &Value::try_from("v1")?, &Condition::Absent).await?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod config;
mod error;
mod inspect;
mod sql;
mod store;
mod tls;

pub use config::{PostgresConfig, SslMode};
pub use store::PostgresStore;
