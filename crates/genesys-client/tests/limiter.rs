//! The client's own request limiter, seen from genesys-mock: requests beyond the allowance wait.

mod support;

use std::time::{Duration, Instant};

use genesys_client::FetchOptions;
use genesys_mock::{GenesysMock, MockDirectory};
use support::{directory_requests, paced_client};

#[tokio::test]
async fn the_client_keeps_requests_beyond_its_allowance_waiting() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("d", MockDirectory::generated(3, 1));
    // 120 a minute is one every 500 ms once a burst of 2 is spent.
    let client = paced_client(&mock, 120);
    for _ in 0..5 {
        client
            .fetch_directory("d", &FetchOptions::new())
            .await
            .unwrap();
    }
    let at: Vec<Instant> = directory_requests(&mock)
        .into_iter()
        .map(|(_, _, at)| at)
        .collect();
    assert_eq!(at.len(), 5);
    assert!(
        at[1] - at[0] < Duration::from_millis(250),
        "the burst went at once"
    );
    let spread = at[4] - at[0];
    assert!(
        spread >= Duration::from_millis(1400),
        "5 requests in {spread:?}"
    );
}
