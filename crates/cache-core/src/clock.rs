//! `Clock`: the wall-clock time freshness is judged by, cheap to read, or following tokio's clock.

use std::time::{Duration, SystemTime};

/// Wall-clock time anchored once and advanced by a monotonic clock.
///
/// Freshness decisions use this clock rather than `SystemTime::now()` for two reasons: a
/// wall-clock step (NTP) cannot expire or resurrect the whole cache at once, and reading it is
/// cheap. [`Clock::new`] advances with the CPU's monotonic counter (a few nanoseconds a read,
/// through `quanta`). [`Clock::following_tokio`] advances with tokio's clock instead, so that
/// tests which pause and advance tokio time (`tokio::time::pause` / `advance`) move cache time
/// with it.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall: SystemTime,
    source: Source,
}

#[derive(Clone, Copy, Debug)]
enum Source {
    Cpu(quanta::Instant),
    Tokio(tokio::time::Instant),
}

impl Clock {
    /// A clock anchored at the current wall-clock time, advanced by the CPU's counter.
    pub fn new() -> Self {
        Self {
            wall: SystemTime::now(),
            source: Source::Cpu(quanta::Instant::now()),
        }
    }

    /// A clock anchored at the current wall-clock time, advanced by tokio's clock.
    pub fn following_tokio() -> Self {
        Self {
            wall: SystemTime::now(),
            source: Source::Tokio(tokio::time::Instant::now()),
        }
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        self.now_given(quanta::Instant::now())
    }

    /// The current time, for a caller that has just read the CPU's counter (`cpu_now`): a
    /// CPU clock uses that reading instead of taking another.
    pub(crate) fn now_given(&self, cpu_now: quanta::Instant) -> SystemTime {
        self.wall
            + match self.source {
                Source::Cpu(anchor) => cpu_now.saturating_duration_since(anchor),
                Source::Tokio(anchor) => anchor.elapsed(),
            }
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
    async fn a_tokio_clock_follows_paused_tokio_time() {
        let clock = Clock::following_tokio();
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(clock.now().duration_since(start).unwrap().as_secs(), 301);
        assert_eq!(clock.since(start).as_secs(), 301);
    }

    #[test]
    fn a_cpu_clock_follows_real_time() {
        let clock = Clock::new();
        let start = clock.now();
        assert!(
            start
                .duration_since(SystemTime::now() - Duration::from_secs(1))
                .is_ok()
        );
        std::thread::sleep(Duration::from_millis(20));
        let waited = clock.since(start);
        assert!(waited >= Duration::from_millis(15), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }
}
