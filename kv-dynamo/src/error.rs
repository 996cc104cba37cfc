//! The one place that maps SDK errors to `kv_core::Error`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use kv_core::Error;

/// Maps an SDK error met while `doing` something. `write` says whether the request may have
/// changed data (a lost answer to a write leaves its outcome unknown). The SDK has already
/// retried throttling and transient errors `max_attempts` times when this runs.
pub(crate) fn map_sdk<E, R>(doing: &str, write: bool, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let message = format!("dynamodb failed while {doing}");
    if lacks_credentials(&err) {
        // Nothing was sent: no request can be signed.
        return Error::Unauthorized {
            message: format!(
                "{message}: no AWS credentials were found (static keys database.dynamodb.access_key_id and secret_access_key, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, web identity (IRSA), EKS pod identity or instance metadata)"
            ),
            source: Some(Box::new(err)),
        };
    }
    match &err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default().to_string();
            from_code(&code, message, Box::new(err))
        }
        SdkError::TimeoutError(_) => {
            Error::lost_answer(write, format!("{message}: timed out"), Some(Box::new(err)))
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Error::lost_answer(write, message, Some(Box::new(err)))
        }
        // ConstructionFailure (the request was never built) and anything new.
        _ => Error::Backend {
            message,
            source: Some(Box::new(err)),
        },
    }
}

/// Whether the request failed because the credentials chain found no credentials (or could
/// not load them): a configuration or identity problem, not an unavailable database.
fn lacks_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::once(err).chain(kv_core::causes(err)).any(|e| {
        e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
    })
}

/// The error kind of a DynamoDB error code.
pub(crate) fn from_code(code: &str, message: String, source: kv_core::BoxError) -> Error {
    match code {
        "ConditionalCheckFailedException" => Error::ConditionFailed {
            index: None,
            source: Some(source),
        },
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Error::Throttled {
            retry_after: None,
            source: Some(source),
        },
        "ResourceNotFoundException" => Error::NotProvisioned {
            message: format!(
                "{message}: the table does not exist; run `metakv provision` or set database.dynamodb.auto_create = true"
            ),
            source: Some(source),
        },
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "MissingAuthenticationTokenException"
        | "IncompleteSignatureException" => Error::Unauthorized {
            message,
            source: Some(source),
        },
        // Transaction conflicts and unavailability: rejected before applying anything.
        "TransactionConflictException"
        | "TransactionInProgressException"
        | "ServiceUnavailable" => Error::Unavailable {
            message,
            source: Some(source),
        },
        // "The request may or may not have succeeded" (DynamoDB's own words for a 500).
        "InternalServerError" | "InternalFailure" => Error::OutcomeUnknown {
            message,
            source: Some(source),
        },
        _ => Error::Backend {
            message,
            source: Some(source),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
        ResourceNotFoundException,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use kv_core::ErrorKind;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message("test").build()
    }

    #[test]
    fn conditional_check_failure_is_condition_failed() {
        let e = PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .meta(meta("ConditionalCheckFailedException"))
                .build(),
        );
        let err = map_sdk("writing", true, SdkError::service_error(e, response(400)));
        assert_eq!(err.kind(), ErrorKind::ConditionFailed);
    }

    #[test]
    fn throttling_after_retries_is_throttled() {
        let e = PutItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .meta(meta("ProvisionedThroughputExceededException"))
                .build(),
        );
        let err = map_sdk("writing", true, SdkError::service_error(e, response(400)));
        assert_eq!(err.kind(), ErrorKind::Throttled);
        assert!(err.is_retryable());
        let e = GetItemError::generic(meta("ThrottlingException"));
        assert_eq!(
            map_sdk("reading", false, SdkError::service_error(e, response(400))).kind(),
            ErrorKind::Throttled
        );
    }

    #[test]
    fn a_missing_table_is_not_provisioned() {
        let e = GetItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .meta(meta("ResourceNotFoundException"))
                .build(),
        );
        let err = map_sdk("reading", false, SdkError::service_error(e, response(400)));
        assert_eq!(err.kind(), ErrorKind::NotProvisioned);
        assert!(err.to_string().contains("metakv provision"));
    }

    #[test]
    fn access_denied_is_unauthorized() {
        for code in [
            "AccessDeniedException",
            "UnrecognizedClientException",
            "ExpiredTokenException",
        ] {
            let e = GetItemError::generic(meta(code));
            assert_eq!(
                map_sdk("reading", false, SdkError::service_error(e, response(400))).kind(),
                ErrorKind::Unauthorized,
                "{code}"
            );
        }
    }

    #[test]
    fn server_errors_on_writes_leave_the_outcome_unknown() {
        let e = PutItemError::generic(meta("InternalServerError"));
        assert_eq!(
            map_sdk("writing", true, SdkError::service_error(e, response(500))).kind(),
            ErrorKind::OutcomeUnknown
        );
        let e = GetItemError::generic(meta("ServiceUnavailable"));
        assert_eq!(
            map_sdk("reading", false, SdkError::service_error(e, response(503))).kind(),
            ErrorKind::Unavailable
        );
    }
}
