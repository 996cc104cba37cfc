//! The directory lock: one process at a time, and a clear error naming the holder otherwise.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use kv_core::{Error, Result};

/// An exclusive advisory lock on `DIR/LOCK`, holding the owner's process id. The operating system
/// releases it when the process dies, even by SIGKILL.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

pub(crate) fn acquire(dir: &Path, db_file: &Path) -> Result<DirLock> {
    let path: PathBuf = dir.join("LOCK");
    let io = |e: std::io::Error| {
        Error::unavailable(format!("cannot open lock file {}", path.display()), e)
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            writeln!(file, "{}", std::process::id()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok(DirLock { _file: file })
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another process".to_string(),
                pid => format!("process {pid}"),
            };
            Err(Error::Unavailable {
                message: format!(
                    "local store {} is in use by {holder} (lock file {}); stop it or use another \
                     database.local.path",
                    db_file.display(),
                    path.display()
                ),
                source: None,
            })
        }
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}
