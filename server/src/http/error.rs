//! HTTP error responses: `{"error":{"code":"...","message":"...","index":N}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kv_core::{Error, ErrorKind};
pub use metakv_client::api::{ErrorBody, ErrorDetail};

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    index: Option<usize>,
    retry_after: Option<std::time::Duration>,
}

impl ApiError {
    /// An error with a status and code of its own.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            index: None,
            retry_after: None,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, code) = match e.kind() {
            ErrorKind::InvalidArgument => match &e {
                Error::InvalidArgument {
                    too_large: true, ..
                } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
                _ => (StatusCode::BAD_REQUEST, "invalid_argument"),
            },
            ErrorKind::ConditionFailed => (StatusCode::PRECONDITION_FAILED, "condition_failed"),
            ErrorKind::Throttled => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ErrorKind::OutcomeUnknown => (StatusCode::GATEWAY_TIMEOUT, "outcome_unknown"),
            ErrorKind::NotProvisioned => (StatusCode::SERVICE_UNAVAILABLE, "not_provisioned"),
            ErrorKind::Unavailable | ErrorKind::Unauthorized | ErrorKind::Closed => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let message = e.with_causes();
        metrics::counter!("metakv_http_errors_total", "code" => code).increment(1);
        if status.is_server_error() {
            log_backend_error(code, &message);
        }
        Self {
            status,
            code,
            message,
            index: e.batch_index(),
            retry_after: e.retry_after(),
        }
    }
}

/// At most one warning per error code every [`LOG_EVERY`]: an outage must not write a line per
/// failed request (`metakv_http_errors_total{code}` counts every one). The next warning says
/// how many were left out; those are logged at debug level.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

fn log_backend_error(code: &'static str, message: &str) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Instant;
    static LAST: Mutex<Option<HashMap<&'static str, (Instant, u64)>>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let seen = last.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    match seen.get_mut(code) {
        Some((at, suppressed)) if now.duration_since(*at) < LOG_EVERY => {
            *suppressed += 1;
            tracing::debug!(error = %message, code, "request failed");
        }
        entry => {
            let suppressed = entry.map_or(0, |(_, n)| *n);
            seen.insert(code, (now, 0));
            tracing::warn!(
                error = %message,
                code,
                suppressed,
                "request failed{}",
                if suppressed > 0 {
                    format!(" ({suppressed} more with this code in the last {} s, not logged)", LOG_EVERY.as_secs())
                } else {
                    String::new()
                }
            );
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                index: self.index,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            let secs = self
                .retry_after
                .map_or(1, |d| d.as_secs_f64().ceil().max(1.0) as u64);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_documented_statuses() {
        let status = |e: Error| ApiError::from(e).status;
        assert_eq!(status(Error::invalid("x")), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(Error::InvalidArgument {
                message: "big".into(),
                too_large: true
            }),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            status(Error::condition_failed_at(2)),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            status(Error::Throttled {
                retry_after: None,
                source: None
            }),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            status(Error::unavailable("down", "x")),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(Error::OutcomeUnknown {
                message: "timeout".into(),
                source: None
            }),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(status(Error::Closed), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            status(Error::config("k", "v")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(Error::backend("b", "x")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn throttling_carries_retry_after() {
        let e = Error::Throttled {
            retry_after: Some(std::time::Duration::from_millis(1500)),
            source: None,
        };
        let response = ApiError::from(e).into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
