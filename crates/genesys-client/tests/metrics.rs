//! What the client records through the `metrics` facade while it fetches from genesys-mock:
//! requests by status, their durations, retries by reason, limiter waits and token requests.

mod support;

use std::collections::HashMap;

use genesys_client::FetchOptions;
use genesys_client::metrics::{UPSTREAM_RATE_LIMIT_WAITS, UPSTREAM_REQUEST_DURATION};
use genesys_mock::{Fault, GenesysMock, MockDirectory};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::paced_client;

/// What was recorded, by `name{label=value,…}` (labels sorted): a counter's value, a
/// histogram's number of samples.
fn recorded(recorder: &DebuggingRecorder) -> HashMap<String, u64> {
    let snapshot = recorder.snapshotter().snapshot().into_vec();
    snapshot
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            labels.sort();
            let name = match labels.is_empty() {
                true => key.name().to_owned(),
                false => format!("{}{{{}}}", key.name(), labels.join(",")),
            };
            let value = match value {
                DebugValue::Counter(count) => count,
                DebugValue::Histogram(samples) => samples.len() as u64,
                DebugValue::Gauge(_) => panic!("the client records no gauge: {name}"),
            };
            (name, value)
        })
        .collect()
}

// Current-thread runtime: the local recorder is per thread, and every future of the client
// runs on this one.
#[tokio::test]
async fn requests_retries_waits_and_tokens_are_counted() {
    let recorder = DebuggingRecorder::new();
    let guard = ::metrics::set_default_local_recorder(&recorder);
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("d", MockDirectory::generated(5, 1));
    let client = paced_client(&mock, 60);
    mock.fail_directory("d", Fault::Status(503), 1);
    mock.fail_directory("d", Fault::DropConnection, 1);
    client
        .fetch_directory("d", &FetchOptions::new())
        .await
        .unwrap();
    drop(guard);

    let recorded = recorded(&recorder);
    let count = |key: &str| recorded.get(key).copied().unwrap_or(0);
    assert_eq!(count("dircache_upstream_requests_total{status=503}"), 1);
    assert_eq!(count("dircache_upstream_requests_total{status=error}"), 1);
    assert_eq!(count("dircache_upstream_requests_total{status=200}"), 1);
    assert_eq!(count(UPSTREAM_REQUEST_DURATION), 3);
    assert_eq!(
        count("dircache_upstream_retries_total{reason=service_unavailable}"),
        1
    );
    assert_eq!(
        count("dircache_upstream_retries_total{reason=connection}"),
        1
    );
    assert_eq!(count("dircache_token_requests_total{outcome=success}"), 1);
    // One request a second after a burst of 2: the third request waited.
    assert_eq!(count(UPSTREAM_RATE_LIMIT_WAITS), 1);
}
