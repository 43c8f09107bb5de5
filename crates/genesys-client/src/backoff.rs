//! `Backoff`: the one exponential backoff with jitter, for every retry loop in dircache.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// The waits between attempts: exponential, capped, and "equal jitter" — each wait is half of
/// `initial × 2^n` (capped at `max`) plus a random part of the other half, so that instances
/// that failed together do not retry in step, and no wait is shorter than half its step.
///
/// An endless iterator: the caller decides when to stop (attempts, a budget).
///
/// ```
/// use std::time::Duration;
/// use genesys_client::Backoff;
///
/// let mut waits = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
/// let first = waits.next().unwrap();
/// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
/// ```
#[derive(Debug)]
pub struct Backoff(ExponentialBackoff);

impl Backoff {
    /// Waits starting at `initial`, doubling, capped at `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        // backon adds a jitter of up to the current delay: built on half-steps, its waits lie
        // in [step / 2, step], which is equal jitter over the full steps.
        Self(
            ExponentialBuilder::new()
                .with_min_delay(initial / 2)
                .with_max_delay(max.max(initial) / 2)
                .with_factor(2.0)
                .with_jitter()
                .without_max_times()
                .build(),
        )
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.0.next()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn waits_grow_are_jittered_and_capped() {
        let waits: Vec<Duration> = Backoff::new(Duration::from_millis(250), Duration::from_secs(8))
            .take(12)
            .collect();
        for (retry, wait) in waits.iter().enumerate() {
            let step =
                (Duration::from_millis(250) * 2u32.pow(retry as u32)).min(Duration::from_secs(8));
            assert!(
                *wait >= step / 2 && *wait <= step,
                "retry {retry}: {wait:?} is outside [{:?}, {step:?}]",
                step / 2
            );
        }
        let third: HashSet<Duration> = (0..20)
            .map(|_| {
                Backoff::new(Duration::from_millis(250), Duration::from_secs(8))
                    .nth(3)
                    .unwrap()
            })
            .collect();
        assert!(third.len() > 1, "the waits are not jittered");
    }
}
