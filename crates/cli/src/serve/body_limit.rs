//! The request body limit (64 KiB, SPEC §10): a larger declared body is answered 413 before
//! any of it is read, and a body without a declared length is cut off at the limit.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;

use super::error::ApiError;

/// The largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refuses a request whose `Content-Length` is over [`MAX_BODY_BYTES`] (413), and limits what
/// a handler can read of any other body to it.
pub(crate) async fn limit(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return ApiError::body_too_large(MAX_BODY_BYTES).into_response();
    }
    next.run(request.map(|body| Body::new(Limited::new(body, MAX_BODY_BYTES))))
        .await
}
