//! One page of a Genesys listing, and the rule for finding the next one.

use serde::Deserialize;
use url::Url;

use crate::PagingStyle;
use crate::entries_json::PageEntities;

/// The Genesys listing shape; every field but `entities` may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Listing {
    /// The entities, already written as canonical JSON.
    pub(crate) entities: PageEntities,
    #[serde(default)]
    pub(crate) page_number: Option<u32>,
    #[serde(default)]
    pub(crate) page_count: Option<u32>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
    #[serde(default)]
    pub(crate) next_uri: Option<String>,
    #[serde(default)]
    pub(crate) next_page: Option<String>,
    /// The cursors of a scan (`cursors.after` leads to the next page).
    #[serde(default)]
    pub(crate) cursors: Option<Cursors>,
}

/// The `cursors` object of a cursor scan.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Cursors {
    #[serde(default)]
    pub(crate) after: Option<String>,
}

impl Listing {
    /// Parses a page body; the error says what is wrong with the shape.
    ///
    /// The body is checked to be UTF-8 once, whole, and then read as text: read as bytes,
    /// serde_json checks each string on its own, and a page has thousands of short ones (a
    /// tenth of a cold fetch's CPU went there). JSON is UTF-8 (RFC 8259), so both accept the
    /// same pages.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body)
            .map_err(|err| format!("not a directory listing page: not UTF-8: {err}"))?;
        serde_json::from_str(text).map_err(|err| format!("not a directory listing page: {err}"))
    }

    /// Where the next page is: `nextUri` when present, else `nextPage`, else `pageNumber + 1`
    /// while `pageNumber < pageCount`; `None` on the last page.
    ///
    /// `current` is the URL this page came from. A link to another origin than `api_base` is
    /// refused: the bearer token must not follow it.
    #[cfg(test)]
    pub(crate) fn next_url(&self, current: &Url, api_base: &Url) -> Result<Option<Url>, String> {
        self.next_url_in(PagingStyle::PageNumber, current, api_base)
    }

    /// [`Listing::next_url`] for a listing paged in `style`: a `nextUri`-only listing or a
    /// cursor scan ends on a page with no entities, and a scan without `nextUri` follows
    /// `cursors.after` as its `cursor` parameter.
    pub(crate) fn next_url_in(
        &self,
        style: PagingStyle,
        current: &Url,
        api_base: &Url,
    ) -> Result<Option<Url>, String> {
        if style != PagingStyle::PageNumber && self.entities.is_empty() {
            return Ok(None);
        }
        if let Some(uri) = non_empty(&self.next_uri) {
            return resolve(uri, api_base).map(Some);
        }
        if let Some(page) = non_empty(&self.next_page) {
            if page.starts_with('/') || page.contains("://") {
                return resolve(page, api_base).map(Some);
            }
            let mut next = current.clone();
            next.set_query(Some(page.trim_start_matches('?')));
            return Ok(Some(next));
        }
        if style == PagingStyle::Cursor {
            let after = self.cursors.as_ref().and_then(|c| non_empty(&c.after));
            return Ok(after.map(|after| with_query_value(current, "cursor", after)));
        }
        match (self.page_number, self.page_count) {
            (Some(number), Some(count)) if number < count => {
                Ok(Some(with_page_number(current, number + 1)))
            }
            _ => Ok(None),
        }
    }
}

