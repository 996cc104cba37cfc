//! The one error type of every store.

use std::time::Duration;

/// A boxed error from a database client, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The causes of `err`, nearest first (`err` itself not included): what error messages,
/// the CLI's `caused by:` lines and the drivers' checks for a known cause (credentials, TLS)
/// walk.
pub fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(err.source(), |e| e.source())
}

/// The result type of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the driver: the same input gives the same kind everywhere.
///
/// The kinds are those of the contract's "Errors" table; [`Error::kind`] maps an error to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Empty or oversized input, duplicate batch key, bad scan bounds or page token.
    InvalidArgument,
    /// A put/delete/batch condition did not hold; nothing changed.
    ConditionFailed,
    /// The database asked to slow down and the driver's retries ran out.
    Throttled,
    /// The request certainly did not apply; retrying is safe.
    Unavailable,
    /// The request may or may not have applied.
    OutcomeUnknown,
    /// Bad or missing credentials, or no permission.
    Unauthorized,
    /// The table, container, database or schema does not exist.
    NotProvisioned,
    /// A configuration value is missing or wrong.
    Config,
    /// The store was closed.
    Closed,
    /// Anything else the database reported.
    Backend,
}

impl ErrorKind {
    /// A stable snake_case name, used in metrics labels and the HTTP API's error codes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::ConditionFailed => "condition_failed",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotProvisioned => "not_provisioned",
            ErrorKind::Config => "config",
            ErrorKind::Closed => "closed",
            ErrorKind::Backend => "backend",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every store operation. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`ErrorKind::InvalidArgument`]. `too_large` is set for an oversized value
    /// (the server answers 413 for it, 400 otherwise).
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What was wrong, naming the argument and the limit.
        message: String,
        /// The argument was a value over the size limit.
        too_large: bool,
    },
    /// See [`ErrorKind::ConditionFailed`]. In a batch, `index` is the first operation whose
    /// condition failed.
    #[error("condition failed{}", index.map(|i| format!(" at batch operation {i}")).unwrap_or_default())]
    ConditionFailed {
        /// Index of the failing batch operation; `None` outside batches.
        index: Option<usize>,
        /// The database's own error, where there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::Throttled`].
    #[error("throttled by the database{}", retry_after.map(|d| format!(", retry after {} ms", d.as_millis())).unwrap_or_default())]
    Throttled {
        /// How long the database asked to wait, when it said.
        retry_after: Option<Duration>,
        /// The database's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::Unavailable`].
    #[error("database unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The client's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::OutcomeUnknown`].
    #[error("outcome unknown: {message}")]
    OutcomeUnknown {
        /// What failed.
        message: String,
        /// The client's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::Unauthorized`].
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// What was refused.
        message: String,
        /// The database's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::NotProvisioned`].
    #[error("not provisioned: {message}")]
    NotProvisioned {
        /// What is missing and how to create it.
        message: String,
        /// The database's own error.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::Config`]. `key` names the configuration key.
    #[error("configuration error at `{key}`: {message}")]
    Config {
        /// The configuration key, e.g. `database.postgres.url`.
        key: String,
        /// What is wrong and the expected form.
        message: String,
        /// The parser's own error, where there was one.
        #[source]
        source: Option<BoxError>,
    },
    /// See [`ErrorKind::Closed`].
    #[error("the store is closed")]
    Closed,
    /// See [`ErrorKind::Backend`].
    #[error("database error: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The database's own error.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Error::ConditionFailed { .. } => ErrorKind::ConditionFailed,
            Error::Throttled { .. } => ErrorKind::Throttled,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            Error::Unauthorized { .. } => ErrorKind::Unauthorized,
            Error::NotProvisioned { .. } => ErrorKind::NotProvisioned,
            Error::Config { .. } => ErrorKind::Config,
            Error::Closed => ErrorKind::Closed,
            Error::Backend { .. } => ErrorKind::Backend,
        }
    }

    /// Whether a blind retry of the same call is safe and may succeed
    /// (`Throttled` and `Unavailable`). `OutcomeUnknown` and `ConditionFailed` need a fresh
    /// read first, so they are not retryable in this sense.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Throttled | ErrorKind::Unavailable)
    }

    /// `InvalidArgument` with this message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            message: message.into(),
            too_large: false,
        }
    }

    /// `ConditionFailed` outside a batch.
    pub fn condition_failed() -> Self {
        Error::ConditionFailed {
            index: None,
            source: None,
        }
    }

    /// `ConditionFailed` naming the failing batch operation.
    pub fn condition_failed_at(index: usize) -> Self {
        Error::ConditionFailed {
            index: Some(index),
            source: None,
        }
    }

    /// `Backend` with a message and the database's error.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// `Unavailable` with a message and the client's error.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A request whose answer never arrived (a lost connection, a timeout): `OutcomeUnknown`
    /// when it was a write, which may have applied, and `Unavailable` otherwise.
    pub fn lost_answer(write: bool, message: impl Into<String>, source: Option<BoxError>) -> Self {
        let message = message.into();
        if write {
            Error::OutcomeUnknown { message, source }
        } else {
            Error::Unavailable { message, source }
        }
    }

    /// `Config` naming a configuration key.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
            source: None,
        }
    }

    /// The retry-after hint of a `Throttled` error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// This error and its causes in one line, `message: cause: cause`, each cause once (one
    /// whose text the line already holds is left out): for HTTP answers and logs, where a
    /// refused connection, an unknown host and a bad password must not look the same. Causes
    /// are the database clients' own errors, which carry no secrets.
    pub fn with_causes(&self) -> String {
        let mut line = self.to_string();
        for cause in causes(self) {
            let text = cause.to_string();
            if !text.is_empty() && !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
        }
        line
    }

    /// The same error with its message rewritten by `f` (e.g. to say which endpoint or table
    /// it concerns); kinds without a message are returned unchanged.
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Error::InvalidArgument { message, too_large } => Error::InvalidArgument {
                message: f(message),
                too_large,
            },
            Error::Unavailable { message, source } => Error::Unavailable {
                message: f(message),
                source,
            },
            Error::OutcomeUnknown { message, source } => Error::OutcomeUnknown {
                message: f(message),
                source,
            },
            Error::Unauthorized { message, source } => Error::Unauthorized {
                message: f(message),
                source,
            },
            Error::NotProvisioned { message, source } => Error::NotProvisioned {
                message: f(message),
                source,
            },
            Error::Config {
                key,
                message,
                source,
            } => Error::Config {
                key,
                message: f(message),
                source,
            },
            Error::Backend { message, source } => Error::Backend {
                message: f(message),
                source,
            },
            other => other,
        }
    }

    /// The failing batch index of a `ConditionFailed` error.
    pub fn batch_index(&self) -> Option<usize> {
        match self {
            Error::ConditionFailed { index, .. } => *index,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttled_and_unavailable_are_retryable() {
        assert!(
            Error::Throttled {
                retry_after: None,
                source: None
            }
            .is_retryable()
        );
        assert!(Error::unavailable("down", "refused").is_retryable());
        assert!(
            !Error::OutcomeUnknown {
                message: "timeout".into(),
                source: None
            }
            .is_retryable()
        );
        assert!(!Error::condition_failed().is_retryable());
        assert!(!Error::Closed.is_retryable());
    }

    #[test]
    fn a_lost_answer_to_a_write_is_outcome_unknown() {
        let write = Error::lost_answer(true, "timed out", Some("reset".into()));
        assert_eq!(write.kind(), ErrorKind::OutcomeUnknown);
        assert!(std::error::Error::source(&write).is_some());
        assert_eq!(
            Error::lost_answer(false, "timed out", None).kind(),
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn sources_are_kept() {
        let err = Error::backend("boom", std::io::Error::other("disk"));
        let source = std::error::Error::source(&err).expect("source kept");
        assert_eq!(source.to_string(), "disk");
    }

    #[test]
    fn messages_name_the_batch_index_and_config_key() {
        assert_eq!(
            Error::condition_failed_at(3).to_string(),
            "condition failed at batch operation 3"
        );
        assert!(
            Error::config("database.type", "expected one of local, memory")
                .to_string()
                .contains("`database.type`")
        );
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn causes_are_joined_once_each() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let e = Error::unavailable("postgres failed while connecting", io);
        assert_eq!(
            e.with_causes(),
            "database unavailable: postgres failed while connecting: Connection refused"
        );
        let plain = Error::invalid("bad");
        assert_eq!(plain.with_causes(), plain.to_string());
    }
}
