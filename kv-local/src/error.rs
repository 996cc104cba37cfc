//! The one place that maps redb and file errors to `kv_core::Error`.

use kv_core::Error;

/// Maps a redb error met while `doing` something. Storage I/O errors are `Unavailable`
/// (nothing was applied); corruption and the rest are `Backend`.
pub(crate) fn map_redb(doing: &str, err: impl Into<redb::Error>) -> Error {
    let err: redb::Error = err.into();
    match err {
        redb::Error::Io(io) => {
            Error::unavailable(format!("local store I/O failed while {doing}"), io)
        }
        redb::Error::DatabaseAlreadyOpen => Error::Unavailable {
            message: format!("local store file is already open while {doing}"),
            source: Some(Box::new(err)),
        },
        other => Error::backend(format!("local store failed while {doing}"), other),
    }
}

/// Maps a failed commit: the group's writes may be partly on disk when the fsync failed, so
/// their outcome is unknown.
pub(crate) fn map_commit(err: redb::CommitError) -> Error {
    Error::OutcomeUnknown {
        message: "local store commit failed".into(),
        source: Some(Box::new(err)),
    }
}

/// The error for a writer thread that is gone (it stops only after `close`, or if it panicked).
pub(crate) fn writer_gone() -> Error {
    Error::Closed
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::ErrorKind;

    #[test]
    fn io_errors_are_unavailable_and_keep_their_source() {
        let err = map_redb(
            "reading",
            redb::StorageError::Io(std::io::Error::other("disk gone")),
        );
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn corruption_is_a_backend_error() {
        let err = map_redb("reading", redb::StorageError::Corrupted("bad page".into()));
        assert_eq!(err.kind(), ErrorKind::Backend);
        assert!(err.to_string().contains("reading"));
    }
}
