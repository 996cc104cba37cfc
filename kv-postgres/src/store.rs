//! `PostgresStore`: the `KvStore` implementation over a connection pool.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Entry, Error, ExportEntry, ExportPage, Key,
    KeyList, KeyRange, KvStore, Lifecycle, Partition, Result, ScanPage, ScanRequest, Value,
    Version, Versioned, Written, export_token,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::PostgresConfig;
use crate::error::{is_retryable_conflict, map_pg, map_pool};
use crate::sql::{self, Names, Select, Statements};

/// Attempts of a batch transaction that the server aborted for a deadlock or serialization
/// conflict (it was rolled back, so running it again is safe).
const BATCH_ATTEMPTS: usize = 5;

/// A store in one PostgreSQL table. Clones share the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// `host:port`, for messages.
    endpoint: String,
    names: Names,
    sql: Statements,
    lifecycle: Lifecycle,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.names.table())
            .finish_non_exhaustive()
    }
}

fn pool(config: &PostgresConfig) -> Result<Pool> {
    let manager = Manager::from_config(
        config.pg_config()?,
        crate::tls::connector(config)?,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(Duration::from_millis(config.pool_timeout_ms)))
        .create_timeout(Some(Duration::from_millis(config.connect_timeout_ms)))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| Error::backend("cannot build the postgres pool", e))
}

/// A stable advisory-lock key for the table's migrations (FNV-1a of its qualified name).
fn lock_key(names: &Names) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in names.table().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Creates the schema objects that are missing, once, even with several processes starting at
/// the same time: migrations run in one transaction under a transaction-scoped advisory lock.
async fn migrate(client: &mut Object, config: &PostgresConfig, names: &Names) -> Result<Vec<i32>> {
    let fail = |doing: &'static str| move |e| map_pg(doing, true, e);
    let txn = client
        .transaction()
        .await
        .map_err(fail("starting the migration"))?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(names)])
        .await
        .map_err(fail("taking the migration lock"))?;
    txn.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{}\"; CREATE TABLE IF NOT EXISTS {} \
         (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        config.schema,
        names.migrations()
    ))
    .await
    .map_err(fail("creating the migrations table"))?;
    let applied: i32 = txn
        .query_one(&names.schema_version(), &[])
        .await
        .map_err(fail("reading the schema version"))?
        .get(0);
    let mut done = Vec::new();
    for (version, _, statement) in sql::migrations(names, config) {
        if version > applied {
            done.push(version);
            tracing::info!(table = names.table(), version, "applying migration");
            txn.batch_execute(&statement)
                .await
                .map_err(fail("applying a migration"))?;
            txn.execute(
                &format!("INSERT INTO {} (version) VALUES ($1)", names.migrations()),
                &[&version],
            )
            .await
            .map_err(fail("recording a migration"))?;
        }
    }
    txn.commit()
        .await
        .map_err(fail("committing the migration"))?;
    Ok(done)
}

/// Checks, without changing anything, that the schema is there and not newer than this code.
async fn check_provisioned(client: &Object, config: &PostgresConfig, names: &Names) -> Result<()> {
    let fail = |e| map_pg("checking the schema", false, e);
    let row = client
        .query_one(
            "SELECT to_regclass($1)::text, to_regclass($2)::text",
            &[&names.table(), &names.migrations()],
        )
        .await
        .map_err(fail)?;
    let (table, migrations): (Option<String>, Option<String>) = (row.get(0), row.get(1));
    if table.is_none() || migrations.is_none() {
        return Err(Error::NotProvisioned {
            message: format!(
                "table {} does not exist; run `metakv provision` (it needs CREATE on the schema) or set \
                 database.postgres.auto_create = true",
                names.table()
            ),
            source: None,
        });
    }
    let applied: i32 = client
        .query_one(&names.schema_version(), &[])
        .await
        .map_err(fail)?
        .get(0);
    let known = sql::migrations(names, config).len() as i32;
    if applied < known {
        return Err(Error::NotProvisioned {
            message: format!(
                "schema of {} is at version {applied}, this build needs {known}; run `metakv provision`",
                names.table()
            ),
            source: None,
        });
    }
    if applied > known {
        return Err(Error::config(
            "database.postgres.table",
            format!(
                "schema of {} is at version {applied}, newer than this build ({known}); upgrade metakv",
                names.table()
            ),
        ));
    }
    Ok(())
}

fn version_token(v: i64) -> Version {
    Version::new(format!("{:x}", v as u64)).expect("hex digits are a valid version")
}

