//! Scan options, their validation into a key range, and page tokens.
//!
//! Callers describe a scan with [`ScanOptions`]. [`ScanRequest::new`] validates them and turns
//! prefix, bounds and page token into one [`KeyRange`], so a driver only ever sees "keys in this
//! range, this direction, at most this many". Page tokens are made here too, from the last key a
//! page returned (keyset pagination): every driver resumes exactly after that key, and a token
//! stays valid however long the caller waits.

use std::ops::Bound;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::limits::{DEFAULT_PAGE_SIZE, MAX_KEY_LEN, MAX_PAGE_SIZE};
use crate::{Entry, Error, Result};

/// What to scan in one partition. All bounds are raw bytes; empty `prefix` means none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// Only keys that start with these bytes.
    pub prefix: Option<Vec<u8>>,
    /// Inclusive lower bound. Exclusive with `after`.
    pub start: Option<Vec<u8>>,
    /// Exclusive lower bound. Exclusive with `start`.
    pub after: Option<Vec<u8>>,
    /// Exclusive upper bound.
    pub end: Option<Vec<u8>>,
    /// Strictly decreasing key order instead of increasing.
    pub reverse: bool,
    /// At most this many entries in all (across pages). `Some(0)` yields nothing.
    pub limit: Option<usize>,
    /// How many entries each round trip fetches (a hint, clamped to 1..=1000; 0 is invalid).
    pub page_size: Option<usize>,
    /// A token from an earlier page: resume exactly after the last entry it returned.
    pub page_token: Option<String>,
    /// Keys and versions only: every entry comes with an empty value, and drivers do not
    /// fetch values.
    pub keys_only: bool,
}

impl ScanOptions {
    /// A scan of the whole partition in increasing order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys starting with `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<Vec<u8>>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Keys `>= start`.
    pub fn with_start(mut self, start: impl Into<Vec<u8>>) -> Self {
        self.start = Some(start.into());
        self
    }

    /// Keys `> after`.
    pub fn with_after(mut self, after: impl Into<Vec<u8>>) -> Self {
        self.after = Some(after.into());
        self
    }

    /// Keys `< end`.
    pub fn with_end(mut self, end: impl Into<Vec<u8>>) -> Self {
        self.end = Some(end.into());
        self
    }

    /// Decreasing order.
    pub fn reversed(mut self) -> Self {
        self.reverse = true;
        self
    }

    /// Keys and versions only: values come empty and are not fetched.
    pub fn keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    /// At most `limit` entries in all.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Fetch `page_size` entries per round trip.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Resume after the page that returned `token`.
    pub fn with_page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }
}

/// A range of keys: a lower bound (any kind) and an exclusive upper bound (or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub lower: Bound<Vec<u8>>,
    /// Upper bound; never `Included`.
    pub upper: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key.
    pub fn full() -> Self {
        Self {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        let above = match &self.lower {
            Bound::Unbounded => true,
            Bound::Included(l) => key >= l.as_slice(),
            Bound::Excluded(l) => key > l.as_slice(),
        };
        let below = match &self.upper {
            Bound::Unbounded => true,
            Bound::Included(u) => key <= u.as_slice(),
            Bound::Excluded(u) => key < u.as_slice(),
        };
        above && below
    }

    /// Whether no key at all can lie in the range.
    pub fn is_empty(&self) -> bool {
        // The smallest key above an exclusive lower bound `l` is `l` followed by 0x00.
        let least: Vec<u8> = match &self.lower {
            Bound::Unbounded => return matches!(&self.upper, Bound::Excluded(u) if u.is_empty()),
            Bound::Included(l) => l.clone(),
            Bound::Excluded(l) => {
                let mut l = l.clone();
                l.push(0);
                l
            }
        };
        match &self.upper {
            Bound::Unbounded => false,
            Bound::Included(u) => least.as_slice() > u.as_slice(),
            Bound::Excluded(u) => least.as_slice() >= u.as_slice(),
        }
    }

    /// Scan options (bounds only) that cover exactly this range.
    pub fn to_options(&self) -> ScanOptions {
        let mut options = ScanOptions::new();
        match &self.lower {
            Bound::Included(l) => options.start = Some(l.clone()),
            Bound::Excluded(l) => options.after = Some(l.clone()),
            Bound::Unbounded => {}
        }
        match &self.upper {
            Bound::Excluded(u) => options.end = Some(u.clone()),
            Bound::Included(u) => {
                // `end` is exclusive: the least key above `u` is `u` followed by 0x00.
                let mut next = u.clone();
                next.push(0);
                options.end = Some(next);
            }
            Bound::Unbounded => {}
        }
        options
    }

    /// The bounds as borrowed slices, e.g. for `BTreeMap::range`.
    pub fn as_slices(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (as_slice(&self.lower), as_slice(&self.upper))
    }

    fn raise_lower(&mut self, bound: Bound<Vec<u8>>) {
        let tighter = match (&self.lower, &bound) {
            (_, Bound::Unbounded) => false,
            (Bound::Unbounded, _) => true,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b)) => b > a,
            (Bound::Included(a), Bound::Excluded(b)) => b >= a,
            (Bound::Excluded(a), Bound::Excluded(b)) => b > a,
        };
        if tighter {
            self.lower = bound;
        }
    }

    fn lower_upper(&mut self, bound: Bound<Vec<u8>>) {
        let tighter = match (&self.upper, &bound) {
            (_, Bound::Unbounded) => false,
            (Bound::Unbounded, _) => true,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b)) => b <= a,
            (Bound::Excluded(a), Bound::Included(b)) => b < a,
            (Bound::Included(a), Bound::Included(b)) => b < a,
        };
        if tighter {
            self.upper = bound;
        }
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(b) => Bound::Included(b.as_slice()),
        Bound::Excluded(b) => Bound::Excluded(b.as_slice()),
    }
}

