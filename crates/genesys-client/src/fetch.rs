//! Fetching a whole directory: paging, conditional requests, and never a torn snapshot.

use std::collections::HashSet;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::time::Instant;
use url::Url;

use crate::client::{GenesysClient, PageRequest, PageResponse};
use crate::config::{join_path, validate_page_size};
use crate::entries_json::{EntriesJson, PageEntities};
use crate::page::{Listing as Page, with_page_number};
use crate::retry::with_retries;
use crate::{
    Entry, Error, Fingerprint, KeyMembers, Listing, PagingStyle, RequestClass, Source,
    canonical_json, metrics,
};

/// Options for one [`GenesysClient::fetch_directory`] call.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FetchOptions {
    /// An ETag from an earlier snapshot: sent as `If-None-Match` on page 1.
    pub if_none_match: Option<String>,
    /// A Last-Modified from an earlier snapshot: sent as `If-Modified-Since` on page 1.
    pub if_modified_since: Option<String>,
    /// Overrides the page size for this call (within the source's bounds; 1..=500 for
    /// `routing_directory`).
    pub page_size: Option<u32>,
    /// Overrides the retry policy's total budget for this call, e.g. shorter for a caller that
    /// has a stale copy to fall back on.
    pub retry_budget: Option<Duration>,
    /// The part of the upstream budget this fetch may use (default: the whole of it).
    pub class: RequestClass,
}

impl FetchOptions {
    /// No validators, the client's page size and retry budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the ETag to revalidate against.
    #[must_use]
    pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }

    /// Sets the Last-Modified date to revalidate against.
    #[must_use]
    pub fn if_modified_since(mut self, date: impl Into<String>) -> Self {
        self.if_modified_since = Some(date.into());
        self
    }

    /// Sets the page size for this call.
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Sets the total retry budget for this call.
    #[must_use]
    pub fn retry_budget(mut self, budget: Duration) -> Self {
        self.retry_budget = Some(budget);
        self
    }

    /// Sets the part of the upstream budget this call may use.
    #[must_use]
    pub fn class(mut self, class: RequestClass) -> Self {
        self.class = class;
        self
    }
}

/// The result of a fetch.
#[derive(Clone, Debug)]
pub enum FetchOutcome {
    /// The whole, consistent listing.
    Modified(DirectorySnapshot),
    /// Upstream answered 304 to the validators in [`FetchOptions`].
    NotModified,
}

/// Every entry of one directory as of one moment, with its validators and fingerprint.
///
/// The entries are kept as their canonical JSON only, as they were written while the pages
/// were read: a cache stores these bytes, and [`DirectorySnapshot::entries`] parses them for a
/// caller that wants values.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DirectorySnapshot {
    /// How many entries.
    pub entry_count: usize,
    /// Page 1's `ETag`, when upstream sent one.
    pub etag: Option<String>,
    /// Page 1's `Last-Modified`, when upstream sent one.
    pub last_modified: Option<String>,
    /// The entries, in upstream order, with every field upstream sent, as canonical JSON
    /// ([`crate::canonical_json`]): what the fingerprint hashes, and what a cache stores.
    pub entries_json: Vec<u8>,
    /// Where each entry and the values of its key fields are in `entries_json`, as the fetch
    /// wrote them, so that a cache builds its lookup index from those values alone (SPEC §8).
    /// `None` for a snapshot not read from upstream ([`DirectorySnapshot::new`]), or one past
    /// 4 GiB: the index then parses the entries whole.
    pub key_members: Option<KeyMembers>,
    /// The content fingerprint of the entries.
    pub fingerprint: Fingerprint,
    /// How many pages were read.
    pub pages: u32,
    /// The sum of the page body sizes, in bytes.
    pub upstream_bytes: usize,
}

impl DirectorySnapshot {
    /// A snapshot of `entries` that did not come from upstream (no validators, no pages), for
    /// other sources of directories and for tests.
    pub fn new(entries: Vec<Entry>) -> Self {
        let entries_json = canonical_json(&entries);
        Self {
            fingerprint: Fingerprint::of_canonical_json(&entries_json),
            entries_json,
            key_members: None,
            entry_count: entries.len(),
            etag: None,
            last_modified: None,
            pages: 0,
            upstream_bytes: 0,
        }
    }

    /// A snapshot of `entities`, the text of a JSON array of entity objects as a listing page
    /// holds them, written as a fetch writes its pages: canonical JSON, with its
    /// [`key_members`](DirectorySnapshot::key_members) (no validators, no pages). Fails on text
    /// that is not such an array, or whose entities repeat a string id.
    pub fn from_entities_json(entities: &[u8]) -> Result<Self, serde_json::Error> {
        let page: PageEntities = serde_json::from_slice(entities)?;
        let mut entries = EntriesJson::new();
        entries.append(page).map_err(|id| {
            <serde_json::Error as serde::de::Error>::custom(format!(
                "entry id {id:?} appears twice"
            ))
        })?;
        let entry_count = entries.len();
        let (entries_json, key_members) = entries.finish_with_key_members();
        Ok(Self {
            fingerprint: Fingerprint::of_canonical_json(&entries_json),
            entries_json,
            key_members,
            entry_count,
            etag: None,
            last_modified: None,
            pages: 0,
            upstream_bytes: 0,
        })
    }

