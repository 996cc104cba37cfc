//! `LocalConfig`: where the file lives and how commits are grouped.

use std::path::PathBuf;
use std::time::Duration;

use kv_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Configuration of a [`LocalStore`](crate::LocalStore). In the server's TOML file this is the
/// `[database.local]` section; every key has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalConfig {
    /// Directory holding the store (`metakv.redb`) and its lock file (`LOCK`); created if
    /// missing. Default `./metakv-data`.
    pub path: PathBuf,
    /// Memory redb may use to cache pages, in MiB. Default 32.
    pub cache_size_mib: usize,
    /// Commit concurrent writes together: one transaction and one fsync for every write that
    /// arrived while the previous commit ran. Default on.
    pub group_commit: bool,
    /// Most writes in one group. Default 512.
    pub group_commit_max_ops: usize,
    /// Extra time, in microseconds, a group waits for more writes before committing (0: take
    /// only what is already queued, which adds no latency). Default 0.
    pub group_commit_wait_us: u64,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("./metakv-data"),
            cache_size_mib: 32,
            group_commit: true,
            group_commit_max_ops: 512,
            group_commit_wait_us: 0,
        }
    }
}

impl LocalConfig {
    /// The defaults with the store at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }

    /// The defaults, overridden by `METAKV_LOCAL_PATH`, `METAKV_LOCAL_CACHE_SIZE_MIB` and
    /// `METAKV_LOCAL_GROUP_COMMIT` (`true`/`false`) where set.
    pub fn from_env() -> Result<Self> {
        let mut config = Self::default();
        if let Ok(path) = std::env::var("METAKV_LOCAL_PATH") {
            config.path = PathBuf::from(path);
        }
        if let Ok(mib) = std::env::var("METAKV_LOCAL_CACHE_SIZE_MIB") {
            config.cache_size_mib = mib.parse().map_err(|_| {
                Error::config(
                    "METAKV_LOCAL_CACHE_SIZE_MIB",
                    "expected a whole number of MiB",
                )
            })?;
        }
        if let Ok(on) = std::env::var("METAKV_LOCAL_GROUP_COMMIT") {
            config.group_commit = on.parse().map_err(|_| {
                Error::config("METAKV_LOCAL_GROUP_COMMIT", "expected true or false")
            })?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; errors name the key under `database.local`.
    pub fn validate(&self) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            return Err(Error::config(
                "database.local.path",
                "expected a directory path",
            ));
        }
        if self.cache_size_mib == 0 {
            return Err(Error::config(
                "database.local.cache_size_mib",
                "expected at least 1 (MiB)",
            ));
        }
        if self.group_commit_max_ops == 0 {
            return Err(Error::config(
                "database.local.group_commit_max_ops",
                "expected at least 1",
            ));
        }
        Ok(())
    }

    pub(crate) fn group_wait(&self) -> Duration {
        Duration::from_micros(self.group_commit_wait_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        LocalConfig::default().validate().unwrap();
        let bad = LocalConfig {
            cache_size_mib: 0,
            ..LocalConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("database.local.cache_size_mib")
        );
    }
}
