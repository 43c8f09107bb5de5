//! Test fixtures shared by this crate's unit tests: a client pointed at a running genesys-mock.

use std::time::Duration;

use genesys_mock::{GenesysMock, RequestKind};
use secrecy::SecretString;

use crate::{GenesysClient, GenesysClientBuilder, RetryPolicy};

/// A builder for a client of `mock`, with short backoffs and a limiter that never binds, so
/// tests only wait where they mean to.
pub(crate) fn client_for(mock: &GenesysMock) -> GenesysClientBuilder {
    GenesysClient::builder()
        .api_url(&mock.api_url())
        .login_url(&mock.login_url())
        .client_id(mock.client_id())
        .client_secret(SecretString::from(mock.client_secret()))
        .requests_per_minute(1_000_000)
        .retry_policy(
            RetryPolicy::new(Duration::from_secs(20))
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(200)),
        )
}

/// Directory requests `mock` recorded, in order, as (page number, status, arrival).
pub(crate) fn directory_requests(
    mock: &GenesysMock,
) -> Vec<(Option<u32>, u16, std::time::Instant)> {
    mock.requests()
        .into_iter()
        .filter(|r| matches!(r.kind, RequestKind::Directory(_)))
        .map(|r| (r.page_number, r.status, r.at))
        .collect()
}
