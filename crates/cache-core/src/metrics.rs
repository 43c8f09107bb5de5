//! The pipeline's Prometheus metrics, described once and held as handles.
//!
//! Handles are registered when the cache is built, so a hit only touches atomics. Install the
//! metrics recorder (e.g. metrics-exporter-prometheus) before building the cache.

use metrics::{Counter, Histogram, Unit, counter, describe_counter, describe_histogram, histogram};

use crate::{Outcome, Route};

pub(crate) const REQUESTS: &str = "dircache_requests_total";
pub(crate) const REQUEST_DURATION: &str = "dircache_request_duration_seconds";
pub(crate) const REFRESHES: &str = "dircache_refreshes_total";
pub(crate) const VERIFICATIONS: &str = "dircache_verifications_total";
pub(crate) const BACKEND_ERRORS: &str = "dircache_backend_errors_total";
pub(crate) const INVALIDATIONS: &str = "dircache_invalidations_total";
pub(crate) const LOOKUP_INDEX_BUILDS: &str = "dircache_lookup_index_builds_total";

/// Describes every metric of this crate (HELP text) to the installed recorder: the pipeline's,
/// the memory backend's and the change listeners'.
pub fn describe_metrics() {
    crate::memory::describe();
    crate::listener::describe_metrics();
    crate::negative::describe();
    describe_counter!(
        REQUESTS,
        "Directory requests answered by the cache, by outcome (hit, miss, stale, error) and route (directory, lookup)."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer a directory request, from the cache or upstream, by route."
    );
    describe_counter!(
        REFRESHES,
        "Upstream refreshes of cached directories, by result (populate, overwrite, revalidate, failed)."
    );
    describe_counter!(
        VERIFICATIONS,
        "Consistency verifications against upstream, by result (unchanged, changed, filled, error)."
    );
    describe_counter!(
        BACKEND_ERRORS,
        "Cache backend operations that failed, by backend and operation."
    );
    describe_counter!(INVALIDATIONS, "Directories invalidated on request.");
    describe_counter!(
        LOOKUP_INDEX_BUILDS,
        "Lookup indexes built, one per cached copy filled or read from a shared backend."
    );
}

/// Handles for the metrics of the request path, per route.
#[derive(Debug)]
pub(crate) struct RequestMetrics {
    routes: [RouteMetrics; Route::ALL.len()],
}

#[derive(Debug)]
struct RouteMetrics {
    hit: Counter,
    miss: Counter,
    stale: Counter,
    error: Counter,
    duration: Histogram,
}

impl RequestMetrics {
    pub(crate) fn register() -> Self {
        describe_metrics();
        Self {
            routes: Route::ALL.map(|route| {
                let route = route.as_str();
                RouteMetrics {
                    hit: counter!(REQUESTS, "outcome" => "hit", "route" => route),
                    miss: counter!(REQUESTS, "outcome" => "miss", "route" => route),
                    stale: counter!(REQUESTS, "outcome" => "stale", "route" => route),
                    error: counter!(REQUESTS, "outcome" => "error", "route" => route),
                    duration: histogram!(REQUEST_DURATION, "route" => route),
                }
            }),
        }
    }

    pub(crate) fn record(&self, route: Route, outcome: Option<Outcome>, seconds: f64) {
        let metrics = &self.routes[route.index()];
        match outcome {
            Some(Outcome::Hit) => &metrics.hit,
            Some(Outcome::Miss) => &metrics.miss,
            Some(Outcome::Stale) => &metrics.stale,
            None => &metrics.error,
        }
        .increment(1);
        metrics.duration.record(seconds);
    }
}

pub(crate) fn refresh(result: &'static str) {
    counter!(REFRESHES, "result" => result).increment(1);
}

pub(crate) fn verification(result: &'static str) {
    counter!(VERIFICATIONS, "result" => result).increment(1);
}

pub(crate) fn backend_error(backend: &'static str, operation: &'static str) {
    counter!(BACKEND_ERRORS, "backend" => backend, "operation" => operation).increment(1);
}

pub(crate) fn invalidation() {
    counter!(INVALIDATIONS).increment(1);
}

pub(crate) fn lookup_index_built() {
    counter!(LOOKUP_INDEX_BUILDS).increment(1);
}
