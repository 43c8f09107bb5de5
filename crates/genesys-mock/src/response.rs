//! The shapes of upstream answers: correlation ids, Genesys error bodies and OAuth error bodies.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

/// The header upstream puts its correlation id in.
pub(crate) const CORRELATION_HEADER: &str = "inin-correlation-id";

/// A fresh UUID-shaped correlation id, as upstream mints one per request.
pub(crate) fn correlation_id() -> String {
    crate::entries::uuid(&mut fastrand::Rng::new())
}

/// The status to answer with, falling back to 500 for a number HTTP cannot carry.
pub(crate) fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON response carrying `correlation` in `ININ-Correlation-Id`.
pub(crate) fn json_response(status: StatusCode, body: &Value, correlation: &str) -> Response<Body> {
    let bytes = serde_json::to_vec(body).expect("a serde_json::Value always serialises");
    raw_response(status, bytes, correlation)
}

/// A response with `application/json` content type and the given bytes, valid JSON or not.
pub(crate) fn raw_response(
    status: StatusCode,
    bytes: Vec<u8>,
    correlation: &str,
) -> Response<Body> {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(CORRELATION_HEADER, header_value(correlation));
    response
}

/// A Genesys platform error: `{message, code, status, contextId, details, errors}`.
pub(crate) fn genesys_error(
    status: u16,
    code: &str,
    message: &str,
    correlation: &str,
) -> Response<Body> {
    let body = json!({
        "message": message,
        "code": code,
        "status": status,
        "contextId": correlation,
        "details": [],
        "errors": [],
    });
    json_response(status_code(status), &body, correlation)
}

/// The Genesys error for a bare `status`, with the code and message upstream uses for it.
pub(crate) fn genesys_status(status: u16, correlation: &str) -> Response<Body> {
    let (code, message) = match status {
        400 => (
            "bad.request",
            "The request could not be understood by the server due to malformed syntax.",
        ),
        401 => ("bad.credentials", "Invalid login credentials."),
        403 => (
            "missing.permissions",
            "Unable to perform the requested action. You are missing the following permission(s): [routing:directory:read]",
        ),
        404 => ("not.found", "The requested resource was not found."),
        429 => (
            "too.many.requests",
            "Rate limit exceeded the maximum. [300] requests for [60] seconds",
        ),
        500 => (
            "internal.server.error",
            "The server encountered an unexpected condition which prevented it from fulfilling the request.",
        ),
        502 => (
            "bad.gateway",
            "The server, while acting as a gateway or proxy, received an invalid response from the upstream server.",
        ),
        503 => (
            "service.unavailable",
            "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
        ),
        504 => ("gateway.timeout", "The request timed out."),
        _ => ("error", "The request failed."),
    };
    genesys_error(status, code, message, correlation)
}

/// An OAuth error from the login service: `{error, description}`.
pub(crate) fn oauth_error(
    status: u16,
    error: &str,
    description: &str,
    correlation: &str,
) -> Response<Body> {
    let body = json!({ "error": error, "description": description });
    json_response(status_code(status), &body, correlation)
}

/// A header value from text the mock produced itself (ids, dates, numbers).
pub(crate) fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("mock-generated header values are visible ASCII")
}
