//! The one error type of the crate, and the single answer to "is this worth retrying?".

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::ConfigField;

/// A Genesys Cloud error body: `{message, code, status, contextId, details[], errors[]}`.
///
/// Kept whole in [`Error`] so that users can quote it (and the correlation id) to Genesys support.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// Human-readable message.
    pub message: Option<String>,
    /// Machine-readable code, e.g. `missing.division.permission`.
    pub code: Option<String>,
    /// The HTTP status upstream meant.
    pub status: Option<u16>,
    /// Genesys' id for the failing request (same as the correlation id header).
    #[serde(rename = "contextId")]
    pub context_id: Option<String>,
    /// Structured details, kept as sent.
    pub details: Vec<Value>,
    /// Nested errors, kept as sent.
    pub errors: Vec<Value>,
}

/// Everything that can go wrong configuring the client or fetching a directory.
///
/// Retrying is decided in one place, from [`Error::is_retryable`]. No variant ever carries the
/// client secret or an access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or invalid; the message names it as a builder method, or as the
    /// environment variable (such as `GENESYS_REGION`) when it came from there.
    #[error("invalid configuration for {}: {reason}", setting.name(*from_env))]
    Config {
        /// The setting at fault.
        setting: ConfigField,
        /// Whether its value came from the environment ([`GenesysClient::from_env`](crate::GenesysClient::from_env)).
        from_env: bool,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory id cannot be put in an upstream URL (empty, `.` or `..`).
    #[error("invalid directory id {directory_id:?}: {reason}")]
    InvalidDirectoryId {
        /// The id as given.
        directory_id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A string that should be a [`Fingerprint`](crate::Fingerprint) is not one.
    #[error("not a fingerprint (expected \"xxh3:\" and 32 lowercase hex digits): {value:?}")]
    InvalidFingerprint {
        /// The text as given.
        value: String,
    },
    /// The token endpoint refused the client credentials.
    #[error("the Genesys login service refused the client credentials (HTTP {status}, {error}{})",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    InvalidClient {
        /// HTTP status of the token response.
        status: u16,
        /// OAuth error code, e.g. `invalid_client`.
        error: String,
        /// Upstream's description, when it sent one.
        description: Option<String>,
    },
    /// The API answered 401 again after one token refresh.
    #[error("Genesys rejected a freshly issued access token (HTTP 401){}", CorrelationSuffix(correlation_id.as_deref()))]
    Unauthorized {
        /// `ININ-Correlation-Id` of the failing response.
        correlation_id: Option<String>,
        /// The Genesys error body, when it could be read.
        body: Option<ApiErrorBody>,
    },
    /// The OAuth client lacks the scope and permission of the directory's source (or division
    /// access), e.g. `routing:directory:read`.
    #[error("missing permission to read directory {directory_id:?} (HTTP 403; the OAuth client needs {grant}){}", CorrelationSuffix(correlation_id.as_deref()))]
    Forbidden {
        /// The directory asked for.
        directory_id: String,
        /// The scope (and permission) its source needs, e.g. `routing:readonly;
        /// routing:queue:view`.
        grant: &'static str,
        /// `ININ-Correlation-Id` of the failing response.
        correlation_id: Option<String>,
        /// The Genesys error body, when it could be read.
        body: Option<ApiErrorBody>,
    },
    /// Upstream has no such directory.
    #[error("directory {directory_id:?} not found upstream (HTTP 404){}", CorrelationSuffix(correlation_id.as_deref()))]
    NotFound {
        /// The directory asked for.
        directory_id: String,
        /// `ININ-Correlation-Id` of the failing response.
        correlation_id: Option<String>,
        /// The Genesys error body, when it could be read.
        body: Option<ApiErrorBody>,
    },
    /// Upstream answered 429 and waiting for it would outlast the retry budget.
    #[error("rate limited by Genesys{}{}", RetryAfterSuffix(*retry_after), CorrelationSuffix(correlation_id.as_deref()))]
    RateLimited {
        /// How long upstream asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// `ININ-Correlation-Id` of the failing response.
        correlation_id: Option<String>,
    },
    /// The upstream budget refused a request for a directory with no cached copy: unknown
    /// ids have spent their share of it. Not sent upstream, and not retried.
    #[error("the upstream budget's share for unknown directories is spent; retry after {} s", retry_after.as_secs_f64().ceil())]
    BudgetExhausted {
        /// When the share has room again.
        retry_after: Duration,
    },
    /// Any other unsuccessful status (5xx after the retry budget, other 4xx).
    #[error("Genesys answered HTTP {status}{}", CorrelationSuffix(correlation_id.as_deref()))]
    Upstream {
        /// HTTP status.
        status: u16,
        /// `ININ-Correlation-Id` of the failing response.
        correlation_id: Option<String>,
        /// The Genesys error body, when it could be read.
        body: Option<ApiErrorBody>,
    },
    /// The request did not complete: connection refused or dropped, timeout.
    #[error("request to Genesys failed: {reason}")]
    Transport {
        /// A short description of the failure.
        reason: String,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// Upstream answered with something that is not a valid listing or token.
    #[error("invalid response from Genesys: {reason}{}", CorrelationSuffix(correlation_id.as_deref()))]
    InvalidResponse {
        /// What was wrong with it.
        reason: String,
        /// `ININ-Correlation-Id` of the response, when it had one.
        correlation_id: Option<String>,
    },
    /// Upstream sent more bytes than a limit allows (a page, or a directory's pages); nothing
    /// more of it was read.
    #[error("directory {directory_id:?} is too large: {exceeded}")]
    TooLarge {
        /// The directory asked for.
        directory_id: String,
        /// The limit it went over.
        exceeded: crate::Exceeded,
    },
    /// The listing had more pages than the configured bound.
    #[error("directory {directory_id:?} has more than {limit} pages")]
    TooManyPages {
        /// The directory asked for.
        directory_id: String,
        /// The configured `max_pages`.
        limit: u32,
    },
    /// The directory kept changing while its pages were read.
    #[error("directory {directory_id:?} kept changing while it was read ({attempts} attempts)")]
    TornSnapshot {
        /// The directory asked for.
        directory_id: String,
        /// How many complete reads were tried.
        attempts: u32,
    },
}

impl Error {
    /// Whether the same request may succeed if tried again later: 429, 502, 503, 504,
    /// connection failures and timeouts. Never 400, 401, 403 or 404.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } => true,
            Self::Upstream { status, .. } => matches!(status, 502..=504),
            Self::Transport { source, .. } => {
                source.is_timeout()
                    || source.is_connect()
                    || source.is_request()
                    || source.is_body()
            }
            _ => false,
        }
    }

    /// The HTTP status upstream answered, for errors that come from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::InvalidClient { status, .. } | Self::Upstream { status, .. } => Some(*status),
            Self::Unauthorized { .. } => Some(401),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::RateLimited { .. } | Self::BudgetExhausted { .. } => Some(429),
            _ => None,
        }
    }

    /// The Genesys correlation id of the failing response, to quote to Genesys support.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Unauthorized { correlation_id, .. }
            | Self::Forbidden { correlation_id, .. }
            | Self::NotFound { correlation_id, .. }
            | Self::RateLimited { correlation_id, .. }
            | Self::Upstream { correlation_id, .. }
            | Self::InvalidResponse { correlation_id, .. } => correlation_id.as_deref(),
            _ => None,
        }
    }

    /// How long upstream asked callers to wait before trying again (429 only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::BudgetExhausted { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The Genesys error body, when upstream sent one.
    pub fn api_body(&self) -> Option<&ApiErrorBody> {
        match self {
            Self::Unauthorized { body, .. }
            | Self::Forbidden { body, .. }
            | Self::NotFound { body, .. }
            | Self::Upstream { body, .. } => body.as_ref(),
            _ => None,
        }
    }

    /// A short stable label for metrics and logs (`rate_limited`, `upstream_503`, `timeout`, ...).
    pub(crate) fn retry_reason(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Upstream { status: 502, .. } => "bad_gateway",
            Self::Upstream { status: 503, .. } => "service_unavailable",
            Self::Upstream { status: 504, .. } => "gateway_timeout",
            Self::Transport { source, .. } if source.is_timeout() => "timeout",
            Self::Transport { .. } => "connection",
            _ => "other",
        }
    }
}

