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
}
