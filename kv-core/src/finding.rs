//! What an inspection of a backend's configuration found (`metakv check`): the settings that
//! make the contract's guarantees hold, or put them, or the data, at risk.

use std::fmt;

/// How a [`Finding`] bears on the contract and on the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The setting is what the contract needs.
    Ok,
    /// The setting weakens a guarantee or puts data at risk.
    Risk,
    /// The setting could not be read (the reason is in the finding).
    Unknown,
}

impl Level {
    /// `ok`, `risk` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Risk => "risk",
            Level::Unknown => "unknown",
        }
    }
}

/// One setting of a backend and what it means for metakv.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Whether it is fine.
    pub level: Level,
    /// The setting, e.g. `default consistency`.
    pub subject: String,
    /// What it is and, for a risk, what it puts at stake and how to change it.
    pub detail: String,
}

impl Finding {
    /// A setting that is what the contract needs.
    pub fn ok(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Level::Ok, subject, detail)
    }

    /// A setting that weakens a guarantee or puts data at risk.
    pub fn risk(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Level::Risk, subject, detail)
    }

    /// A setting that could not be read.
    pub fn unknown(subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(Level::Unknown, subject, detail)
    }

    fn new(level: Level, subject: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            level,
            subject: subject.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<7} {}: {}",
            self.level.as_str(),
            self.subject,
            self.detail
        )
    }
}