    /// Sets the validators.
    #[must_use]
    pub fn with_validators(mut self, etag: Option<String>, last_modified: Option<String>) -> Self {
        self.etag = etag;
        self.last_modified = last_modified;
        self
    }

    /// Parses the entries (not needed to cache them).
    pub fn entries(&self) -> Result<Vec<Entry>, serde_json::Error> {
        serde_json::from_slice(&self.entries_json)
    }
}

/// Everything but unreserved characters is encoded, so an id can never change the URL's shape.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One complete read from page 1: a result, or the reason the directory must be read again.
enum Read {
    Done(FetchOutcome),
    Torn(String),
}

/// One listing read: what every attempt from page 1 shares.
#[derive(Clone, Copy)]
struct Reading<'a> {
    directory_id: &'a str,
    paging: PagingStyle,
    grant: &'static str,
    first: &'a Url,
    options: &'a FetchOptions,
    deadline: Instant,
}

/// What page 1 said about the version of the listing it belongs to.
struct Version {
    etag: Option<String>,
    last_modified: Option<String>,
    total: Option<u64>,
}

impl Version {
    /// Why a later page belongs to another version than page 1, if it does. Only values that
    /// both pages carry are compared.
    fn differs(&self, later: &Version) -> Option<String> {
        fn differ<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if a != b)
        }
        if differ(&self.etag, &later.etag) {
            Some("ETag changed".to_owned())
        } else if differ(&self.last_modified, &later.last_modified) {
            Some("Last-Modified changed".to_owned())
        } else if differ(&self.total, &later.total) {
            Some(format!(
                "total changed from {:?} to {:?}",
                self.total, later.total
            ))
        } else {
            None
        }
    }
}

