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
    /// Never more than `per_minute` requests in any 60 s window, at most `burst` at once.
    pub(crate) fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = window_quota(per_minute, burst);
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

/// The GCRA quota that keeps any 60 s window at `per_minute` requests (SPEC §9). A window that
/// opens on a full burst of `burst` also holds the cells replenished within it, one per
/// interval after the first: with the interval 60 s ÷ (`per_minute` − `burst` + 1) that is
/// `per_minute` in all, where a plain `per_minute` rate would allow `per_minute` + `burst` − 1.
/// The burst is at most the rate.
fn window_quota(per_minute: NonZeroU32, burst: NonZeroU32) -> Quota {
    let burst = burst.min(per_minute);
    let replenished = u64::from(per_minute.get() - burst.get() + 1);
    // Rounded up: an interval a nanosecond short would fit one cell more into the window.
    let minute = Duration::from_secs(60).as_nanos() as u64;
    Quota::with_period(Duration::from_nanos(minute.div_ceil(replenished)))
        .expect("a minute over at most u32::MAX cells is not zero")
        .allow_burst(burst)
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

    fn n(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    #[test]
    fn requests_beyond_the_burst_are_told_how_long_to_wait_for_the_rate() {
        // 601 a minute with a burst of 2 replenishes one cell every 100 ms.
        let limiter = RequestLimiter::new(n(601), n(2));
        assert_eq!(limiter.try_acquire(), Ok(()));
        assert_eq!(limiter.try_acquire(), Ok(()));
        let wait = limiter.try_acquire().unwrap_err();
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
    }

    #[test]
    fn no_60_s_window_holds_more_than_the_rate_even_after_a_full_burst() {
        for (per_minute, burst) in [(300, 30), (60, 6), (120, 1), (10, 10), (5, 50), (1, 1)] {
            let quota = window_quota(n(per_minute), n(burst));
            let interval = quota.replenish_interval();
            // The burst at the window's start, then one cell per interval strictly inside it.
            let inside = Duration::from_secs(60)
                .as_nanos()
                .div_ceil(interval.as_nanos())
                - 1;
            let most = u128::from(quota.burst_size().get()) + inside;
            assert!(
                most <= u128::from(per_minute),
                "{per_minute}/{burst}: {most}"
            );
            // And no slower than it must be: the window's allowance is used whole.
            assert_eq!(most, u128::from(per_minute), "{per_minute}/{burst}");
        }
    }
}
