//! The handlers of the HTTP API: directories (get, invalidate, verify), stats, metrics and
//! health.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cache_core::{CachedDirectory, DirectoryId, Outcome};
use serde_json::json;

use super::ServeState;
use super::error::ApiError;
use super::negotiation::negotiate;
use crate::directories::DirectoriesReport;
use crate::report::StatsReport;

/// `X-Cache`.
pub(crate) static X_CACHE: HeaderName = HeaderName::from_static("x-cache");
/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The directory id of the path, validated before anything else is done with the request.
fn directory_id(path: Result<Path<String>, PathRejection>) -> Result<DirectoryId, ApiError> {
    let Path(raw) = path.map_err(|_| ApiError::unreadable_id())?;
    valid_directory_id(&raw)
}

/// A directory id, validated.
pub(super) fn valid_directory_id(raw: &str) -> Result<DirectoryId, ApiError> {
    DirectoryId::new(raw).map_err(|e| ApiError::from_cache(&e))
}

/// `GET /v1/directories/{id}`: the cached document, `X-Cache`, `ETag`, and 304 to a matching
/// `If-None-Match`. The request is taken whole for its headers: the `HeaderMap` extractor
/// would copy them.
pub(crate) async fn get_directory(
    State(state): State<ServeState>,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let id = match directory_id(path) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match state.cache().get(&id).await {
        Ok(lookup) => copy_response(
            &lookup.directory,
            lookup.outcome,
            request.headers(),
            Answer::Document,
        ),
        Err(e) => ApiError::from_cache(&e).into_response(),
    }
}

/// What an answer from a cached copy carries.
pub(super) enum Answer {
    /// The directory document itself: the body shared with the cache (no copy, no
    /// serialisation), in the coding the client prefers (each made once per copy).
    Document,
    /// A part of it, such as a lookup's answer: compressed per request when it is large enough
    /// to be worth it ([`cache_core::MIN_COMPRESSED_LEN`]).
    Part(Bytes),
}

/// The answer from a cached copy, with the copy's `ETag` and `X-Cache`, or 304.
pub(super) fn copy_response(
    directory: &CachedDirectory,
    outcome: Outcome,
    request: &HeaderMap,
    answer: Answer,
) -> Response {
    let etag = etag_of(directory);
    let x_cache = HeaderValue::from_static(outcome.as_str());
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if none_match(request, &etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (X_CACHE.clone(), x_cache), vary],
        )
            .into_response();
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (X_CACHE.clone(), x_cache),
        (header::ETAG, etag),
        vary,
    ];
    let encoded = negotiate(request).and_then(|coding| {
        let body = match &answer {
            Answer::Document => directory.encoded(coding)?.clone(),
            Answer::Part(part) => coding.encode(part)?,
        };
        Some((coding, body))
    });
    match encoded {
        Some((coding, body)) => (
            StatusCode::OK,
            headers,
            [(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.as_str()),
            )],
            Body::from(body),
        )
            .into_response(),
        None => {
            let body = match answer {
                Answer::Document => directory.body().clone(),
                Answer::Part(part) => part,
            };
            (StatusCode::OK, headers, Body::from(body)).into_response()
        }
    }
}

/// The copy's entity tag (`W/"<fingerprint>"`, built when it was cached), shared, not copied.
fn etag_of(directory: &CachedDirectory) -> HeaderValue {
    HeaderValue::from_maybe_shared(directory.entity_tag().clone())
        .expect("a fingerprint is xxh3: and hex digits")
}

/// An entity tag without its weakness marker, for a weak comparison.
fn opaque(tag: &str) -> &str {
    let tag = tag.trim();
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks for it) or `*`.
fn none_match(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = opaque(etag.to_str().unwrap_or_default());
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

/// `DELETE /v1/directories/{id}`: 204 whether or not it was cached.
pub(crate) async fn invalidate(
    State(state): State<ServeState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = directory_id(path)?;
    state.admin().check(&headers)?;
    state
        .cache()
        .invalidate(&id)
        .await
        .map_err(|e| ApiError::from_cache(&e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/directories/{id}/verify`: the verification report.
pub(crate) async fn verify(
    State(state): State<ServeState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = directory_id(path)?;
    state.admin().check(&headers)?;
    let report = state
        .cache()
        .verify(&id)
        .await
        .map_err(|e| ApiError::from_cache(&e))?;
    Ok(Json(report).into_response())
}

/// `GET /v1/stats`.
pub(crate) async fn stats(State(state): State<ServeState>) -> Json<StatsReport> {
    let stats = state.cache().stats().await;
    Json(StatsReport::new(
        stats,
        state.backend(),
        state.instance_id(),
    ))
}

/// `GET /v1/directories`: the declared directories, as `dircache directories --output json`.
pub(crate) async fn directories(State(state): State<ServeState>) -> Json<DirectoriesReport> {
    Json(state.directories().clone())
}

/// `GET /metrics`: the Prometheus text format.
pub(crate) async fn metrics(State(state): State<ServeState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROMETHEUS_TEXT),
        )],
        state.metrics().render(),
    )
        .into_response()
}

/// `GET /healthz`: the process answers.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the backend answers a ping.
pub(crate) async fn readyz(State(state): State<ServeState>) -> Response {
    match state.cache().ping().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => ApiError::not_ready(&e).into_response(),
    }
}

/// Any path the API does not have.
pub(crate) async fn no_route() -> ApiError {
    ApiError::no_route()
}

/// A known path asked with a method it does not take.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(if_none_match: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in if_none_match {
            headers.append(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn if_none_match_compares_weakly_and_lists() {
        let etag = HeaderValue::from_static("W/\"xxh3:ab\"");
        assert!(none_match(&request(&["W/\"xxh3:ab\""]), &etag));
        assert!(none_match(&request(&["\"xxh3:ab\""]), &etag));
        assert!(none_match(&request(&["\"x\", W/\"xxh3:ab\""]), &etag));
        assert!(none_match(&request(&["\"x\"", "W/\"xxh3:ab\""]), &etag));
        assert!(none_match(&request(&["*"]), &etag));
        assert!(!none_match(&request(&["W/\"xxh3:abc\""]), &etag));
        assert!(!none_match(&request(&[]), &etag));
    }
}
