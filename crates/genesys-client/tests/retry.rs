//! Retries against genesys-mock: Retry-After in every form, gateway errors, timeouts, the budget, and what is never retried.

mod support;

use std::time::{Duration, Instant};

use genesys_mock::{Fault, GenesysMock, MockDirectory, RetryAfter, Target};

use genesys_client::{Error, FetchOptions, FetchOutcome, GenesysClient};
use support::{client_for, directory_requests};

fn started(id: &str) -> (GenesysMock, GenesysClient) {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory(id, MockDirectory::generated(5, 3));
    let client = client_for(&mock).build().unwrap();
    (mock, client)
}

fn gaps(mock: &GenesysMock) -> Vec<Duration> {
    let at: Vec<Instant> = directory_requests(mock)
        .into_iter()
        .map(|(_, _, at)| at)
        .collect();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

/// A client of a mock whose directory `d` answers `fault` the first `times` requests.
fn failing(fault: Fault, times: u32) -> (GenesysMock, GenesysClient) {
    let (mock, client) = started("d");
    mock.fail_directory("d", fault, times);
    (mock, client)
}

/// The client came back after the first failure no sooner than `floor`.
fn assert_first_gap_at_least(mock: &GenesysMock, floor: Duration) {
    let gaps = gaps(mock);
    assert!(gaps[0] >= floor, "came back after {:?}", gaps[0]);
}

/// A fetch of `d` that must fail within a retry `budget`: the error, and how long it took.
async fn failure_within(client: &GenesysClient, budget: Duration) -> (Error, Duration) {
    let began = Instant::now();
    let options = FetchOptions::new().retry_budget(budget);
    let err = client.fetch_directory("d", &options).await.unwrap_err();
    (err, began.elapsed())
}

/// A fetch of `id` with the default options, retries and all.
async fn fetch(client: &GenesysClient, id: &str) -> Result<FetchOutcome, Error> {
    client.fetch_directory(id, &FetchOptions::new()).await
}

#[tokio::test]
async fn three_429s_are_each_waited_out_for_at_least_retry_after() {
    let (mock, client) = failing(Fault::rate_limited(RetryAfter::Seconds(1)), 3);
    fetch(&client, "d").await.unwrap();
    let statuses: Vec<u16> = directory_requests(&mock).iter().map(|r| r.1).collect();
    assert_eq!(statuses, [429, 429, 429, 200]);
    for gap in gaps(&mock) {
        assert!(gap >= Duration::from_secs(1), "came back after {gap:?}");
    }
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_gives_up_at_once() {
    let (mock, client) = failing(Fault::rate_limited(RetryAfter::Seconds(30)), 1);
    let (err, took) = failure_within(&client, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2), "waited {:?}", took);
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.correlation_id().is_some());
    assert_eq!(mock.stats().directory_requests, 1);
}

#[tokio::test]
async fn an_http_date_retry_after_is_honoured() {
    let (mock, client) = failing(
        Fault::rate_limited(RetryAfter::HttpDate(Duration::from_secs(2))),
        1,
    );
    fetch(&client, "d").await.unwrap();
    assert_eq!(gaps(&mock).len(), 1);
    // The date has whole seconds, so "2 s from now" is between 1 and 2 s away.
    assert_first_gap_at_least(&mock, Duration::from_secs(1));
}

#[tokio::test]
async fn without_retry_after_the_genesys_reset_header_is_the_floor() {
    let (mock, client) = failing(Fault::rate_limited(RetryAfter::Absent), 1);
    fetch(&client, "d").await.unwrap();
    assert_first_gap_at_least(&mock, Duration::from_secs(1));
}

#[tokio::test]
async fn gateway_errors_and_dropped_connections_are_retried_until_success() {
    let (mock, client) = started("d");
    let target = Target::Directory("d".into());
    for fault in [
        Fault::Status(503),
        Fault::Status(502),
        Fault::Status(504),
        Fault::DropConnection,
    ] {
        mock.inject(target.clone(), fault, 1);
    }
    let outcome = fetch(&client, "d").await.unwrap();
    assert!(matches!(outcome, genesys_client::FetchOutcome::Modified(s) if s.entry_count == 5));
    let statuses: Vec<u16> = directory_requests(&mock).iter().map(|r| r.1).collect();
    assert_eq!(statuses, [503, 502, 504, genesys_mock::STATUS_DROPPED, 200]);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("d", MockDirectory::generated(5, 3));
    let client = client_for(&mock)
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    mock.fail_directory("d", Fault::Slow(Duration::from_secs(2)), 1);
    let began = Instant::now();
    fetch(&client, "d").await.unwrap();
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "waited for the slow answer"
    );
    assert_eq!(mock.stats().directory_requests, 2);
}

#[tokio::test]
async fn persistent_503s_end_with_the_last_error_inside_the_budget() {
    let (mock, client) = failing(Fault::Status(503), 1000);
    let (err, took) = failure_within(&client, Duration::from_millis(700)).await;
    assert!(took < Duration::from_millis(1500), "{:?}", took);
    assert!(
        matches!(
            err,
            Error::Upstream {
                status: 503,
                body: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(mock.stats().directory_requests >= 3);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let (mock, client) = failing(Fault::Status(400), 1);
    let err = fetch(&client, "d").await.unwrap_err();
    assert!(
        matches!(err, Error::Upstream { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(mock.stats().directory_requests, 1);
}

#[tokio::test]
async fn a_403_costs_one_request_and_reports_missing_permission() {
    let (mock, client) = failing(Fault::Forbidden, 1);
    let err = fetch(&client, "d").await.unwrap_err();
    let Error::Forbidden {
        directory_id,
        grant,
        correlation_id,
        body,
    } = &err
    else {
        panic!("expected Forbidden, got {err:?}");
    };
    let body = body.as_ref().expect("the Genesys error body");
    assert_eq!(directory_id, "d");
    assert_eq!(*grant, "routing:directory:read");
    assert_eq!(body.code.as_deref(), Some("missing.permissions"));
    assert_eq!(body.status, Some(403));
    assert!(
        body.message
            .as_deref()
            .unwrap()
            .contains("routing:directory:read")
    );
    assert_eq!(correlation_id.as_deref(), body.context_id.as_deref());
    assert!(correlation_id.is_some());
    assert_eq!(mock.stats().directory_requests, 1);
}

#[tokio::test]
async fn a_404_costs_one_request_and_reports_not_found() {
    let (mock, client) = started("d");
    let err = fetch(&client, "missing").await.unwrap_err();
    let Error::NotFound {
        directory_id,
        correlation_id,
        body,
    } = &err
    else {
        panic!("expected NotFound, got {err:?}");
    };
    assert_eq!(directory_id, "missing");
    assert_eq!(
        body.as_ref().and_then(|b| b.code.as_deref()),
        Some("not.found")
    );
    assert!(correlation_id.is_some());
    assert_eq!(mock.stats().directory_requests, 1);
}

#[tokio::test]
async fn a_malformed_page_is_an_invalid_response_with_its_correlation_id() {
    let (mock, client) = failing(Fault::MalformedBody, 1);
    let err = fetch(&client, "d").await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    assert!(err.correlation_id().is_some());
    assert_eq!(mock.stats().directory_requests, 1);
}