/// The least byte string greater than every string starting with `prefix`, or `None` when
/// there is none (the prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < 0xff {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

/// A validated scan, as drivers receive it: one key range, a direction, and how many entries
/// this page may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    range: KeyRange,
    reverse: bool,
    page_limit: usize,
    remaining: Option<u64>,
    /// What a page token of this scan is bound to: a digest of the partition and the bounds.
    scope: u32,
    keys_only: bool,
}

/// The digest a page token carries: the partition and the scan's own bounds (before any
/// token), so that a token only resumes the scan that produced it.
fn scope(partition: &[u8], range: &KeyRange) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(b"metakv-scan-scope");
    h.update(&(partition.len() as u32).to_be_bytes());
    h.update(partition);
    for bound in [&range.lower, &range.upper] {
        match bound {
            Bound::Unbounded => h.update(&[0]),
            Bound::Included(k) => {
                h.update(&[1]);
                h.update(&(k.len() as u32).to_be_bytes());
                h.update(k);
            }
            Bound::Excluded(k) => {
                h.update(&[2]);
                h.update(&(k.len() as u32).to_be_bytes());
                h.update(k);
            }
        }
    }
    h.finalize()
}

impl ScanRequest {
    /// Validates `options` (bounds at most 1024 bytes, not both `start` and `after`, a nonzero
    /// page size, a well-formed page token of the same direction) and resolves them into a
    /// range.
    pub fn new(options: &ScanOptions) -> Result<Self> {
        Self::for_partition(&[], options)
    }

    /// As [`ScanRequest::new`], for a scan of `partition`: its page tokens resume only a scan
    /// of the same partition with the same bounds and direction (another one is refused with
    /// `InvalidArgument`). [`crate::scan_page`] uses this.
    pub fn for_partition(partition: &[u8], options: &ScanOptions) -> Result<Self> {
        for (name, bound) in [
            ("prefix", &options.prefix),
            ("start", &options.start),
            ("after", &options.after),
            ("end", &options.end),
        ] {
            if let Some(b) = bound
                && b.len() > MAX_KEY_LEN
            {
                return Err(Error::invalid(format!(
                    "scan bound `{name}` is {} bytes; the limit is {MAX_KEY_LEN}",
                    b.len()
                )));
            }
        }
        if options.start.is_some() && options.after.is_some() {
            return Err(Error::invalid(
                "scan bounds `start` and `after` exclude each other; give one lower bound",
            ));
        }
        let page_size = match options.page_size {
            Some(0) => return Err(Error::invalid("scan `page_size` must be at least 1")),
            Some(n) => n.min(MAX_PAGE_SIZE),
            None => DEFAULT_PAGE_SIZE,
        };

        let mut range = KeyRange::full();
        if let Some(prefix) = options.prefix.as_ref().filter(|p| !p.is_empty()) {
            range.raise_lower(Bound::Included(prefix.clone()));
            if let Some(next) = prefix_successor(prefix) {
                range.lower_upper(Bound::Excluded(next));
            }
        }
        if let Some(start) = &options.start {
            range.raise_lower(Bound::Included(start.clone()));
        }
        if let Some(after) = &options.after {
            range.raise_lower(Bound::Excluded(after.clone()));
        }
        if let Some(end) = &options.end {
            range.lower_upper(Bound::Excluded(end.clone()));
        }

        let scope = scope(partition, &range);
        let mut remaining = options.limit.map(|l| l as u64);
        if let Some(token) = &options.page_token {
            let cursor = PageCursor::decode(token)?;
            if cursor.reverse != options.reverse {
                return Err(Error::invalid(
                    "page token belongs to a scan in the other direction",
                ));
            }
            if cursor.scope != scope {
                return Err(Error::invalid(
                    "page token belongs to another scan (another partition or other bounds); pass the options of the scan that returned it",
                ));
            }
            if cursor.reverse {
                range.lower_upper(Bound::Excluded(cursor.last_key));
            } else {
                range.raise_lower(Bound::Excluded(cursor.last_key));
            }
            if cursor.remaining.is_some() {
                remaining = cursor.remaining;
            }
        }

        let page_limit = match remaining {
            Some(r) => (r.min(page_size as u64)) as usize,
            None => page_size,
        };
        Ok(Self {
            range,
            reverse: options.reverse,
            page_limit,
            remaining,
            scope,
            keys_only: options.keys_only,
        })
    }

