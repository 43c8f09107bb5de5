//! Request statistics kept in process: the seed's `get_metrics()` snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

/// How a `get` was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// A fresh cached copy.
    Hit,
    /// Fetched from upstream (nothing cached, or the cached copy had expired).
    Miss,
    /// An expired copy, served because upstream is failing (stale-if-error).
    Stale,
}

impl Outcome {
    /// `HIT`, `MISS` or `STALE`, as in the `X-Cache` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Stale => "STALE",
        }
    }
}

/// A point-in-time view of the cache's request statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests answered from a fresh copy.
    pub hits: u64,
    /// Requests that went upstream.
    pub misses: u64,
    /// Requests answered with a stale copy.
    pub stale: u64,
    /// Requests that failed.
    pub errors: u64,
    /// `hits / (hits + misses + stale)`, 0 when there were none.
    pub hit_ratio: f64,
    /// Mean request latency, in milliseconds.
    pub avg_latency_ms: f64,
    /// 99th percentile request latency, in milliseconds (to within about 10 %).
    pub p99_latency_ms: f64,
    /// How many directories the backend holds.
    pub cache_size: usize,
}

/// Lock-free counters and latency histogram behind [`CacheStats`].
#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    hits: AtomicU64,
    misses: AtomicU64,
    stale: AtomicU64,
    errors: AtomicU64,
    latency: LatencyHistogram,
}

impl StatsRecorder {
    pub(crate) fn record(&self, outcome: Option<Outcome>, latency: Duration) {
        let counter = match outcome {
            Some(Outcome::Hit) => &self.hits,
            Some(Outcome::Miss) => &self.misses,
            Some(Outcome::Stale) => &self.stale,
            None => &self.errors,
        };
        counter.fetch_add(1, Relaxed);
        self.latency.record(latency);
    }

    pub(crate) fn snapshot(&self, cache_size: usize) -> CacheStats {
        let hits = self.hits.load(Relaxed);
        let misses = self.misses.load(Relaxed);
        let stale = self.stale.load(Relaxed);
        let answered = hits + misses + stale;
        CacheStats {
            hits,
            misses,
            stale,
            errors: self.errors.load(Relaxed),
            hit_ratio: if answered == 0 {
                0.0
            } else {
                hits as f64 / answered as f64
            },
            avg_latency_ms: self.latency.mean().as_secs_f64() * 1e3,
            p99_latency_ms: self.latency.quantile(0.99).as_secs_f64() * 1e3,
            cache_size,
        }
    }
}

/// Sub-buckets per power of two: bucket bounds are 2^(1/4) ≈ 19 % apart.
const SUB_BUCKETS: u32 = 4;
/// Covers 1 ns to about 2^40 ns (18 minutes); longer latencies land in the last bucket.
const BUCKETS: usize = (40 * SUB_BUCKETS) as usize;

/// A log-scale latency histogram in atomics: recording is a few relaxed atomic adds.
#[derive(Debug)]
struct LatencyHistogram {
    buckets: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
        }
    }
}

impl LatencyHistogram {
    fn record(&self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
        // The count is the buckets' sum, computed when a snapshot is read, not here.
        self.buckets[bucket_of(ns)].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    fn mean(&self) -> Duration {
        let count: u64 = self.buckets.iter().map(|b| b.load(Relaxed)).sum();
        if count == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.sum_ns.load(Relaxed) / count)
    }

    /// The upper bound of the bucket holding the `q` quantile.
    fn quantile(&self, q: f64) -> Duration {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (index, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_nanos(upper_bound(index));
            }
        }
        Duration::from_nanos(upper_bound(BUCKETS - 1))
    }
}

fn bucket_of(ns: u64) -> usize {
    let octave = 63 - ns.leading_zeros();
    // The two bits after the leading one pick the sub-bucket.
    let sub = if octave >= 2 {
        (ns >> (octave - 2)) & 0b11
    } else {
        (ns << (2 - octave)) & 0b11
    };
    ((octave * SUB_BUCKETS) as usize + sub as usize).min(BUCKETS - 1)
}

fn upper_bound(index: usize) -> u64 {
    let octave = index as u32 / SUB_BUCKETS;
    let sub = u64::from(index as u32 % SUB_BUCKETS);
    let base = 1u64 << octave;
    base + (base * (sub + 1)) / u64::from(SUB_BUCKETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_and_counts() {
        let stats = StatsRecorder::default();
        for _ in 0..3 {
            stats.record(Some(Outcome::Hit), Duration::from_micros(1));
        }
        stats.record(Some(Outcome::Miss), Duration::from_millis(10));
        stats.record(None, Duration::from_millis(1));
        let snap = stats.snapshot(7);
        assert_eq!(
            (snap.hits, snap.misses, snap.stale, snap.errors),
            (3, 1, 0, 1)
        );
        assert_eq!(snap.hit_ratio, 0.75);
        assert_eq!(snap.cache_size, 7);
    }

    #[test]
    fn empty_stats_are_zero_not_nan() {
        let snap = StatsRecorder::default().snapshot(0);
        assert_eq!(snap.hit_ratio, 0.0);
        assert_eq!(snap.avg_latency_ms, 0.0);
        assert_eq!(snap.p99_latency_ms, 0.0);
    }

    #[test]
    fn p99_is_within_a_bucket_of_the_truth() {
        let histogram = LatencyHistogram::default();
        for i in 1..=1000u64 {
            histogram.record(Duration::from_micros(i));
        }
        let p99 = histogram.quantile(0.99).as_secs_f64() * 1e6;
        assert!((990.0..=990.0 * 1.2).contains(&p99), "p99 {p99} µs");
        let mean = histogram.mean().as_secs_f64() * 1e6;
        assert!((mean - 500.5).abs() < 0.01, "mean {mean} µs");
    }

    #[test]
    fn buckets_are_monotonic() {
        let mut last = 0;
        for ns in [1, 2, 3, 5, 8, 100, 1_000, 123_456, 1 << 39, u64::MAX] {
            let bucket = bucket_of(ns);
            assert!(bucket >= last);
            assert!(ns <= upper_bound(bucket) || bucket == BUCKETS - 1);
            last = bucket;
        }
    }
}
