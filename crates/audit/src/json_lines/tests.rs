//! Tests of `JsonLinesSink` and its writer against real files in temporary directories.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use metrics::with_local_recorder;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::{Value, json};

use super::*;
use crate::event::AuditEventKind;

fn event(directory: &str, seq: usize) -> AuditEvent {
    let Value::Object(details) = json!({"seq": seq, "entry_count": 3}) else {
        unreachable!("a json! object literal is an object")
    };
    AuditEvent::new(AuditEventKind::CacheRefresh, directory, "test", details)
}

/// Every line of the file, each parsed; fails the test on a line that is not a whole event.
fn read_events(path: &Path) -> Vec<AuditEvent> {
    let text = fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "file ends mid-line"
    );
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

/// The `seq` detail of each event written to `path`, in file order.
fn seqs(path: &Path) -> Vec<u64> {
    read_events(path)
        .iter()
        .map(|e| e.details["seq"].as_u64().unwrap())
        .collect()
}

fn line_count(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_recording_from_many_tasks_never_tears_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::builder(&path)
        .capacity(16_384)
        .open()
        .unwrap();

    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let sink = sink.clone();
            tokio::spawn(async move {
                for seq in 0..1_000 {
                    sink.record(event(&format!("dir-{task}"), seq));
                    if seq % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    writer.shutdown().await.unwrap();

    assert_eq!(sink.dropped(), 0);
    let events = read_events(&path);
    assert_eq!(events.len(), 8_000);
    let distinct: HashSet<(String, u64)> = events
        .iter()
        .map(|e| (e.directory_id.clone(), e.details["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(distinct.len(), 8_000, "every event exactly once");
}

// On a current-thread runtime the writer cannot run until the test awaits, so nothing is
// written before `shutdown`: only shutdown's drain can put these lines in the file.
#[tokio::test]
async fn shutdown_writes_everything_recorded_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::open(&path).unwrap();
    for seq in 0..1_500 {
        sink.record(event("d", seq));
    }
    assert_eq!(line_count(&path), 0);
    writer.shutdown().await.unwrap();

    assert_eq!(
        seqs(&path),
        (0..1_500).collect::<Vec<u64>>(),
        "all of them, in order"
    );
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::builder(&path).capacity(4).open().unwrap();

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The writer task cannot run while this synchronous loop holds the only runtime thread:
    // were `record` to wait for room in the queue, this would never return.
    with_local_recorder(&recorder, || {
        describe_metrics();
        for seq in 0..100 {
            sink.record(event("d", seq));
        }
    });
    assert_eq!(sink.dropped(), 96);

    let metric = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find(|(key, ..)| key.key().name() == EVENTS_DROPPED_TOTAL)
        .expect("the dropped-events counter was recorded");
    let (key, _unit, help, value) = metric;
    let labels: Vec<(String, String)> = key
        .key()
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    assert_eq!(labels, [("reason".to_owned(), "queue_full".to_owned())]);
    assert_eq!(value, DebugValue::Counter(96));
    assert!(
        help.is_some_and(|h| !h.is_empty()),
        "the counter has HELP text"
    );

    writer.shutdown().await.unwrap();
    assert_eq!(
        seqs(&path),
        [0, 1, 2, 3],
        "the queued events, not the dropped ones"
    );
}

#[tokio::test]
async fn events_after_shutdown_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::open(&path).unwrap();
    sink.record(event("d", 0));
    writer.shutdown().await.unwrap();
    sink.record(event("d", 1));
    assert_eq!(sink.dropped(), 1);
    assert_eq!(read_events(&path).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_away_mid_stream_new_lines_go_to_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let rotated = dir.path().join("audit.jsonl.1");
    let (sink, writer) = JsonLinesSink::open(&path).unwrap();

    let stream = {
        let sink = sink.clone();
        tokio::spawn(async move {
            for seq in 0..5_000 {
                sink.record(event("stream", seq));
                if seq % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    wait_until("the stream reaches the file", || line_count(&path) > 0).await;
    fs::rename(&path, &rotated).unwrap();
    for seq in 0..10 {
        sink.record(event("after", seq));
    }
    stream.await.unwrap();
    writer.shutdown().await.unwrap();

    let old = read_events(&rotated);
    let new = read_events(&path);
    assert!(!old.is_empty());
    assert!(
        old.iter().all(|e| e.directory_id == "stream"),
        "nothing recorded after the rename lands in the renamed file"
    );
    let after: Vec<u64> = new
        .iter()
        .filter(|e| e.directory_id == "after")
        .map(|e| e.details["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(after, (0..10).collect::<Vec<u64>>());
    assert_eq!(old.len() + new.len(), 5_010, "no event lost or doubled");
    assert_eq!(sink.dropped(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_file_is_recreated_for_later_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::open(&path).unwrap();
    sink.record(event("before", 0));
    wait_until("the first line is written", || line_count(&path) == 1).await;
    fs::remove_file(&path).unwrap();
    sink.record(event("after", 1));
    writer.shutdown().await.unwrap();

    let events = read_events(&path);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].directory_id, "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_writer_lets_go_of_a_rotated_file_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (_sink, writer) = JsonLinesSink::open(&path).unwrap();
    fs::remove_file(&path).unwrap();
    wait_until("the path is reopened without any new event", || {
        path.exists()
    })
    .await;
    writer.shutdown().await.unwrap();
}

#[tokio::test]
async fn opening_in_a_missing_directory_fails_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("audit.jsonl");
    let err = JsonLinesSink::open(&path).unwrap_err();
    assert!(
        matches!(&err, AuditError::Open { path: p, source } if *p == path && source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn opening_an_existing_file_appends_after_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let old: Vec<AuditEvent> = (0..2).map(|seq| event("old", seq)).collect();
    let mut existing = String::new();
    for e in &old {
        existing.push_str(&serde_json::to_string(e).unwrap());
        existing.push('\n');
    }
    fs::write(&path, &existing).unwrap();

    let (sink, writer) = JsonLinesSink::open(&path).unwrap();
    for seq in 0..3 {
        sink.record(event("new", seq));
    }
    writer.shutdown().await.unwrap();

    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&existing), "old lines kept as they were");
    let events = read_events(&path);
    assert_eq!(&events[..2], &old[..]);
    assert_eq!(events.len(), 5);
    assert!(events[2..].iter().all(|e| e.directory_id == "new"));
}

#[test]
fn opening_needs_a_runtime_and_a_nonzero_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let err = JsonLinesSink::open(&path).unwrap_err();
    assert!(
        matches!(&err, AuditError::NoRuntime { path: p } if *p == path),
        "{err:?}"
    );

    let err = JsonLinesSink::builder(&path)
        .capacity(0)
        .open()
        .unwrap_err();
    assert!(
        matches!(err, AuditError::InvalidCapacity { capacity: 0 }),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_shutdown_the_writer_runs_until_the_sinks_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::open(&path).unwrap();
    drop(writer);
    for seq in 0..3 {
        sink.record(event("d", seq));
    }
    drop(sink);
    wait_until("the detached writer writes", || line_count(&path) == 3).await;
    assert!(
        read_events(&path)
            .iter()
            .all(|e| e.details.contains_key("seq"))
    );
}
