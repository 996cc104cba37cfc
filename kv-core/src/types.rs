//! Partitions, keys, values, versions and conditions: validated on construction.

use std::fmt;

use crate::limits::{self, MAX_KEY_LEN, MAX_PARTITION_LEN};
use crate::{Error, Result};

/// Writes bytes as text where printable, `\xNN` otherwise (for `Debug` and error messages).
pub(crate) fn fmt_bytes(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("b\"")?;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '"' || c == '\\' {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    f.write_str("\"")
}

macro_rules! byte_name {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Vec<u8>);

        impl $name {
            /// Validates the length limit of the contract.
            pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
                let bytes = bytes.into();
                limits::check_len($what, bytes.len(), 1, $max)?;
                Ok(Self(bytes))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// The raw bytes, by value.
            pub fn into_bytes(self) -> Vec<u8> {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_bytes(&self.0, f)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        // Ordering, equality and hashing are those of the bytes, so maps keyed by this type
        // can be searched with plain slices.
        impl std::borrow::Borrow<[u8]> for $name {
            fn borrow(&self) -> &[u8] {
                &self.0
            }
        }

        impl TryFrom<Vec<u8>> for $name {
            type Error = Error;
            fn try_from(bytes: Vec<u8>) -> Result<Self> {
                Self::new(bytes)
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = Error;
            fn try_from(bytes: &[u8]) -> Result<Self> {
                Self::new(bytes)
            }
        }

        impl<const N: usize> TryFrom<&[u8; N]> for $name {
            type Error = Error;
            fn try_from(bytes: &[u8; N]) -> Result<Self> {
                Self::new(bytes.as_slice())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(text: &str) -> Result<Self> {
                Self::new(text.as_bytes())
            }
        }
    };
}

byte_name!(
    /// A partition name: 1 to 512 arbitrary bytes.
    Partition,
    "partition",
    MAX_PARTITION_LEN
);
byte_name!(
    /// A key: 1 to 1024 arbitrary bytes, ordered as unsigned bytes.
    Key,
    "key",
    MAX_KEY_LEN
);

/// A value: 0 to 393,216 arbitrary bytes. An empty value is a real value.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Value(Vec<u8>);

impl Value {
    /// Validates the value limit (`InvalidArgument` with `too_large` set when over it).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        limits::check_value_len(bytes.len())?;
        Ok(Self(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The raw bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value has no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() > 64 {
            write!(f, "<{} bytes>", self.0.len())
        } else {
            fmt_bytes(&self.0, f)
        }
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<Vec<u8>> for Value {
    type Error = Error;
    fn try_from(bytes: Vec<u8>) -> Result<Self> {
        Self::new(bytes)
    }
}

impl TryFrom<&[u8]> for Value {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::new(bytes)
    }
}

impl<const N: usize> TryFrom<&[u8; N]> for Value {
    type Error = Error;
    fn try_from(bytes: &[u8; N]) -> Result<Self> {
        Self::new(bytes.as_slice())
    }
}

impl TryFrom<&str> for Value {
    type Error = Error;
    fn try_from(text: &str) -> Result<Self> {
        Self::new(text.as_bytes())
    }
}

/// The version of an entry: an opaque token of 1 to 64 visible ASCII characters without `"`,
/// new on every write, never reused for the same key. Compare versions only for equality.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// Validates the token form (`InvalidArgument` otherwise).
    pub fn new(token: impl Into<String>) -> Result<Self> {
        let token = token.into();
        limits::check_version(&token)?;
        Ok(Self(token))
    }

    /// A fresh random version (128 random bits, 22 characters of URL-safe base64) for drivers
    /// whose database does not generate one. Collisions are as likely as a UUIDv4's.
    pub fn random() -> Self {
        use base64::Engine as _;
        let bits: [u8; 16] = rand::random();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bits))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for Version {
    type Error = Error;
    fn try_from(token: &str) -> Result<Self> {
        Self::new(token)
    }
}

/// What a successful put reports: the new version, and whether the key was absent before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The entry's new version.
    pub version: Version,
    /// `true` if the put created the key, `false` if it replaced an existing entry.
    pub created: bool,
}

/// A value with its version, as `get` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value.
    pub value: Value,
    /// Its version.
    pub version: Version,
}

/// One entry of a partition, as scans return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: Value,
    /// Its version.
    pub version: Version,
}

/// The keys of a multi-get: 1 to [`MAX_GET_KEYS`](crate::limits::MAX_GET_KEYS) keys, each
/// once, in the order the answer follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyList(Vec<Key>);

impl KeyList {
    /// Checks the count and that no key repeats (`InvalidArgument` otherwise).
    pub fn new(keys: Vec<Key>) -> Result<Self> {
        let max = crate::limits::MAX_GET_KEYS;
        if keys.is_empty() || keys.len() > max {
            return Err(Error::invalid(format!(
                "a multi-get takes 1 to {max} keys; got {}",
                keys.len()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        if let Some(at) = keys.iter().position(|k| !seen.insert(k.as_bytes())) {
            return Err(Error::invalid(format!(
                "key {at} of the multi-get repeats an earlier one; ask for each key once"
            )));
        }
        Ok(Self(keys))
    }

    /// The keys, in the order asked.
    pub fn keys(&self) -> &[Key] {
        &self.0
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: a list holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The condition of a put (see the contract's table of conditions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Condition {
    /// Unconditional upsert.
    #[default]
    None,
    /// Only if the key does not exist (create).
    Absent,
    /// Only if the key exists.
    Exists,
    /// Only if the key exists and its current version is this one.
    Version(Version),
}

/// The condition of a delete: `Absent` makes no sense for a delete, so it cannot be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DeleteCondition {
    /// Delete whatever is there; deleting an absent key succeeds and changes nothing.
    #[default]
    None,
    /// Only if the key exists.
    Exists,
    /// Only if the key exists and its current version is this one.
    Version(Version),
}

impl Condition {
    /// Whether the condition holds for a key whose current version is `current` (`None` when
    /// absent). For drivers that evaluate conditions inside their own transaction.
    pub fn holds(&self, current: Option<&Version>) -> bool {
        match self {
            Condition::None => true,
            Condition::Absent => current.is_none(),
            Condition::Exists => current.is_some(),
            Condition::Version(v) => current == Some(v),
        }
    }
}

impl DeleteCondition {
    /// Whether the condition holds for a key whose current version is `current`.
    pub fn holds(&self, current: Option<&Version>) -> bool {
        match self {
            DeleteCondition::None => true,
            DeleteCondition::Exists => current.is_some(),
            DeleteCondition::Version(v) => current == Some(v),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_key_list_holds_1_to_100_distinct_keys() {
        let key = |i: usize| Key::new(format!("k{i}")).unwrap();
        assert!(KeyList::new(vec![]).is_err());
        assert_eq!(
            KeyList::new((0..100).map(key).collect()).unwrap().len(),
            100
        );
        let over = KeyList::new((0..101).map(key).collect()).unwrap_err();
        assert_eq!(over.kind(), crate::ErrorKind::InvalidArgument);
        let repeated = KeyList::new(vec![key(1), key(2), key(1)]).unwrap_err();
        assert!(repeated.to_string().contains("key 2"), "{repeated}");
    }

    use super::*;

    #[test]
    fn names_are_validated_at_both_ends() {
        assert!(Partition::new(vec![]).is_err());
        assert!(Partition::new(vec![0; MAX_PARTITION_LEN]).is_ok());
        assert!(Partition::new(vec![0; MAX_PARTITION_LEN + 1]).is_err());
        assert!(Key::new(vec![]).is_err());
        assert!(Key::new(vec![0xff; MAX_KEY_LEN]).is_ok());
        assert!(Key::new(vec![0xff; MAX_KEY_LEN + 1]).is_err());
        assert!(Value::new(vec![]).is_ok());
    }

    #[test]
    fn keys_order_as_unsigned_bytes() {
        let a = Key::try_from("a").unwrap();
        let a0 = Key::new(b"a\x00".to_vec()).unwrap();
        let ab = Key::try_from("ab").unwrap();
        let ff = Key::new(vec![0xff]).unwrap();
        assert!(a < a0 && a0 < ab && ab < ff);
    }

    #[test]
    fn debug_shows_binary_bytes_escaped() {
        let key = Key::new(b"a/\x00\xff".to_vec()).unwrap();
        assert_eq!(format!("{key:?}"), r#"b"a/\u{0}\xff""#);
    }

    #[test]
    fn random_versions_are_valid_and_distinct() {
        let a = Version::random();
        let b = Version::random();
        assert_ne!(a, b);
        assert!(Version::new(a.as_str()).is_ok());
    }
}
