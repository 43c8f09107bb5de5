//! One log line per request: method, path, status, `X-Cache` and latency.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::routes::X_CACHE;

/// The `tracing` target of the request lines, so they can be turned down on their own
/// (`RUST_LOG=info,dircache::access=warn`).
pub(crate) const TARGET: &str = "dircache::access";

/// Logs the request once it is answered. Headers are never logged (they carry the bearer
/// token), nor is the query string.
pub(crate) async fn log(request: Request, next: Next) -> Response {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
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
    response
}
