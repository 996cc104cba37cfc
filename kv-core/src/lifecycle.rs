//! The open/closed state every driver keeps.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

/// Tracks whether a store was closed; every operation calls [`Lifecycle::check`] first.
#[derive(Debug, Default)]
pub struct Lifecycle {
    closed: AtomicBool,
}

impl Lifecycle {
    /// `Err(Closed)` once [`Lifecycle::close`] was called.
    pub fn check(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Marks the store closed; returns whether this call closed it (false if it already was).
    pub fn close(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }
}