/// Formats ` (correlation id X)` when there is one.
struct CorrelationSuffix<'a>(Option<&'a str>);

impl std::fmt::Display for CorrelationSuffix<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (correlation id {id})"),
            None => Ok(()),
        }
    }
}

/// Formats `, retry after N s` when upstream said.
struct RetryAfterSuffix(Option<Duration>);

impl std::fmt::Display for RetryAfterSuffix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(wait) => write!(f, ", retry after {:.3} s", wait.as_secs_f64()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses_are_exactly_429_and_502_to_504() {
        let upstream = |status| Error::Upstream {
            status,
            correlation_id: None,
            body: None,
        };
        for status in [502, 503, 504] {
            assert!(upstream(status).is_retryable(), "{status}");
        }
        for status in [400, 409, 500, 501, 505] {
            assert!(!upstream(status).is_retryable(), "{status}");
        }
        assert!(
            Error::RateLimited {
                retry_after: None,
                correlation_id: None
            }
            .is_retryable()
        );
        let forbidden = Error::Forbidden {
            directory_id: "d".into(),
            grant: "routing:directory:read",
            correlation_id: Some("c-1".into()),
            body: None,
        };
        assert!(!forbidden.is_retryable());
        assert_eq!(forbidden.status(), Some(403));
        assert_eq!(forbidden.correlation_id(), Some("c-1"));
        assert!(
            !Error::NotFound {
                directory_id: "d".into(),
                correlation_id: None,
                body: None
            }
            .is_retryable()
        );
        assert!(
            !Error::InvalidClient {
                status: 401,
                error: "invalid_client".into(),
                description: None
            }
            .is_retryable()
        );
    }

    #[test]
    fn display_quotes_the_correlation_id_and_retry_after() {
        let err = Error::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            correlation_id: Some("abc-123".into()),
        };
        let text = err.to_string();
        assert!(text.contains("retry after 7.000 s"), "{text}");
        assert!(text.contains("abc-123"), "{text}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn error_body_tolerates_missing_and_extra_fields() {
        let body: ApiErrorBody = serde_json::from_str(
            r#"{"message":"no","status":403,"contextId":"ctx","extra":1,"details":[{"a":1}]}"#,
        )
        .unwrap();
        assert_eq!(body.message.as_deref(), Some("no"));
        assert_eq!(body.status, Some(403));
        assert_eq!(body.context_id.as_deref(), Some("ctx"));
        assert_eq!(body.details.len(), 1);
        assert!(body.errors.is_empty() && body.code.is_none());
    }
}
