//! `CosmosStore`: the `KvStore` implementation over the official SDK.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use azure_data_cosmos::clients::ContainerClient;
use azure_data_cosmos::feed::ContinuationToken;
use azure_data_cosmos::models::{ResponseHeaders, TransactionalBatchOperationResult};
use azure_data_cosmos::options::{
    BatchDeleteOptions, BatchReplaceOptions, ItemWriteOptions, MaxItemCountHint, Precondition,
    QueryOptions,
};
use azure_data_cosmos::{CosmosError, FeedScope, PartitionKey, Query, TransactionalBatch};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures::TryStreamExt;
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Entry, Error, ExportEntry, ExportPage, Key,
    KeyList, KeyRange, KvStore, Lifecycle, Partition, Result, ScanPage, ScanRequest, Value,
    Version, Versioned, Written,
};
use serde::{Deserialize, Serialize};

use crate::CosmosConfig;
use crate::client::{self, Credential};
use crate::container;
use crate::encoding::{decode, document_id, encode, etag_of_version, version_of_etag};
use crate::error::{Outcome, classify_error, map};

/// Export page tokens start with this, so that a token of another driver or format is
/// refused clearly.
const EXPORT_TOKEN_PREFIX: &str = "cx1:";

/// The stored document of one entry.
#[derive(Serialize)]
struct Doc<'a> {
    id: &'a str,
    /// Encoded partition (the partition key path).
    p: &'a str,
    /// Encoded key (the only indexed field).
    k: &'a str,
    /// Base64 value.
    v: String,
}

/// An entry as queries and reads return it.
#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    p: Option<String>,
    k: String,
    /// Absent from a keys-only query's rows only.
    #[serde(default)]
    v: Option<String>,
    #[serde(rename = "_etag")]
    etag: String,
}

impl Row {
    fn entry(self) -> Result<Entry> {
        let value = match &self.v {
            Some(v) => value_of(v)?,
            None => return Err(corrupt("v", "")),
        };
        self.entry_with(value)
    }

    /// The entry of a keys-only query's row: the key, the version, an empty value.
    fn key_entry(self) -> Result<Entry> {
        self.entry_with(Value::default())
    }

    fn entry_with(self, value: Value) -> Result<Entry> {
        let key = decode(&self.k).ok_or_else(|| corrupt("k", &self.k))?;
        Ok(Entry {
            key: Key::new(key)?,
            value,
            version: Version::new(version_of_etag(&self.etag))?,
        })
    }
}

fn corrupt(field: &str, text: &str) -> Error {
    Error::Backend {
        message: format!(
            "cosmos db: a document's {field} field is not metakv's encoding ({} characters); is the container shared with another application?",
            text.len()
        ),
        source: None,
    }
}

fn value_of(v: &str) -> Result<Value> {
    Value::new(B64.decode(v).map_err(|_| corrupt("v", v))?)
}

/// Records the request charge of a response.
fn charge(op: &'static str, headers: &ResponseHeaders) {
    if let Some(ru) = headers.request_charge() {
        metrics::histogram!("metakv_cosmos_request_units", "op" => op).record(f64::from(*ru));
    }
}

/// Records the request charge of a failed request, where the service sent one.
fn charge_error(op: &'static str, err: &CosmosError) {
    if let Some(ru) = err.response().and_then(|r| r.headers().request_charge) {
        metrics::histogram!("metakv_cosmos_request_units", "op" => op).record(f64::from(ru));
    }
}

/// A key's coordinates in the container.
struct Item {
    pk: String,
    k: String,
    id: String,
}

fn item(partition: &Partition, key: &Key) -> Item {
    let k = encode(key.as_bytes());
    Item {
        pk: encode(partition.as_bytes()),
        id: document_id(key.as_bytes(), &k),
        k,
    }
}

fn if_match(version: &Version) -> Precondition {
    Precondition::if_match(etag_of_version(version.as_str()))
}

/// A store in one Cosmos DB container. Clones share the SDK client.
#[derive(Debug, Clone)]
pub struct CosmosStore {
    inner: Arc<Inner>,
}

struct Inner {
    container: ContainerClient,
    lifecycle: Lifecycle,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosmosStore").finish_non_exhaustive()
    }
}

