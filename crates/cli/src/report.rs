//! The statistics document shared by `dircache stats` and `GET /v1/stats`.

use cache_core::CacheStats;
use serde::Serialize;

use crate::app::App;

/// `{hits, misses, stale, errors, hit_ratio, avg_latency_ms, p99_latency_ms, cache_size,
/// backend, instance_id}`.
#[derive(Debug, Serialize)]
pub(crate) struct StatsReport {
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) stale: u64,
    pub(crate) errors: u64,
    pub(crate) hit_ratio: f64,
    pub(crate) avg_latency_ms: f64,
    pub(crate) p99_latency_ms: f64,
    pub(crate) cache_size: usize,
    pub(crate) backend: &'static str,
    pub(crate) instance_id: String,
}

impl StatsReport {
    /// The statistics of `app`'s cache now.
    pub(crate) async fn of(app: &App) -> Self {
        Self::new(app.cache.stats().await, app.backend_name, &app.instance_id)
    }

    /// The report of `stats` for a cache on `backend`, run by `instance_id`.
    pub(crate) fn new(stats: CacheStats, backend: &'static str, instance_id: &str) -> Self {
        Self {
            hits: stats.hits,
            misses: stats.misses,
            stale: stats.stale,
            errors: stats.errors,
            hit_ratio: stats.hit_ratio,
            avg_latency_ms: stats.avg_latency_ms,
            p99_latency_ms: stats.p99_latency_ms,
            cache_size: stats.cache_size,
            backend,
            instance_id: instance_id.to_owned(),
        }
    }

    /// Readable lines, for a terminal.
    pub(crate) fn to_text(&self) -> String {
        format!(
            "requests:     {} hits, {} misses, {} stale, {} errors\n\
             hit ratio:    {:.3}\n\
             latency:      {:.3} ms average, {:.3} ms p99\n\
             cached:       {} directories ({} backend)\n\
             instance:     {}",
            self.hits,
            self.misses,
            self.stale,
            self.errors,
            self.hit_ratio,
            self.avg_latency_ms,
            self.p99_latency_ms,
            self.cache_size,
            self.backend,
            self.instance_id,
        )
    }
}