/// The sequence value of a version this driver issued, or `None` (which then matches no row).
fn version_number(v: &Version) -> Option<i64> {
    u64::from_str_radix(v.as_str(), 16)
        .ok()
        .and_then(|n| i64::try_from(n).ok())
}

/// The parameters of a [`sql::scan`] statement before its limit: the partition, then one per
/// bound.
fn range_params<'a>(partition: &'a &[u8], range: &'a KeyRange) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![partition];
    for bound in [&range.lower, &range.upper] {
        if let std::ops::Bound::Included(b) | std::ops::Bound::Excluded(b) = bound {
            params.push(b);
        }
    }
    params
}

fn entry(row: &Row, key: Vec<u8>, value_col: usize) -> Result<Entry> {
    Ok(Entry {
        key: Key::new(key)?,
        value: Value::new(row.get::<_, Vec<u8>>(value_col))?,
        version: version_token(row.get(value_col + 1)),
    })
}

/// Runs one conditional put on `client` (a connection or a transaction). `Ok(None)`: the
/// condition did not hold.
async fn put_on<C: deadpool_postgres::GenericClient>(
    client: &C,
    sql: &Statements,
    p: &Partition,
    k: &Key,
    value: &Value,
    condition: &Condition,
) -> std::result::Result<Option<Written>, tokio_postgres::Error> {
    let (p, k, v) = (p.as_bytes(), k.as_bytes(), value.as_bytes());
    let row = match condition {
        Condition::None => {
            let row = client
                .query_one(&client.prepare_cached(&sql.upsert).await?, &[&p, &k, &v])
                .await?;
            return Ok(Some(Written {
                version: version_token(row.get(0)),
                created: row.get(1),
            }));
        }
        Condition::Absent => {
            client
                .query_opt(&client.prepare_cached(&sql.create).await?, &[&p, &k, &v])
                .await?
        }
        Condition::Exists => {
            client
                .query_opt(&client.prepare_cached(&sql.update).await?, &[&p, &k, &v])
                .await?
        }
        Condition::Version(version) => {
            let Some(n) = version_number(version) else {
                return Ok(None);
            };
            client
                .query_opt(
                    &client.prepare_cached(&sql.update_version).await?,
                    &[&p, &k, &v, &n],
                )
                .await?
        }
    };
    Ok(row.map(|row| Written {
        version: version_token(row.get(0)),
        created: matches!(condition, Condition::Absent),
    }))
}

/// Runs one conditional delete. `Ok(None)`: the condition did not hold; `Ok(Some(removed))`.
async fn delete_on<C: deadpool_postgres::GenericClient>(
    client: &C,
    sql: &Statements,
    p: &Partition,
    k: &Key,
    condition: &DeleteCondition,
) -> std::result::Result<Option<bool>, tokio_postgres::Error> {
    let (p, k) = (p.as_bytes(), k.as_bytes());
    let removed = match condition {
        DeleteCondition::None | DeleteCondition::Exists => {
            client
                .execute(&client.prepare_cached(&sql.delete).await?, &[&p, &k])
                .await?
        }
        DeleteCondition::Version(version) => {
            let Some(n) = version_number(version) else {
                return Ok(None);
            };
            client
                .execute(
                    &client.prepare_cached(&sql.delete_version).await?,
                    &[&p, &k, &n],
                )
                .await?
        }
    };
    Ok(match (condition, removed) {
        (DeleteCondition::None, n) => Some(n > 0),
        (_, 0) => None,
        (_, _) => Some(true),
    })
}

