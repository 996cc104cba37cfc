//! `DynamoStore`: the `KvStore` implementation over the official SDK.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, ReturnConsumedCapacity,
    ReturnValue, TransactWriteItem, WriteRequest,
};
use kv_core::{
    Batch, BatchOp, Condition, DeleteCondition, Entry, Error, ErrorKind, ExportEntry, ExportPage,
    Key, KeyList, KeyRange, KvStore, Lifecycle, Partition, Result, ScanPage, ScanRequest, Value,
    Version, Versioned, Written,
};

use crate::DynamoConfig;
use crate::client::{
    self, Item, K, P, VER, b, bytes, item, key_of, record_capacities, record_capacity,
    value_and_version, version_of,
};
use crate::error::map_sdk;
use crate::export::{self, Segment};
use crate::table;

/// Attempts of a transaction cancelled by a conflicting transaction (nothing was applied).
const TRANSACTION_ATTEMPTS: usize = 5;
const TOTAL: ReturnConsumedCapacity = ReturnConsumedCapacity::Total;

/// A store in one DynamoDB table. Clones share the SDK client.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    table: String,
    segments: u32,
    lifecycle: Lifecycle,
}

/// A condition expression with its names and values.
#[derive(Default)]
struct Expr {
    text: Option<&'static str>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

fn expr(text: &'static str, names: &[(&str, &str)], values: Vec<(&str, AttributeValue)>) -> Expr {
    Expr {
        text: Some(text),
        names: names
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        values: values
            .into_iter()
            .map(|(a, b)| (a.to_string(), b))
            .collect(),
    }
}

fn put_expr(condition: &Condition) -> Expr {
    match condition {
        Condition::None => Expr::default(),
        Condition::Absent => expr("attribute_not_exists(#p)", &[("#p", P)], vec![]),
        Condition::Exists => expr("attribute_exists(#p)", &[("#p", P)], vec![]),
        Condition::Version(v) => expr(
            "#ver = :ver",
            &[("#ver", VER)],
            vec![(":ver", AttributeValue::S(v.to_string()))],
        ),
    }
}

fn delete_expr(condition: &DeleteCondition) -> Expr {
    match condition {
        // An unconditional delete is checked for existence only to report whether it removed
        // anything; a failed check then means "nothing removed", not an error.
        DeleteCondition::None | DeleteCondition::Exists => {
            expr("attribute_exists(#p)", &[("#p", P)], vec![])
        }
        DeleteCondition::Version(v) => expr(
            "#ver = :ver",
            &[("#ver", VER)],
            vec![(":ver", AttributeValue::S(v.to_string()))],
        ),
    }
}

fn non_empty<T>(map: HashMap<String, T>) -> Option<HashMap<String, T>> {
    (!map.is_empty()).then_some(map)
}

/// The key condition of a scan range, and which boundary keys must be dropped client-side
/// (DynamoDB allows one condition on the sort key; `BETWEEN` is inclusive at both ends).
struct KeyCondition {
    expr: Expr,
    drop_lower: Option<Vec<u8>>,
    drop_upper: Option<Vec<u8>>,
}

fn key_condition(
    partition: &Partition,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
) -> KeyCondition {
    // An empty lower bound bounds nothing: every key has at least one byte.
    let lower = match lower {
        Bound::Included(l) | Bound::Excluded(l) if l.is_empty() => &Bound::Unbounded,
        other => other,
    };
    let mut values = vec![(":p", b(partition.as_bytes()))];
    let (text, drop_lower, drop_upper) = match (lower, upper) {
        (Bound::Unbounded, Bound::Unbounded) => ("#p = :p", None, None),
        (Bound::Included(l), Bound::Unbounded) => {
            values.push((":lo", b(l)));
            ("#p = :p AND #k >= :lo", None, None)
        }
        (Bound::Excluded(l), Bound::Unbounded) => {
            values.push((":lo", b(l)));
            ("#p = :p AND #k > :lo", None, None)
        }
        (Bound::Unbounded, Bound::Excluded(u)) => {
            values.push((":hi", b(u)));
            ("#p = :p AND #k < :hi", None, None)
        }
        (Bound::Unbounded, Bound::Included(u)) => {
            values.push((":hi", b(u)));
            ("#p = :p AND #k <= :hi", None, None)
        }
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            values.push((":lo", b(l)));
            values.push((":hi", b(u)));
            let drop_lower = matches!(lower, Bound::Excluded(_)).then(|| l.clone());
            let drop_upper = matches!(upper, Bound::Excluded(_)).then(|| u.clone());
            ("#p = :p AND #k BETWEEN :lo AND :hi", drop_lower, drop_upper)
        }
    };
    // DynamoDB refuses names that the expression does not use.
    let names: &[(&str, &str)] = if text.contains("#k") {
        &[("#p", P), ("#k", K)]
    } else {
        &[("#p", P)]
    };
    KeyCondition {
        expr: expr(text, names, values),
        drop_lower,
        drop_upper,
    }
}

