//! The org listings (users, queue members, the contacts scan, …) answered as Genesys does:
//! each in its own paging style, page sizes out of bounds refused with the real 400, the plain
//! contacts listing capped at 1,000 records, and a user added between pages on request.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State as Extract};
use axum::http::{HeaderMap, Response, StatusCode, Uri};
use serde_json::{Map, Value};

use crate::exchange::Exchange;
use crate::form::form_value;
use crate::listing::{is_authorized, parameter};
use crate::response::{genesys_error, genesys_status, json_response};
use crate::sources::{MockPaging, MockSource, PLAIN_CONTACTS};
use crate::state::{Shared, State};
use crate::stats::RequestKind;

/// The deepest record the plain contacts listing serves (`pageNumber * pageSize`).
const PLAIN_CONTACTS_CAP: u32 = 1000;

/// Query parameters passed on from one page's URI to the next.
const KEPT: &[&str] = &["state", "expand"];

/// Every org listing; the path says which.
pub(crate) async fn listing(
    Extract(shared): Extract<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response<Body> {
    let path = uri.path().to_owned();
    let query = query.unwrap_or_default();
    let (source, paging) = if path == PLAIN_CONTACTS {
        (MockSource::ExternalContacts, MockPaging::Capped)
    } else {
        match MockSource::at(&path) {
            Some(source) => {
                let paging = source.paging();
                (source, paging)
            }
            None => return genesys_status(404, &crate::response::correlation_id()),
        }
    };
    let (size_name, min, max, default) = paging.page_size();
    let raw_size = form_value(&query, size_name);
    let raw_number = form_value(&query, "pageNumber");
    let exchange = Exchange::new(
        RequestKind::Listing(path.clone()),
        &headers,
        raw_number.as_deref().and_then(|n| n.parse().ok()),
        raw_size.as_deref().and_then(|n| n.parse().ok()),
    );
    let at = exchange.at;
    exchange
        .run(&shared, |state, correlation| {
            if !is_authorized(state, &shared, &headers, at) {
                return genesys_status(401, correlation);
            }
            let bad = |message: String| genesys_error(400, "bad.request", &message, correlation);
            let size = match parameter(size_name, raw_size.as_deref(), default, (min, max)) {
                Ok(size) => size,
                Err(message) => return bad(message),
            };
            let number = match parameter("pageNumber", raw_number.as_deref(), 1, (1, u32::MAX)) {
                Ok(number) => number,
                Err(message) => return bad(message),
            };
            if paging == MockPaging::Capped && number.saturating_mul(size) > PLAIN_CONTACTS_CAP {
                return bad(format!(
                    "pageNumber * pageSize must be <= {PLAIN_CONTACTS_CAP}; \
                     use /api/v2/externalcontacts/scan/contacts for more"
                ));
            }
            let home = source.path();
            let Some(stored) = state.listings.get(&home) else {
                if source.has_owner() {
                    let message = format!("{path} was not found.");
                    return genesys_error(404, "not.found", &message, correlation);
                }
                return page_response(&[], &path, &query, paging, size, number, correlation);
            };
            let state_filter = form_value(&query, "state").filter(|_| source == MockSource::Users);
            let entities: Cow<'_, [Value]> = match state_filter.as_deref() {
                None | Some("any") => Cow::Borrowed(stored),
                Some(wanted @ ("active" | "inactive" | "deleted")) => Cow::Owned(
                    stored
                        .iter()
                        .filter(|e| e["state"] == wanted)
                        .cloned()
                        .collect(),
                ),
                Some(other) => return bad(format!("The value [{other}] is not valid for state.")),
            };
            let start = match paging {
                MockPaging::Cursor => match form_value(&query, "cursor") {
                    None => 0,
                    Some(cursor) => match decode_cursor(&cursor, shared.salt) {
                        Some(offset) => offset,
                        None => return bad(format!("Invalid cursor [{cursor}].")),
                    },
                },
                _ => (number as usize - 1).saturating_mul(size as usize),
            };
            let page_ordinal = (start / size as usize) as u32 + 1;
            let response = if paging == MockPaging::Cursor {
                cursor_page(&entities, start, &path, size, shared.salt, correlation)
            } else {
                let rest = &entities[start.min(entities.len())..];
                page_response(rest, &path, &query, paging, size, number, correlation)
            };
            add_if_due(state, &shared, &home, &source, page_ordinal);
            response
        })
        .await
}

