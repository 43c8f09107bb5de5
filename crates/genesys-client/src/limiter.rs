//! The client-side request-rate limiter that keeps one process under the organisation's allowance.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Jitter, Quota, RateLimiter};

use crate::metrics;

/// A GCRA limiter (governor) shared by every request of one client.
pub(crate) struct RequestLimiter {
    limiter: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    per_minute: NonZeroU32,
    burst: NonZeroU32,
}

impl RequestLimiter {
    /// `per_minute` requests a minute on average, at most `burst` at once.
    pub(crate) fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: RateLimiter::direct(quota),
            per_minute,
            burst,
        }
    }

    /// Waits until one more request is allowed; a wait is counted in
    /// `dircache_upstream_rate_limit_waits_total`.
    pub(crate) async fn acquire(&self) {
        if self.limiter.check().is_ok() {
            return;
        }
        metrics::rate_limit_wait();
        tracing::debug!(
            per_minute = self.per_minute.get(),
            "waiting on the client-side rate limiter"
        );
        // A little jitter so that many waiting tasks do not wake in lockstep.
        self.limiter
            .until_ready_with_jitter(Jitter::up_to(Duration::from_millis(20)))
            .await;
    }
}

impl fmt::Debug for RequestLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLimiter")
            .field("per_minute", &self.per_minute)
            .field("burst", &self.burst)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn requests_beyond_the_burst_wait_for_the_rate() {
        // 600 a minute is one every 100 ms; a burst of 2 lets two through at once.
        let limiter =
            RequestLimiter::new(NonZeroU32::new(600).unwrap(), NonZeroU32::new(2).unwrap());
        let started = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert!(started.elapsed() < Duration::from_millis(80));
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert!(
            started.elapsed() >= Duration::from_millis(280),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn the_client_keeps_requests_beyond_its_allowance_waiting() {
        use crate::FetchOptions;
        use crate::test_support::{client_for, directory_requests};
        use genesys_mock::{GenesysMock, MockDirectory};

        let mock = GenesysMock::start().unwrap();
        mock.put_directory("d", MockDirectory::generated(3, 1));
        // 120 a minute is one every 500 ms once a burst of 2 is spent.
        let client = client_for(&mock)
            .requests_per_minute(120)
            .rate_limit_burst(2)
            .build()
            .unwrap();
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
}