impl GenesysClient {
    /// Reads every entry of the seed's routing directory `directory_id`, following the pages,
    /// as one consistent snapshot: [`GenesysClient::fetch_listing`] of
    /// [`Listing::routing_directory`].
    pub async fn fetch_directory(
        &self,
        directory_id: &str,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, Error> {
        self.fetch_listing(directory_id, &Listing::routing_directory(), options)
            .await
    }

    /// Reads every entity of `listing` (cached as directory `directory_id`, which is also the
    /// path parameter of `routing_directory`), following its pages in its paging style, as one
    /// consistent snapshot.
    ///
    /// The page size is `options`' (checked against the source's bounds), else the client's
    /// for `routing_directory`, else the source's own (the largest it allows). With validators
    /// in `options`, page 1 is a conditional request and a 304 gives
    /// [`FetchOutcome::NotModified`]. A listing that changes while it is read (a later page's
    /// ETag, Last-Modified or total differs from page 1's, an entity id repeats across pages,
    /// or the count differs from `total`) is read again from page 1, at most
    /// `snapshot_attempts` times in all; a mixed list is never returned. Retryable failures are
    /// retried within the retry budget, which covers the whole call; a 403 names the scope and
    /// permission the source needs.
    pub async fn fetch_listing(
        &self,
        directory_id: &str,
        listing: &Listing,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, Error> {
        if directory_id.is_empty() || directory_id == "." || directory_id == ".." {
            return Err(Error::InvalidDirectoryId {
                directory_id: directory_id.to_owned(),
                reason: "a directory id cannot be empty, \".\" or \"..\"",
            });
        }
        let spec = listing.source().spec();
        let page_size = match (options.page_size, listing.source()) {
            (Some(size), _) => size,
            (None, Source::RoutingDirectory) => self.inner.page_size,
            (None, _) => spec.page_size,
        };
        validate_page_size(page_size, spec.page_size_bounds)?;
        let budget = options.retry_budget.unwrap_or(self.inner.retry.budget);
        let deadline = Instant::now() + budget;

        let path = listing.path(directory_id, |value| {
            utf8_percent_encode(value, PATH_SEGMENT).to_string()
        });
        let mut first = join_path(&self.inner.api_base, &path);
        first
            .query_pairs_mut()
            .extend_pairs(listing.query())
            .append_pair(spec.page_size_parameter, &page_size.to_string());
        let first = match spec.paging {
            PagingStyle::PageNumber => with_page_number(&first, 1),
            PagingStyle::NextUri | PagingStyle::Cursor => first,
        };
        let read = Reading {
            directory_id,
            paging: spec.paging,
            grant: spec.grant,
            first: &first,
            options,
            deadline,
        };

        let attempts = self.inner.snapshot_attempts;
        for attempt in 1..=attempts {
            match self.read_once(&read).await? {
                Read::Done(outcome) => return Ok(outcome),
                Read::Torn(why) => {
                    tracing::warn!(
                        directory_id,
                        attempt,
                        why,
                        "directory changed while it was read"
                    );
                    if attempt < attempts {
                        metrics::retry("torn_snapshot");
                    }
                }
            }
        }
        Err(Error::TornSnapshot {
            directory_id: directory_id.to_owned(),
            attempts,
        })
    }

    async fn read_once(&self, read: &Reading<'_>) -> Result<Read, Error> {
        let Reading {
            directory_id,
            paging,
            grant,
            first,
            options,
            deadline,
        } = *read;
        let inner = &self.inner;
        let mut url = first.clone();
        let mut visited: HashSet<Url> = HashSet::from([first.clone()]);
        let mut entries = EntriesJson::new();
        let mut upstream_bytes = 0usize;
        let mut head: Option<Version> = None;
        let mut pages = 0u32;

        loop {
            pages += 1;
            let request = PageRequest {
                url: &url,
                directory_id,
                grant,
                page: pages,
                if_none_match: options.if_none_match.as_deref().filter(|_| pages == 1),
                if_modified_since: options.if_modified_since.as_deref().filter(|_| pages == 1),
                class: options.class,
                deadline,
                max_bytes: inner.body_limits.next_page(upstream_bytes),
            };
            let response =
                with_retries(&inner.retry, deadline, || inner.get_page(&request)).await?;
            let (body, etag, last_modified, correlation_id) = match response {
                PageResponse::NotModified => return Ok(Read::Done(FetchOutcome::NotModified)),
                PageResponse::Page {
                    body,
                    etag,
                    last_modified,
                    correlation_id,
                } => (body, etag, last_modified, correlation_id),
            };
            upstream_bytes += body.len();
            let invalid = |reason: String| Error::InvalidResponse {
                reason,
                correlation_id: correlation_id.clone(),
            };
            let listing =
                Page::parse(&body).map_err(|reason| invalid(format!("page {pages}: {reason}")))?;
            drop(body);

            let version = Version {
                etag,
                last_modified,
                total: listing.total,
            };
            match &head {
                None => {
                    entries.reserve(listing.total.unwrap_or(0).min(100_000) as usize);
                    head = Some(version);
                }
                Some(head) => {
                    if let Some(why) = head.differs(&version) {
                        return Ok(Read::Torn(format!("page {pages}: {why}")));
                    }
                }
            }
            let next = listing
                .next_url_in(paging, &url, &inner.api_base)
                .map_err(|reason| invalid(format!("page {pages}: {reason}")))?;
            // An id read twice means pages of two versions were mixed.
            if let Err(id) = entries.append(listing.entities) {
                return Ok(Read::Torn(format!(
                    "entry id {id:?} appears twice (page {pages})"
                )));
            }
            let Some(next) = next else { break };
            if !visited.insert(next.clone()) {
                return Err(invalid(format!(
                    "page {pages} links back to a page already read ({})",
                    next.path()
                )));
            }
            if pages >= inner.max_pages {
                return Err(Error::TooManyPages {
                    directory_id: directory_id.to_owned(),
                    limit: inner.max_pages,
                });
            }
            url = next;
        }

        let head = head.expect("page 1 was read");
        if let Some(total) = head.total.filter(|total| *total != entries.len() as u64) {
            return Ok(Read::Torn(format!(
                "{} entries read but page 1 announced {total}",
                entries.len()
            )));
        }
        tracing::debug!(
            directory_id,
            pages,
            entries = entries.len(),
            upstream_bytes,
            "directory read"
        );
        let entry_count = entries.len();
        let (entries_json, key_members) = entries.finish_with_key_members();
        Ok(Read::Done(FetchOutcome::Modified(DirectorySnapshot {
            fingerprint: Fingerprint::of_canonical_json(&entries_json),
            entries_json,
            key_members,
            entry_count,
            etag: head.etag,
            last_modified: head.last_modified,
            pages,
            upstream_bytes,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_compares_only_what_both_pages_carry() {
        let v = |etag: Option<&str>, total| Version {
            etag: etag.map(str::to_owned),
            last_modified: None,
            total,
        };
        assert!(
            v(Some("\"1\""), Some(10))
                .differs(&v(Some("\"1\""), Some(10)))
                .is_none()
        );
        assert!(v(Some("\"1\""), Some(10)).differs(&v(None, None)).is_none());
        assert!(
            v(Some("\"1\""), None)
                .differs(&v(Some("\"2\""), None))
                .is_some()
        );
        assert!(v(None, Some(10)).differs(&v(None, Some(11))).is_some());
    }

    #[test]
    fn ids_are_encoded_into_one_path_segment() {
        let encoded = utf8_percent_encode("a/b?c#d e:f.g", PATH_SEGMENT).to_string();
        assert_eq!(encoded, "a%2Fb%3Fc%23d%20e%3Af.g");
    }

    #[tokio::test]
    async fn dot_segments_and_empty_ids_are_refused_before_any_io() {
        let client = GenesysClient::builder()
            .client_id("id")
            .client_secret("secret".into())
            .api_url("http://127.0.0.1:9")
            .login_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        for id in ["", ".", ".."] {
            let err = client
                .fetch_directory(id, &FetchOptions::new())
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::InvalidDirectoryId { .. }),
                "{id:?}: {err:?}"
            );
        }
        let err = client
            .fetch_directory("d", &FetchOptions::new().page_size(501))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config {
                    setting: crate::ConfigField::PageSize,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