/// A page-numbered page (`PageNumber`, `NextUri`, `Capped`) of `rest`, the entities from the
/// page's first on; `number` is the page number. Cursor scans are built by [`cursor_page`].
fn page_response(
    rest: &[Value],
    path: &str,
    query: &str,
    paging: MockPaging,
    size: u32,
    number: u32,
    correlation: &str,
) -> Response<Body> {
    let on_page = &rest[..rest.len().min(size as usize)];
    let kept: String = KEPT
        .iter()
        .filter_map(|key| Some(format!("&{key}={}", form_value(query, key)?)))
        .collect();
    let uri = |n: u32| format!("{path}?pageSize={size}&pageNumber={n}{kept}");
    let mut page = Map::new();
    page.insert("entities".into(), Value::Array(on_page.to_vec()));
    page.insert("pageSize".into(), size.into());
    page.insert("pageNumber".into(), number.into());
    page.insert("firstUri".into(), uri(1).into());
    page.insert("selfUri".into(), uri(number).into());
    if number > 1 {
        page.insert("previousUri".into(), uri(number - 1).into());
    }
    match paging {
        MockPaging::NextUri => {
            // Genesys links on from every full page, so a listing that fills its last page
            // ends on an empty one.
            if !on_page.is_empty() && on_page.len() == size as usize {
                page.insert("nextUri".into(), uri(number + 1).into());
            }
        }
        _ => {
            let before = (number as usize - 1) * size as usize;
            let total = before + rest.len();
            let count = total.div_ceil(size as usize).max(1) as u32;
            page.insert("total".into(), total.into());
            page.insert("pageCount".into(), count.into());
            page.insert("lastUri".into(), uri(count).into());
            if number < count {
                page.insert("nextUri".into(), uri(number + 1).into());
            }
        }
    }
    listing_json(page, correlation)
}

/// A `CursorContactListing`-shaped page of `entities` from `start`: `cursors.after` and a
/// `nextUri` carrying it while more remain, `cursors.before` and `previousUri` after page 1.
fn cursor_page(
    entities: &[Value],
    start: usize,
    path: &str,
    size: u32,
    salt: u32,
    correlation: &str,
) -> Response<Body> {
    let start = start.min(entities.len());
    let end = (start + size as usize).min(entities.len());
    let uri = |offset: usize| {
        if offset == 0 {
            format!("{path}?limit={size}")
        } else {
            format!("{path}?limit={size}&cursor={}", encode_cursor(offset, salt))
        }
    };
    let mut page = Map::new();
    page.insert(
        "entities".into(),
        Value::Array(entities[start..end].to_vec()),
    );
    page.insert("selfUri".into(), uri(start).into());
    let mut cursors = Map::new();
    if start > 0 {
        let before = start.saturating_sub(size as usize);
        page.insert("previousUri".into(), uri(before).into());
        cursors.insert("before".into(), encode_cursor(before, salt).into());
    }
    if end < entities.len() {
        page.insert("nextUri".into(), uri(end).into());
        cursors.insert("after".into(), encode_cursor(end, salt).into());
    }
    page.insert("cursors".into(), Value::Object(cursors));
    listing_json(page, correlation)
}

/// A listing page as Genesys answers it: JSON, `Cache-Control: no-cache`, no validators.
fn listing_json(page: Map<String, Value>, correlation: &str) -> Response<Body> {
    let mut response = json_response(StatusCode::OK, &Value::Object(page), correlation);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    response
}

/// An opaque cursor for `offset` (meaningless to another mock).
fn encode_cursor(offset: usize, salt: u32) -> String {
    format!("{:x}", (offset as u64) ^ (u64::from(salt) << 20))
}

fn decode_cursor(cursor: &str, salt: u32) -> Option<usize> {
    let bits = u64::from_str_radix(cursor, 16).ok()? ^ (u64::from(salt) << 20);
    usize::try_from(bits)
        .ok()
        .filter(|offset| *offset < 1 << 20)
}