    /// The keys to return.
    pub fn range(&self) -> &KeyRange {
        &self.range
    }

    /// Whether keys come in decreasing order.
    pub fn reverse(&self) -> bool {
        self.reverse
    }

    /// Whether the caller wants keys and versions only: a driver need not fetch values (the
    /// page drops any it returns).
    pub fn keys_only(&self) -> bool {
        self.keys_only
    }

    /// The most entries this page may hold (0 only when [`Self::is_empty`]).
    pub fn page_limit(&self) -> usize {
        self.page_limit
    }

    /// Whether the scan can return nothing (empty range or limit reached); drivers answer an
    /// empty page without I/O.
    pub fn is_empty(&self) -> bool {
        self.page_limit == 0 || self.range.is_empty()
    }

    /// Builds the page a driver returns: `entries` in scan order, at most
    /// [`Self::page_limit`] of them, and whether the database may hold more in the range after
    /// the last one. The page token is made here from the last key.
    pub fn page(&self, mut entries: Vec<Entry>, may_have_more: bool) -> Result<ScanPage> {
        if entries.len() > self.page_limit {
            return Err(Error::Backend {
                message: format!(
                    "driver returned {} entries for a page of at most {}",
                    entries.len(),
                    self.page_limit
                ),
                source: None,
            });
        }
        if self.keys_only {
            for entry in &mut entries {
                entry.value = crate::Value::default();
            }
        }
        let remaining = self.remaining.map(|r| r - entries.len() as u64);
        let next_page_token = match entries.last() {
            Some(last) if may_have_more && remaining != Some(0) => Some(
                PageCursor {
                    reverse: self.reverse,
                    remaining,
                    scope: self.scope,
                    last_key: last.key.as_bytes().to_vec(),
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(ScanPage {
            entries,
            next_page_token,
        })
    }

    /// An empty last page.
    pub fn empty_page(&self) -> ScanPage {
        ScanPage {
            entries: Vec::new(),
            next_page_token: None,
        }
    }
}

/// One page of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPage {
    /// Entries in scan order.
    pub entries: Vec<Entry>,
    /// Where to resume; `None` when the scan is complete.
    pub next_page_token: Option<String>,
}

/// What a page token holds. Opaque to callers: URL-safe base64 of a format byte, flags, the
/// remaining limit, the scope (a digest of the partition and bounds), the last key and a
/// CRC-32, salted with the token's kind, that rejects damaged or invented tokens and export
/// tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PageCursor {
    reverse: bool,
    remaining: Option<u64>,
    scope: u32,
    last_key: Vec<u8>,
}

/// Format 2: with the scope (format 1 had none, and is refused).
const TOKEN_FORMAT: u8 = 2;
const TOKEN_SALT: &[u8] = b"metakv-scan-token";

fn token_crc(body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(TOKEN_SALT);
    h.update(body);
    h.finalize()
}
const FLAG_REVERSE: u8 = 1;
const FLAG_REMAINING: u8 = 2;

impl PageCursor {
    fn encode(&self) -> String {
        let mut raw = vec![TOKEN_FORMAT, 0];
        if self.reverse {
            raw[1] |= FLAG_REVERSE;
        }
        if let Some(r) = self.remaining {
            raw[1] |= FLAG_REMAINING;
            raw.extend_from_slice(&r.to_be_bytes());
        }
        raw.extend_from_slice(&self.scope.to_be_bytes());
        raw.extend_from_slice(&self.last_key);
        let crc = token_crc(&raw);
        raw.extend_from_slice(&crc.to_be_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(token: &str) -> Result<Self> {
        let bad = || Error::invalid("malformed page token");
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
        if raw.len() < 2 + 4 + 1 + 4 {
            return Err(bad());
        }
        let (body, crc) = raw.split_at(raw.len() - 4);
        if token_crc(body).to_be_bytes() != crc {
            return Err(bad());
        }
        let (format, flags, mut rest) = (body[0], body[1], &body[2..]);
        if format != TOKEN_FORMAT || flags & !(FLAG_REVERSE | FLAG_REMAINING) != 0 {
            return Err(bad());
        }
        let remaining = if flags & FLAG_REMAINING != 0 {
            let (n, tail) = rest.split_at_checked(8).ok_or_else(bad)?;
            rest = tail;
            Some(u64::from_be_bytes(n.try_into().map_err(|_| bad())?))
        } else {
            None
        };
        let (scope, rest) = rest.split_at_checked(4).ok_or_else(bad)?;
        if rest.is_empty() || rest.len() > MAX_KEY_LEN {
            return Err(bad());
        }
        Ok(Self {
            reverse: flags & FLAG_REVERSE != 0,
            remaining,
            scope: u32::from_be_bytes(scope.try_into().map_err(|_| bad())?),
            last_key: rest.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range(options: ScanOptions) -> KeyRange {
        ScanRequest::new(&options).unwrap().range
    }

    #[test]
    fn prefix_becomes_a_half_open_range() {
        let r = range(ScanOptions::new().with_prefix(b"ab".to_vec()));
        assert_eq!(r.lower, Bound::Included(b"ab".to_vec()));
        assert_eq!(r.upper, Bound::Excluded(b"ac".to_vec()));
        let r = range(ScanOptions::new().with_prefix(vec![b'a', 0xff, 0xff]));
        assert_eq!(r.upper, Bound::Excluded(b"b".to_vec()));
        let r = range(ScanOptions::new().with_prefix(vec![0xff]));
        assert_eq!(r.upper, Bound::Unbounded);
    }

    #[test]
    fn tighter_bounds_win() {
        let r = range(
            ScanOptions::new()
                .with_prefix(b"a".to_vec())
                .with_after(b"ab".to_vec())
                .with_end(b"az".to_vec()),
        );
        assert_eq!(r.lower, Bound::Excluded(b"ab".to_vec()));
        assert_eq!(r.upper, Bound::Excluded(b"az".to_vec()));
        let r = range(
            ScanOptions::new()
                .with_prefix(b"b".to_vec())
                .with_start(b"a".to_vec()),
        );
        assert_eq!(r.lower, Bound::Included(b"b".to_vec()));
    }

    #[test]
    fn empty_ranges_are_detected() {
        let empty = |o: ScanOptions| ScanRequest::new(&o).unwrap().is_empty();
        assert!(empty(
            ScanOptions::new()
                .with_start(b"b".to_vec())
                .with_end(b"b".to_vec())
        ));
        assert!(empty(
            ScanOptions::new()
                .with_start(b"c".to_vec())
                .with_end(b"b".to_vec())
        ));
        assert!(empty(
            ScanOptions::new()
                .with_after(b"a".to_vec())
                .with_end(b"a\x00".to_vec())
        ));
        assert!(!empty(
            ScanOptions::new()
                .with_after(b"a".to_vec())
                .with_end(b"a\x00\x00".to_vec())
        ));
        assert!(empty(
            ScanOptions::new()
                .with_prefix(b"a".to_vec())
                .with_start(b"b".to_vec())
        ));
        assert!(empty(ScanOptions::new().with_end(Vec::new())));
        assert!(empty(ScanOptions::new().with_limit(0)));
        assert!(!empty(ScanOptions::new()));
    }

    #[test]
    fn bad_options_are_invalid_arguments() {
        let err = |o: ScanOptions| ScanRequest::new(&o).unwrap_err().kind();
        use crate::ErrorKind::InvalidArgument;
        assert_eq!(
            err(ScanOptions::new()
                .with_start(b"a".to_vec())
                .with_after(b"a".to_vec())),
            InvalidArgument
        );
        assert_eq!(err(ScanOptions::new().with_page_size(0)), InvalidArgument);
        assert_eq!(
            err(ScanOptions::new().with_end(vec![0; MAX_KEY_LEN + 1])),
            InvalidArgument
        );
        assert_eq!(
            err(ScanOptions::new().with_page_token("not a token")),
            InvalidArgument
        );
        assert_eq!(err(ScanOptions::new().with_page_token("")), InvalidArgument);
    }

    #[test]
    fn tokens_carry_direction_and_remaining_limit() {
        let entry = |k: &[u8]| Entry {
            key: crate::Key::new(k).unwrap(),
            value: crate::Value::default(),
            version: crate::Version::new("v").unwrap(),
        };
        let req = ScanRequest::new(&ScanOptions::new().with_limit(5).with_page_size(2)).unwrap();
        assert_eq!(req.page_limit(), 2);
        let page = req.page(vec![entry(b"a"), entry(b"b")], true).unwrap();
        let token = page.next_page_token.unwrap();
        let next = ScanRequest::new(&ScanOptions::new().with_page_size(2).with_page_token(&token))
            .unwrap();
        assert_eq!(next.range.lower, Bound::Excluded(b"b".to_vec()));
        assert_eq!(next.remaining, Some(3));
        let reversed = ScanOptions::new().reversed().with_page_token(token);
        assert!(ScanRequest::new(&reversed).is_err());
        // The last page of a limit has no token.
        let req = ScanRequest::new(&ScanOptions::new().with_limit(1)).unwrap();
        assert_eq!(
            req.page(vec![entry(b"a")], true).unwrap().next_page_token,
            None
        );
    }

    #[test]
    fn a_token_resumes_only_the_scan_that_returned_it() {
        let entry = |k: &[u8]| Entry {
            key: crate::Key::new(k).unwrap(),
            value: crate::Value::default(),
            version: crate::Version::new("v").unwrap(),
        };
        let options = ScanOptions::new()
            .with_prefix(b"a".to_vec())
            .with_page_size(1);
        let req = ScanRequest::for_partition(b"p1", &options).unwrap();
        let token = req
            .page(vec![entry(b"ab")], true)
            .unwrap()
            .next_page_token
            .unwrap();
        let resume = |partition: &[u8], o: ScanOptions| {
            ScanRequest::for_partition(partition, &o.with_page_token(token.clone()))
        };
        assert!(resume(b"p1", options.clone()).is_ok());
        let err = resume(b"p2", options.clone()).unwrap_err();
        assert!(err.to_string().contains("another scan"), "{err}");
        assert!(resume(b"p1", ScanOptions::new().with_prefix(b"b".to_vec())).is_err());
        assert!(resume(b"p1", ScanOptions::new().with_start(b"a".to_vec())).is_err());
        // Neither is an export's token a scan's, nor the other way round.
        assert!(crate::export_token::decode(&token).is_err());
        let p = crate::Partition::try_from("p1").unwrap();
        let k = crate::Key::try_from("ab").unwrap();
        let export = crate::export_token::encode(&p, &k);
        assert!(
            ScanRequest::for_partition(b"p1", &options.clone().with_page_token(export)).is_err()
        );
    }

    proptest! {
        #[test]
        fn tokens_round_trip(reverse: bool, remaining: Option<u64>, scope: u32, key in proptest::collection::vec(any::<u8>(), 1..=MAX_KEY_LEN)) {
            let cursor = PageCursor { reverse, remaining, scope, last_key: key };
            prop_assert_eq!(PageCursor::decode(&cursor.encode()).unwrap(), cursor);
        }

        #[test]
        fn damaged_tokens_are_rejected(key in proptest::collection::vec(any::<u8>(), 1..64), flip in 0usize..64) {
            let token = PageCursor { reverse: false, remaining: None, scope: 7, last_key: key }.encode();
            let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
            let i = flip % raw.len();
            raw[i] ^= 0x01;
            prop_assert!(PageCursor::decode(&URL_SAFE_NO_PAD.encode(raw)).is_err());
        }

        #[test]
        fn range_matches_a_direct_filter(
            key in proptest::collection::vec(0u8..4, 0..4),
            prefix in proptest::option::of(proptest::collection::vec(0u8..4, 0..3)),
            start in proptest::option::of(proptest::collection::vec(0u8..4, 0..3)),
            after in proptest::option::of(proptest::collection::vec(0u8..4, 0..3)),
            end in proptest::option::of(proptest::collection::vec(0u8..4, 0..3)),
        ) {
            prop_assume!(start.is_none() || after.is_none());
            let options = ScanOptions { prefix: prefix.clone(), start: start.clone(), after: after.clone(), end: end.clone(), ..ScanOptions::default() };
            let req = ScanRequest::new(&options).unwrap();
            let direct = prefix.as_ref().is_none_or(|p| key.starts_with(p))
                && start.as_ref().is_none_or(|s| &key >= s)
                && after.as_ref().is_none_or(|a| &key > a)
                && end.as_ref().is_none_or(|e| &key < e);
            prop_assert_eq!(req.range().contains(&key), direct);
            if req.range().is_empty() {
                prop_assert!(!direct);
            }
        }
    }
}
