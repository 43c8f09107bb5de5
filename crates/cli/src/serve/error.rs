//! Errors of the HTTP API: each failure's status, stable code and JSON body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cache_core::{Outcome, SourceErrorKind};
use serde::Serialize;

use super::routes::X_CACHE;
use crate::failure::one_line;

/// How long a client is asked to wait after a 429 when upstream did not say: Genesys' rate
/// limit window is a minute.
const DEFAULT_RETRY_AFTER_SECONDS: u64 = 60;

/// An error answer: `{"error": {"code", "message", "correlation_id"?}}` with its status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    correlation_id: Option<String>,
    retry_after: Option<u64>,
    /// A refusal remembered by the negative cache: a hit, upstream was not asked (SPEC §9).
    remembered: bool,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            correlation_id: None,
            retry_after: None,
            remembered: false,
        }
    }

    /// 401: the admin bearer token is missing or wrong, or none is configured.
    pub(crate) fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404 for a path the API does not have.
    pub(crate) fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no_route", "no such route")
    }

    /// 405 for a known path with a method it does not take.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
    }

    /// 413: a request body over the limit of `limit` bytes.
    pub(crate) fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a request body is at most {limit} bytes"),
        )
    }

    /// 400 for a directory id that cannot be read at all (not UTF-8).
    pub(crate) fn unreadable_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_directory_id",
            "the directory id is not valid UTF-8",
        )
    }

    /// 404: the cached directory has no entry with this id.
    pub(crate) fn entry_not_found(directory_id: &cache_core::DirectoryId) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "entry_not_found",
            format!("directory `{directory_id}` has no entry with this id"),
        )
    }

    /// 503: the cache backend does not answer.
    pub(crate) fn not_ready(error: &cache_core::Error) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("not ready: {}", one_line(error)),
        )
    }

    /// The answer to a failed cache operation.
    pub(crate) fn from_cache(error: &cache_core::Error) -> Self {
        let message = one_line(error);
        match error {
            cache_core::Error::InvalidDirectoryId { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_directory_id", message)
            }
            cache_core::Error::InvalidQuery { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
            }
            cache_core::Error::TooManyEntries { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too_many_entries",
                message,
            ),
            cache_core::Error::UnknownDirectory { .. } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_directory", message)
            }
            cache_core::Error::Upstream { source, .. } => {
                let (status, code) = match source.kind() {
                    SourceErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
                    SourceErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
                    SourceErrorKind::RateLimited
                        if source.code() == Some(cache_core::BUDGET_EXHAUSTED) =>
                    {
                        (StatusCode::TOO_MANY_REQUESTS, cache_core::BUDGET_EXHAUSTED)
                    }
                    SourceErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
                    SourceErrorKind::TooLarge => (StatusCode::BAD_GATEWAY, "upstream_too_large"),
                    _ => (StatusCode::BAD_GATEWAY, "upstream_error"),
                };
                let mut api = Self::new(status, code, message);
                api.correlation_id = source.correlation_id().map(str::to_owned);
                api.remembered = source.is_remembered();
                if status == StatusCode::TOO_MANY_REQUESTS {
                    // Whole seconds, rounded up: never ask for a retry sooner than upstream did.
                    api.retry_after = Some(
                        source
                            .retry_after()
                            .map_or(DEFAULT_RETRY_AFTER_SECONDS, |wait| {
                                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
                            }),
                    );
                }
                api
            }
            cache_core::Error::Backend { .. } => Self::not_ready(error),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
                correlation_id: self.correlation_id.as_deref(),
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.remembered {
            let hit = HeaderValue::from_static(Outcome::Hit.as_str());
            headers.insert(X_CACHE.clone(), hit);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cache_core::DirectoryId;
    use serde_json::Value;

    use super::*;

    fn upstream(source: genesys_client::Error) -> cache_core::Error {
        cache_core::Error::Upstream {
            directory_id: DirectoryId::new("d").unwrap(),
            source: source.into(),
        }
    }

    async fn answer(error: ApiError) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = error.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn each_failure_has_its_status_and_code() {
        let cases = [
            (
                cache_core::Error::InvalidDirectoryId {
                    id: "..".into(),
                    reason: "reserved",
                },
                400,
                "invalid_directory_id",
            ),
            (
                cache_core::Error::TooManyEntries {
                    directory_id: DirectoryId::new("d").unwrap(),
                    count: 600,
                    limit: 500,
                },
                422,
                "too_many_entries",
            ),
            (
                cache_core::Error::UnknownDirectory {
                    directory_id: DirectoryId::new("d").unwrap(),
                },
                404,
                "unknown_directory",
            ),
            (
                upstream(genesys_client::Error::Forbidden {
                    directory_id: "d".into(),
                    grant: "routing:directory:read",
                    correlation_id: Some("c-403".into()),
                    body: None,
                }),
                403,
                "forbidden",
            ),
            (
                upstream(genesys_client::Error::NotFound {
                    directory_id: "d".into(),
                    correlation_id: None,
                    body: None,
                }),
                404,
                "not_found",
            ),
            (
                upstream(genesys_client::Error::Upstream {
                    status: 503,
                    correlation_id: Some("c-503".into()),
                    body: None,
                }),
                502,
                "upstream_error",
            ),
            (
                cache_core::Error::Backend {
                    backend: "redis",
                    reason: "connection refused".into(),
                    source: None,
                },
                503,
                "not_ready",
            ),
        ];
        for (error, status, code) in cases {
            let (got, headers, body) = answer(ApiError::from_cache(&error)).await;
            assert_eq!(got.as_u16(), status, "{error}");
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["message"].as_str().unwrap().len() > 3);
            assert!(!headers.contains_key(header::RETRY_AFTER));
            assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{error}");
        }
    }

    #[tokio::test]
    async fn upstream_errors_carry_the_correlation_id() {
        let error = upstream(genesys_client::Error::Upstream {
            status: 500,
            correlation_id: Some("corr-7".into()),
            body: None,
        });
        let (_, _, body) = answer(ApiError::from_cache(&error)).await;
        assert_eq!(body["error"]["correlation_id"], "corr-7");
        let (_, _, body) = answer(ApiError::no_route()).await;
        assert!(body["error"].get("correlation_id").is_none());
        assert_eq!(body["error"]["code"], "no_route");
    }

    #[tokio::test]
    async fn rate_limited_says_when_to_come_back_rounded_up() {
        let error = upstream(genesys_client::Error::RateLimited {
            retry_after: Some(Duration::from_millis(42_100)),
            correlation_id: None,
        });
        let (status, headers, body) = answer(ApiError::from_cache(&error)).await;
        assert_eq!(
            (status.as_u16(), &body["error"]["code"]),
            (429, &"rate_limited".into())
        );
        assert_eq!(headers[header::RETRY_AFTER], "43");
        let unknown = upstream(genesys_client::Error::RateLimited {
            retry_after: None,
            correlation_id: None,
        });
        let (_, headers, _) = answer(ApiError::from_cache(&unknown)).await;
        assert_eq!(headers[header::RETRY_AFTER], "60");
    }

    #[tokio::test]
    async fn unauthorized_asks_for_a_bearer_token() {
        let (status, headers, body) = answer(ApiError::unauthorized("missing token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}