/// Applies a change scheduled by `GenesysMock::add_between_pages` once page `page` of the
/// listing at `home` is out: one new entity at the front, as a user added while a client reads.
fn add_if_due(state: &mut State, shared: &Shared, home: &str, source: &MockSource, page: u32) {
    let Some(index) = state
        .changes
        .iter()
        .position(|change| change.id == home && change.after_page == page)
    else {
        return;
    };
    state.changes[index].remaining -= 1;
    if state.changes[index].remaining == 0 {
        state.changes.remove(index);
    }
    let seed = state.next_seed(shared.salt);
    if let Some(entities) = state.listings.get_mut(home) {
        entities.splice(0..0, source.generated(1, seed));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::testing::{api_get, send_json, status_of, token};
    use crate::{Fault, GenesysMock, MockSource};

    const QUEUE: &str = "5f0b8b3c-9d1e";

    #[tokio::test]
    async fn queue_members_carry_no_totals_and_refuse_pages_over_100() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        let members = MockSource::QueueMembers(QUEUE.into());
        mock.put_listing(&members, members.generated(100, 1));
        let path = format!("{}?pageSize=100", members.path());
        let (status, headers, page) = send_json(api_get(&mock, &token, &path)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["cache-control"], "no-cache");
        for absent in ["total", "pageCount", "lastUri"] {
            assert!(page.get(absent).is_none(), "{absent}: {page}");
        }
        let next = page["nextUri"].as_str().expect("a full page links on");
        let (_, _, last) = send_json(api_get(&mock, &token, next)).await;
        assert_eq!(last["entities"], Value::Array(vec![]));
        assert!(last.get("nextUri").is_none());
        let too_big = format!("{}?pageSize=101", members.path());
        assert_eq!(status_of(&mock, &token, &too_big).await, 400);
        let unknown = MockSource::QueueMembers("nope".into()).path();
        assert_eq!(status_of(&mock, &token, &unknown).await, 404);
        assert_eq!(mock.stats().requests_for_listing(&members), 3);
    }

    #[tokio::test]
    async fn the_plain_contacts_listing_stops_at_1000_records_and_the_scan_does_not() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        let contacts = MockSource::ExternalContacts;
        mock.put_listing(&contacts, contacts.generated(1200, 2));
        let plain = "/api/v2/externalcontacts/contacts";
        let ok = format!("{plain}?pageSize=100&pageNumber=10");
        assert_eq!(status_of(&mock, &token, &ok).await, 200);
        let deep = format!("{plain}?pageSize=100&pageNumber=11");
        let (status, _, body) = send_json(api_get(&mock, &token, &deep)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["message"].as_str().unwrap().contains("1000"), "{body}");

        let mut path = format!("{}?limit=200", contacts.path());
        let mut seen = 0;
        loop {
            let (status, _, page) = send_json(api_get(&mock, &token, &path)).await;
            assert_eq!(status, 200, "{page}");
            seen += page["entities"].as_array().unwrap().len();
            assert!(page.get("total").is_none() && page.get("cursors").is_some());
            match page["nextUri"].as_str() {
                Some(next) => {
                    let after = page["cursors"]["after"].as_str().unwrap();
                    assert!(next.ends_with(&format!("cursor={after}")), "{next}");
                    path = next.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(seen, 1200);
        for limit in [9, 201] {
            let path = format!("{}?limit={limit}", contacts.path());
            assert_eq!(status_of(&mock, &token, &path).await, 400, "{limit}");
        }
        let forged = format!("{}?cursor=zz", contacts.path());
        assert_eq!(status_of(&mock, &token, &forged).await, 400);
    }

    #[tokio::test]
    async fn every_listing_has_the_keys_lookups_read_and_answers_every_fault() {
        let mock = GenesysMock::start().unwrap();
        let token = token(&mock).await;
        let email_of_contact = |e: &Value| {
            ["workEmail", "personalEmail", "otherEmail"]
                .iter()
                .any(|k| e[*k].is_string())
        };
        let sources = [
            MockSource::Users,
            MockSource::Groups,
            MockSource::GroupMembers("g-1".into()),
            MockSource::Queues,
            MockSource::QueueMembers(QUEUE.into()),
            MockSource::ExternalContacts,
            MockSource::ExternalOrganizations,
            MockSource::Skills,
            MockSource::WrapupCodes,
            MockSource::Locations,
        ];
        for source in &sources {
            let entities = source.generated(60, 9);
            assert!(entities.iter().all(|e| e["id"].is_string()), "{source:?}");
            let named = |e: &Value| {
                e["name"].is_string() || e["user"]["name"].is_string() || e["lastName"].is_string()
            };
            assert!(entities.iter().all(named), "{source:?}");
            let some = |test: &dyn Fn(&Value) -> bool| entities.iter().any(test);
            match source {
                MockSource::Users | MockSource::GroupMembers(_) => {
                    assert!(some(&|e| e["email"].is_string()));
                    for media in ["EMAIL", "PHONE", "SMS"] {
                        let has = |e: &Value| {
                            ["primaryContactInfo", "addresses"].iter().any(|list| {
                                e[*list].as_array().is_some_and(|items| {
                                    items.iter().any(|item| item["mediaType"] == media)
                                })
                            })
                        };
                        assert!(some(&has), "{source:?} {media}");
                    }
                }
                MockSource::QueueMembers(_) => {
                    assert!(some(
                        &|e| e.get("name").is_none() && e["user"]["name"].is_string()
                    ));
                }
                MockSource::ExternalContacts => {
                    assert!(some(&email_of_contact));
                    assert!(some(&|e| e["workPhone"]["e164"].is_string()));
                    assert!(some(&|e| e["cellPhone"]["display"].is_string()
                        && e["cellPhone"].get("e164").is_none()));
                    assert!(some(&|e| e["homePhone"].is_null()));
                    assert!(some(&|e| e["lastName"]
                        .as_str()
                        .is_some_and(|n| !n.is_ascii())));
                }
                MockSource::ExternalOrganizations => {
                    assert!(some(&|e| e["phoneNumber"]["display"].is_string()));
                }
                MockSource::Locations => {
                    assert!(some(&|e| e["emergencyNumber"]["e164"].is_string()));
                }
                _ => {}
            }
            mock.put_listing(source, entities);
            for fault in [Fault::Status(503), Fault::Forbidden, Fault::Unauthorized] {
                mock.fail_listing(source, fault.clone(), 1);
                let status = status_of(&mock, &token, &source.path()).await;
                assert!(status >= 400, "{source:?} {fault:?}");
            }
            assert_eq!(status_of(&mock, &token, &source.path()).await, 200);
            assert_eq!(mock.stats().requests_for_listing(source), 4, "{source:?}");
        }
    }
}
