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
            if !is_authorized(state, &shared, &headers, at) {
                return genesys_status(401, correlation);
            }
            let page_size = match parameter(
                "pageSize",
                page_size.as_deref(),
                DEFAULT_PAGE_SIZE,
                (1, MAX_PAGE_SIZE),
            ) {
                Ok(size) => size,
                Err(message) => return genesys_error(400, "bad.request", &message, correlation),
            };
            let page_number =
                match parameter("pageNumber", page_number.as_deref(), 1, (1, u32::MAX)) {
                    Ok(number) => number,
                    Err(message) => {
                        return genesys_error(400, "bad.request", &message, correlation);
                    }
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

/// Whether the request carries a bearer token this mock issued and that has not expired.
pub(crate) fn is_authorized(
    state: &State,
    shared: &Shared,
    headers: &HeaderMap,
    at: std::time::Instant,
) -> bool {
    authorization(headers).is_some_and(|(scheme, token)| {
        scheme.eq_ignore_ascii_case("bearer")
            && state
                .tokens
                .is_valid(token, at, shared.config.token_lifetime)
    })
}

/// A paging parameter: `default` when absent or empty, else a whole number in `min..=max`.
pub(crate) fn parameter(
    name: &str,
    raw: Option<&str>,
    default: u32,
    (min, max): (u32, u32),
) -> Result<u32, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|value| (min..=max).contains(value))
            .ok_or_else(|| {
                format!(
                    "The value [{raw}] is not valid for {name}: \
                     it must be a whole number from {min} to {max}."
                )
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use crate::testing::{api_get, entries_path, send_json, status_of, token};
    use crate::{GenesysMock, MockDirectory, Paging};

    /// Reads every page of `id` the way SPEC §2 says a client must: `nextUri`, else `nextPage`,
    /// else `pageNumber < pageCount`.
    async fn walk(
        mock: &GenesysMock,
        token: &str,
        id: &str,
        page_size: u32,
    ) -> (Vec<Value>, Vec<Value>) {
        let mut path = entries_path(id, &format!("?pageSize={page_size}"));
        let (mut entries, mut pages) = (Vec::new(), Vec::new());
        loop {
            let (status, _, page) = send_json(api_get(mock, token, &path)).await;
            assert_eq!(status, 200, "{path}");
            entries.extend(page["entities"].as_array().unwrap().iter().cloned());
            pages.push(page.clone());
            assert!(pages.len() < 50, "listing never ends");
            if let Some(next) = page["nextUri"].as_str() {
                path = next.to_owned();
            } else if let Some(query) = page["nextPage"].as_str() {
                path = entries_path(id, &format!("?{query}"));
            } else if page["pageNumber"].as_u64() < page["pageCount"].as_u64() {
                let next = page["pageNumber"].as_u64().unwrap() + 1;
                path = entries_path(id, &format!("?pageSize={page_size}&pageNumber={next}"));
            } else {
                return (entries, pages);
            }
        }
    }

    fn keys(page: &Value) -> BTreeSet<&str> {
        page.as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
        names.iter().copied().collect()
    }

    #[tokio::test]
    async fn every_paging_style_walks_to_all_entries_with_its_own_fields() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        let base = ["entities", "pageSize", "pageNumber"];
        let full_last = [
            &base[..],
            &[
                "total",
                "pageCount",
                "firstUri",
                "selfUri",
                "previousUri",
                "lastUri",
            ],
        ]
        .concat();
        let styles: [(Paging, Vec<&str>, Vec<&str>); 4] = [
            (
                Paging::Full,
                [&full_last[..], &["nextUri"]].concat(),
                full_last.clone(),
            ),
            (
                Paging::NextUriOnly,
                [&base[..], &["selfUri", "nextUri"]].concat(),
                [&base[..], &["selfUri"]].concat(),
            ),
            (
                Paging::NextPage,
                [&base[..], &["total", "nextPage"]].concat(),
                [&base[..], &["total"]].concat(),
            ),
            (
                Paging::PageCount,
                [&base[..], &["total", "pageCount"]].concat(),
                [&base[..], &["total", "pageCount"]].concat(),
            ),
        ];
        for (paging, middle, last) in styles {
            let id = format!("{paging:?}");
            mock.put_directory(&id, MockDirectory::generated(5, 9).paging(paging));
            let (entries, pages) = walk(&mock, &token, &id, 2).await;
            assert_eq!(Some(entries), mock.directory_entries(&id), "{paging:?}");
            assert_eq!(pages.len(), 3, "{paging:?}");
            assert_eq!(keys(&pages[1]), set(&middle), "{paging:?}");
            assert_eq!(keys(&pages[2]), set(&last), "{paging:?}");
            assert_eq!(pages[2]["pageNumber"], 3);
            assert_eq!(pages[2]["pageSize"], 2);
        }
        let (_, _, first) =
            send_json(api_get(&mock, &token, &entries_path("Full", "?pageSize=2"))).await;
        assert_eq!(first["total"], 5);
        assert_eq!(first["pageCount"], 3);
        assert!(first.get("previousUri").is_none());
        assert_eq!(
            first["nextUri"],
            "/api/v2/routing/directories/Full/entries?pageSize=2&pageNumber=2"
        );
        assert_eq!(
            first["lastUri"],
            "/api/v2/routing/directories/Full/entries?pageSize=2&pageNumber=3"
        );
        let (_, _, legacy) = send_json(api_get(
            &mock,
            &token,
            &entries_path("NextPage", "?pageSize=2"),
        ))
        .await;
        assert_eq!(legacy["nextPage"], "pageSize=2&pageNumber=2");
    }

    #[tokio::test]
    async fn page_size_defaults_to_250_and_pages_past_the_end_are_empty() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("big", MockDirectory::generated(300, 2));
        let (_, _, first) = send_json(api_get(&mock, &token, &entries_path("big", ""))).await;
        assert_eq!(
            (first["pageSize"].clone(), first["pageNumber"].clone()),
            (json!(250), json!(1))
        );
        assert_eq!(first["entities"].as_array().unwrap().len(), 250);
        let (status, _, beyond) = send_json(api_get(
            &mock,
            &token,
            &entries_path("big", "?pageNumber=9"),
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(beyond["entities"], json!([]));
        assert!(beyond.get("nextUri").is_none());
    }

    #[tokio::test]
    async fn page_size_outside_1_to_500_or_a_bad_page_number_is_400_naming_the_value() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("d", MockDirectory::generated(3, 1));
        for (query, value) in [
            ("?pageSize=0", "0"),
            ("?pageSize=501", "501"),
            ("?pageSize=ten", "ten"),
            ("?pageNumber=0", "0"),
        ] {
            let (status, headers, body) =
                send_json(api_get(&mock, &token, &entries_path("d", query))).await;
            assert_eq!(status, 400, "{query}");
            assert_eq!(body["status"], 400);
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("[{value}]")),
                "{body}"
            );
            assert_eq!(
                body["contextId"].as_str(),
                headers["inin-correlation-id"].to_str().ok()
            );
        }
        for query in ["?pageSize=1", "?pageSize=500"] {
            assert_eq!(
                status_of(&mock, &token, &entries_path("d", query)).await,
                200
            );
        }
    }

    #[tokio::test]
    async fn unknown_or_removed_directories_are_404() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("gone", MockDirectory::generated(3, 1));
        assert_eq!(
            status_of(&mock, &token, &entries_path("gone", "")).await,
            200
        );
        mock.remove_directory("gone");
        assert_eq!(mock.directory_entries("gone"), None);
        for id in ["gone", "never"] {
            let (status, _, body) = send_json(api_get(&mock, &token, &entries_path(id, ""))).await;
            assert_eq!(status, 404);
            assert_eq!(body["code"], "not.found");
            assert!(body["contextId"].is_string());
        }
    }

    #[tokio::test]
    async fn percent_encoded_ids_are_decoded_and_uris_carry_the_id() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("eu.sales_team:2-b", MockDirectory::generated(3, 1));
        let path = entries_path("eu%2Esales%5Fteam%3A2-b", "?pageSize=2");
        let (status, _, page) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(status, 200);
        assert_eq!(
            page["nextUri"],
            "/api/v2/routing/directories/eu.sales_team:2-b/entries?pageSize=2&pageNumber=2"
        );
        let requests = mock.requests();
        assert_eq!(
            requests.last().unwrap().kind,
            crate::RequestKind::Directory("eu.sales_team:2-b".into())
        );
    }

    #[tokio::test]
    async fn validators_give_one_etag_per_version_and_304_for_what_the_client_holds() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("v", MockDirectory::generated(5, 4).validators(true));
        let page = |n: u32| entries_path("v", &format!("?pageSize=2&pageNumber={n}"));
        let (_, first, _) = send_json(api_get(&mock, &token, &page(1))).await;
        let (_, second, _) = send_json(api_get(&mock, &token, &page(2))).await;
        let etag = first["etag"].to_str().unwrap().to_owned();
        let modified = first["last-modified"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(second["etag"], etag.as_str());
        assert_eq!(second["last-modified"], modified.as_str());
        assert!(httpdate::parse_http_date(&modified).is_ok());

        let conditional = |name: &'static str, value: String| {
            let request = api_get(&mock, &token, &page(2)).header(name, value);
            async move { send_json(request).await }
        };
        let (status, headers, body) = conditional("if-none-match", etag.clone()).await;
        assert_eq!((status, body), (304, Value::Null));
        assert_eq!(headers["etag"], etag.as_str());
        assert!(headers.contains_key("inin-correlation-id"));
        assert_eq!(
            conditional("if-none-match", format!("\"other\", W/{etag}"))
                .await
                .0,
            304
        );
        assert_eq!(
            conditional("if-none-match", "\"other\"".into()).await.0,
            200
        );
        assert_eq!(
            conditional("if-modified-since", modified.clone()).await.0,
            304
        );

        mock.update_directory("v", |entries| {
            entries[0]["name"] = json!("Zoë Ångström-Núñez")
        });
        let (status, after, body) = conditional("if-none-match", etag.clone()).await;
        assert_eq!(status, 200);
        assert_ne!(after["etag"], etag.as_str());
        assert_eq!(body["total"], 5);
        assert_eq!(conditional("if-modified-since", modified).await.0, 200);
        let (_, _, first_page) = send_json(api_get(&mock, &token, &page(1))).await;
        assert_eq!(first_page["entities"][0]["name"], "Zoë Ångström-Núñez");
    }

    #[tokio::test]
    async fn without_validators_pages_say_no_cache_and_conditionals_are_ignored() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("plain", MockDirectory::generated(3, 4));
        let request = api_get(&mock, &token, &entries_path("plain", ""))
            .header("if-none-match", "*")
            .header(
                "if-modified-since",
                httpdate::fmt_http_date(std::time::SystemTime::now()),
            );
        let (status, headers, body) = send_json(request).await;
        assert_eq!(status, 200);
        assert_eq!(body["entities"].as_array().unwrap().len(), 3);
        assert_eq!(headers["cache-control"], "no-cache");
        assert!(!headers.contains_key("etag"));
        assert!(!headers.contains_key("last-modified"));
    }

    #[tokio::test]
    async fn a_change_between_pages_bumps_the_version_and_shows_in_the_content() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("torn", MockDirectory::generated(4, 5).validators(true));
        let before = mock.directory_entries("torn").unwrap();
        mock.change_between_pages("torn", 1, 1);
        let page = |n: u32| entries_path("torn", &format!("?pageSize=2&pageNumber={n}"));

        let (_, first_headers, first) = send_json(api_get(&mock, &token, &page(1))).await;
        assert_eq!(first["total"], 4);
        let after = mock.directory_entries("torn").unwrap();
        assert_eq!(after.len(), 5);
        assert_ne!(after[0]["name"], before[0]["name"]);
        assert_eq!(after[1..4], before[1..4]);

        let (_, second_headers, second) = send_json(api_get(&mock, &token, &page(2))).await;
        assert_ne!(second_headers["etag"], first_headers["etag"]);
        assert_eq!(second["total"], 5);

        let (entries, _) = walk(&mock, &token, "torn", 2).await;
        assert_eq!(entries, after, "the change happened once only");
    }

    #[tokio::test]
    async fn every_api_answer_reports_the_rate_limit_and_a_correlation_id() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        mock.put_directory("d", MockDirectory::generated(2, 1));
        let mut ids = BTreeSet::new();
        for (n, id) in [(1, "d"), (2, "missing"), (3, "d")] {
            let (_, headers, _) = send_json(api_get(&mock, &token, &entries_path(id, ""))).await;
            assert_eq!(headers["inin-ratelimit-count"], n.to_string().as_str());
            assert_eq!(headers["inin-ratelimit-allowed"], "300");
            let reset: u64 = headers["inin-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&reset));
            let correlation = headers["inin-correlation-id"].to_str().unwrap().to_owned();
            assert_eq!(correlation.len(), 36);
            ids.insert(correlation);
        }
        assert_eq!(ids.len(), 3, "a new correlation id per request");
    }

    #[tokio::test]
    async fn an_enforced_rate_limit_answers_429_with_retry_after_beyond_the_allowance() {
        let mock = GenesysMock::builder()
            .rate_limit_per_minute(3)
            .start()
            .unwrap();
        let bearer = token(&mock).await;
        mock.put_directory("d", MockDirectory::generated(2, 1));
        for _ in 0..3 {
            let (status, headers, _) =
                send_json(api_get(&mock, &bearer, &entries_path("d", ""))).await;
            assert_eq!(status, 200);
            assert_eq!(headers["inin-ratelimit-allowed"], "3");
        }
        let (status, headers, body) =
            send_json(api_get(&mock, &bearer, &entries_path("d", ""))).await;
        assert_eq!(status, 429);
        assert_eq!(body["code"], "too.many.requests");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        assert_eq!(headers["inin-ratelimit-reset"], retry.to_string().as_str());
        assert_eq!(headers["inin-ratelimit-count"], "4");
        // Logins are not counted against the API allowance: `token` asserts a 200.
        token(&mock).await;
    }
}
