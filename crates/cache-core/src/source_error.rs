//! `SourceError`: why a [`DirectorySource`](crate::DirectorySource) could not fetch a listing,
//! in the core's own terms, so that a source which is not Genesys need not forge Genesys errors.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The [code](SourceError::code) of a fetch the upstream budget refused: unknown ids have
/// spent their share of it (never sent upstream).
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";

/// What kind of failure a source met; decides whether it is temporary and how it is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The source has no such listing (HTTP 404). Permanent.
    NotFound,
    /// The source refused access to the listing (HTTP 403). Permanent.
    Forbidden,
    /// The source asked us to slow down and waiting would outlast the budget (HTTP 429).
    /// Temporary.
    RateLimited,
    /// The source could not be reached or failed on its side (5xx, timeout, connection).
    /// Temporary.
    Unavailable,
    /// The source sent more bytes than a limit allows (a page over 32 MiB, a directory over
    /// its byte limit); nothing of it is kept. Permanent.
    TooLarge,
    /// Any other failure that asking again will not mend (a refused request, an answer that
    /// cannot be read, a listing that kept changing). Permanent.
    Rejected,
}

impl SourceErrorKind {
    /// Whether asking again later may succeed.
    pub fn is_temporary(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable)
    }
}

/// Why a source could not fetch a listing: its kind, and what upstream said about it (HTTP
/// status, upstream error code, correlation id, how long to wait) when there is something.
///
/// Cheap to clone: one failure is the answer of every caller that waited on the same fetch.
/// Its message is the cause's message; the cause stays reachable through
/// [`std::error::Error::source`].
#[derive(Clone, Debug)]
pub struct SourceError {
    // Behind an `Arc`: every `Result` of the pipeline carries this error, so it stays one
    // pointer wide, and the callers sharing one failed fetch share one allocation.
    inner: Arc<Details>,
}

#[derive(Clone, Debug)]
struct Details {
    kind: SourceErrorKind,
    message: String,
    status: Option<u16>,
    code: Option<String>,
    correlation_id: Option<String>,
    retry_after: Option<Duration>,
    remembered: bool,
    cause: Option<Arc<dyn StdError + Send + Sync>>,
}

impl SourceError {
    /// A failure of `kind`, described by `message`.
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Details {
                kind,
                message: message.into(),
                status: None,
                code: None,
                correlation_id: None,
                retry_after: None,
                remembered: false,
                cause: None,
            }),
        }
    }

    fn details(&mut self) -> &mut Details {
        Arc::make_mut(&mut self.inner)
    }

    /// The HTTP status upstream answered.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.details().status = Some(status);
        self
    }

    /// Upstream's machine-readable error code (e.g. Genesys' `missing.division.permission`).
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.details().code = Some(code.into());
        self
    }

    /// Upstream's id for the failing request, to quote to its support.
    #[must_use]
    pub fn with_correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.details().correlation_id = Some(correlation_id.into());
        self
    }

    /// How long upstream asked us to wait before asking again.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.details().retry_after = Some(wait);
        self
    }

    /// Marks the failure as answered from the negative cache: upstream said so recently, and
    /// was not asked again.
    #[must_use]
    pub fn remembered(mut self) -> Self {
        self.details().remembered = true;
        self
    }

    /// The underlying error, kept as this error's [`source`](StdError::source).
    #[must_use]
    pub fn with_cause(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.details().cause = Some(Arc::new(cause));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SourceErrorKind {
        self.inner.kind
    }

    /// Whether asking again later may succeed.
    pub fn is_temporary(&self) -> bool {
        self.inner.kind.is_temporary()
    }

    /// The HTTP status upstream answered, if any.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// Upstream's error code, if it sent one.
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// Upstream's correlation id, if it sent one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id.as_deref()
    }

    /// Whether the failure was answered from the negative cache rather than by upstream now.
    pub fn is_remembered(&self) -> bool {
        self.inner.remembered
    }

    /// How long upstream asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl StdError for SourceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .cause
            .as_deref()
            .map(|cause| cause as &(dyn StdError + 'static))
    }
}

impl From<genesys_client::Error> for SourceError {
    fn from(error: genesys_client::Error) -> Self {
        use genesys_client::Error as Genesys;
        let kind = match &error {
            Genesys::NotFound { .. } => SourceErrorKind::NotFound,
            Genesys::Forbidden { .. } => SourceErrorKind::Forbidden,
            Genesys::RateLimited { .. } | Genesys::BudgetExhausted { .. } => {
                SourceErrorKind::RateLimited
            }
            Genesys::TooLarge { .. } => SourceErrorKind::TooLarge,
            e if e.is_retryable() => SourceErrorKind::Unavailable,
            _ => SourceErrorKind::Rejected,
        };
        let mut converted = Self::new(kind, error.to_string());
        let details = converted.details();
        details.status = error.status();
        details.code = match &error {
            Genesys::BudgetExhausted { .. } => Some(BUDGET_EXHAUSTED.to_owned()),
            _ => error.api_body().and_then(|body| body.code.clone()),
        };
        details.correlation_id = error.correlation_id().map(str::to_owned);
        details.retry_after = error.retry_after();
        converted.with_cause(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_genesys_error_keeps_its_status_code_correlation_id_and_message() {
        let body: genesys_client::ApiErrorBody =
            serde_json::from_value(serde_json::json!({"code": "missing.division.permission"}))
                .unwrap();
        let genesys = genesys_client::Error::Forbidden {
            directory_id: "vendors".into(),
            grant: "routing:directory:read",
            correlation_id: Some("corr-7".into()),
            body: Some(body),
        };
        let message = genesys.to_string();
        let error = SourceError::from(genesys);
        assert_eq!(error.kind(), SourceErrorKind::Forbidden);
        assert!(!error.is_temporary());
        assert_eq!(error.status(), Some(403));
        assert_eq!(error.code(), Some("missing.division.permission"));
        assert_eq!(error.correlation_id(), Some("corr-7"));
        assert_eq!(error.to_string(), message);
        assert!(error.source().is_some());
    }

    #[test]
    fn rate_limits_and_gateway_errors_are_temporary_other_statuses_are_not() {
        let limited = SourceError::from(genesys_client::Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            correlation_id: None,
        });
        assert_eq!(limited.kind(), SourceErrorKind::RateLimited);
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        let upstream = |status| {
            SourceError::from(genesys_client::Error::Upstream {
                status,
                correlation_id: None,
                body: None,
            })
        };
        assert_eq!(upstream(503).kind(), SourceErrorKind::Unavailable);
        assert!(upstream(503).is_temporary());
        assert_eq!(upstream(400).kind(), SourceErrorKind::Rejected);
        assert!(!upstream(400).is_temporary());
    }

    #[test]
    fn a_source_of_its_own_builds_one_without_genesys() {
        let error = SourceError::new(SourceErrorKind::Unavailable, "ldap server down")
            .with_status(503)
            .with_correlation_id("req-1");
        assert!(error.is_temporary());
        assert_eq!(error.to_string(), "ldap server down");
        assert_eq!(error.status(), Some(503));
        assert!(error.source().is_none());
    }
}
