//! The `KvStore` trait of driver primitives and the `KvStoreExt` conveniences.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::{
    Batch, Condition, DeleteCondition, Entry, Key, KeyList, KeyRange, Partition, Result,
    ScanOptions, ScanPage, ScanRequest, Value, Version, Versioned, Written, pagination,
};

/// One entry of an export: the partition it belongs to and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEntry {
    /// The partition.
    pub partition: Partition,
    /// The entry.
    pub entry: Entry,
}

/// One page of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPage {
    /// Entries, in an order of the driver's choosing.
    pub entries: Vec<ExportEntry>,
    /// Where to resume; `None` when the export is complete. Opaque and driver-specific.
    pub next_page_token: Option<String>,
}

impl ExportPage {
    /// A page of a store that exports in (partition, key) order: when the page is full, the
    /// token resumes after its last entry (see [`export_token`]).
    pub fn keyset(entries: Vec<ExportEntry>, page_size: usize) -> Self {
        let next_page_token = (entries.len() == page_size)
            .then(|| entries.last())
            .flatten()
            .map(|last| export_token::encode(&last.partition, &last.entry.key));
        Self {
            entries,
            next_page_token,
        }
    }
}

/// The primitives every driver implements, with exactly the semantics of the contract
/// (see the crate documentation). Inputs arrive validated: their types cannot hold a value
/// outside the limits.
///
/// Object safe: the server holds an `Arc<dyn KvStore>`. Streams and other conveniences are in
/// [`KvStoreExt`].
#[async_trait]
pub trait KvStore: Debug + Send + Sync + 'static {
    /// The value and version at `key`, or `None` when absent.
    async fn get(&self, partition: &Partition, key: &Key) -> Result<Option<Versioned>>;

    /// Writes `value` at `key` if `condition` holds and returns the new version and whether the
    /// key was created; `ConditionFailed` (changing nothing) otherwise.
    async fn put(
        &self,
        partition: &Partition,
        key: &Key,
        value: &Value,
        condition: &Condition,
    ) -> Result<Written>;

    /// Removes `key` if `condition` holds; returns whether an entry was removed.
    async fn delete(
        &self,
        partition: &Partition,
        key: &Key,
        condition: &DeleteCondition,
    ) -> Result<bool>;

    /// One page of a scan: the entries of `request.range()` in the request's direction, at
    /// most `request.page_limit()` of them, built with [`ScanRequest::page`].
    async fn scan_page(&self, partition: &Partition, request: &ScanRequest) -> Result<ScanPage>;

    /// The entries at `keys`, one per key in the order asked, `None` for an absent key. Each
    /// answer was current at some moment during the call (a multi-get is not a snapshot
    /// across keys). Drivers answer in one round trip where the database allows; this default
    /// reads the keys one by one.
    async fn get_many(
        &self,
        partition: &Partition,
        keys: &KeyList,
    ) -> Result<Vec<Option<Versioned>>> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys.keys() {
            found.push(self.get(partition, key).await?);
        }
        Ok(found)
    }

    /// How many entries of the partition lie in `range`. Like a scan, not a snapshot: entries
    /// unchanged during the count are counted exactly once. Drivers count in the database;
    /// this default pages through a keys-only scan.
    async fn count(&self, partition: &Partition, range: &KeyRange) -> Result<u64> {
        let mut options = range
            .to_options()
            .keys_only()
            .with_page_size(crate::limits::MAX_PAGE_SIZE);
        let mut n = 0;
        loop {
            let request = ScanRequest::for_partition(partition.as_bytes(), &options)?;
            if request.is_empty() {
                return Ok(n);
            }
            let page = self.scan_page(partition, &request).await?;
            n += page.entries.len() as u64;
            match page.next_page_token {
                Some(token) => options.page_token = Some(token),
                None => return Ok(n),
            }
        }
    }

    /// Applies every operation or none. Returns one version per operation (`None` for
    /// deletes); on a failed condition, `ConditionFailed` with the index of the first failing
    /// operation.
    async fn batch(&self, partition: &Partition, batch: &Batch) -> Result<Vec<Option<Version>>>;

    /// Removes every entry of the partition. Idempotent; the partition is empty once it
    /// returns.
    async fn delete_partition(&self, partition: &Partition) -> Result<()>;

    /// One page of the export of every entry of every partition. `page_token` is `None` for
    /// the first page; `page_size` is a hint.
    async fn export_page(&self, page_token: Option<&str>, page_size: usize) -> Result<ExportPage>;

    /// Whether the database answers; used by readiness checks.
    async fn ping(&self) -> Result<()>;

    /// Releases resources. Afterwards every operation fails with `Closed`. Idempotent.
    async fn close(&self) -> Result<()>;
}

