//! `GET /api/v2/routing/directories/{directoryId}/entries`: authentication, paging parameters,
//! conditional requests, and torn reads scheduled with `change_between_pages`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State as Extract};
use axum::http::{HeaderMap, Response, StatusCode};

use crate::auth::authorization;
use crate::exchange::Exchange;
use crate::form::form_value;
use crate::response::{
    CORRELATION_HEADER, genesys_error, genesys_status, header_value, json_response,
};
use crate::state::{Shared, State};
use crate::stats::RequestKind;

/// Page size when the request names none.
const DEFAULT_PAGE_SIZE: u32 = 250;
/// The largest page upstream serves.
const MAX_PAGE_SIZE: u32 = 500;

/// The entries endpoint; `Path` has already percent-decoded the directory id.
pub(crate) async fn entries(
    Extract(shared): Extract<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response<Body> {
    let query = query.unwrap_or_default();
    let page_size = form_value(&query, "pageSize");
    let page_number = form_value(&query, "pageNumber");
    let exchange = Exchange::new(
        RequestKind::Directory(id.clone()),
        &headers,
        page_number.as_deref().and_then(|n| n.parse().ok()),
        page_size.as_deref().and_then(|n| n.parse().ok()),
    );
    let at = exchange.at;
    exchange
        .run(&shared, |state, correlation| {
            let authorized = authorization(&headers).is_some_and(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer")
                    && state
                        .tokens
                        .is_valid(token, at, shared.config.token_lifetime)
            });
            if !authorized {
                return genesys_status(401, correlation);
            }
            let page_size = match parameter(
                "pageSize",
                page_size.as_deref(),
                DEFAULT_PAGE_SIZE,
                MAX_PAGE_SIZE,
            ) {
                Ok(size) => size,
                Err(message) => return genesys_error(400, "bad.request", &message, correlation),
            };
            let page_number = match parameter("pageNumber", page_number.as_deref(), 1, u32::MAX) {
                Ok(number) => number,
                Err(message) => return genesys_error(400, "bad.request", &message, correlation),
            };
            let if_none_match = headers.get("if-none-match").and_then(|v| v.to_str().ok());
            let if_modified_since = headers
                .get("if-modified-since")
                .and_then(|v| v.to_str().ok());
            let Some(directory) = state.directories.get(&id) else {
                let message = format!("Directory {id} was not found.");
                return genesys_error(404, "not.found", &message, correlation);
            };
            let mut response = if directory.not_modified(if_none_match, if_modified_since) {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                response
                    .headers_mut()
                    .insert(CORRELATION_HEADER, header_value(correlation));
                response
            } else {
                json_response(
                    StatusCode::OK,
                    &directory.page(&id, page_size, page_number),
                    correlation,
                )
            };
            directory.insert_cache_headers(response.headers_mut());
            if response.status() == StatusCode::OK {
                change_if_due(state, &shared, &id, page_number);
            }
            response
        })
        .await
}

/// A paging parameter: `default` when absent or empty, else a whole number in `1..=max`.
fn parameter(name: &str, raw: Option<&str>, default: u32, max: u32) -> Result<u32, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|value| (1..=max).contains(value))
            .ok_or_else(|| {
                format!("The value [{raw}] is not valid for {name}: it must be a whole number from 1 to {max}.")
            }),
    }
}

/// Applies a change scheduled by `change_between_pages` once page `page_number` of `id` is out.
fn change_if_due(state: &mut State, shared: &Shared, id: &str, page_number: u32) {
    let Some(index) = state
        .changes
        .iter()
        .position(|change| change.id == id && change.after_page == page_number)
    else {
        return;
    };
    state.changes[index].remaining -= 1;
    if state.changes[index].remaining == 0 {
        state.changes.remove(index);
    }
    let tag = state.next_tag(shared.salt);
    let seed = state.next_seed(shared.salt);
    if let Some(directory) = state.directories.get_mut(id) {
        directory.change(tag, seed);
    }
}
