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
}

impl MockStats {
    /// Directory requests served for `id`.
    pub fn requests_for(&self, id: &str) -> u64 {
        self.by_directory.get(id).copied().unwrap_or(0)
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
        }
    }
}
