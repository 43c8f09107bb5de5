//! The retry policy and the one retry loop: jittered exponential backoff, Retry-After, a total budget.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

use crate::{Backoff, Error, metrics};

/// How failed requests are retried.
///
/// Only errors for which [`Error::is_retryable`] holds are retried. Every wait fits inside
/// `budget`, counted from the start of the call: when the next wait would end past it, the call
/// gives up at once with the last error rather than sleeping for nothing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total time a call may spend retrying (default 30 s).
    pub budget: Duration,
    /// First backoff (default 250 ms); it doubles on each retry.
    pub initial_backoff: Duration,
    /// Largest backoff (default 8 s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            budget: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The default policy with another total budget.
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            ..Self::default()
        }
    }

    /// Sets the total budget.
    #[must_use]
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Sets the first backoff.
    #[must_use]
    pub fn initial_backoff(mut self, initial_backoff: Duration) -> Self {
        self.initial_backoff = initial_backoff;
        self
    }

    /// Sets the largest backoff.
    #[must_use]
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// The waits between retries, so that many clients failing together do not come back
    /// together, yet each still backs off.
    pub(crate) fn backoff(&self) -> Backoff {
        Backoff::new(self.initial_backoff, self.max_backoff)
    }
}

/// How long a 429 response asks us to wait: `Retry-After` (delta seconds or an HTTP date), else
/// Genesys' `inin-ratelimit-reset` (seconds until the window resets).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let asked = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|value| parse_retry_after(value, now));
    asked.or_else(|| {
        headers
            .get("inin-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_seconds)
    })
}

/// A `Retry-After` value as a wait from `now`: delta seconds (fractions accepted) or an HTTP
/// date (a date in the past is no wait; whole seconds are rounded up, never sooner than
/// asked). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_seconds(value).or_else(|| {
        let at = httpdate::parse_http_date(value.trim()).ok()?;
        // A date in the past means "now"; HTTP dates have whole seconds, so round up to keep
        // "never sooner" true.
        Some(at.duration_since(now).map_or(Duration::ZERO, |d| {
            if d.subsec_nanos() == 0 {
                d
            } else {
                Duration::from_secs(d.as_secs() + 1)
            }
        }))
    })
}

