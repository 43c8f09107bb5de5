//! A `GenesysClient` pointed at a running genesys-mock, as every test and bench builds it.

use std::time::Duration;

use genesys_client::{GenesysClient, GenesysClientBuilder, RetryPolicy};
use genesys_mock::GenesysMock;
use secrecy::SecretString;

/// The retry budget of [`client_builder`]: long enough for a test's planned faults, short
/// enough that a failing test ends quickly.
const RETRY_BUDGET: Duration = Duration::from_secs(5);
/// A request rate the client's limiter never reaches in a test, while its check still runs.
const REQUESTS_PER_MINUTE: u32 = 1_000_000;

/// A retry policy with short backoffs (20 ms, at most 200 ms) and `budget` in all.
pub fn retry_policy(budget: Duration) -> RetryPolicy {
    RetryPolicy::new(budget)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(200))
}

/// A builder for a client of `mock`, with [`retry_policy`] over 5 s and a limiter that never
/// binds, so tests only wait where they mean to. Its settings can still be changed.
pub fn client_builder(mock: &GenesysMock) -> GenesysClientBuilder {
    GenesysClient::builder()
        .api_url(&mock.api_url())
        .login_url(&mock.login_url())
        .client_id(mock.client_id())
        .client_secret(SecretString::from(mock.client_secret().to_owned()))
        .requests_per_minute(REQUESTS_PER_MINUTE)
        .retry_policy(retry_policy(RETRY_BUDGET))
}

/// The client of [`client_builder`].
///
/// # Panics
///
/// If the client does not build (the mock's URLs are always valid).
pub fn client(mock: &GenesysMock) -> GenesysClient {
    client_builder(mock)
        .build()
        .expect("a client of genesys-mock builds")
}

/// A client of `mock` ([`client_builder`]) whose retries may take `budget` in all.
pub fn client_with_budget(mock: &GenesysMock, budget: Duration) -> GenesysClient {
    client_builder(mock)
        .retry_policy(retry_policy(budget))
        .build()
        .expect("a client of genesys-mock builds")
}