impl CosmosStore {
    /// Connects, checks the account's consistency and the container, and opens the store.
    /// A missing database or container is created with `auto_create`, and is
    /// `NotProvisioned` otherwise.
    pub async fn open(config: CosmosConfig) -> Result<Self> {
        config.validate()?;
        Self::open_validated(&config).await.map_err(|e| {
            let hint = crate::error::tls_hint(&e);
            e.map_message(|m| format!("{m} (account {}){hint}", config.endpoint))
        })
    }

    async fn open_validated(config: &CosmosConfig) -> Result<Self> {
        let credential = Credential::from_config(config)?;
        let account = client::account_consistency(config, &credential).await?;
        client::check_consistency(&account, config.accept_weak_consistency)?;
        let client = client::sdk_client(config, &credential).await?;
        let container = match container::open(&client, config).await? {
            Some(container) => {
                container::check(&container, config).await?;
                container
            }
            None if config.auto_create => container::create(&client, config).await?,
            None => return Err(container::missing(config)),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                container,
                lifecycle: Lifecycle::default(),
            }),
        })
    }

    /// Creates the database and container where missing (with the configured throughput)
    /// and checks an existing container; returns whether it created anything (`false`: they
    /// existed, and nothing was changed). Needs control-plane rights: an account key on the
    /// data plane, or, with `arm` set, an Entra ID identity with a control-plane role on the
    /// account through Azure Resource Manager.
    pub async fn provision(config: &CosmosConfig) -> Result<bool> {
        config.validate()?;
        let credential = Credential::from_config(config)?;
        if let (Some(arm), Credential::Token(token)) = (&config.arm, &credential) {
            return crate::arm::provision(config, arm, token).await;
        }
        if !credential.is_key() {
            tracing::warn!(
                "provisioning cosmos db with an Entra ID credential: data-plane roles cannot create databases or containers; use an account key if this fails"
            );
        }
        let client = client::sdk_client(config, &credential).await?;
        match container::open(&client, config).await? {
            Some(container) => container::check(&container, config).await.map(|()| false),
            None => container::create(&client, config).await.map(|_| true),
        }
    }

    /// What [`Self::provision`] would do, changing nothing: a line per step (none when the
    /// database and container exist and the container is partitioned on `/p`). Reads only:
    /// through Azure Resource Manager with `arm` set, the data plane otherwise.
    pub async fn plan(config: &CosmosConfig) -> Result<Vec<String>> {
        config.validate()?;
        let credential = Credential::from_config(config)?;
        if let (Some(arm), Credential::Token(token)) = (&config.arm, &credential) {
            return crate::arm::plan(config, arm, token).await;
        }
        let client = client::sdk_client(config, &credential).await?;
        if let Some(container) = container::open(&client, config).await? {
            container::check(&container, config).await?;
            return Ok(Vec::new());
        }
        let mut steps = Vec::new();
        if !container::database_exists(&client, config).await? {
            steps.push(format!("create database {}", config.database));
        }
        steps.push(container::describe(config));
        Ok(steps)
    }

    /// The account's settings that bear on the contract: its default consistency and regions
    /// (multi-region writes), the emulator flag, and whether the container is provisioned.
    pub async fn inspect(config: &CosmosConfig) -> Result<Vec<kv_core::Finding>> {
        config.validate()?;
        let credential = Credential::from_config(config)?;
        let account = client::account_consistency(config, &credential).await?;
        let client = client::sdk_client(config, &credential).await?;
        let container = match container::open(&client, config).await {
            Ok(Some(c)) => container::check(&c, config)
                .await
                .map_err(|e| e.to_string()),
            Ok(None) => Err(container::missing(config).to_string()),
            Err(e) => Err(e.to_string()),
        };
        Ok(crate::inspect::findings(&crate::inspect::Facts {
            account,
            accept_weak_consistency: config.accept_weak_consistency,
            preferred_regions: config.preferred_regions.len(),
            emulator: config.emulator,
            container,
        }))
    }

    fn container(&self) -> Result<&ContainerClient> {
        self.inner.lifecycle.check()?;
        Ok(&self.inner.container)
    }

    /// Every row of a `TOP n` query in one partition, following continuations until the
    /// query is complete; `op` names the operation in the request-charge metric.
    async fn query_partition<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        pk: String,
        query: impl Into<Query>,
        page: usize,
        op: &'static str,
    ) -> Result<Vec<T>> {
        let options = QueryOptions::default().with_max_item_count(max_items(page));
        let mut pages = self
            .container()?
            .query_items::<T>(
                query,
                FeedScope::partition(PartitionKey::from(pk)),
                Some(options),
            )
            .await
            .map_err(|e| map(e, "querying a partition", false))?
            .into_pages();
        let mut rows = Vec::new();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| map(e, "querying a partition", false))?
        {
            charge(op, page.headers());
            rows.extend(page.into_items());
        }
        Ok(rows)
    }

    /// Runs a transactional batch; `Ok(Err(failure))` when one of its operations failed (and
    /// so nothing was applied).
    async fn run_batch(
        &self,
        batch: TransactionalBatch,
    ) -> Result<std::result::Result<Vec<TransactionalBatchOperationResult>, Failure>> {
        let results = match self
            .container()?
            .execute_transactional_batch(batch, None)
            .await
        {
            Ok(response) => {
                charge("batch", response.headers());
                response
                    .into_model()
                    .map_err(|e| map(e, "reading a batch response", true))?
                    .results()
                    .to_vec()
            }
            Err(err) => {
                charge_error("batch", &err);
                // A failed batch answers with the failing operation's status and every
                // operation's result in the body.
                let parsed = err.response().and_then(|r| {
                    let bytes = r.body().clone().single().ok()?;
                    serde_json::from_slice::<Vec<serde_json::Value>>(&bytes).ok()
                });
                match parsed {
                    Some(results) => {
                        return Ok(Err(first_failure_json(&results)
                            .ok_or_else(|| map(err, "applying a batch", true))?));
                    }
                    None => return Err(map(err, "applying a batch", true)),
                }
            }
        };
        if let Some(failed) = results
            .iter()
            .position(|r| !r.is_success() && r.status_code() != 424)
        {
            return Ok(Err(Failure {
                index: failed,
                status: results[failed].status_code(),
                retry_after: results[failed].retry_after(),
            }));
        }
        Ok(Ok(results))
    }
}