fn non_empty(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Resolves a link relative to the API base (keeping a proxy's path prefix), or accepts an
/// absolute one on the same origin.
fn resolve(link: &str, api_base: &Url) -> Result<Url, String> {
    if let Ok(absolute) = Url::parse(link) {
        return if absolute.origin() == api_base.origin() {
            Ok(absolute)
        } else {
            Err(format!("next page link {link:?} leaves the API host"))
        };
    }
    let (path, query) = match link.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (link, None),
    };
    let path = path.split('#').next().unwrap_or_default();
    let prefix = api_base.path().trim_end_matches('/');
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let full = if prefix.is_empty() || path.starts_with(&format!("{prefix}/")) {
        path
    } else {
        format!("{prefix}{path}")
    };
    let mut url = api_base.clone();
    url.set_path(&full);
    url.set_query(query.map(|q| q.split('#').next().unwrap_or_default()));
    url.set_fragment(None);
    Ok(url)
}

/// `url` with its `pageNumber` query parameter set to `number`, other parameters kept.
pub(crate) fn with_page_number(url: &Url, number: u32) -> Url {
    with_query_value(url, "pageNumber", &number.to_string())
}

/// `url` with its query parameter `name` set to `value` (last), other parameters kept.
fn with_query_value(url: &Url, name: &str, value: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    {
        let mut query = next.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, value);
        }
        query.append_pair(name, value);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing(value: serde_json::Value) -> Listing {
        Listing::parse(value.to_string().as_bytes()).unwrap()
    }

    fn base() -> Url {
        Url::parse("http://127.0.0.1:9000").unwrap()
    }

    fn current() -> Url {
        Url::parse(
            "http://127.0.0.1:9000/api/v2/routing/directories/d/entries?pageSize=2&pageNumber=1",
        )
        .unwrap()
    }

    #[test]
    fn next_uri_wins_and_is_relative_to_the_api_base() {
        let page = listing(json!({
            "entities": [], "pageNumber": 1, "pageCount": 3,
            "nextUri": "/api/v2/routing/directories/d/entries?pageSize=2&pageNumber=2",
            "nextPage": "pageSize=2&pageNumber=9"
        }));
        let next = page.next_url(&current(), &base()).unwrap().unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:9000/api/v2/routing/directories/d/entries?pageSize=2&pageNumber=2"
        );

        let proxied = Url::parse("https://proxy.example.com/genesys").unwrap();
        let next = page.next_url(&current(), &proxied).unwrap().unwrap();
        assert_eq!(
            next.as_str(),
            "https://proxy.example.com/genesys/api/v2/routing/directories/d/entries?pageSize=2&pageNumber=2"
        );
    }

    #[test]
    fn absolute_links_must_stay_on_the_api_origin() {
        let same = listing(
            json!({"entities": [], "nextUri": "http://127.0.0.1:9000/api/v2/x?pageNumber=2"}),
        );
        assert_eq!(
            same.next_url(&current(), &base()).unwrap().unwrap().path(),
            "/api/v2/x"
        );
        let other =
            listing(json!({"entities": [], "nextUri": "https://evil.example.com/api/v2/x"}));
        assert!(other.next_url(&current(), &base()).is_err());
    }

    #[test]
    fn next_page_is_a_query_string_on_the_current_url() {
        let page = listing(json!({"entities": [], "nextPage": "?pageSize=2&pageNumber=2"}));
        let next = page.next_url(&current(), &base()).unwrap().unwrap();
        assert_eq!(next.path(), current().path());
        assert_eq!(next.query(), Some("pageSize=2&pageNumber=2"));
    }

    #[test]
    fn page_count_drives_paging_when_there_are_no_links() {
        let page =
            listing(json!({"entities": [], "pageNumber": 2, "pageCount": 3, "nextUri": null}));
        let next = page.next_url(&current(), &base()).unwrap().unwrap();
        assert_eq!(next.query(), Some("pageSize=2&pageNumber=3"));
        let last = listing(json!({"entities": [], "pageNumber": 3, "pageCount": 3}));
        assert_eq!(last.next_url(&current(), &base()).unwrap(), None);
        let bare = listing(json!({"entities": [{"id": "a"}]}));
        assert_eq!(bare.next_url(&current(), &base()).unwrap(), None);
        let empty_link = listing(json!({"entities": [], "nextUri": ""}));
        assert_eq!(empty_link.next_url(&current(), &base()).unwrap(), None);
    }

    #[test]
    fn a_page_needs_an_entities_array_of_objects() {
        assert!(Listing::parse(br#"{"pageNumber": 1}"#).is_err());
        assert!(Listing::parse(br#"{"entities": [1, 2]}"#).is_err());
        assert!(Listing::parse(b"<html>").is_err());
    }

    #[test]
    fn a_page_that_is_not_utf8_is_refused_naming_it() {
        // Latin-1 "Zoë": valid JSON but for the encoding.
        let err = Listing::parse(b"{\"entities\": [{\"name\": \"Zo\xeb\"}]}").unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
        let page = Listing::parse("{\"entities\": [{\"name\": \"Zoë\"}]}".as_bytes()).unwrap();
        assert!(!page.entities.is_empty());
    }
}