impl PostgresStore {
    /// Connects and checks the schema; with `auto_create`, creates or migrates it first.
    /// Without it, a missing table is `NotProvisioned`, naming the table and the command to run.
    pub async fn open(config: PostgresConfig) -> Result<Self> {
        config.validate()?;
        let pool = pool(&config)?;
        let names = Names::new(&config);
        let endpoint = config.endpoint();
        let mut client = pool.get().await.map_err(|e| map_pool(&endpoint, e))?;
        if config.auto_create {
            migrate(&mut client, &config, &names).await?;
        }
        check_provisioned(&client, &config, &names).await?;
        drop(client);
        tracing::info!(table = names.table(), "postgres store open");
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                endpoint,
                sql: Statements::new(&names),
                names,
                lifecycle: Lifecycle::default(),
            }),
        })
    }

    /// Creates or migrates the schema (idempotent, safe to run from several processes at once);
    /// returns the migrations it applied (none: the schema was current, and nothing changed).
    /// Needs `CREATE` on the database (for the schema) or on the schema (for the table).
    pub async fn provision(config: &PostgresConfig) -> Result<Vec<i32>> {
        config.validate()?;
        let pool = pool(config)?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| map_pool(&config.endpoint(), e))?;
        let names = Names::new(config);
        let applied = migrate(&mut client, config, &names).await;
        pool.close();
        applied
    }

    /// What [`Self::provision`] would do, changing nothing: a line per step (none when the
    /// schema is current). Needs only to read the catalog.
    pub async fn plan(config: &PostgresConfig) -> Result<Vec<String>> {
        config.validate()?;
        let pool = pool(config)?;
        let client = pool
            .get()
            .await
            .map_err(|e| map_pool(&config.endpoint(), e))?;
        let names = Names::new(config);
        let fail = |e| map_pg("reading the catalog", false, e);
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), to_regclass($2)::text",
                &[&config.schema, &names.migrations()],
            )
            .await
            .map_err(fail)?;
        let (schema, migrations): (bool, Option<String>) = (row.get(0), row.get(1));
        let mut steps = Vec::new();
        if !schema {
            steps.push(format!("create schema \"{}\"", config.schema));
        }
        let applied: i32 = if migrations.is_some() {
            client
                .query_one(&names.schema_version(), &[])
                .await
                .map_err(fail)?
                .get(0)
        } else {
            steps.push(format!(
                "create table {} (the schema's version)",
                names.migrations()
            ));
            0
        };
        for (version, summary, _) in sql::migrations(&names, config) {
            if version > applied {
                steps.push(format!("apply migration {version}: {summary}"));
            }
        }
        pool.close();
        Ok(steps)
    }

    /// The server settings that bear on the contract and on durability: TLS on the
    /// connection, the default isolation level, `synchronous_commit`, `fsync`, and whether the
    /// server is a read-only standby.
    pub async fn inspect(config: &PostgresConfig) -> Result<Vec<kv_core::Finding>> {
        config.validate()?;
        let pool = pool(config)?;
        let client = pool
            .get()
            .await
            .map_err(|e| map_pool(&config.endpoint(), e))?;
        let row = client
            .query_one(
                "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false), \
                 current_setting('default_transaction_isolation'), \
                 current_setting('synchronous_commit'), current_setting('fsync'), \
                 pg_is_in_recovery(), current_setting('server_version')",
                &[],
            )
            .await
            .map_err(|e| map_pg("reading the server's settings", false, e))?;
        pool.close();
        let loopback = config.pg_config()?.get_hosts().iter().all(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        });
        Ok(crate::inspect::findings(&crate::inspect::Settings {
            tls: row.get(0),
            loopback,
            isolation: row.get(1),
            synchronous_commit: row.get(2),
            fsync: row.get(3),
            standby: row.get(4),
            version: row.get(5),
        }))
    }

    async fn client(&self) -> Result<Object> {
        self.inner.lifecycle.check()?;
        let inner = &self.inner;
        inner
            .pool
            .get()
            .await
            .map_err(|e| map_pool(&inner.endpoint, e))
    }
}