/// The operation that failed a transactional batch.
struct Failure {
    /// Its position in the batch sent.
    index: usize,
    /// Its status.
    status: u16,
    /// The service's hint, with a 429.
    retry_after: Option<std::time::Duration>,
}

/// The first failing operation (not 424, "failed dependency") of a batch response body.
fn first_failure_json(results: &[serde_json::Value]) -> Option<Failure> {
    results.iter().enumerate().find_map(|(index, r)| {
        let status = u16::try_from(r.get("statusCode")?.as_u64()?).ok()?;
        let retry_after = r
            .get("retryAfterMilliseconds")
            .and_then(serde_json::Value::as_u64)
            .map(std::time::Duration::from_millis);
        (status >= 400 && status != 424).then_some(Failure {
            index,
            status,
            retry_after,
        })
    })
}

fn max_items(page: usize) -> MaxItemCountHint {
    let n = u32::try_from(page.clamp(1, 10_000)).unwrap_or(1000);
    MaxItemCountHint::Limit(std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN))
}

/// The query of one scan page: a key range, a direction and a count.
fn scan_query(request: &ScanRequest) -> Result<Query> {
    let (filter, params) = range_filter(request.range());
    let order = if request.reverse() { "DESC" } else { "ASC" };
    let columns = if request.keys_only() {
        "c.k, c._etag"
    } else {
        "c.k, c.v, c._etag"
    };
    let text = format!(
        "SELECT TOP {} {columns} FROM c{filter} ORDER BY c.k {order}",
        request.page_limit()
    );
    with_parameters(Query::from(text), params)
}

fn with_parameters(mut query: Query, params: Vec<(&str, String)>) -> Result<Query> {
    for (name, value) in params {
        query = query
            .with_parameter(name, value)
            .map_err(|e| Error::backend("building a query", e))?;
    }
    Ok(query)
}

