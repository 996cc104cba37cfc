//! Finding a backend for the suite, and what to do when there is none (`KV_TEST_MODE`).

use std::fmt;

#[cfg(feature = "harness")]
use crate::containers::{self, Service};

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
    /// Start the backend in a container (no endpoint is set, a Docker API is reachable).
    Container,
    /// Do not run; the reason is printed.
    Skip(String),
    /// Fail the test; the reason is the panic message.
    Fail(String),
}

/// The selection logic, pure so that it can be tested: an explicit endpoint variable wins;
/// without one, a backend that can run in a container (`containers`) is started when a Docker
/// API is reachable (`docker`); otherwise `required` fails and `allowed` skips. `skipped` skips
/// everything.
pub fn select(
    backend: &str,
    variable: &str,
    value: Option<&str>,
    containers: Containers,
    mode: TestMode,
) -> Selection {
    if mode == TestMode::Skipped {
        return Selection::Skip(format!("{backend}: KV_TEST_MODE=skipped"));
    }
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Selection::Endpoint(v.to_string()),
        None if containers == Containers::Reachable => Selection::Container,
        None => {
            let docker = match containers {
                Containers::Unsupported => String::new(),
                _ => {
                    " (or make a Docker API reachable: DOCKER_HOST or /var/run/docker.sock)".into()
                }
            };
            let reason = format!(
                "{backend}: {variable} is not set; start the emulators with ./scripts/test.sh \
                 or point {variable} at a running {backend}{docker}"
            );
            match mode {
                TestMode::Required => Selection::Fail(reason),
                _ => Selection::Skip(reason),
            }
        }
    }
}

/// Whether a backend can be started in a container here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containers {
    /// The backend has no container image (an endpoint variable is the only way).
    Unsupported,
    /// It has one, but no Docker API is reachable.
    Unreachable,
    /// It has one and a Docker API is reachable.
    Reachable,
}

/// The endpoint of `backend` from the environment variable `variable`, or `None` (after
/// printing why) when its tests should be skipped. Panics when `KV_TEST_MODE=required` and the
/// variable is missing. For backends that run in containers, see [`service_endpoint`].
pub fn endpoint(backend: &str, variable: &str) -> Option<String> {
    let value = std::env::var(variable).ok();
    let selection = select(
        backend,
        variable,
        value.as_deref(),
        Containers::Unsupported,
        TestMode::from_env(),
    );
    decide(backend, selection, || {
        Err(format!("{backend} has no container image"))
    })
}

/// The endpoint of `service`: its endpoint variable when set; otherwise, when a Docker API is
/// reachable, a container of its image started once for this test binary (and removed when it
/// exits); otherwise `None` (after printing why), or a panic under `KV_TEST_MODE=required`.
#[cfg(feature = "harness")]
pub fn service_endpoint(service: &'static Service) -> Option<String> {
    let value = std::env::var(service.variable).ok();
    let containers = if containers::docker_available() {
        Containers::Reachable
    } else {
        Containers::Unreachable
    };
    let selection = select(
        service.backend,
        service.variable,
        value.as_deref(),
        containers,
        TestMode::from_env(),
    );
    decide(service.backend, selection, || containers::started(service))
}

fn decide(
    backend: &str,
    selection: Selection,
    start: impl FnOnce() -> Result<String, String>,
) -> Option<String> {
    match selection {
        Selection::Endpoint(e) => Some(e),
        Selection::Container => match start() {
            Ok(e) => Some(e),
            Err(e) => {
                unreachable(backend, &e);
                None
            }
        },
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
            for containers in [
                Containers::Unsupported,
                Containers::Unreachable,
                Containers::Reachable,
            ] {
                assert_eq!(
                    select(
                        "postgres",
                        "KV_TEST_POSTGRES_URL",
                        Some("postgres://x"),
                        containers,
                        mode
                    ),
                    Selection::Endpoint("postgres://x".into())
                );
            }
        }
        assert!(matches!(
            select(
                "postgres",
                "KV_TEST_POSTGRES_URL",
                Some("postgres://x"),
                Containers::Reachable,
                TestMode::Skipped
            ),
            Selection::Skip(_)
        ));
    }

    #[test]
    fn a_container_is_started_only_without_endpoint_and_with_docker() {
        for mode in [TestMode::Required, TestMode::Allowed] {
            assert_eq!(
                select("postgres", "V", None, Containers::Reachable, mode),
                Selection::Container
            );
            assert_eq!(
                select("postgres", "V", Some(" "), Containers::Reachable, mode),
                Selection::Container
            );
        }
        assert!(matches!(
            select(
                "postgres",
                "V",
                None,
                Containers::Reachable,
                TestMode::Skipped
            ),
            Selection::Skip(_)
        ));
        let Selection::Fail(reason) = select(
            "postgres",
            "V",
            None,
            Containers::Unreachable,
            TestMode::Required,
        ) else {
            panic!("no endpoint and no Docker must fail when required");
        };
        assert!(reason.contains("DOCKER_HOST"), "{reason}");
    }

    #[test]
    fn missing_endpoint_fails_only_when_required() {
        assert!(matches!(
            select(
                "dynamodb",
                "V",
                None,
                Containers::Unsupported,
                TestMode::Required
            ),
            Selection::Fail(_)
        ));
        assert!(matches!(
            select(
                "dynamodb",
                "V",
                Some("  "),
                Containers::Unsupported,
                TestMode::Required
            ),
            Selection::Fail(_)
        ));
        assert!(matches!(
            select(
                "dynamodb",
                "V",
                None,
                Containers::Unreachable,
                TestMode::Allowed
            ),
            Selection::Skip(_)
        ));
    }
}
