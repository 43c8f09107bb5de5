//! Directories the mock serves: their entries, paging style, validators, and the listing pages.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::response::header_value;

/// Characters kept as they are in the directory id segment of listing URIs; the id characters
/// SPEC §3 allows need no escaping.
const ID_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// A directory's content and how upstream serves it.
#[derive(Clone, Debug, PartialEq)]
pub struct MockDirectory {
    entries: Vec<Value>,
    paging: Paging,
    validators: bool,
}

impl MockDirectory {
    /// A directory holding `entries`, served with [`Paging::Full`] and without validators
    /// (`Cache-Control: no-cache`, no `ETag` / `Last-Modified`), like most real listings.
    pub fn new(entries: Vec<Value>) -> Self {
        Self {
            entries,
            paging: Paging::Full,
            validators: false,
        }
    }

    /// A directory of `count` realistic entries from [`generate_entries`](crate::generate_entries).
    pub fn generated(count: usize, seed: u64) -> Self {
        Self::new(crate::generate_entries(count, seed))
    }

    /// Serves the listing in this paging style.
    pub fn paging(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }

    /// With `true`, every page carries `ETag` and `Last-Modified`, and a matching
    /// `If-None-Match` (or an `If-Modified-Since` not older than `Last-Modified`) answers 304.
    pub fn validators(mut self, on: bool) -> Self {
        self.validators = on;
        self
    }

    /// The entries, in listing order.
    pub fn entries(&self) -> &[Value] {
        &self.entries
    }

    pub(crate) fn entries_mut(&mut self) -> &mut Vec<Value> {
        &mut self.entries
    }
}

/// The shape of a listing page; every style carries `entities`, `pageSize` and `pageNumber`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Paging {
    /// `total`, `pageCount`, and `firstUri`, `selfUri`, `nextUri`, `previousUri`, `lastUri`
    /// relative to the API base (`nextUri` absent on the last page, `previousUri` on the first).
    #[default]
    Full,
    /// Only `selfUri` and `nextUri` (absent on the last page): no `total`, no `pageCount`.
    NextUriOnly,
    /// Legacy: `total` and `nextPage`, a query string such as `pageSize=2&pageNumber=2`
    /// (absent on the last page).
    NextPage,
    /// `total` and `pageCount`, no URIs.
    PageCount,
}

/// A directory as stored by the mock: its content and its current version.
#[derive(Debug)]
pub(crate) struct StoredDirectory {
    pub(crate) directory: MockDirectory,
    etag: String,
    modified: SystemTime,
}

impl StoredDirectory {
    /// A first version tagged `tag`.
    pub(crate) fn new(directory: MockDirectory, tag: String) -> Self {
        Self {
            directory,
            etag: format!("\"{tag}\""),
            modified: whole_seconds(SystemTime::now()),
        }
    }

    /// Replaces the content (or keeps it, after an in-place change) under a new version.
    ///
    /// `Last-Modified` has one-second resolution, so a version made within the same second as
    /// the previous one is dated a second later: a client holding the old date always sees the
    /// change.
    pub(crate) fn bump(&mut self, tag: String) {
        self.etag = format!("\"{tag}\"");
        let now = whole_seconds(SystemTime::now());
        self.modified = now.max(self.modified + Duration::from_secs(1));
    }

    /// The one visible change of a torn read: the first entry is renamed and an entry appended.
    pub(crate) fn change(&mut self, tag: String, seed: u64) {
        let entries = &mut self.directory.entries;
        if let Some(Value::Object(first)) = entries.first_mut() {
            let renamed = match first.get("name") {
                Some(Value::String(name)) => format!("{name} (renamed)"),
                _ => "Renamed entry".to_owned(),
            };
            first.insert("name".to_owned(), Value::String(renamed));
        }
        let appended = crate::entries::entry(&mut fastrand::Rng::with_seed(seed), entries.len());
        entries.push(appended);
        self.bump(tag);
    }

    /// Whether the conditional headers show the client already holds this version; without
    /// validators nothing is ever "not modified". `If-None-Match` wins over `If-Modified-Since`.
    pub(crate) fn not_modified(
        &self,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> bool {
        if !self.directory.validators {
            return false;
        }
        if let Some(tags) = if_none_match {
            return tags
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag);
        }
        if_modified_since
            .and_then(|date| httpdate::parse_http_date(date).ok())
            .is_some_and(|since| since >= self.modified)
    }

    /// `ETag` and `Last-Modified` with validators on, else `Cache-Control: no-cache`.
    pub(crate) fn insert_cache_headers(&self, headers: &mut HeaderMap) {
        if self.directory.validators {
            headers.insert(header::ETAG, header_value(&self.etag));
            headers.insert(
                header::LAST_MODIFIED,
                header_value(&httpdate::fmt_http_date(self.modified)),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=0, must-revalidate"),
            );
        } else {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
    }

    /// The JSON of page `page_number` (from 1) of `page_size` entries, in this directory's style.
    pub(crate) fn page(&self, id: &str, page_size: u32, page_number: u32) -> Value {
        let entries = &self.directory.entries;
        let total = entries.len();
        let size = page_size as usize;
        let start = (page_number as usize)
            .saturating_sub(1)
            .saturating_mul(size)
            .min(total);
        let end = start.saturating_add(size).min(total);
        let page_count = total.div_ceil(size);
        let is_last = page_number as usize >= page_count;
        let uri = |number: usize| {
            let id = utf8_percent_encode(id, ID_SEGMENT);
            format!(
                "/api/v2/routing/directories/{id}/entries?pageSize={page_size}&pageNumber={number}"
            )
        };
        let number = page_number as usize;

        let mut page = Map::new();
        page.insert(
            "entities".into(),
            Value::Array(entries[start..end].to_vec()),
        );
        page.insert("pageSize".into(), page_size.into());
        page.insert("pageNumber".into(), page_number.into());
        let paging = self.directory.paging;
        if paging != Paging::NextUriOnly {
            page.insert("total".into(), total.into());
        }
        if matches!(paging, Paging::Full | Paging::PageCount) {
            page.insert("pageCount".into(), page_count.into());
        }
        if matches!(paging, Paging::Full | Paging::NextUriOnly) {
            page.insert("selfUri".into(), uri(number).into());
            if !is_last {
                page.insert("nextUri".into(), uri(number + 1).into());
            }
        }
        if paging == Paging::Full {
            page.insert("firstUri".into(), uri(1).into());
            page.insert("lastUri".into(), uri(page_count.max(1)).into());
            if number > 1 {
                page.insert("previousUri".into(), uri(number - 1).into());
            }
        }
        if paging == Paging::NextPage && !is_last {
            let next = format!("pageSize={page_size}&pageNumber={}", number + 1);
            page.insert("nextPage".into(), next.into());
        }
        Value::Object(page)
    }
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(seconds)
}