/// The `WHERE` clause of a key range over the encoded keys (which sort as the raw ones), and
/// its parameters.
fn range_filter(range: &KeyRange) -> (String, Vec<(&'static str, String)>) {
    let mut filters = Vec::new();
    let mut params = Vec::new();
    match &range.lower {
        Bound::Included(l) if !l.is_empty() => {
            filters.push("c.k >= @lo");
            params.push(("@lo", encode(l)));
        }
        Bound::Excluded(l) => {
            filters.push("c.k > @lo");
            params.push(("@lo", encode(l)));
        }
        _ => {}
    }
    match &range.upper {
        Bound::Excluded(u) => {
            filters.push("c.k < @hi");
            params.push(("@hi", encode(u)));
        }
        Bound::Included(u) => {
            filters.push("c.k <= @hi");
            params.push(("@hi", encode(u)));
        }
        Bound::Unbounded => {}
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    (filter, params)
}

#[async_trait]
impl KvStore for CosmosStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        let it = item(partition, key);
        match self.container()?.read_item(it.pk, &it.id, None).await {
            Ok(response) => {
                charge("get", response.headers());
                let row: Row = response
                    .into_model()
                    .map_err(|e| map(e, "reading an entry", false))?;
                let entry = row.entry()?;
                Ok(Some(Versioned {
                    value: entry.value,
                    version: entry.version,
                }))
            }
            Err(err) => {
                charge_error("get", &err);
                match classify_error(err, "reading an entry", false) {
                    Outcome::Absent => Ok(None),
                    Outcome::ConditionFailed => Err(Error::Backend {
                        message: "cosmos db: a read answered with a conflict".into(),
                        source: None,
                    }),
                    Outcome::Error(e) => Err(e),
                }
            }
        }
    }

    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written> {
        let container = self.container()?;
        let it = item(partition, key);
        let doc = Doc {
            id: &it.id,
            p: &it.pk,
            k: &it.k,
            v: B64.encode(value.as_bytes()),
        };
        let pk = it.pk.clone();
        let result = match condition {
            Condition::None => container.upsert_item(pk, &it.id, &doc, None).await,
            Condition::Absent => container.create_item(pk, &it.id, &doc, None).await,
            Condition::Exists => container.replace_item(pk, &it.id, &doc, None).await,
            Condition::Version(v) => {
                let options = ItemWriteOptions::default().with_precondition(if_match(v));
                container
                    .replace_item(pk, &it.id, &doc, Some(options))
                    .await
            }
        };
        match result {
            Ok(response) => {
                charge("put", response.headers());
                let etag = response.headers().etag().ok_or_else(|| Error::Backend {
                    message: "cosmos db: a write answered without an etag".into(),
                    source: None,
                })?;
                Ok(Written {
                    version: Version::new(version_of_etag(etag.as_ref()))?,
                    created: u16::from(response.status().status_code()) == 201,
                })
            }
            Err(err) => {
                charge_error("put", &err);
                match classify_error(err, "writing an entry", true) {
                    // 404 on replace: the key does not exist; 409 on create: it does;
                    // 412: another version.
                    Outcome::Absent | Outcome::ConditionFailed => Err(Error::condition_failed()),
                    Outcome::Error(e) => Err(e),
                }
            }
        }
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        let it = item(partition, key);
        let options = match condition {
            DeleteCondition::Version(v) => {
                Some(ItemWriteOptions::default().with_precondition(if_match(v)))
            }
            DeleteCondition::None | DeleteCondition::Exists => None,
        };
        match self.container()?.delete_item(it.pk, &it.id, options).await {
            Ok(response) => {
                charge("delete", response.headers());
                Ok(true)
            }
            Err(err) => {
                charge_error("delete", &err);
                match (classify_error(err, "deleting an entry", true), condition) {
                    (Outcome::Absent, DeleteCondition::None) => Ok(false),
                    (Outcome::Absent | Outcome::ConditionFailed, _) => {
                        Err(Error::condition_failed())
                    }
                    (Outcome::Error(e), _) => Err(e),
                }
            }
        }
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        if request.is_empty() {
            return Ok(request.empty_page());
        }
        let limit = request.page_limit();
        let rows: Vec<Row> = self
            .query_partition(
                encode(partition.as_bytes()),
                scan_query(request)?,
                limit,
                "scan_page",
            )
            .await?;
        let full = rows.len() >= limit;
        let to_entry = if request.keys_only() {
            Row::key_entry
        } else {
            Row::entry
        };
        let entries = rows
            .into_iter()
            .take(limit)
            .map(to_entry)
            .collect::<Result<Vec<_>>>()?;
        request.page(entries, full)
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        // One query in the partition, `c.k IN (...)`, followed over its pages (a page holds
        // at most 4 MB).
        let encoded: Vec<String> = keys.keys().iter().map(|k| encode(k.as_bytes())).collect();
        let names: Vec<String> = (0..encoded.len()).map(|i| format!("@k{i}")).collect();
        let text = format!(
            "SELECT c.k, c.v, c._etag FROM c WHERE c.k IN ({})",
            names.join(", ")
        );
        let params = names.iter().map(String::as_str).zip(encoded).collect();
        let query = with_parameters(Query::from(text), params)?;
        let rows: Vec<Row> = self
            .query_partition(encode(partition.as_bytes()), query, keys.len(), "get_many")
            .await?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            let entry = row.entry()?;
            found.insert(
                entry.key,
                Versioned {
                    value: entry.value,
                    version: entry.version,
                },
            );
        }
        Ok(keys.keys().iter().map(|k| found.remove(k)).collect())
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let (filter, params) = range_filter(range);
        let query = with_parameters(
            Query::from(format!("SELECT VALUE COUNT(1) FROM c{filter}")),
            params,
        )?;
        // Each page of an aggregate holds the count of what that page read.
        let counts: Vec<u64> = self
            .query_partition(encode(partition.as_bytes()), query, 1, "count")
            .await?;
        Ok(counts.iter().sum())
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        let pk = encode(partition.as_bytes());
        // Unconditional deletes of keys found absent are left out and the batch is sent again
        // (a transactional batch fails on a delete of a missing item). `sent[pos]` is the
        // index in `batch` of the operation at position `pos` of the batch sent.
        let mut absent = vec![false; batch.len()];
        for _attempt in 0..=batch.len() {
            let mut tx = TransactionalBatch::new(pk.clone());
            let mut sent = Vec::new();
            for (i, op) in batch.ops().iter().enumerate() {
                if absent[i] {
                    continue;
                }
                let it = item(partition, op.key());
                tx = match op {
                    BatchOp::Put {
                        value, condition, ..
                    } => {
                        let doc = serde_json::json!({
                            "id": it.id, "p": it.pk, "k": it.k, "v": B64.encode(value.as_bytes()),
                        });
                        let built = match condition {
                            Condition::None => tx.upsert_item(doc, None),
                            Condition::Absent => tx.create_item(doc),
                            Condition::Exists => tx.replace_item(it.id.clone(), doc, None),
                            Condition::Version(v) => tx.replace_item(
                                it.id.clone(),
                                doc,
                                Some(BatchReplaceOptions::default().with_precondition(if_match(v))),
                            ),
                        };
                        built.map_err(|e| map(e, "building a batch", false))?
                    }
                    BatchOp::Delete { condition, .. } => match condition {
                        DeleteCondition::Version(v) => tx.delete_item(
                            it.id.clone(),
                            Some(BatchDeleteOptions::default().with_precondition(if_match(v))),
                        ),
                        DeleteCondition::None | DeleteCondition::Exists => {
                            tx.delete_item(it.id.clone(), None)
                        }
                    },
                };
                sent.push(i);
            }
            if sent.is_empty() {
                // Every operation was an unconditional delete of an absent key.
                return Ok(vec![None; batch.len()]);
            }
            match self.run_batch(tx).await? {
                Ok(results) => {
                    let mut versions = vec![None; batch.len()];
                    for (pos, &i) in sent.iter().enumerate() {
                        if let BatchOp::Put { .. } = batch.ops()[i] {
                            let etag =
                                results.get(pos).and_then(|r| r.etag()).ok_or_else(|| {
                                    Error::Backend {
                                        message:
                                            "cosmos db: a batch write answered without an etag"
                                                .into(),
                                        source: None,
                                    }
                                })?;
                            versions[i] = Some(Version::new(version_of_etag(etag))?);
                        }
                    }
                    return Ok(versions);
                }
                Err(Failure {
                    index: pos,
                    status,
                    retry_after,
                }) => {
                    let i = sent[pos];
                    let unconditional_delete = matches!(
                        batch.ops()[i],
                        BatchOp::Delete {
                            condition: DeleteCondition::None,
                            ..
                        }
                    );
                    match status {
                        404 if unconditional_delete => absent[i] = true,
                        404 | 409 | 412 => return Err(Error::condition_failed_at(i)),
                        429 => {
                            return Err(Error::Throttled {
                                retry_after,
                                source: Some("a batch operation was throttled".into()),
                            });
                        }
                        other => {
                            return Err(Error::Backend {
                                message: format!(
                                    "cosmos db: batch operation {i} failed with status {other}"
                                ),
                                source: None,
                            });
                        }
                    }
                }
            }
        }
        Err(Error::Backend {
            message: "cosmos db: a batch did not settle".into(),
            source: None,
        })
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        let pk = encode(partition.as_bytes());
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        loop {
            let ids: Vec<Id> = self
                .query_partition(
                    pk.clone(),
                    "SELECT TOP 100 c.id FROM c",
                    100,
                    "delete_partition",
                )
                .await?;
            if ids.is_empty() {
                return Ok(());
            }
            // One transactional batch per 100 items. A concurrent delete makes it fail with
            // 404 and change nothing; the next round lists again.
            let mut tx = TransactionalBatch::new(pk.clone());
            for Id { id } in ids {
                tx = tx.delete_item(id, None);
            }
            match self.run_batch(tx).await? {
                Ok(_) | Err(Failure { status: 404, .. }) => {}
                Err(Failure {
                    index: i, status, ..
                }) => {
                    return Err(Error::Backend {
                        message: format!(
                            "cosmos db: deleting a partition failed at item {i} with status {status}"
                        ),
                        source: None,
                    });
                }
            }
        }
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        let container = self.container()?;
        let mut options = QueryOptions::default().with_max_item_count(max_items(page_size));
        if let Some(token) = page_token {
            let inner = token
                .strip_prefix(EXPORT_TOKEN_PREFIX)
                .ok_or_else(|| Error::invalid("malformed export page token"))?;
            options = options.with_continuation_token(ContinuationToken::from_string(inner.into()));
        }
        let mut pages = container
            .query_items::<Row>(
                "SELECT c.p, c.k, c.v, c._etag FROM c",
                FeedScope::full_container(),
                Some(options),
            )
            .await
            .map_err(|e| match page_token {
                Some(_) => Error::invalid(format!("export page token not accepted: {e}")),
                None => map(e, "exporting", false),
            })?
            .into_pages();
        let mut entries = Vec::new();
        loop {
            if entries.len() >= page_size.max(1) {
                let token = pages
                    .to_continuation_token()
                    .map_err(|e| map(e, "exporting", false))?;
                return Ok(ExportPage {
                    entries,
                    next_page_token: Some(format!("{EXPORT_TOKEN_PREFIX}{}", token.as_str())),
                });
            }
            let Some(page) = pages
                .try_next()
                .await
                .map_err(|e| map(e, "exporting", false))?
            else {
                return Ok(ExportPage {
                    entries,
                    next_page_token: None,
                });
            };
            charge("export_page", page.headers());
            for mut row in page.into_items() {
                let p = row.p.take().unwrap_or_default();
                let partition = decode(&p).ok_or_else(|| corrupt("p", &p))?;
                entries.push(ExportEntry {
                    partition: Partition::new(partition)?,
                    entry: row.entry()?,
                });
            }
        }
    }

    async fn ping(&self) -> Result<()> {
        match self.container()?.read(None).await {
            Ok(_) => Ok(()),
            Err(e) => match classify_error(e, "reading the container", false) {
                // The container is gone (deleted, or an emulator restarted empty).
                Outcome::Absent => Err(Error::NotProvisioned {
                    message: "cosmos db: the container does not exist (any more); run `metakv provision` (with an account key), install the Helm chart with provisioning on, or create it with ARM/Bicep".into(),
                    source: None,
                }),
                Outcome::ConditionFailed => Err(Error::Backend {
                    message: "cosmos db: unexpected conflict reading the container".into(),
                    source: None,
                }),
                Outcome::Error(e) => Err(e),
            },
        }
    }

    async fn close(&self) -> Result<()> {
        self.inner.lifecycle.close();
        Ok(())
    }
}
