//! Turning an unsuccessful upstream response (or no response) into a typed [`Error`].

use std::time::SystemTime;

use reqwest::header::HeaderMap;

use crate::{ApiErrorBody, Error, retry};

/// The correlation id Genesys support asks for: `ININ-Correlation-Id`, else
/// `Genesys-Correlation-Id`, else the error body's `contextId`.
pub(crate) fn correlation_id(headers: &HeaderMap, body: Option<&ApiErrorBody>) -> Option<String> {
    ["inin-correlation-id", "genesys-correlation-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_owned)
        .or_else(|| body.and_then(|b| b.context_id.clone()))
}

/// A request that got no (complete) response.
pub(crate) fn transport(what: &str, err: reqwest::Error) -> Error {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_request() {
        "connection failed"
    } else {
        "failed"
    };
    Error::Transport {
        reason: format!("{what}: {kind}"),
        source: err,
    }
}

/// The error for a directory request answered with `status` (anything but 2xx, 304 and the 401
/// that the caller handles by refreshing the token).
pub(crate) fn directory_error(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    directory_id: &str,
    grant: &'static str,
) -> Error {
    let api_body = serde_json::from_slice::<ApiErrorBody>(body).ok();
    let correlation_id = correlation_id(headers, api_body.as_ref());
    let directory_id = directory_id.to_owned();
    match status {
        401 => Error::Unauthorized {
            correlation_id,
            body: api_body,
        },
        403 => Error::Forbidden {
            directory_id,
            grant,
            correlation_id,
            body: api_body,
        },
        404 => Error::NotFound {
            directory_id,
            correlation_id,
            body: api_body,
        },
        429 => Error::RateLimited {
            retry_after: retry::retry_after(headers, SystemTime::now()),
            correlation_id,
        },
        status => Error::Upstream {
            status,
            correlation_id,
            body: api_body,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    #[test]
    fn statuses_map_to_their_variants_with_correlation_and_body() {
        let mut headers = HeaderMap::new();
        headers.insert("ININ-Correlation-Id", HeaderValue::from_static("corr-1"));
        let body = br#"{"message":"Missing permission","code":"missing.permissions","status":403,"contextId":"ctx"}"#;
        match directory_error(403, &headers, body, "vendors", "users:readonly") {
            Error::Forbidden {
                directory_id,
                grant,
                correlation_id,
                body: Some(body),
            } => {
                assert_eq!(directory_id, "vendors");
                assert_eq!(grant, "users:readonly");
                assert_eq!(correlation_id.as_deref(), Some("corr-1"));
                assert_eq!(body.code.as_deref(), Some("missing.permissions"));
            }
            other => panic!("{other:?}"),
        }
        // Without the header, the body's contextId stands in.
        let err = directory_error(404, &HeaderMap::new(), br#"{"contextId":"ctx-9"}"#, "x", "");
        assert!(matches!(err, Error::NotFound { .. }));
        assert_eq!(err.correlation_id(), Some("ctx-9"));

        let mut headers = HeaderMap::new();
        headers.insert("Genesys-Correlation-Id", HeaderValue::from_static("g-2"));
        headers.insert("Retry-After", HeaderValue::from_static("4"));
        let err = directory_error(429, &headers, b"not json", "x", "");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(4)));
        assert_eq!(err.correlation_id(), Some("g-2"));

        let err = directory_error(500, &HeaderMap::new(), b"<html>", "x", "");
        assert!(matches!(
            err,
            Error::Upstream {
                status: 500,
                body: None,
                ..
            }
        ));
    }
}