impl DynamoStore {
    /// Builds an SDK client from `config` and opens the store. Open needs only `DescribeTable`
    /// when the table exists; a missing table is `NotProvisioned` unless `auto_create` is on.
    pub async fn open(config: DynamoConfig) -> Result<Self> {
        config.validate()?;
        let client = client::sdk_client(&config).await?;
        let endpoint = client::endpoint_of(&config, &client);
        Self::with_client(client, &config)
            .await
            .map_err(|e| e.map_message(|m| format!("{m} (table {} at {endpoint})", config.table)))
    }

    /// Opens the store over an SDK client built by the caller (custom interceptors, HTTP
    /// client or credentials); only `table`, `auto_create` and `scan_segments` of `config` are used.
    pub async fn with_client(client: Client, config: &DynamoConfig) -> Result<Self> {
        config.validate()?;
        match table::describe(&client, &config.table).await? {
            Some(desc) => table::check_schema(&config.table, &desc)?,
            None if config.auto_create => table::create(&client, config).await?,
            None => {
                return Err(Error::NotProvisioned {
                    message: format!(
                        "dynamodb table {} does not exist; run `metakv provision` or set database.dynamodb.auto_create = true",
                        config.table
                    ),
                    source: None,
                });
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                table: config.table.clone(),
                segments: config.scan_segments,
                lifecycle: Lifecycle::default(),
            }),
        })
    }

    /// Creates the table if it is missing (on-demand billing) and waits until it is active;
    /// checks an existing table's key schema. Returns whether it created the table (`false`:
    /// it existed, and nothing was changed).
    pub async fn provision(config: &DynamoConfig) -> Result<bool> {
        config.validate()?;
        let client = client::sdk_client(config).await?;
        match table::describe(&client, &config.table).await? {
            Some(desc) => table::check_schema(&config.table, &desc).map(|()| false),
            None => table::create(&client, config).await.map(|()| true),
        }
    }

    /// What [`Self::provision`] would do, changing nothing: a line per step (none when the
    /// table exists with the right key schema). Needs only `DescribeTable`.
    pub async fn plan(config: &DynamoConfig) -> Result<Vec<String>> {
        config.validate()?;
        let client = client::sdk_client(config).await?;
        match table::describe(&client, &config.table).await? {
            Some(desc) => table::check_schema(&config.table, &desc).map(|()| Vec::new()),
            None => Ok(vec![format!(
                "create table {}: hash key p (binary), range key k (binary), on-demand billing; wait until it is active",
                config.table
            )]),
        }
    }

    /// The table's settings that bear on the data: status, billing and capacity against the
    /// account's per-table limit, point-in-time recovery, deletion protection. Needs
    /// `DescribeTable`, `DescribeContinuousBackups` and `DescribeLimits`; what it may not read
    /// is reported as unknown.
    pub async fn inspect(config: &DynamoConfig) -> Result<Vec<kv_core::Finding>> {
        use aws_sdk_dynamodb::error::ProvideErrorMetadata;
        use aws_sdk_dynamodb::types::{BillingMode, PointInTimeRecoveryStatus};
        config.validate()?;
        let client = client::sdk_client(config).await?;
        let Some(desc) = table::describe(&client, &config.table).await? else {
            return Ok(vec![kv_core::Finding::risk(
                "table",
                format!("{} does not exist; run `metakv provision`", config.table),
            )]);
        };
        let why = |e: &dyn ProvideErrorMetadata| {
            e.code().or(e.message()).unwrap_or("no answer").to_string()
        };
        let on_demand = desc
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .is_some_and(|m| *m == BillingMode::PayPerRequest);
        let throughput = desc.provisioned_throughput();
        let billing = if on_demand {
            crate::inspect::Billing::OnDemand
        } else {
            crate::inspect::Billing::Provisioned {
                read: throughput
                    .and_then(|t| t.read_capacity_units())
                    .unwrap_or(0),
                write: throughput
                    .and_then(|t| t.write_capacity_units())
                    .unwrap_or(0),
            }
        };
        let point_in_time_recovery = match client
            .describe_continuous_backups()
            .table_name(&config.table)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .continuous_backups_description()
                .and_then(|d| d.point_in_time_recovery_description())
                .and_then(|p| p.point_in_time_recovery_status())
                .is_some_and(|s| *s == PointInTimeRecoveryStatus::Enabled)),
            Err(e) => Err(why(&e)),
        };
        let table_limits = match client.describe_limits().send().await {
            Ok(out) => Ok((
                out.table_max_read_capacity_units().unwrap_or(0),
                out.table_max_write_capacity_units().unwrap_or(0),
            )),
            Err(e) => Err(why(&e)),
        };
        Ok(crate::inspect::findings(&crate::inspect::Facts {
            table: config.table.clone(),
            status: desc
                .table_status()
                .map_or("UNKNOWN", |s| s.as_str())
                .to_string(),
            billing,
            deletion_protection: desc.deletion_protection_enabled(),
            point_in_time_recovery,
            table_limits,
        }))
    }

    fn client(&self) -> Result<&Client> {
        self.inner.lifecycle.check()?;
        Ok(&self.inner.client)
    }

    fn table(&self) -> &str {
        &self.inner.table
    }
}

