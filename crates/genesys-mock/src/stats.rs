//! What the mock served: per-kind and per-status counters, and the ordered request log.

use std::collections::BTreeMap;
use std::time::Instant;

/// The status recorded for a request whose connection was cut before any status line was sent
/// ([`Fault::DropConnection`](crate::Fault::DropConnection)).
pub const STATUS_DROPPED: u16 = 0;

/// Which endpoint a request hit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// `POST /oauth/token`.
    Token,
    /// `GET /api/v2/routing/directories/{id}/entries`, with the decoded directory id.
    Directory(String),
    /// An org listing ([`MockSource`](crate::MockSource)), by the path requested (the plain
    /// contacts listing has its own path).
    Listing(String),
}

/// One request the mock served, as a test wants to see it: never a credential or a token.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The endpoint.
    pub kind: RequestKind,
    /// `pageNumber` from the query, when given as a number.
    pub page_number: Option<u32>,
    /// `pageSize` from the query, when given as a number.
    pub page_size: Option<u32>,
    /// The status answered, or [`STATUS_DROPPED`] when the connection was cut instead.
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
    /// The `If-None-Match` header, verbatim.
    pub if_none_match: Option<String>,
    /// The `If-Modified-Since` header, verbatim.
    pub if_modified_since: Option<String>,
    /// The scheme of the `Authorization` header (`"Basic"`, `"Bearer"`), never the credential.
    pub authorization_scheme: Option<String>,
}

/// Counts of the requests served (every status, injected faults included).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// Requests to the directory entries endpoint, for any directory.
    pub directory_requests: u64,
    /// Directory requests by directory id.
    pub by_directory: BTreeMap<String, u64>,
    /// All requests by status ([`STATUS_DROPPED`] for cut connections).
    pub by_status: BTreeMap<u16, u64>,
    /// Directory requests by directory id and status.
    pub by_directory_status: BTreeMap<(String, u16), u64>,
    /// Org listing requests by path (every status).
    pub by_listing: BTreeMap<String, u64>,
}

impl MockStats {
    /// Directory requests served for `id`.
    pub fn requests_for(&self, id: &str) -> u64 {
        self.by_directory.get(id).copied().unwrap_or(0)
    }

    /// Requests served for the org listing `source`.
    pub fn requests_for_listing(&self, source: &crate::MockSource) -> u64 {
        self.by_listing.get(&source.path()).copied().unwrap_or(0)
    }

    /// Requests answered with `status`, token and directory requests together.
    pub fn status_count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    pub(crate) fn count(&mut self, request: &RecordedRequest) {
        *self.by_status.entry(request.status).or_default() += 1;
        match &request.kind {
            RequestKind::Token => self.token_requests += 1,
            RequestKind::Directory(id) => {
                self.directory_requests += 1;
                *self.by_directory.entry(id.clone()).or_default() += 1;
                *self
                    .by_directory_status
                    .entry((id.clone(), request.status))
                    .or_default() += 1;
            }
            RequestKind::Listing(path) => *self.by_listing.entry(path.clone()).or_default() += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{RequestKind, STATUS_DROPPED};
    use crate::testing::{api_get, entries_path, send, status_of, token, token_request};
    use crate::{Fault, GenesysMock, MockDirectory, Target};

    #[tokio::test]
    async fn every_request_is_counted_and_logged_in_order_whatever_its_status() {
        let mock = GenesysMock::start().unwrap();
        mock.put_directory("a", MockDirectory::generated(3, 1).validators(true));
        let started = std::time::Instant::now();
        let token = token(&mock).await;
        let wrong = token_request(&mock, "nobody", "nothing", "grant_type=client_credentials");
        assert_eq!(send(wrong).await.status(), 401);
        let first = send(api_get(&mock, &token, &entries_path("a", "?pageSize=2"))).await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let second = api_get(
            &mock,
            &token,
            &entries_path("a", "?pageSize=2&pageNumber=2"),
        );
        assert_eq!(
            send(second.header("if-none-match", &etag)).await.status(),
            304
        );
        assert_eq!(status_of(&mock, &token, &entries_path("zz", "")).await, 404);
        mock.inject(Target::AnyDirectory, Fault::DropConnection, 1);
        assert!(
            api_get(&mock, &token, &entries_path("a", ""))
                .send()
                .await
                .is_err()
        );

        let stats = mock.stats();
        assert_eq!((stats.token_requests, stats.directory_requests), (2, 4));
        assert_eq!((stats.requests_for("a"), stats.requests_for("zz")), (3, 1));
        assert_eq!(stats.requests_for("never"), 0);
        let by_status =
            BTreeMap::from([(STATUS_DROPPED, 1), (200, 2), (304, 1), (401, 1), (404, 1)]);
        assert_eq!(stats.by_status, by_status);
        assert_eq!((stats.status_count(200), stats.status_count(500)), (2, 0));
        assert_eq!(stats.by_directory_status[&("a".to_owned(), 304)], 1);
        assert_eq!(stats.by_directory_status[&("zz".to_owned(), 404)], 1);

        let log = mock.requests();
        let kinds: Vec<&RequestKind> = log.iter().map(|r| &r.kind).collect();
        let a = RequestKind::Directory("a".into());
        let zz = RequestKind::Directory("zz".into());
        assert_eq!(
            kinds,
            [&RequestKind::Token, &RequestKind::Token, &a, &a, &zz, &a]
        );
        let schemes: Vec<Option<&str>> = log
            .iter()
            .map(|r| r.authorization_scheme.as_deref())
            .collect();
        assert_eq!(
            schemes,
            [
                Some("Basic"),
                Some("Basic"),
                Some("Bearer"),
                Some("Bearer"),
                Some("Bearer"),
                Some("Bearer")
            ]
        );
        assert_eq!((log[2].page_size, log[2].page_number), (Some(2), None));
        assert_eq!((log[3].page_size, log[3].page_number), (Some(2), Some(2)));
        assert_eq!(log[3].if_none_match.as_deref(), Some(etag.as_str()));
        assert_eq!(log[3].if_modified_since, None);
        assert!(log.windows(2).all(|pair| pair[0].at <= pair[1].at));
        assert!(log[0].at >= started);
        let debug = format!("{log:?}");
        assert!(!debug.contains(&token) && !debug.contains(mock.client_secret()));

        mock.reset_stats();
        assert_eq!(mock.stats(), super::MockStats::default());
        assert!(mock.requests().is_empty());
        send(api_get(&mock, &token, &entries_path("a", ""))).await;
        assert_eq!(mock.stats().directory_requests, 1);
    }
}
