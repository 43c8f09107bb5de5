//! `Clock`: wall-clock time that follows tokio's clock, so TTL tests can pause and advance it.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Wall-clock time anchored once and advanced by tokio's monotonic clock.
///
/// Freshness decisions use this clock rather than `SystemTime::now()` for two reasons: a
/// wall-clock step (NTP) cannot expire or resurrect the whole cache at once, and tests that
/// pause tokio's clock (`tokio::time::pause` / `advance`) move cache time with it.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall: SystemTime,
    monotonic: Instant,
}

impl Clock {
    /// A clock anchored at the current wall-clock time.
    pub fn new() -> Self {
        Self {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        self.at(Instant::now())
    }

    /// The time at `instant` (of tokio's clock), for a caller that already read the clock.
    pub fn at(&self, instant: Instant) -> SystemTime {
        self.wall + instant.saturating_duration_since(self.monotonic)
    }

    /// How long ago `then` was (zero if it is in the future).
    pub fn since(&self, then: SystemTime) -> Duration {
        self.now().duration_since(then).unwrap_or_default()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_a_paused_tokio_clock() {
        let clock = Clock::new();
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(clock.now().duration_since(start).unwrap().as_secs(), 301);
        assert_eq!(clock.since(start).as_secs(), 301);
    }
}
