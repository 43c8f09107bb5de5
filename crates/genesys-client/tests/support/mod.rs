//! What this crate's tests against genesys-mock share: testkit's client with the retry budget
//! they were written for, and the directory requests the mock saw.

use std::time::{Duration, Instant};

use genesys_client::{GenesysClient, GenesysClientBuilder};
use genesys_mock::{GenesysMock, RequestKind};

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