#[async_trait]
impl KvStore for DynamoStore {
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>> {
        let out = self
            .client()?
            .get_item()
            .table_name(self.table())
            .set_key(Some(key_of(partition, key)))
            .consistent_read(true)
            .return_consumed_capacity(TOTAL)
            .send()
            .await
            .map_err(|e| map_sdk("reading an entry", false, e))?;
        record_capacity("get", out.consumed_capacity());
        out.item
            .map(|item| {
                value_and_version(&item).map(|(value, version)| Versioned { value, version })
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
        let version = Version::random();
        let e = put_expr(condition);
        let mut request = self
            .client()?
            .put_item()
            .table_name(self.table())
            .set_item(Some(item(partition, key, value, &version)))
            .set_condition_expression(e.text.map(str::to_string))
            .set_expression_attribute_names(non_empty(e.names))
            .set_expression_attribute_values(non_empty(e.values))
            .return_consumed_capacity(TOTAL);
        if *condition == Condition::None {
            // Only an unconditional put does not know whether it creates the key.
            request = request.return_values(ReturnValue::AllOld);
        }
        let out = request
            .send()
            .await
            .map_err(|e| map_sdk("writing an entry", true, e))?;
        record_capacity("put", out.consumed_capacity());
        let created = match condition {
            Condition::None => out.attributes.as_ref().is_none_or(HashMap::is_empty),
            Condition::Absent => true,
            Condition::Exists | Condition::Version(_) => false,
        };
        Ok(Written { version, created })
    }

    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool> {
        let e = delete_expr(condition);
        let result = self
            .client()?
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_of(partition, key)))
            .set_condition_expression(e.text.map(str::to_string))
            .set_expression_attribute_names(non_empty(e.names))
            .set_expression_attribute_values(non_empty(e.values))
            .return_consumed_capacity(TOTAL)
            .send()
            .await;
        match result {
            Ok(out) => {
                record_capacity("delete", out.consumed_capacity());
                Ok(true)
            }
            Err(err) => match (map_sdk("deleting an entry", true, err), condition) {
                (e, DeleteCondition::None) if e.kind() == ErrorKind::ConditionFailed => Ok(false),
                (e, _) => Err(e),
            },
        }
    }

    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage> {
        let client = self.client()?;
        if request.is_empty() {
            return Ok(request.empty_page());
        }
        let range = request.range();
        let condition = key_condition(partition, &range.lower, &range.upper);
        let mut names = condition.expr.names.clone();
        // A keys-only scan reads the same items but transfers only keys and versions.
        let projection = request.keys_only().then(|| {
            names.insert("#k".into(), K.into());
            names.insert("#ver".into(), VER.into());
            "#k, #ver"
        });
        // One more than the page tells whether another page follows.
        let want = request.page_limit() + 1;
        let mut entries = Vec::with_capacity(want);
        let mut start: Option<Item> = None;
        let mut more_in_table = true;
        while entries.len() < want && more_in_table {
            // Two extra rows cover the boundary keys that may be dropped below.
            let limit = i32::try_from(want - entries.len() + 2).unwrap_or(i32::MAX);
            let out = client
                .query()
                .table_name(self.table())
                .key_condition_expression(condition.expr.text.unwrap_or_default())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(condition.expr.values.clone()))
                .set_projection_expression(projection.map(str::to_string))
                .consistent_read(true)
                .scan_index_forward(!request.reverse())
                .limit(limit)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(TOTAL)
                .send()
                .await
                .map_err(|e| map_sdk("scanning", false, e))?;
            record_capacity("scan_page", out.consumed_capacity());
            for found in out.items() {
                let k = bytes(found, K)?;
                if condition.drop_lower.as_deref() == Some(k)
                    || condition.drop_upper.as_deref() == Some(k)
                {
                    continue;
                }
                let (value, version) = if request.keys_only() {
                    (Value::default(), version_of(found)?)
                } else {
                    value_and_version(found)?
                };
                entries.push(Entry {
                    key: Key::new(k)?,
                    value,
                    version,
                });
            }
            // An empty page with a LastEvaluatedKey is not the end: keep following it.
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => more_in_table = false,
            }
        }
        let more = entries.len() > request.page_limit();
        entries.truncate(request.page_limit());
        request.page(entries, more)
    }

    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        let client = self.client()?;
        // One BatchGetItem (it takes 100 keys, the multi-get limit); what DynamoDB leaves
        // unprocessed (answers over 16 MB, throttling) is asked again with a growing pause.
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(
                keys.keys().iter().map(|k| key_of(partition, k)).collect(),
            ))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::backend("building a multi-get", e))?;
        let mut found: HashMap<Vec<u8>, Versioned> = HashMap::with_capacity(keys.len());
        for attempt in 0..12u32 {
            // Keys left over only because the answer was full go again at once.
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
            let out = client
                .batch_get_item()
                .request_items(self.table(), pending)
                .return_consumed_capacity(TOTAL)
                .send()
                .await
                .map_err(|e| map_sdk("reading entries", false, e))?;
            record_capacities("get_many", out.consumed_capacity());
            for item in out
                .responses
                .and_then(|mut r| r.remove(self.table()))
                .unwrap_or_default()
            {
                let (value, version) = value_and_version(&item)?;
                found.insert(bytes(&item, K)?.to_vec(), Versioned { value, version });
            }
            match out
                .unprocessed_keys
                .and_then(|mut u| u.remove(self.table()))
            {
                Some(left) if !left.keys().is_empty() => pending = left,
                _ => {
                    return Ok(keys
                        .keys()
                        .iter()
                        .map(|k| found.remove(k.as_bytes()))
                        .collect());
                }
            }
        }
        Err(Error::Throttled {
            retry_after: None,
            source: Some("unprocessed keys of a multi-get remain".into()),
        })
    }

    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let client = self.client()?;
        let condition = key_condition(partition, &range.lower, &range.upper);
        let mut names = condition.expr.names.clone();
        names.insert("#k".into(), K.into());
        // Only keys come back (the read costs the same as a full query): the boundary keys
        // an inclusive BETWEEN adds are dropped here, exactly as a scan drops them.
        let mut n = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = client
                .query()
                .table_name(self.table())
                .key_condition_expression(condition.expr.text.unwrap_or_default())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(condition.expr.values.clone()))
                .projection_expression("#k")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(TOTAL)
                .send()
                .await
                .map_err(|e| map_sdk("counting", false, e))?;
            record_capacity("count", out.consumed_capacity());
            for found in out.items() {
                let k = bytes(found, K)?;
                if condition.drop_lower.as_deref() != Some(k)
                    && condition.drop_upper.as_deref() != Some(k)
                {
                    n += 1;
                }
            }
            match out.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(n),
            }
        }
    }

    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>> {
        let client = self.client()?;
        let mut versions = Vec::with_capacity(batch.len());
        let mut items = Vec::with_capacity(batch.len());
        for op in batch.ops() {
            let built = match op {
                BatchOp::Put {
                    key,
                    value,
                    condition,
                } => {
                    let version = Version::random();
                    let e = put_expr(condition);
                    let put = Put::builder()
                        .table_name(self.table())
                        .set_item(Some(item(partition, key, value, &version)))
                        .set_condition_expression(e.text.map(str::to_string))
                        .set_expression_attribute_names(non_empty(e.names))
                        .set_expression_attribute_values(non_empty(e.values))
                        .build();
                    versions.push(Some(version));
                    TransactWriteItem::builder()
                        .put(put.map_err(|e| Error::backend("building a batch", e))?)
                        .build()
                }
                BatchOp::Delete { key, condition } => {
                    // Inside a transaction a failed check cancels everything, so an
                    // unconditional delete must carry no check.
                    let e = match condition {
                        DeleteCondition::None => Expr::default(),
                        other => delete_expr(other),
                    };
                    let delete = Delete::builder()
                        .table_name(self.table())
                        .set_key(Some(key_of(partition, key)))
                        .set_condition_expression(e.text.map(str::to_string))
                        .set_expression_attribute_names(non_empty(e.names))
                        .set_expression_attribute_values(non_empty(e.values))
                        .build();
                    versions.push(None);
                    TransactWriteItem::builder()
                        .delete(delete.map_err(|e| Error::backend("building a batch", e))?)
                        .build()
                }
            };
            items.push(built);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .return_consumed_capacity(TOTAL)
                .send()
                .await;
            let err = match result {
                Ok(out) => {
                    record_capacities("batch", out.consumed_capacity());
                    return Ok(versions);
                }
                Err(err) => err,
            };
            if let SdkError::ServiceError(ctx) = &err
                && let TransactWriteItemsError::TransactionCanceledException(cancelled) = ctx.err()
            {
                let reasons = cancelled.cancellation_reasons();
                if let Some(index) = reasons
                    .iter()
                    .position(|r| r.code() == Some("ConditionalCheckFailed"))
                {
                    return Err(Error::condition_failed_at(index));
                }
                let conflict = reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"));
                if conflict && attempt < TRANSACTION_ATTEMPTS {
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                    continue;
                }
            }
            if err.code() == Some("TransactionConflictException") && attempt < TRANSACTION_ATTEMPTS
            {
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                continue;
            }
            return Err(map_sdk("applying a batch", true, err));
        }
    }

    async fn delete_partition(&self, partition: &Partition) -> Result<()> {
        let client = self.client()?;
        let condition = key_condition(partition, &Bound::Unbounded, &Bound::Unbounded);
        let mut names = condition.expr.names.clone();
        names.insert("#k".into(), K.into());
        loop {
            let out = client
                .query()
                .table_name(self.table())
                .key_condition_expression(condition.expr.text.unwrap_or_default())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(condition.expr.values.clone()))
                .projection_expression("#p, #k")
                .consistent_read(true)
                .limit(500)
                .return_consumed_capacity(TOTAL)
                .send()
                .await
                .map_err(|e| map_sdk("listing a partition", false, e))?;
            record_capacity("delete_partition", out.consumed_capacity());
            if out.items().is_empty() {
                return Ok(());
            }
            for chunk in out.items().chunks(25) {
                let mut requests: Vec<WriteRequest> = chunk
                    .iter()
                    .map(|found| {
                        let key = [P, K]
                            .iter()
                            .filter_map(|a| found.get(*a).map(|v| (a.to_string(), v.clone())))
                            .collect();
                        let delete = DeleteRequest::builder()
                            .set_key(Some(key))
                            .build()
                            .map_err(|e| Error::backend("building a delete", e))?;
                        Ok(WriteRequest::builder().delete_request(delete).build())
                    })
                    .collect::<Result<_>>()?;
                // Unprocessed items (throttling) are sent again with a growing pause.
                for attempt in 0..12u32 {
                    let out = client
                        .batch_write_item()
                        .request_items(self.table(), requests)
                        .return_consumed_capacity(TOTAL)
                        .send()
                        .await
                        .map_err(|e| map_sdk("deleting a partition", true, e))?;
                    record_capacities("delete_partition", out.consumed_capacity());
                    requests = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(self.table()))
                        .unwrap_or_default();
                    if requests.is_empty() {
                        break;
                    }
                    if attempt == 11 {
                        return Err(Error::Throttled {
                            retry_after: None,
                            source: Some("unprocessed deletes remain".into()),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
                }
            }
        }
    }

    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage> {
        let client = self.client()?;
        let count = self.inner.segments as usize;
        let mut segments = match page_token {
            None => vec![Segment::Start; count],
            Some(token) => export::decode(token, count)?,
        };
        let active: Vec<usize> = (0..count)
            .filter(|i| segments[*i] != Segment::Done)
            .collect();
        let per_segment =
            (page_size.clamp(1, kv_core::limits::MAX_PAGE_SIZE) / active.len().max(1)).max(1);
        let scans = active.iter().map(|&i| {
            let start = match &segments[i] {
                Segment::After(p, k) => Some(key_of(p, k)),
                _ => None,
            };
            client
                .scan()
                .table_name(self.table())
                // One segment is a plain Scan (no Segment/TotalSegments parameters).
                .set_segment((count > 1).then_some(i as i32))
                .set_total_segments((count > 1).then_some(count as i32))
                .consistent_read(true)
                .limit(per_segment as i32)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(TOTAL)
                .send()
        });
        let results = futures::future::join_all(scans).await;
        let mut entries = Vec::new();
        for (&i, result) in active.iter().zip(results) {
            let out = result.map_err(|e| map_sdk("exporting", false, e))?;
            record_capacity("export_page", out.consumed_capacity());
            for found in out.items() {
                let (value, version) = value_and_version(found)?;
                entries.push(ExportEntry {
                    partition: Partition::new(bytes(found, P)?)?,
                    entry: Entry {
                        key: Key::new(bytes(found, K)?)?,
                        value,
                        version,
                    },
                });
            }
            segments[i] = match out.last_evaluated_key {
                Some(last) => Segment::After(
                    Partition::new(bytes(&last, P)?)?,
                    Key::new(bytes(&last, K)?)?,
                ),
                None => Segment::Done,
            };
        }
        let next_page_token = segments
            .iter()
            .any(|s| *s != Segment::Done)
            .then(|| export::encode(&segments));
        Ok(ExportPage {
            entries,
            next_page_token,
        })
    }

    async fn ping(&self) -> Result<()> {
        let client = self.client()?;
        match table::describe(client, self.table()).await? {
            Some(_) => Ok(()),
            None => Err(Error::NotProvisioned {
                message: format!("dynamodb table {} is gone", self.table()),
                source: None,
            }),
        }
    }

    async fn close(&self) -> Result<()> {
        self.inner.lifecycle.close();
        Ok(())
    }
}
