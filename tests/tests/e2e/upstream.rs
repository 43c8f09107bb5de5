//! Upstream failures as a user of `serve` sees them: rate limits, refusals, missing and oversized directories.

use std::time::{Duration, Instant};

use anyhow::Result;
use dircache_e2e::{Start, mock_with, serving, setup};
use genesys_mock::{Fault, MockDirectory, RetryAfter};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn a_short_rate_limit_storm_is_waited_out() -> Result<()> {
    let (mock, served) = serving("storm", MockDirectory::generated(20, 3)).await?;
    mock.fail_directory("storm", Fault::rate_limited(RetryAfter::Seconds(1)), 3);

    let started = Instant::now();
    let answer = served.get_directory("storm").await?;
    let waited = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()?["entries"],
        Value::Array(mock.directory_entries("storm").unwrap())
    );
    let stats = mock.stats();
    assert_eq!(stats.by_directory_status[&("storm".to_owned(), 429)], 3);
    assert_eq!(stats.by_directory_status[&("storm".to_owned(), 200)], 1);
    // Three `Retry-After: 1` in a row: never sooner than upstream asked.
    assert!(
        waited >= Duration::from_millis(2900),
        "answered after {waited:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_beyond_the_budget_is_a_429_that_pauses_upstream_and_caches_nothing()
-> Result<()> {
    let (mock, served) = serving("busy", MockDirectory::generated(12, 4)).await?;
    mock.fail_directory("busy", Fault::rate_limited(RetryAfter::Seconds(3600)), 1);

    let limited = served.get_directory("busy").await?;
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert_eq!(limited.error_code()?, "rate_limited");
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|seconds| seconds.trim().parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {:?}", limited.headers));
    assert!(
        (1..=3600).contains(&retry_after),
        "Retry-After {retry_after}"
    );

    // Upstream asked for an hour's pause: the next request waits for nobody and asks nobody
    // (SPEC §9), and is not answered from a cached failure either.
    let paused = served.get_directory("busy").await?;
    assert_eq!(paused.status, 429, "{}", paused.text());
    assert_eq!(paused.error_code()?, "rate_limited");
    assert_eq!(paused.header("x-cache"), None);
    assert!(paused.header("retry-after").is_some());
    assert_eq!(mock.stats().requests_for("busy"), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_refusals_map_to_the_contract_errors() -> Result<()> {
    let mock = mock_with("private", MockDirectory::generated(5, 1))?;
    mock.put_directory("odd", MockDirectory::generated(5, 2));
    let served = setup(&mock)?.start().await?;

    mock.fail_directory("private", Fault::Forbidden, 1);
    let forbidden = served.get_directory("private").await?;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text());
    assert_eq!(forbidden.error_code()?, "forbidden");
    let body = forbidden.json()?;
    assert!(
        body["error"]["correlation_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "a correlation id to quote to Genesys support: {body}"
    );
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(
        mock.stats().requests_for("private"),
        1,
        "a 403 is not retried"
    );

    let missing = served.get_directory("nobody").await?;
    assert_eq!(missing.status, 404, "{}", missing.text());
    assert_eq!(missing.error_code()?, "not_found");

    // A 400 from upstream is neither retried nor the user's fault: another upstream failure.
    mock.fail_directory("odd", Fault::Status(400), 1);
    let failed = served.get_directory("odd").await?;
    assert_eq!(failed.status, 502, "{}", failed.text());
    assert_eq!(failed.error_code()?, "upstream_error");
    assert!(
        failed.json()?["error"]["correlation_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{}",
        failed.text()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_over_the_entry_limit_is_refused_never_truncated() -> Result<()> {
    let mock = mock_with("big", MockDirectory::generated(11, 6))?;
    mock.put_directory("ten", MockDirectory::generated(10, 6));
    let served = setup(&mock)?
        .env("DIRCACHE_MAX_ENTRIES", "10")
        .start()
        .await?;

    for attempt in ["first", "later"] {
        let refused = served.get_directory("big").await?;
        assert_eq!(refused.status, 422, "{attempt}: {}", refused.text());
        assert_eq!(refused.error_code()?, "too_many_entries");
    }
    let at_limit = served.get_directory("ten").await?;
    assert_eq!(at_limit.status, 200, "{}", at_limit.text());
    assert_eq!(at_limit.json()?["entry_count"], 10);
    Ok(())
}
