//! The client-side request-rate limiter that keeps one process under the organisation's allowance.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

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

    /// Takes one request now if one is allowed; otherwise how long until one is.
    pub(crate) fn try_acquire(&self) -> Result<(), Duration> {
        self.limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
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

    #[test]
    fn requests_beyond_the_burst_are_told_how_long_to_wait_for_the_rate() {
        // 600 a minute is one every 100 ms; a burst of 2 lets two through at once.
        let limiter =
            RequestLimiter::new(NonZeroU32::new(600).unwrap(), NonZeroU32::new(2).unwrap());
        assert_eq!(limiter.try_acquire(), Ok(()));
        assert_eq!(limiter.try_acquire(), Ok(()));
        let wait = limiter.try_acquire().unwrap_err();
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }
}
