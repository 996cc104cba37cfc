//! The one place that maps Cosmos statuses and SDK errors to `kv_core::Error`.

use std::time::Duration;

use azure_core::http::StatusCode;
use azure_data_cosmos::{CosmosError, CosmosStatus};
use kv_core::{BoxError, Error};

/// Sub-status of a 404 whose owner (database or container) does not exist.
const OWNER_RESOURCE_NOT_FOUND: u16 = 1003;
/// Sub-status of a 403 from a region that does not take writes (failover in progress).
const WRITE_FORBIDDEN: u16 = 3;
/// Client-side sub-statuses (with 503) of a connection that was never made: nothing was sent.
const TRANSPORT_CONNECTION_FAILED: u16 = 20010;
const TRANSPORT_DNS_FAILED: u16 = 20012;
/// Client-side sub-status (with 503) of an I/O failure on an established connection.
#[cfg(test)]
const TRANSPORT_IO_FAILED: u16 = 20011;

/// What a status means to the driver.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 404 with sub-status 0: the item does not exist. A read answers "absent"; a conditional
    /// write turns it into `ConditionFailed`.
    Absent,
    /// A condition did not hold (409 on create, 412 on `If-Match`).
    ConditionFailed,
    /// Anything else, already mapped.
    Error(Error),
}

/// Classifies a status met while `doing` something. `write` says whether the request may
/// have changed data; `retry_after` is the service's hint on a 429 (the SDK has already
/// retried 429s with its throttling policy, honouring `x-ms-retry-after-ms`); `source`, the
/// SDK's error, becomes the mapped error's source.
pub(crate) fn classify(
    status: &CosmosStatus,
    from_wire: bool,
    retry_after: Option<Duration>,
    doing: &str,
    write: bool,
    source: Option<BoxError>,
) -> Outcome {
    let code = status.status_code();
    let sub = status.sub_status().map(u16::from).unwrap_or(0);
    let message = format!("cosmos db failed while {doing} (status {status:?})");
    if !from_wire {
        // Nothing came back: a transport failure or a client-side timeout. A write may have
        // been applied unless the connection was never made.
        let never_sent = code == StatusCode::ServiceUnavailable
            && (sub == TRANSPORT_CONNECTION_FAILED || sub == TRANSPORT_DNS_FAILED);
        return Outcome::Error(Error::lost_answer(write && !never_sent, message, source));
    }
    Outcome::Error(match code {
        StatusCode::NotFound if sub == OWNER_RESOURCE_NOT_FOUND => Error::NotProvisioned {
            message: format!(
                "{message}: the database or container does not exist; run `metakv provision` (with an account key), install the Helm chart with provisioning on, or create them with ARM/Bicep"
            ),
            source,
        },
        StatusCode::NotFound => return Outcome::Absent,
        StatusCode::Conflict | StatusCode::PreconditionFailed => return Outcome::ConditionFailed,
        StatusCode::TooManyRequests => Error::Throttled {
            retry_after,
            source: Some(source.unwrap_or_else(|| message.into())),
        },
        StatusCode::Forbidden if sub == WRITE_FORBIDDEN => Error::Unavailable { message, source },
        StatusCode::Unauthorized | StatusCode::Forbidden => Error::Unauthorized {
            message: format!(
                "{message}: check the account key, or the Entra ID identity's Cosmos DB data-plane role assignment"
            ),
            source,
        },
        // 410 Gone, 449 Retry With and 503: the service did not apply the request.
        StatusCode::Gone | StatusCode::ServiceUnavailable => Error::Unavailable { message, source },
        c if u16::from(c) == 449 => Error::Unavailable { message, source },
        // A timeout or an internal error may hide an applied write.
        StatusCode::RequestTimeout | StatusCode::InternalServerError => {
            Error::lost_answer(write, message, source)
        }
        _ => Error::Backend { message, source },
    })
}

/// Classifies an SDK error, keeping it as the source of the mapped error.
pub(crate) fn classify_error(err: CosmosError, doing: &str, write: bool) -> Outcome {
    let retry_after = err
        .response()
        .and_then(|r| r.headers().retry_after_ms)
        .map(Duration::from_millis);
    let (status, from_wire) = (err.status(), err.is_from_wire());
    classify(
        &status,
        from_wire,
        retry_after,
        doing,
        write,
        Some(Box::new(err)),
    )
}