#[async_trait]
impl KvStore for PostgresStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        let client = self.client().await?;
        let fail = |e| map_pg("reading an entry", false, e);
        let statement = client
            .prepare_cached(&self.inner.sql.get)
            .await
            .map_err(fail)?;
        let row = client
            .query_opt(&statement, &[&partition.as_bytes(), &key.as_bytes()])
            .await
            .map_err(fail)?;
        row.map(|row| {
            Ok(Versioned {
                value: Value::new(row.get::<_, Vec<u8>>(0))?,
                version: version_token(row.get(1)),
            })
        })
        .transpose()
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        let client = self.client().await?;
        put_on(&client, &self.inner.sql, partition, key, value, condition)
            .await
            .map_err(|e| map_pg("writing an entry", true, e))?
            .ok_or_else(Error::condition_failed)
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        let client = self.client().await?;
        delete_on(&client, &self.inner.sql, partition, key, condition)
            .await
            .map_err(|e| map_pg("deleting an entry", true, e))?
            .ok_or_else(Error::condition_failed)
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        let client = self.client().await?;
        if request.is_empty() {
            return Ok(request.empty_page());
        }
        let range = request.range();
        let select = if request.keys_only() {
            Select::Keys
        } else {
            Select::Entries
        };
        let text = sql::scan(
            &self.inner.names,
            select,
            &range.lower,
            &range.upper,
            request.reverse(),
        );
        let p = partition.as_bytes();
        // One more row than the page holds tells whether another page follows.
        let limit = request.page_limit() as i64 + 1;
        let mut params = range_params(&p, range);
        params.push(&limit);
        let fail = |e| map_pg("scanning", false, e);
        let statement = client.prepare_cached(&text).await.map_err(fail)?;
        let rows = client.query(&statement, &params).await.map_err(fail)?;
        let more = rows.len() > request.page_limit();
        let entries = rows
            .iter()
            .take(request.page_limit())
            .map(|row| entry(row, row.get(0), 1))
            .collect::<Result<Vec<_>>>()?;
        request.page(entries, more)
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        let client = self.client().await?;
        let fail = |e| map_pg("reading entries", false, e);
        let statement = client
            .prepare_cached(&self.inner.sql.get_many)
            .await
            .map_err(fail)?;
        let wanted: Vec<&[u8]> = keys.keys().iter().map(Key::as_bytes).collect();
        // One statement: `key = ANY($2)`, one index probe per key.
        let rows = client
            .query(&statement, &[&partition.as_bytes(), &wanted])
            .await
            .map_err(fail)?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let e = entry(row, row.get(0), 1)?;
            found.insert(e.key, (e.value, e.version));
        }
        Ok(keys
            .keys()
            .iter()
            .map(|k| {
                found
                    .remove(k)
                    .map(|(value, version)| Versioned { value, version })
            })
            .collect())
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let client = self.client().await?;
        let text = sql::scan(
            &self.inner.names,
            Select::Count,
            &range.lower,
            &range.upper,
            false,
        );
        let p = partition.as_bytes();
        let params = range_params(&p, range);
        let fail = |e| map_pg("counting", false, e);
        let statement = client.prepare_cached(&text).await.map_err(fail)?;
        let row = client.query_one(&statement, &params).await.map_err(fail)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        let mut client = self.client().await?;
        let sql = &self.inner.sql;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome: std::result::Result<
                std::result::Result<Vec<Option<Version>>, usize>,
                tokio_postgres::Error,
            > = async {
                let txn = client.transaction().await?;
                let mut versions = Vec::with_capacity(batch.len());
                for (index, op) in batch.ops().iter().enumerate() {
                    let applied = match op {
                        BatchOp::Put {
                            key,
                            value,
                            condition,
                        } => put_on(&txn, sql, partition, key, value, condition)
                            .await?
                            .map(|w| Some(w.version)),
                        BatchOp::Delete { key, condition } => {
                            delete_on(&txn, sql, partition, key, condition)
                                .await?
                                .map(|_| None)
                        }
                    };
                    match applied {
                        Some(v) => versions.push(v),
                        None => {
                            txn.rollback().await?;
                            return Ok(Err(index));
                        }
                    }
                }
                txn.commit().await?;
                Ok(Ok(versions))
            }
            .await;
            match outcome {
                Ok(Ok(versions)) => return Ok(versions),
                Ok(Err(index)) => return Err(Error::condition_failed_at(index)),
                Err(e) if attempt < BATCH_ATTEMPTS && is_retryable_conflict(&e) => {
                    tracing::debug!(attempt, "batch conflicted; running it again");
                }
                Err(e) => return Err(map_pg("applying a batch", true, e)),
            }
        }
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        let client = self.client().await?;
        let fail = |e| map_pg("deleting a partition", true, e);
        let statement = client
            .prepare_cached(&self.inner.sql.delete_partition)
            .await
            .map_err(fail)?;
        client
            .execute(&statement, &[&partition.as_bytes()])
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        let resume = page_token.map(export_token::decode).transpose()?;
        let client = self.client().await?;
        let fail = |e| map_pg("exporting", false, e);
        let limit = page_size.clamp(1, kv_core::limits::MAX_PAGE_SIZE) as i64;
        let rows = match &resume {
            None => {
                let statement = client
                    .prepare_cached(&self.inner.sql.export_first)
                    .await
                    .map_err(fail)?;
                client.query(&statement, &[&limit]).await.map_err(fail)?
            }
            Some((p, k)) => {
                let statement = client
                    .prepare_cached(&self.inner.sql.export_after)
                    .await
                    .map_err(fail)?;
                client
                    .query(&statement, &[&p.as_bytes(), &k.as_bytes(), &limit])
                    .await
                    .map_err(fail)?
            }
        };
        let entries = rows
            .iter()
            .map(|row| {
                Ok(ExportEntry {
                    partition: Partition::new(row.get::<_, Vec<u8>>(0))?,
                    entry: entry(row, row.get(1), 2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ExportPage::keyset(entries, limit as usize))
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| map_pg("pinging", false, e))?;
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.inner.lifecycle.close();
        self.inner.pool.close();
        Ok(())
    }
}