/// Conveniences over any shared store: owned (`'static`) streams built by the one pagination
/// helper, and page-level scans with tokens.
pub trait KvStoreExt {
    /// Every entry matching `options`, in order, fetched page by page. The stream owns what it
    /// needs. It ends with an error if the driver repeats a page token.
    fn scan(
        &self,
        partition: &Partition,
        options: ScanOptions,
    ) -> BoxStream<'static, Result<Entry>>;

    /// Every entry of every partition, page by page.
    fn export(&self) -> BoxStream<'static, Result<ExportEntry>>;
}

impl<S: KvStore + ?Sized> KvStoreExt for Arc<S> {
    fn scan(
        &self,
        partition: &Partition,
        options: ScanOptions,
    ) -> BoxStream<'static, Result<Entry>> {
        pagination::scan(Arc::clone(self), partition.clone(), options)
    }

    fn export(&self) -> BoxStream<'static, Result<ExportEntry>> {
        pagination::export(Arc::clone(self))
    }
}

/// How many entries of `partition` lie in the bounds of `options` (`prefix`, `start`, `after`,
/// `end`; a `limit`, a page token or `reverse` is refused: a count has none). Validates, then
/// the driver's [`KvStore::count`].
pub async fn count<S: KvStore + ?Sized>(
    store: &S,
    partition: &Partition,
    options: &ScanOptions,
) -> Result<u64> {
    if options.limit.is_some() || options.page_token.is_some() || options.reverse {
        return Err(crate::Error::invalid(
            "a count takes only bounds (prefix, start, after, end); not limit, page_token or reverse",
        ));
    }
    let request = ScanRequest::for_partition(partition.as_bytes(), options)?;
    if request.range().is_empty() {
        return Ok(0);
    }
    store.count(partition, request.range()).await
}

/// One page of a scan described by caller-level options (bounds, limit, page token): the
/// validation and the empty-range shortcut happen here, then the driver's
/// [`KvStore::scan_page`].
pub async fn scan_page<S: KvStore + ?Sized>(
    store: &S,
    partition: &Partition,
    options: &ScanOptions,
) -> Result<ScanPage> {
    let request = ScanRequest::for_partition(partition.as_bytes(), options)?;
    if request.is_empty() {
        return Ok(request.empty_page());
    }
    store.scan_page(partition, &request).await
}

/// Export page tokens for drivers that export in (partition, key) order: the last partition
/// and key returned, in URL-safe base64 with a CRC-32 so that damaged tokens are refused.
pub mod export_token {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::{Error, Key, Partition, Result};

    /// The CRC-32 of a token, salted with its kind: a scan's page token is not an export's.
    fn salted_crc(body: &[u8]) -> u32 {
        let mut h = crc32fast::Hasher::new();
        h.update(b"metakv-export-token");
        h.update(body);
        h.finalize()
    }

    /// The token that resumes after `key` of `partition`.
    pub fn encode(partition: &Partition, key: &Key) -> String {
        let p = partition.as_bytes();
        let mut raw = Vec::with_capacity(2 + p.len() + key.as_bytes().len() + 4);
        raw.extend_from_slice(&(p.len() as u16).to_be_bytes());
        raw.extend_from_slice(p);
        raw.extend_from_slice(key.as_bytes());
        let crc = salted_crc(&raw);
        raw.extend_from_slice(&crc.to_be_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The partition and key a token resumes after.
    pub fn decode(token: &str) -> Result<(Partition, Key)> {
        let bad = || Error::invalid("malformed export page token");
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        let (body, crc) = raw
            .split_at_checked(raw.len().checked_sub(4).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        if salted_crc(body).to_be_bytes() != crc || body.len() < 2 {
            return Err(bad());
        }
        let plen = u16::from_be_bytes([body[0], body[1]]) as usize;
        let rest = &body[2..];
        let (p, k) = rest.split_at_checked(plen).ok_or_else(bad)?;
        Ok((
            Partition::new(p).map_err(|_| bad())?,
            Key::new(k).map_err(|_| bad())?,
        ))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trips_and_rejects_damage() {
            let p = crate::Partition::new(b"p\x00/".to_vec()).unwrap();
            let k = crate::Key::new(vec![0xff, 0]).unwrap();
            let token = super::encode(&p, &k);
            assert_eq!(super::decode(&token).unwrap(), (p, k));
            assert!(super::decode("AAAA").is_err());
            assert!(super::decode("").is_err());
        }
    }
}
