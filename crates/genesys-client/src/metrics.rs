//! The client's metrics: names, HELP texts and the few places that record them.

use std::sync::Once;
use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Upstream API requests by status (`200`, `429`, ... or `error` when no response came).
pub const UPSTREAM_REQUESTS: &str = "dircache_upstream_requests_total";
/// Upstream API request latency, headers and body.
pub const UPSTREAM_REQUEST_DURATION: &str = "dircache_upstream_request_duration_seconds";
/// Retries by reason (`rate_limited`, `service_unavailable`, `timeout`, `torn_snapshot`, ...).
pub const UPSTREAM_RETRIES: &str = "dircache_upstream_retries_total";
/// Times a request waited on the client-side rate limiter.
pub const UPSTREAM_RATE_LIMIT_WAITS: &str = "dircache_upstream_rate_limit_waits_total";
/// Upstream budget tokens taken, by request class (`known`, `unknown`).
pub const BUDGET_TAKEN: &str = "dircache_upstream_budget_taken_total";
/// Upstream requests the budget refused, by reason (`unknown_share`, `exhausted`, `paused`).
pub const BUDGET_REFUSED: &str = "dircache_upstream_budget_refused_total";
/// Pauses asked for by a 429 from upstream.
pub const BUDGET_PAUSES: &str = "dircache_upstream_budget_pauses_total";
/// OAuth token requests by outcome (`success`, `invalid_client`, `error`).
pub const TOKEN_REQUESTS: &str = "dircache_token_requests_total";

static DESCRIBED: Once = Once::new();

/// Registers the HELP texts with the installed recorder, once per process.
///
/// Called when a client is built, so it runs after the application installed its exporter.
pub fn describe() {
    DESCRIBED.call_once(describe_all);
}

fn describe_all() {
    describe_counter!(
        UPSTREAM_REQUESTS,
        Unit::Count,
        "Genesys Cloud API requests, by HTTP status (error: no response)."
    );
    describe_histogram!(
        UPSTREAM_REQUEST_DURATION,
        Unit::Seconds,
        "Latency of Genesys Cloud API requests, including the body."
    );
    describe_counter!(
        UPSTREAM_RETRIES,
        Unit::Count,
        "Genesys Cloud requests retried, and torn snapshots re-read, by reason."
    );
    describe_counter!(
        UPSTREAM_RATE_LIMIT_WAITS,
        Unit::Count,
        "Genesys Cloud requests that waited on the client-side rate limiter."
    );
    describe_counter!(
        BUDGET_TAKEN,
        Unit::Count,
        "Upstream budget tokens taken, by request class (known, unknown)."
    );
    describe_counter!(
        BUDGET_REFUSED,
        Unit::Count,
        "Upstream requests refused by the budget, by reason (unknown_share, exhausted, paused)."
    );
    describe_counter!(
        BUDGET_PAUSES,
        Unit::Count,
        "Pauses of every upstream request asked for by a 429 from Genesys."
    );
    describe_counter!(
        TOKEN_REQUESTS,
        Unit::Count,
        "OAuth client-credentials token requests, by outcome."
    );
}

pub(crate) fn upstream_request(status: &'static str, elapsed: Duration) {
    counter!(UPSTREAM_REQUESTS, "status" => status).increment(1);
    histogram!(UPSTREAM_REQUEST_DURATION).record(elapsed.as_secs_f64());
}

pub(crate) fn retry(reason: &'static str) {
    counter!(UPSTREAM_RETRIES, "reason" => reason).increment(1);
}

pub(crate) fn rate_limit_wait() {
    counter!(UPSTREAM_RATE_LIMIT_WAITS).increment(1);
}

pub(crate) fn token_request(outcome: &'static str) {
    counter!(TOKEN_REQUESTS, "outcome" => outcome).increment(1);
}

/// The status label: a static string, so recording allocates nothing.
pub(crate) fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => match other / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// Counts a budget token taken for a request of `class`.
pub fn budget_taken(class: crate::RequestClass) {
    counter!(BUDGET_TAKEN, "class" => class.as_str()).increment(1);
}

/// Counts a request the budget refused for `reason`.
pub fn budget_refused(reason: crate::RefusalReason) {
    counter!(BUDGET_REFUSED, "reason" => reason.as_str()).increment(1);
}

/// Counts a pause asked for by a 429.
pub fn budget_pause() {
    counter!(BUDGET_PAUSES).increment(1);
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::DebuggingRecorder;

    use super::*;

    #[test]
    fn every_metric_is_described_with_its_unit() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        // The debugging recorder reports the metrics that were registered, with their
        // description: each is touched once after the descriptions.
        ::metrics::with_local_recorder(&recorder, || {
            describe_all();
            for name in [
                UPSTREAM_REQUESTS,
                UPSTREAM_RETRIES,
                UPSTREAM_RATE_LIMIT_WAITS,
                TOKEN_REQUESTS,
            ] {
                counter!(name).increment(1);
            }
            histogram!(UPSTREAM_REQUEST_DURATION).record(0.1);
        });
        let described = snapshotter.snapshot().into_vec();
        assert_eq!(described.len(), 5);
        for (key, unit, help, _) in described {
            let name = key.key().name();
            assert!(name.starts_with("dircache_"), "{name}");
            let expected = if name == UPSTREAM_REQUEST_DURATION {
                assert!(name.ends_with("_seconds"));
                Unit::Seconds
            } else {
                assert!(name.ends_with("_total"), "{name}");
                Unit::Count
            };
            assert_eq!(unit, Some(expected), "{name}");
            assert!(help.is_some_and(|help| !help.is_empty()), "{name}");
        }
    }
}
