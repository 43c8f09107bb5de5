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
}
