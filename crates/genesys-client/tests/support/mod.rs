//! What this crate's tests against genesys-mock share: testkit's client with the retry budget
//! they were written for, and the directory requests the mock saw.

use std::time::{Duration, Instant};

use genesys_client::{DirectorySnapshot, FetchOutcome, GenesysClient, GenesysClientBuilder};
use genesys_mock::{GenesysMock, RequestKind};
use serde_json::Value;

/// testkit's client builder for `mock` with a 20 s retry budget: the longest fault plan of
/// these tests (persistent 503s) ends inside it.
pub(crate) fn client_for(mock: &GenesysMock) -> GenesysClientBuilder {
    testkit::client_builder(mock).retry_policy(testkit::retry_policy(Duration::from_secs(20)))
}

/// A client of `mock` ([`client_for`]) allowed `requests_per_minute` in bursts of 2, so that a
/// test's third request already waits for the limiter.
#[allow(dead_code, reason = "each test file uses its own part of the support")]
pub(crate) fn paced_client(mock: &GenesysMock, requests_per_minute: u32) -> GenesysClient {
    client_for(mock)
        .requests_per_minute(requests_per_minute)
        .rate_limit_burst(2)
        .build()
        .unwrap()
}

/// Directory requests `mock` recorded, in order, as (page number, status, arrival).
#[allow(dead_code, reason = "each test file uses its own part of the support")]
pub(crate) fn directory_requests(mock: &GenesysMock) -> Vec<(Option<u32>, u16, Instant)> {
    mock.requests()
        .into_iter()
        .filter(|r| matches!(r.kind, RequestKind::Directory(_)))
        .map(|r| (r.page_number, r.status, r.at))
        .collect()
}

/// The page sizes (`pageSize`, or `limit` of a scan) of the org listing requests `mock`
/// recorded, in order.
#[allow(dead_code, reason = "each test file uses its own part of the support")]
pub(crate) fn listing_page_sizes(mock: &GenesysMock) -> Vec<Option<u32>> {
    mock.requests()
        .into_iter()
        .filter(|r| matches!(r.kind, RequestKind::Listing(_)))
        .map(|r| r.page_size)
        .collect()
}

/// The snapshot of a fetch that must have read the listing.
#[allow(dead_code, reason = "each test file uses its own part of the support")]
pub(crate) fn modified(outcome: FetchOutcome) -> DirectorySnapshot {
    match outcome {
        FetchOutcome::Modified(snapshot) => snapshot,
        FetchOutcome::NotModified => panic!("expected a snapshot, got NotModified"),
    }
}

/// A snapshot's entries as the JSON values upstream sent.
#[allow(dead_code, reason = "each test file uses its own part of the support")]
pub(crate) fn as_values(snapshot: &DirectorySnapshot) -> Vec<Value> {
    serde_json::from_slice(&snapshot.entries_json).expect("a snapshot's entries are JSON")
}
