//! The static baseline of `serve_hit`: a bare axum app answering `GET /v1/directories/{id}` with
//! fixed bytes.

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

/// The line the `static_server` binary prints once it listens, before its address.
pub const STATIC_LISTENING: &str = "static_server listening on http://";

/// A router with one route, `GET /v1/directories/{id}` (the route `dircache serve` answers
/// directories on), whose handler returns `body` as `application/json` whatever the id: what
/// serving those bytes costs when nothing else is done.
pub fn static_app(body: Bytes) -> Router {
    Router::new().route(
        "/v1/directories/{id}",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    body,
                )
            }
        }),
    )
}

/// Serves [`static_app`] on a free port of the current runtime, for tests.
#[cfg(test)]
pub(crate) async fn serve_in_process(body: Bytes) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, static_app(body)).await });
    addr
}
