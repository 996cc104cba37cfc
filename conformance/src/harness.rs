//! Finding a backend for the suite, and what to do when there is none (`KV_TEST_MODE`).

use std::fmt;

/// What to do when a backend's emulator or server is not reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestMode {
    /// A missing backend fails the tests (CI).
    Required,
    /// A missing backend skips its tests with a message (the default, for laptops).
    Allowed,
    /// Backends other than the embedded ones are not tried at all.
    Skipped,
}

impl TestMode {
    /// Reads `KV_TEST_MODE` (`required`, `allowed` or `skipped`; default `allowed`). Any other
    /// value panics: a typo must not turn CI's `required` into a silent skip.
    pub fn from_env() -> Self {
        match std::env::var("KV_TEST_MODE").as_deref() {
            Ok("required") => TestMode::Required,
            Ok("allowed") | Err(std::env::VarError::NotPresent) => TestMode::Allowed,
            Ok("skipped") => TestMode::Skipped,
            other => panic!("KV_TEST_MODE must be required, allowed or skipped, not {other:?}"),
        }
    }
}

/// How the suite reaches a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Use this endpoint (from an explicit variable such as `KV_TEST_POSTGRES_URL`).
    Endpoint(String),
    /// Do not run; the reason is printed.
    Skip(String),
    /// Fail the test; the reason is the panic message.
    Fail(String),
}

/// The selection logic, pure so that it can be tested: an explicit endpoint variable wins;
/// without one, `required` fails and `allowed`/`skipped` skip.
pub fn select(backend: &str, variable: &str, value: Option<&str>, mode: TestMode) -> Selection {
    if mode == TestMode::Skipped {
        return Selection::Skip(format!("{backend}: KV_TEST_MODE=skipped"));
    }
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Selection::Endpoint(v.to_string()),
        None => {
            let reason = format!(
                "{backend}: {variable} is not set; start the emulators with ./scripts/test.sh \
                 or point {variable} at a running {backend}"
            );
            match mode {
                TestMode::Required => Selection::Fail(reason),
                _ => Selection::Skip(reason),
            }
        }
    }
}

/// The endpoint of `backend` from the environment variable `variable`, or `None` (after
/// printing why) when its tests should be skipped. Panics when `KV_TEST_MODE=required` and the
/// variable is missing.
pub fn endpoint(backend: &str, variable: &str) -> Option<String> {
    let value = std::env::var(variable).ok();
    match select(backend, variable, value.as_deref(), TestMode::from_env()) {
        Selection::Endpoint(e) => Some(e),
        Selection::Skip(reason) => {
            eprintln!("skipping: {reason}");
            None
        }
        Selection::Fail(reason) => panic!("KV_TEST_MODE=required: {reason}"),
    }
}

/// Decides, for a backend that was selected but failed to open, whether to skip or fail.
pub(crate) fn unreachable(
    backend: &str,
    error: &dyn fmt::Display,
) -> Option<std::convert::Infallible> {
    let reason = format!("{backend} did not open: {error}");
    match TestMode::from_env() {
        TestMode::Required => panic!("KV_TEST_MODE=required: {reason}"),
        _ => {
            eprintln!("skipping: {reason}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_endpoint_wins_in_every_mode_but_skipped() {
        for mode in [TestMode::Required, TestMode::Allowed] {
            assert_eq!(
                select(
                    "postgres",
                    "KV_TEST_POSTGRES_URL",
                    Some("postgres://x"),
                    mode
                ),
                Selection::Endpoint("postgres://x".into())
            );
        }
        assert!(matches!(
            select(
                "postgres",
                "KV_TEST_POSTGRES_URL",
                Some("postgres://x"),
                TestMode::Skipped
            ),
            Selection::Skip(_)
        ));
    }

    #[test]
    fn missing_endpoint_fails_only_when_required() {
        assert!(matches!(
            select("dynamodb", "V", None, TestMode::Required),
            Selection::Fail(_)
        ));
        assert!(matches!(
            select("dynamodb", "V", Some("  "), TestMode::Required),
            Selection::Fail(_)
        ));
        assert!(matches!(
            select("dynamodb", "V", None, TestMode::Allowed),
            Selection::Skip(_)
        ));
    }
}