/// An SDK error where absence and failed conditions are errors too.
pub(crate) fn map(err: CosmosError, doing: &str, write: bool) -> Error {
    match classify_error(err, doing, write) {
        Outcome::Absent => Error::Backend {
            message: format!("cosmos db failed while {doing}: not found"),
            source: None,
        },
        Outcome::ConditionFailed => Error::condition_failed(),
        Outcome::Error(e) => e,
    }
}

/// A hint for an error caused by an untrusted certificate (the emulator's self-signed one,
/// or a TLS-intercepting proxy): without it the cause is three levels down a transport error.
pub(crate) fn tls_hint(err: &Error) -> &'static str {
    let untrusted = kv_core::causes(err).any(|cause| {
        let text = cause.to_string();
        text.contains("certificate") || text.contains("UnknownIssuer")
    });
    if untrusted {
        ": TLS verification failed; for the local emulator set database.cosmosdb.emulator = true, otherwise add the endpoint's CA to the system trust store"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::ErrorKind;

    fn status(code: u16, sub: Option<u16>) -> CosmosStatus {
        let s = CosmosStatus::new(StatusCode::from(code));
        match sub {
            Some(sub) => s.with_sub_status(sub),
            None => s,
        }
    }

    fn kind(code: u16, sub: Option<u16>, write: bool) -> Option<ErrorKind> {
        match classify(&status(code, sub), true, None, "testing", write, None) {
            Outcome::Absent => None,
            Outcome::ConditionFailed => Some(ErrorKind::ConditionFailed),
            Outcome::Error(e) => Some(e.kind()),
        }
    }

    #[test]
    fn conflicts_and_failed_preconditions_are_condition_failures() {
        assert_eq!(kind(409, None, true), Some(ErrorKind::ConditionFailed));
        assert_eq!(kind(412, None, true), Some(ErrorKind::ConditionFailed));
    }

    #[test]
    fn not_found_is_absent_but_a_missing_container_is_not_provisioned() {
        assert!(kind(404, None, false).is_none());
        assert!(kind(404, Some(0), false).is_none());
        assert_eq!(
            kind(404, Some(1003), false),
            Some(ErrorKind::NotProvisioned)
        );
        let Outcome::Error(e) =
            classify(&status(404, Some(1003)), true, None, "reading", false, None)
        else {
            panic!("expected an error");
        };
        assert!(e.to_string().contains("metakv provision"), "{e}");
    }

    #[test]
    fn throttling_after_the_sdk_retries_is_throttled_with_the_hint() {
        let hint = Some(Duration::from_millis(1500));
        let Outcome::Error(e) =
            classify(&status(429, Some(3200)), true, hint, "writing", true, None)
        else {
            panic!("expected an error");
        };
        assert_eq!(e.kind(), ErrorKind::Throttled);
        assert_eq!(e.retry_after(), hint);
    }

    #[test]
    fn bad_credentials_are_unauthorized() {
        assert_eq!(kind(401, None, false), Some(ErrorKind::Unauthorized));
        assert_eq!(kind(403, Some(5301), true), Some(ErrorKind::Unauthorized));
        assert_eq!(kind(403, Some(3), true), Some(ErrorKind::Unavailable));
    }

    #[test]
    fn lost_answers_to_writes_are_outcome_unknown() {
        assert_eq!(kind(408, None, true), Some(ErrorKind::OutcomeUnknown));
        assert_eq!(kind(408, None, false), Some(ErrorKind::Unavailable));
        assert_eq!(kind(503, None, true), Some(ErrorKind::Unavailable));
        let io = status(503, Some(TRANSPORT_IO_FAILED));
        let write = classify(&io, false, None, "writing", true, None);
        assert!(matches!(
            write,
            Outcome::Error(Error::OutcomeUnknown { .. })
        ));
        let refused = status(503, Some(TRANSPORT_CONNECTION_FAILED));
        let write = classify(&refused, false, None, "writing", true, None);
        assert!(matches!(write, Outcome::Error(Error::Unavailable { .. })));
    }
}
