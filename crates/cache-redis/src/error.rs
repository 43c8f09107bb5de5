//! What went wrong talking to Redis, kept as the source of a `cache_core::Error::Backend`.

use std::sync::Arc;
use std::time::Duration;

/// A failed Redis call: the source of the [`cache_core::Error::Backend`] every fallible
/// method of this crate returns (downcast it to see which call failed and why).
///
/// No variant holds a password: the redis crate's messages name the server address only, and
/// URLs are shown redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisBackendError {
    /// Redis answered the call with an error, or the connection failed during it.
    #[error("redis {operation} failed: {source}")]
    Command {
        /// What the backend was doing (`get`, `put`, `lock_acquire`, …).
        operation: &'static str,
        /// The redis crate's error.
        #[source]
        source: redis::RedisError,
    },
    /// The call did not complete within the command timeout (connection checkout included).
    #[error("redis {operation} timed out after {after:?}")]
    TimedOut {
        /// What the backend was doing.
        operation: &'static str,
        /// The command timeout.
        after: Duration,
    },
    /// No connection to Redis could be made (the server is down or refuses us).
    #[error("redis is unreachable for {operation}: {reason}")]
    Unreachable {
        /// What the backend was doing.
        operation: &'static str,
        /// The last connection failure.
        reason: String,
    },
    /// Redis answered something this backend did not ask for.
    #[error("redis {operation} answered unexpectedly: {reason}")]
    Protocol {
        /// What the backend was doing.
        operation: &'static str,
        /// What was wrong with the answer.
        reason: String,
    },
}

impl RedisBackendError {
    /// The operation that failed.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Command { operation, .. }
            | Self::TimedOut { operation, .. }
            | Self::Unreachable { operation, .. }
            | Self::Protocol { operation, .. } => operation,
        }
    }

    /// Whether Redis refused our credentials (a configuration error, not an outage).
    pub fn is_auth_failure(&self) -> bool {
        match self {
            Self::Command { source, .. } => is_auth_error(source),
            Self::Unreachable { reason, .. } => {
                reason.contains("WRONGPASS") || reason.contains("NOAUTH")
            }
            _ => false,
        }
    }
}

/// Whether the redis crate's error is a refusal of our credentials.
pub(crate) fn is_auth_error(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(error.code(), Some("WRONGPASS" | "NOAUTH"))
}

impl From<RedisBackendError> for cache_core::Error {
    fn from(error: RedisBackendError) -> Self {
        cache_core::Error::Backend {
            backend: "redis",
            reason: error.to_string(),
            source: Some(Arc::new(error)),
        }
    }
}
