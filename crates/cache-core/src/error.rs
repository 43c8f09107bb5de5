//! The cache's error type.

use std::sync::Arc;

use crate::{ConfigField, DirectoryId, SourceError};

/// Everything that can go wrong in the cache.
///
/// Cheap to clone (sources are shared), because one upstream failure is the answer of every
/// caller that waited on the same fetch.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A directory id that is not 1..=128 characters of `A-Z a-z 0-9 . _ : -` (or is `.`/`..`).
    #[error("invalid directory id {id:?}: {reason}")]
    InvalidDirectoryId {
        /// The refused id, escaped and cut to 40 characters.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A lookup that cannot be asked: no key or two, an unknown key, an empty value, a bad
    /// limit (SPEC §8).
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// What is wrong with it.
        reason: String,
    },
    /// A TTL outside 30..=3600 seconds.
    #[error("invalid TTL of {seconds} s: a TTL is 30..=3600 seconds")]
    InvalidTtl {
        /// The refused TTL.
        seconds: u64,
    },
    /// A directory over the entry limit: refused whole, never cached truncated.
    #[error(
        "directory `{directory_id}` has {count} entries, over the limit of {limit}: it is not cached"
    )]
    TooManyEntries {
        /// The directory.
        directory_id: DirectoryId,
        /// How many entries upstream has.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// An id the source refuses outright (not declared, under `undeclared = "refuse"`):
    /// answered before any I/O.
    #[error("directory `{directory_id}` is not declared (undeclared ids are refused)")]
    UnknownDirectory {
        /// The directory.
        directory_id: DirectoryId,
    },
    /// The source (Genesys) failed and no usable cached copy was at hand.
    #[error("fetching directory `{directory_id}` from upstream failed")]
    Upstream {
        /// The directory.
        directory_id: DirectoryId,
        /// What the source said: kind, status, error code, correlation id.
        #[source]
        source: SourceError,
    },
    /// The cache backend failed (unreachable, timed out, refused).
    #[error("the {backend} cache backend failed: {reason}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What failed.
        reason: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// A stored value that cannot be decoded: treated as a miss by the pipeline.
    #[error("the cached copy of `{directory_id}` is unreadable: {reason}")]
    Corrupt {
        /// The directory.
        directory_id: DirectoryId,
        /// Why it cannot be read.
        reason: String,
    },
    /// A directory that cannot be encoded for caching.
    #[error("directory `{directory_id}` cannot be encoded: {reason}")]
    Encode {
        /// The directory.
        directory_id: DirectoryId,
        /// Why.
        reason: String,
    },
    /// A bug: a fetch task panicked or an upstream answered in a way no request asked for.
    #[error("internal error for directory `{directory_id}`: {reason}")]
    Internal {
        /// The directory.
        directory_id: DirectoryId,
        /// What happened.
        reason: String,
    },
    /// A setting with a value that cannot work.
    #[error("invalid setting `{setting}`: {reason}")]
    Config {
        /// The setting, shown as its dotted name (`webhooks.url`, `redis.prefix`).
        setting: ConfigField,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Upstream { source, .. } => source.is_temporary(),
            Self::Backend { .. } => true,
            _ => false,
        }
    }

    /// The source's error, when the source is what failed.
    pub fn upstream(&self) -> Option<&SourceError> {
        match self {
            Self::Upstream { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Whether a stale copy may be served instead of this error (stale-if-error): upstream
    /// is unavailable or rate limited, or the backend failed. A definite answer (403, 404, a
    /// directory over the limits) is passed on instead.
    pub fn allows_stale(&self) -> bool {
        match self {
            Self::Upstream { source, .. } => source.is_temporary(),
            Self::Backend { .. } | Self::Internal { .. } => true,
            _ => false,
        }
    }
}
