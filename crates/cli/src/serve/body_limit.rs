//! The request body limit (64 KiB, SPEC §10): a larger declared body is answered 413 before
//! any of it is read, and a body without a declared length is cut off at the limit.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use http_body_util::Limited;
use hyper::body::Body as _;
use tower::Service;

use super::error::ApiError;

/// The largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Refuses a request whose `Content-Length` is over [`MAX_BODY_BYTES`] (413), and limits what
/// the service inside can read of any other body to it.
///
/// A service of its own rather than `axum::middleware::from_fn`, which boxes a future and
/// clones the route it wraps on every request, hits included.
#[derive(Clone, Debug)]
pub(crate) struct BodyLimit<S> {
    inner: S,
}

impl<S> BodyLimit<S> {
    /// Limits the requests `inner` gets.
    pub(crate) fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S> Service<Request> for BodyLimit<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
            return Either::Left(ready(Ok(
                ApiError::body_too_large(MAX_BODY_BYTES).into_response()
            )));
        }
        // No body (every GET): nothing to limit.
        if request.body().is_end_stream() {
            return Either::Right(self.inner.call(request));
        }
        let limited = request.map(|body| Body::new(Limited::new(body, MAX_BODY_BYTES)));
        Either::Right(self.inner.call(limited))
    }
}
