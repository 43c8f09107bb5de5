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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use ::metrics::{
        Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString,
    };
    use genesys_mock::{Fault, GenesysMock, MockDirectory, Target};

    use crate::FetchOptions;
    use crate::test_support::client_for;

    /// Records counters and histogram samples under `name{label=value,...}`.
    #[derive(Default)]
    struct TestRecorder {
        counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
        histograms: Mutex<HashMap<String, Arc<Samples>>>,
        descriptions: Mutex<HashMap<String, (Option<Unit>, String)>>,
    }

    #[derive(Default)]
    struct Samples(Mutex<Vec<f64>>);

    impl HistogramFn for Samples {
        fn record(&self, value: f64) {
            self.0.lock().unwrap().push(value);
        }
    }

    fn key_text(key: &Key) -> String {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        if labels.is_empty() {
            key.name().to_owned()
        } else {
            format!("{}{{{}}}", key.name(), labels.join(","))
        }
    }

    impl TestRecorder {
        fn counter(&self, key: &str) -> u64 {
            self.counters
                .lock()
                .unwrap()
                .get(key)
                .map_or(0, |c| c.load(Ordering::SeqCst))
        }

        fn samples(&self, key: &str) -> usize {
            self.histograms
                .lock()
                .unwrap()
                .get(key)
                .map_or(0, |h| h.0.lock().unwrap().len())
        }

        fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
            self.descriptions
                .lock()
                .unwrap()
                .insert(key.as_str().to_owned(), (unit, description.into_owned()));
        }
    }

    impl Recorder for TestRecorder {
        fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
            self.describe(key, unit, description);
        }
        fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
            self.describe(key, unit, description);
        }
        fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
            self.describe(key, unit, description);
        }
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            let mut counters = self.counters.lock().unwrap();
            Counter::from_arc(Arc::clone(counters.entry(key_text(key)).or_default()))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            let mut histograms = self.histograms.lock().unwrap();
            Histogram::from_arc(Arc::clone(histograms.entry(key_text(key)).or_default()))
        }
    }

    #[test]
    fn every_metric_is_described_with_its_unit() {
        let recorder = TestRecorder::default();
        ::metrics::with_local_recorder(&recorder, describe_all);
        let descriptions = recorder.descriptions.lock().unwrap();
        for name in [
            UPSTREAM_REQUESTS,
            UPSTREAM_RETRIES,
            UPSTREAM_RATE_LIMIT_WAITS,
            TOKEN_REQUESTS,
        ] {
            assert!(name.starts_with("dircache_") && name.ends_with("_total"));
            let (unit, help) = &descriptions[name];
            assert_eq!(*unit, Some(Unit::Count), "{name}");
            assert!(!help.is_empty());
        }
        assert!(UPSTREAM_REQUEST_DURATION.ends_with("_seconds"));
        assert_eq!(
            descriptions[UPSTREAM_REQUEST_DURATION].0,
            Some(Unit::Seconds)
        );
    }

    // Current-thread runtime: the local recorder is per thread, and every future of the client
    // runs on this one.
    #[tokio::test]
    async fn requests_retries_waits_and_tokens_are_counted() {
        let recorder = TestRecorder::default();
        let _guard = ::metrics::set_default_local_recorder(&recorder);
        let mock = GenesysMock::start().unwrap();
        mock.put_directory("d", MockDirectory::generated(5, 1));
        let client = client_for(&mock)
            .requests_per_minute(60)
            .rate_limit_burst(2)
            .build()
            .unwrap();
        mock.inject(Target::Directory("d".into()), Fault::Status(503), 1);
        mock.inject(Target::Directory("d".into()), Fault::DropConnection, 1);
        client
            .fetch_directory("d", &FetchOptions::new())
            .await
            .unwrap();

        assert_eq!(
            recorder.counter("dircache_upstream_requests_total{status=503}"),
            1
        );
        assert_eq!(
            recorder.counter("dircache_upstream_requests_total{status=error}"),
            1
        );
        assert_eq!(
            recorder.counter("dircache_upstream_requests_total{status=200}"),
            1
        );
        assert_eq!(recorder.samples(UPSTREAM_REQUEST_DURATION), 3);
        assert_eq!(
            recorder.counter("dircache_upstream_retries_total{reason=service_unavailable}"),
            1
        );
        assert_eq!(
            recorder.counter("dircache_upstream_retries_total{reason=connection}"),
            1
        );
        assert_eq!(
            recorder.counter("dircache_token_requests_total{outcome=success}"),
            1
        );
        // One request a second after a burst of 2: the third request waited.
        assert_eq!(recorder.counter(UPSTREAM_RATE_LIMIT_WAITS), 1);
    }
}