fn parse_seconds(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Runs `attempt` until it succeeds, fails with an error that is not retryable, or the next wait
/// would end after `deadline`. Returns the last error in that case.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Instant,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut backoff = policy.backoff();
    let mut retry = 0u32;
    loop {
        let err = match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if !err.is_retryable() => return Err(err),
            Err(err) => err,
        };
        let backoff = backoff.next().unwrap_or(policy.max_backoff);
        // Upstream's Retry-After is a floor: never come back sooner than asked.
        let wait = match err.retry_after() {
            Some(asked) => asked + backoff / 4,
            None => backoff,
        };
        if Instant::now() + wait > deadline {
            tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "retry budget exhausted");
            return Err(err);
        }
        let reason = err.retry_reason();
        tracing::debug!(
            reason,
            wait_ms = wait.as_millis() as u64,
            retry,
            "retrying upstream request"
        );
        metrics::retry(reason);
        tokio::time::sleep(wait).await;
        retry += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn retry_after_accepts_seconds_dates_and_the_genesys_reset_header() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);

        headers.insert("inin-ratelimit-reset", HeaderValue::from_static("12"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(12)));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));

        let date = httpdate::fmt_http_date(now + Duration::from_secs(90));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
        // Half a second before that date is still a 1 s wait after rounding up, never less.
        let later = now + Duration::from_millis(89_500);
        assert_eq!(retry_after(&headers, later), Some(Duration::from_secs(1)));

        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&past).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(12)));
    }

    fn unavailable() -> Error {
        Error::Upstream {
            status: 503,
            correlation_id: None,
            body: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_within_the_budget() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::default();
        let result = with_retries(&policy, Instant::now() + policy.budget, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(unavailable()),
                _ => Ok("done"),
            }
        })
        .await;
        assert_eq!(result.unwrap(), "done");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn never_retries_what_is_not_retryable() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::default();
        let result: Result<(), _> =
            with_retries(&policy, Instant::now() + policy.budget, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::Upstream {
                    status: 400,
                    correlation_id: None,
                    body: None,
                })
            })
            .await;
        assert!(matches!(result, Err(Error::Upstream { status: 400, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_with_the_last_error_when_the_wait_would_outlast_the_budget() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::new(Duration::from_secs(2));
        let started = Instant::now();
        let result: Result<(), _> = with_retries(&policy, started + policy.budget, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(unavailable())
        })
        .await;
        assert!(matches!(result, Err(Error::Upstream { status: 503, .. })));
        // 2 s of budget holds the 250, 500 and 1000 ms steps at most, never a wait past it.
        let calls = calls.load(Ordering::SeqCst);
        assert!((3..=5).contains(&calls), "{calls} calls");
        assert!(started.elapsed() <= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_a_floor() {
        let policy = RetryPolicy::default();
        let started = Instant::now();
        let calls = AtomicU32::new(0);
        with_retries(&policy, started + policy.budget, || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(Error::RateLimited {
                    retry_after: Some(Duration::from_secs(5)),
                    correlation_id: None,
                })
            } else {
                Ok(())
            }
        })
        .await
        .unwrap();
        assert!(started.elapsed() >= Duration::from_secs(5));
    }

    mod against_the_mock {
        use std::time::{Duration, Instant};

        use genesys_mock::{Fault, GenesysMock, MockDirectory, RetryAfter, Target};

        use crate::test_support::{client_for, directory_requests};
        use crate::{Error, FetchOptions, GenesysClient};

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

        #[tokio::test]
        async fn three_429s_are_each_waited_out_for_at_least_retry_after() {
            let (mock, client) = started("d");
            let limited = Fault::RateLimited {
                retry_after: RetryAfter::Seconds(1),
            };
            mock.inject(Target::Directory("d".into()), limited, 3);
            client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap();
            let statuses: Vec<u16> = directory_requests(&mock).iter().map(|r| r.1).collect();
            assert_eq!(statuses, [429, 429, 429, 200]);
            for gap in gaps(&mock) {
                assert!(gap >= Duration::from_secs(1), "came back after {gap:?}");
            }
        }

        #[tokio::test]
        async fn a_retry_after_beyond_the_budget_gives_up_at_once() {
            let (mock, client) = started("d");
            let limited = Fault::RateLimited {
                retry_after: RetryAfter::Seconds(30),
            };
            mock.inject(Target::Directory("d".into()), limited, 1);
            let began = Instant::now();
            let options = FetchOptions::new().retry_budget(Duration::from_secs(5));
            let err = client.fetch_directory("d", &options).await.unwrap_err();
            assert!(
                began.elapsed() < Duration::from_secs(2),
                "waited {:?}",
                began.elapsed()
            );
            assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
            assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
            assert!(err.correlation_id().is_some());
            assert_eq!(mock.stats().directory_requests, 1);
        }

        #[tokio::test]
        async fn an_http_date_retry_after_is_honoured() {
            let (mock, client) = started("d");
            let limited = Fault::RateLimited {
                retry_after: RetryAfter::HttpDate(Duration::from_secs(2)),
            };
            mock.inject(Target::Directory("d".into()), limited, 1);
            client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap();
            let gaps = gaps(&mock);
            assert_eq!(gaps.len(), 1);
            // The date has whole seconds, so "2 s from now" is between 1 and 2 s away.
            assert!(
                gaps[0] >= Duration::from_secs(1),
                "came back after {:?}",
                gaps[0]
            );
        }

        #[tokio::test]
        async fn without_retry_after_the_genesys_reset_header_is_the_floor() {
            let (mock, client) = started("d");
            let limited = Fault::RateLimited {
                retry_after: RetryAfter::Absent,
            };
            mock.inject(Target::Directory("d".into()), limited, 1);
            client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap();
            let gaps = gaps(&mock);
            assert!(
                gaps[0] >= Duration::from_secs(1),
                "came back after {:?}",
                gaps[0]
            );
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
            let outcome = client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap();
            assert!(matches!(outcome, crate::FetchOutcome::Modified(s) if s.entries.len() == 5));
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
            mock.inject(
                Target::Directory("d".into()),
                Fault::Slow(Duration::from_secs(2)),
                1,
            );
            let began = Instant::now();
            client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap();
            assert!(began.elapsed() >= Duration::from_millis(300));
            assert!(
                began.elapsed() < Duration::from_secs(2),
                "waited for the slow answer"
            );
            assert_eq!(mock.stats().directory_requests, 2);
        }

        #[tokio::test]
        async fn persistent_503s_end_with_the_last_error_inside_the_budget() {
            let (mock, client) = started("d");
            mock.inject(Target::Directory("d".into()), Fault::Status(503), 1000);
            let began = Instant::now();
            let options = FetchOptions::new().retry_budget(Duration::from_millis(700));
            let err = client.fetch_directory("d", &options).await.unwrap_err();
            assert!(
                began.elapsed() < Duration::from_millis(1500),
                "{:?}",
                began.elapsed()
            );
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
            let (mock, client) = started("d");
            mock.inject(Target::Directory("d".into()), Fault::Status(400), 1);
            let err = client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap_err();
            assert!(
                matches!(err, Error::Upstream { status: 400, .. }),
                "{err:?}"
            );
            assert_eq!(mock.stats().directory_requests, 1);
        }

        #[tokio::test]
        async fn a_403_costs_one_request_and_reports_missing_permission() {
            let (mock, client) = started("d");
            mock.inject(Target::Directory("d".into()), Fault::Forbidden, 1);
            let err = client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap_err();
            let Error::Forbidden {
                directory_id,
                correlation_id,
                body,
            } = &err
            else {
                panic!("expected Forbidden, got {err:?}");
            };
            let body = body.as_ref().expect("the Genesys error body");
            assert_eq!(directory_id, "d");
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
            let err = client
                .fetch_directory("missing", &FetchOptions::new())
                .await
                .unwrap_err();
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
            let (mock, client) = started("d");
            mock.inject(Target::Directory("d".into()), Fault::MalformedBody, 1);
            let err = client
                .fetch_directory("d", &FetchOptions::new())
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
            assert!(err.correlation_id().is_some());
            assert_eq!(mock.stats().directory_requests, 1);
        }
    }
}
