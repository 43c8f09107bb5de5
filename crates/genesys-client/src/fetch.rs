//! Fetching a whole directory: paging, conditional requests, and never a torn snapshot.

use std::collections::HashSet;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::time::Instant;
use url::Url;

use crate::client::{GenesysClient, PageRequest, PageResponse};
use crate::config::{join_path, validate_page_size};
use crate::page::{Listing, with_page_number};
use crate::retry::with_retries;
use crate::{Entry, Error, Fingerprint, canonical_json, metrics};

/// Options for one [`GenesysClient::fetch_directory`] call.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FetchOptions {
    /// An ETag from an earlier snapshot: sent as `If-None-Match` on page 1.
    pub if_none_match: Option<String>,
    /// A Last-Modified from an earlier snapshot: sent as `If-Modified-Since` on page 1.
    pub if_modified_since: Option<String>,
    /// Overrides the client's page size for this call (1..=500).
    pub page_size: Option<u32>,
    /// Overrides the retry policy's total budget for this call, e.g. shorter for a caller that
    /// has a stale copy to fall back on.
    pub retry_budget: Option<Duration>,
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
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DirectorySnapshot {
    /// The entries, in upstream order, with every field upstream sent.
    pub entries: Vec<Entry>,
    /// Page 1's `ETag`, when upstream sent one.
    pub etag: Option<String>,
    /// Page 1's `Last-Modified`, when upstream sent one.
    pub last_modified: Option<String>,
    /// `entries` as canonical JSON ([`crate::canonical_json`]): what the fingerprint hashes,
    /// written once so that a cache can store these bytes rather than serialise again.
    pub entries_json: Vec<u8>,
    /// The content fingerprint of `entries`.
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
            entries,
            etag: None,
            last_modified: None,
            pages: 0,
            upstream_bytes: 0,
        }
    }

    /// Sets the validators.
    #[must_use]
    pub fn with_validators(mut self, etag: Option<String>, last_modified: Option<String>) -> Self {
        self.etag = etag;
        self.last_modified = last_modified;
        self
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
    /// Reads every entry of directory `directory_id`, following the pages, as one consistent
    /// snapshot.
    ///
    /// With validators in `options`, page 1 is a conditional request and a 304 gives
    /// [`FetchOutcome::NotModified`]. A directory that changes while it is read (a later page's
    /// ETag, Last-Modified or total differs from page 1's, an entry id repeats across pages, or
    /// the count differs from `total`) is read again from page 1, at most `snapshot_attempts`
    /// times in all; a mixed list is never returned. Retryable failures are retried within the
    /// retry budget, which covers the whole call.
    pub async fn fetch_directory(
        &self,
        directory_id: &str,
        options: &FetchOptions,
    ) -> Result<FetchOutcome, Error> {
        if directory_id.is_empty() || directory_id == "." || directory_id == ".." {
            return Err(Error::InvalidDirectoryId {
                directory_id: directory_id.to_owned(),
                reason: "a directory id cannot be empty, \".\" or \"..\"",
            });
        }
        let page_size = options.page_size.unwrap_or(self.inner.page_size);
        validate_page_size(page_size)?;
        let budget = options.retry_budget.unwrap_or(self.inner.retry.budget);
        let deadline = Instant::now() + budget;

        let mut first = join_path(
            &self.inner.api_base,
            &format!(
                "/api/v2/routing/directories/{}/entries",
                utf8_percent_encode(directory_id, PATH_SEGMENT)
            ),
        );
        first
            .query_pairs_mut()
            .append_pair("pageSize", &page_size.to_string());
        let first = with_page_number(&first, 1);

        let attempts = self.inner.snapshot_attempts;
        for attempt in 1..=attempts {
            match self
                .read_once(directory_id, &first, options, deadline)
                .await?
            {
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

    async fn read_once(
        &self,
        directory_id: &str,
        first: &Url,
        options: &FetchOptions,
        deadline: Instant,
    ) -> Result<Read, Error> {
        let inner = &self.inner;
        let mut url = first.clone();
        let mut visited: HashSet<Url> = HashSet::from([first.clone()]);
        let mut entries: Vec<Entry> = Vec::new();
        let mut upstream_bytes = 0usize;
        let mut head: Option<Version> = None;
        let mut pages = 0u32;

        loop {
            pages += 1;
            let request = PageRequest {
                url: &url,
                directory_id,
                page: pages,
                if_none_match: options.if_none_match.as_deref().filter(|_| pages == 1),
                if_modified_since: options.if_modified_since.as_deref().filter(|_| pages == 1),
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
            let listing = Listing::parse(&body)
                .map_err(|reason| invalid(format!("page {pages}: {reason}")))?;
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
                .next_url(&url, &inner.api_base)
                .map_err(|reason| invalid(format!("page {pages}: {reason}")))?;
            entries.extend(listing.entities);
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

        // An id read twice means pages of two versions were mixed. Checked once at the end,
        // on borrowed ids, so that a normal read allocates nothing for it.
        let mut ids: HashSet<&str> = HashSet::with_capacity(entries.len());
        if let Some(id) = entries
            .iter()
            .filter_map(Entry::id)
            .find(|id| !ids.insert(id))
        {
            return Ok(Read::Torn(format!("entry id {id:?} appears on two pages")));
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
        let entries_json = canonical_json(&entries);
        Ok(Read::Done(FetchOutcome::Modified(DirectorySnapshot {
            fingerprint: Fingerprint::of_canonical_json(&entries_json),
            entries_json,
            entries,
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

    mod against_the_mock {
        use std::time::Duration;

        use genesys_mock::{GenesysMock, MockDirectory, Paging};
        use serde_json::{Value, json};

        use crate::test_support::{client_for, directory_requests};
        use crate::{DirectorySnapshot, Error, FetchOptions, FetchOutcome, Fingerprint};

        fn modified(outcome: FetchOutcome) -> DirectorySnapshot {
            match outcome {
                FetchOutcome::Modified(snapshot) => snapshot,
                FetchOutcome::NotModified => panic!("expected a snapshot, got NotModified"),
            }
        }

        fn as_values(snapshot: &DirectorySnapshot) -> Vec<Value> {
            snapshot
                .entries
                .iter()
                .map(|e| Value::Object(e.fields().clone()))
                .collect()
        }

        #[tokio::test]
        async fn every_paging_style_returns_every_entry() {
            let mock = GenesysMock::start().unwrap();
            let client = client_for(&mock).build().unwrap();
            let styles = [
                Paging::Full,
                Paging::NextUriOnly,
                Paging::NextPage,
                Paging::PageCount,
            ];
            for (i, paging) in styles.into_iter().enumerate() {
                let id = format!("dir-{i}");
                mock.put_directory(&id, MockDirectory::generated(600, 7).paging(paging));
                let expected = mock.directory_entries(&id).unwrap();
                for page_size in [250, 100] {
                    mock.reset_stats();
                    let options = FetchOptions::new().page_size(page_size);
                    let snapshot = modified(client.fetch_directory(&id, &options).await.unwrap());
                    assert_eq!(as_values(&snapshot), expected, "{paging:?} by {page_size}");
                    let pages = 600u32.div_ceil(page_size);
                    assert_eq!(snapshot.pages, pages, "{paging:?} by {page_size}");
                    let numbers: Vec<Option<u32>> = directory_requests(&mock)
                        .into_iter()
                        .map(|(n, _, _)| n)
                        .collect();
                    assert_eq!(
                        numbers,
                        (1..=pages).map(Some).collect::<Vec<_>>(),
                        "{paging:?}"
                    );
                    assert!(
                        mock.requests()
                            .iter()
                            .all(|r| r.page_size.is_none_or(|s| s == page_size))
                    );
                    assert!(snapshot.upstream_bytes > 600 * 50);
                    assert_eq!(snapshot.fingerprint, Fingerprint::of(&snapshot.entries));
                }
            }
        }

        #[tokio::test]
        async fn the_page_count_is_bounded() {
            let mock = GenesysMock::start().unwrap();
            mock.put_directory("big", MockDirectory::generated(600, 7));
            let client = client_for(&mock).max_pages(2).build().unwrap();
            let err = client
                .fetch_directory("big", &FetchOptions::new())
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::TooManyPages { limit: 2, directory_id } if directory_id == "big"),
                "{err:?}"
            );
            assert_eq!(mock.stats().directory_requests, 2);
            let client = client_for(&mock).max_pages(3).build().unwrap();
            client
                .fetch_directory("big", &FetchOptions::new())
                .await
                .unwrap();
        }

        #[tokio::test]
        async fn a_change_while_paging_is_reread_whole_with_or_without_validators() {
            for validators in [true, false] {
                let mock = GenesysMock::start().unwrap();
                let client = client_for(&mock).build().unwrap();
                mock.put_directory("d", MockDirectory::generated(600, 7).validators(validators));
                let before = mock.directory_entries("d").unwrap();
                mock.change_between_pages("d", 1, 1);
                let snapshot = modified(
                    client
                        .fetch_directory("d", &FetchOptions::new())
                        .await
                        .unwrap(),
                );
                let after = mock.directory_entries("d").unwrap();
                assert_ne!(before, after);
                assert_eq!(as_values(&snapshot), after, "validators {validators}");
                // Pages 1 and 2 of the old version, then all three pages of the new one.
                let numbers: Vec<Option<u32>> = directory_requests(&mock)
                    .into_iter()
                    .map(|(n, _, _)| n)
                    .collect();
                assert_eq!(numbers, [Some(1), Some(2), Some(1), Some(2), Some(3)]);
            }
        }

        #[tokio::test]
        async fn a_directory_that_keeps_changing_is_a_torn_snapshot_error() {
            let mock = GenesysMock::start().unwrap();
            mock.put_directory("d", MockDirectory::generated(300, 7).validators(true));
            mock.change_between_pages("d", 1, 3);
            let client = client_for(&mock).snapshot_attempts(3).build().unwrap();
            let options = FetchOptions::new().page_size(100);
            let err = client.fetch_directory("d", &options).await.unwrap_err();
            assert!(
                matches!(err, Error::TornSnapshot { attempts: 3, .. }),
                "{err:?}"
            );
            assert_eq!(mock.stats().directory_requests, 6);
        }

        #[tokio::test]
        async fn validators_make_a_conditional_request_and_304_is_not_modified() {
            let mock = GenesysMock::start().unwrap();
            let client = client_for(&mock).build().unwrap();
            mock.put_directory("d", MockDirectory::generated(600, 7).validators(true));
            let first = modified(
                client
                    .fetch_directory("d", &FetchOptions::new())
                    .await
                    .unwrap(),
            );
            let etag = first.etag.clone().expect("an ETag");
            let last_modified = first.last_modified.clone().expect("a Last-Modified");

            mock.reset_stats();
            let options = FetchOptions::new().if_none_match(etag.clone());
            let outcome = client.fetch_directory("d", &options).await.unwrap();
            assert!(matches!(outcome, FetchOutcome::NotModified));
            let requests = mock.requests();
            assert_eq!(requests.len(), 1, "only page 1 is asked for");
            assert_eq!(requests[0].if_none_match.as_deref(), Some(etag.as_str()));
            assert_eq!(requests[0].status, 304);

            let options = FetchOptions::new().if_modified_since(last_modified.clone());
            let outcome = client.fetch_directory("d", &options).await.unwrap();
            assert!(matches!(outcome, FetchOutcome::NotModified));

            mock.update_directory("d", |entries| entries.truncate(10));
            mock.reset_stats();
            let options = FetchOptions::new()
                .if_none_match(etag.clone())
                .if_modified_since(last_modified);
            let changed = modified(client.fetch_directory("d", &options).await.unwrap());
            assert_eq!(changed.entries.len(), 10);
            assert_ne!(changed.etag.as_deref(), Some(etag.as_str()));
            assert_ne!(changed.fingerprint, first.fingerprint);
            // Later pages are never conditional.
            assert!(
                mock.requests()
                    .iter()
                    .skip(1)
                    .all(|r| r.if_none_match.is_none())
            );
        }

        #[tokio::test]
        async fn every_field_upstream_sent_is_kept() {
            let mock = GenesysMock::start().unwrap();
            let client = client_for(&mock).build().unwrap();
            let sent = vec![
                json!({"id": "1", "name": "Ada", "email": null, "x-unknown": {"nested": [1, null, "two"]},
                       "custom_attributes": {"tier": "gold", "since": 2019}, "flag": false}),
                json!({"id": "2", "name": "Zoë ☎", "phone": "+44 20 7946 0000", "address": null}),
            ];
            mock.put_directory("d", MockDirectory::new(sent.clone()));
            let snapshot = modified(
                client
                    .fetch_directory("d", &FetchOptions::new())
                    .await
                    .unwrap(),
            );
            assert_eq!(as_values(&snapshot), sent);
            assert_eq!(
                snapshot.entries[0].custom_attributes().unwrap()["since"],
                2019
            );
            assert_eq!(snapshot.entries[1].name(), Some("Zoë ☎"));
            assert_eq!(snapshot.etag, None);
        }

        #[tokio::test]
        async fn the_fingerprint_follows_content_not_fetches() {
            let mock = GenesysMock::start().unwrap();
            let client = client_for(&mock).build().unwrap();
            mock.put_directory("d", MockDirectory::generated(40, 7));
            let fetch = || async {
                let options = FetchOptions::new()
                    .page_size(7)
                    .retry_budget(Duration::from_secs(5));
                modified(client.fetch_directory("d", &options).await.unwrap())
            };
            let (a, b) = (fetch().await, fetch().await);
            assert_eq!(a.fingerprint, b.fingerprint);
            mock.update_directory("d", |entries| entries[39]["name"] = json!("Someone Else"));
            assert_ne!(fetch().await.fingerprint, a.fingerprint);
        }
    }
}
