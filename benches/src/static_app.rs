//! The static baseline of `serve_hit`: a bare axum app answering `GET /v1/directories/{id}` with
//! fixed bytes.

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;

/// The line the `static_server` binary prints once it listens, before its address.
pub const STATIC_LISTENING: &str = "static_server listening on http://";

/// A router with one route, `GET /v1/directories/{id}` (the route `dircache serve` answers
/// directories on), whose handler returns `body` as `application/json` whatever the id (with
/// `Content-Encoding: <content_encoding>` when one is given, for already encoded bytes): what
/// serving those bytes costs when nothing else is done.
pub fn static_app(body: Bytes, content_encoding: Option<HeaderValue>) -> Router {
    Router::new().route(
        "/v1/directories/{id}",
        get(move || {
            let body = body.clone();
            let content_encoding = content_encoding.clone();
            async move {
                let mut response = (
                    [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                    body,
                )
                    .into_response();
                if let Some(coding) = content_encoding {
                    response.headers_mut().insert(CONTENT_ENCODING, coding);
                }
                response
            }
        }),
    )
}

/// Serves [`static_app`] on a free port of the current runtime, for tests.
#[cfg(test)]
pub(crate) async fn serve_in_process(body: Bytes) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, static_app(body, None)).await });
    addr
}
