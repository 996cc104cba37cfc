//! The one place that maps PostgreSQL and pool errors to `kv_core::Error`.

use deadpool_postgres::PoolError;
use kv_core::Error;
use tokio_postgres::error::SqlState;

/// Maps a database error met while `doing` something. `write` says whether the statement may
/// have changed data: a connection lost after sending a write leaves its outcome unknown.
pub(crate) fn map_pg(doing: &str, write: bool, e: tokio_postgres::Error) -> Error {
    let message = format!("postgres failed while {doing}");
    let Some(code) = e.code() else {
        let write = write && e.is_closed();
        return Error::lost_answer(write, message, Some(Box::new(e)));
    };
    // The server's own code: what to look up when the message is not enough.
    let message = format!("{message} (SQLSTATE {})", code.code());
    let class = &code.code()[..2];
    match code {
        c if *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME => {
            Error::NotProvisioned {
                message: format!(
                    "{message}: the table or schema does not exist; run `metakv provision` or set database.postgres.auto_create = true"
                ),
                source: Some(Box::new(e)),
            }
        }
        c if *c == SqlState::INVALID_PASSWORD
            || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            || *c == SqlState::INSUFFICIENT_PRIVILEGE =>
        {
            Error::Unauthorized {
                message,
                source: Some(Box::new(e)),
            }
        }
        // The statement was rolled back: nothing applied, retrying is safe.
        c if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::QUERY_CANCELED
            || *c == SqlState::TOO_MANY_CONNECTIONS
            || *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN
            || *c == SqlState::CANNOT_CONNECT_NOW =>
        {
            Error::Unavailable {
                message,
                source: Some(Box::new(e)),
            }
        }
        // Class 08: connection exceptions.
        _ if class == "08" => Error::lost_answer(write, message, Some(Box::new(e))),
        _ => Error::Backend {
            message,
            source: Some(Box::new(e)),
        },
    }
}

/// Maps a failure to get a pooled connection to `endpoint` (host:port, for the message):
/// nothing was sent.
pub(crate) fn map_pool(endpoint: &str, e: PoolError) -> Error {
    match e {
        PoolError::Backend(e) => map_pg(&format!("connecting to {endpoint}"), false, e),
        PoolError::Closed => Error::Closed,
        other => Error::unavailable("no postgres connection available", other),
    }
}

/// Whether a failed transaction may simply be run again (it was rolled back by the server).
pub(crate) fn is_retryable_conflict(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}
