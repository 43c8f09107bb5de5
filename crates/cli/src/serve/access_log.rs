//! One log line per request: method, path, status, `X-Cache` and latency.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::response::Response;
use futures::FutureExt as _;
use futures::future::{BoxFuture, Either};
use tower::Service;

use super::routes::X_CACHE;

/// The `tracing` target of the request lines, so they can be turned down on their own
/// (`RUST_LOG=info,dircache::access=warn`).
pub(crate) const TARGET: &str = "dircache::access";

/// Logs each request once it is answered. Headers are never logged (they carry the bearer
/// token), nor is the query string.
///
/// A service of its own rather than `axum::middleware::from_fn`: with the log turned down,
/// a request costs nothing more than the check that it is (`from_fn` would box a future and
/// clone the route it wraps every time).
#[derive(Clone, Debug)]
pub(crate) struct AccessLog<S> {
    inner: S,
}

impl<S> AccessLog<S> {
    /// Logs the requests `inner` answers.
    pub(crate) fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S> Service<Request> for AccessLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            return Either::Left(self.inner.call(request));
        }
        let started = Instant::now();
        let method = request.method().clone();
        let uri = request.uri().clone();
        let answer = self.inner.call(request);
        let logged = answer.map(move |answer| {
            let Ok(response) = answer;
            let x_cache = response
                .headers()
                .get(&X_CACHE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            tracing::info!(
                target: TARGET,
                method = %method,
                path = uri.path(),
                status = response.status().as_u16(),
                x_cache,
                latency_ms = started.elapsed().as_secs_f64() * 1e3,
                "request"
            );
            Ok(response)
        });
        Either::Right(logged.boxed())
    }
}
