//! `AuditError`: everything that can go wrong with an audit sink.

use std::io;
use std::path::PathBuf;

/// An audit sink could not be set up, or its log could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The audit log file could not be opened (missing directory, no permission, …).
    #[error("cannot open audit log {}", path.display())]
    Open {
        /// The file that was being opened.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },
    /// Lines could not be written to, or synced into, the audit log; those lines are lost.
    #[error("cannot write audit log {}", path.display())]
    Write {
        /// The audit log file.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },
    /// The writer task needs a tokio runtime, and `open` was called outside one.
    #[error("audit log {} needs a tokio runtime to run its writer task", path.display())]
    NoRuntime {
        /// The audit log file.
        path: PathBuf,
    },
    /// The queue capacity must be at least 1.
    #[error("audit queue capacity must be at least 1, got {capacity}")]
    InvalidCapacity {
        /// The capacity that was asked for.
        capacity: usize,
    },
    /// The writer task stopped abnormally (it panicked or its runtime shut down).
    #[error("audit log writer task for {} stopped abnormally", path.display())]
    WriterTask {
        /// The audit log file.
        path: PathBuf,
        /// How the task ended.
        #[source]
        source: tokio::task::JoinError,
    },
}
