//! Pipeline behaviours against genesys-mock through the real Genesys client, on real sockets.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use audit::{AuditEventKind, Auditor, JsonLinesSink, MemoryAuditSink};
use cache_core::conformance::InterceptedBackend;
use cache_core::{
    CacheBackend, CachedDirectory, ChangeKind, ChangeListener, ContentCoding, DirectoryCache,
    DirectoryChange, DirectoryId, DirectorySnapshot, Entry, Error, InvalidationDirective, Limits,
    ListenerError, MemoryBackend, Outcome, Ttl, VerifyResult,
};
use genesys_mock::{Fault, GenesysMock, MockDirectory, Paging, Target};
use serde_json::{Value, json};
use support::id;

fn mock_with(dir: &str, directory: MockDirectory) -> GenesysMock {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory(dir, directory);
    mock
}

fn cache_for(mock: &GenesysMock) -> DirectoryCache {
    DirectoryCache::builder()
        .source(testkit::client(mock))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_cold_gets_cost_one_upstream_fetch() {
    let mock = mock_with(
        "vendors",
        MockDirectory::generated(500, 1).paging(Paging::Full),
    );
    let cache = cache_for(&mock);
    let gets: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get(&id("vendors")).await.map(|l| l.outcome) })
        })
        .collect();
    for get in gets {
        assert_eq!(get.await.unwrap().unwrap(), Outcome::Miss);
    }
    // One fetch of a 500-entry directory at 250 a page: two page requests.
    assert_eq!(mock.stats().requests_for("vendors"), 2);
    assert_eq!(mock.stats().token_requests, 1);
}

#[tokio::test]
async fn a_miss_then_a_hit_serve_every_field_upstream_sent() {
    let mock = mock_with("vendors", MockDirectory::generated(40, 2));
    let cache = cache_for(&mock);
    let miss = cache.get(&id("vendors")).await.unwrap();
    let hit = cache.get(&id("vendors")).await.unwrap();
    assert_eq!((miss.outcome, hit.outcome), (Outcome::Miss, Outcome::Hit));
    let upstream = Value::Array(mock.directory_entries("vendors").unwrap());
    let served: Value = serde_json::from_slice(hit.directory.body()).unwrap();
    assert_eq!(served["entries"], upstream);
    assert_eq!(served["invalidation_directive"], "fresh");
    assert_eq!(mock.stats().requests_for("vendors"), 1);
    // A hit shares the bytes built at fill time.
    assert_eq!(
        miss.directory.body().as_ptr(),
        hit.directory.body().as_ptr()
    );
}

#[tokio::test]
async fn a_miss_has_its_eager_forms_made_with_no_request_asking() {
    let mock = mock_with("vendors", MockDirectory::generated(40, 3));
    let cache = DirectoryCache::builder()
        .source(testkit::client(&mock))
        .eager_encodings(&[ContentCoding::Gzip])
        .build()
        .unwrap();
    let miss = cache.get(&id("vendors")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !miss.directory.is_encoded(ContentCoding::Gzip) {
        assert!(Instant::now() < deadline, "the gzip form was never made");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        !miss.directory.is_encoded(ContentCoding::Zstd),
        "not eager here"
    );
    let hit = cache.get(&id("vendors")).await.unwrap();
    assert!(
        hit.directory.is_encoded(ContentCoding::Gzip),
        "kept with the copy"
    );
}

async fn verify_finds_an_upstream_change(validators: bool, method: &str) {
    let mock = mock_with(
        "vendors",
        MockDirectory::generated(30, 3).validators(validators),
    );
    let sink = Arc::new(MemoryAuditSink::new());
    let cache = DirectoryCache::builder()
        .source(testkit::client(&mock))
        .auditor(Auditor::new(sink.clone(), "test"))
        .build()
        .unwrap();
    let dir = id("vendors");
    cache.get(&dir).await.unwrap();

    let unchanged = cache.verify(&dir).await.unwrap();
    assert!(!unchanged.changed);
    assert_eq!(
        (unchanged.result.as_str(), unchanged.method.as_str()),
        ("unchanged", method)
    );
    let revalidated = cache.get(&dir).await.unwrap();
    assert_eq!(revalidated.outcome, Outcome::Hit);
    assert_eq!(
        revalidated.directory.directive(),
        InvalidationDirective::Revalidated
    );
    if validators {
        let conditional = mock.requests().last().unwrap().clone();
        assert!(conditional.if_none_match.is_some());
        assert_eq!(conditional.status, 304);
    }

    mock.update_directory("vendors", |entries| {
        entries[0]["name"] = json!("Renamed Ñandú");
    });
    let changed = cache.verify(&dir).await.unwrap();
    assert!(changed.changed);
    assert_eq!(changed.result, VerifyResult::Changed);
    assert_ne!(
        changed.previous_fingerprint.as_ref(),
        Some(&changed.fingerprint)
    );
    assert_eq!(sink.count(AuditEventKind::ConsistencyMismatch), 1);
    let served = cache.get(&dir).await.unwrap();
    assert_eq!(served.outcome, Outcome::Hit);
    assert_eq!(
        served.directory.directive(),
        InvalidationDirective::Overwrite
    );
    assert_eq!(
        served.directory.entries().unwrap()[0].name(),
        Some("Renamed Ñandú")
    );
}

#[tokio::test]
async fn verify_finds_an_upstream_change_with_validators() {
    verify_finds_an_upstream_change(true, "conditional").await;
}

#[tokio::test]
async fn verify_finds_an_upstream_change_by_fingerprint_without_validators() {
    verify_finds_an_upstream_change(false, "fingerprint").await;
}

#[tokio::test]
async fn verify_of_an_uncached_directory_fills_it() {
    let mock = mock_with("vendors", MockDirectory::generated(5, 4));
    let cache = cache_for(&mock);
    let report = cache.verify(&id("vendors")).await.unwrap();
    assert_eq!(report.result, VerifyResult::Filled);
    assert_eq!(
        cache.get(&id("vendors")).await.unwrap().outcome,
        Outcome::Hit
    );
}

fn expired_copy(
    directory_id: &DirectoryId,
    entries: usize,
    expired_for: Duration,
) -> Arc<CachedDirectory> {
    let entries = (0..entries)
        .map(|i| Entry::try_from(json!({"id": i.to_string(), "name": "old"})).unwrap())
        .collect();
    let ttl = Ttl::from_secs(60).unwrap();
    let checked_at = SystemTime::now() - ttl.as_duration() - expired_for;
    Arc::new(
        CachedDirectory::from_snapshot(
            directory_id.clone(),
            "routing_directory",
            &DirectorySnapshot::new(entries),
            ttl,
            checked_at,
            InvalidationDirective::Fresh,
            Limits::DEFAULT,
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn with_a_stale_copy_in_hand_a_failing_upstream_is_not_waited_out() {
    let mock = mock_with("vendors", MockDirectory::generated(5, 5));
    mock.inject(Target::AnyDirectory, Fault::Status(503), 1000);
    let backend = Arc::new(MemoryBackend::builder().build());
    let dir = id("vendors");
    backend
        .put(expired_copy(&dir, 3, Duration::from_secs(10)))
        .await
        .unwrap();
    let cache = DirectoryCache::builder()
        .source(testkit::client_with_budget(&mock, Duration::from_secs(30)))
        .backend(backend)
        .stale_retry_budget(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let lookup = cache.get(&dir).await.unwrap();
    assert_eq!(lookup.outcome, Outcome::Stale);
    assert_eq!(lookup.directory.entry_count(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_forbidden_directory_costs_one_request_and_caches_nothing() {
    let mock = mock_with("secret-dir", MockDirectory::generated(5, 6));
    mock.fail_directory("secret-dir", Fault::Forbidden, 1);
    let cache = cache_for(&mock);
    let err = cache.get(&id("secret-dir")).await.unwrap_err();
    assert_eq!(err.upstream().and_then(|e| e.status()), Some(403), "{err}");
    assert_eq!(mock.stats().requests_for("secret-dir"), 1);
    assert!(
        cache
            .backend()
            .get(&id("secret-dir"))
            .await
            .unwrap()
            .is_none()
    );
}

#[derive(Debug, Default)]
struct Recording {
    changes: Mutex<Vec<DirectoryChange>>,
}

#[async_trait]
impl ChangeListener for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    async fn on_change(&self, change: &DirectoryChange) -> Result<(), ListenerError> {
        self.changes.lock().unwrap().push(change.clone());
        Ok(())
    }
}

/// A listener that never answers, or one that panics.
#[derive(Debug)]
enum Bad {
    Stuck,
    Panicking,
}

#[async_trait]
impl ChangeListener for Bad {
    fn name(&self) -> &str {
        match self {
            Bad::Stuck => "stuck",
            Bad::Panicking => "panicking",
        }
    }

    async fn on_change(&self, _change: &DirectoryChange) -> Result<(), ListenerError> {
        match self {
            Bad::Stuck => std::future::pending().await,
            Bad::Panicking => panic!("listener bug"),
        }
    }
}

#[tokio::test]
async fn listeners_hear_fills_overwrites_and_invalidations_and_bad_ones_slow_nothing() {
    let mock = mock_with("vendors", MockDirectory::generated(5, 7));
    let sink = Arc::new(MemoryAuditSink::new());
    let recording = Arc::new(Recording::default());
    let cache = DirectoryCache::builder()
        .source(testkit::client(&mock))
        .auditor(Auditor::new(sink.clone(), "test"))
        .listener(Arc::new(Bad::Stuck))
        .listener(Arc::new(Bad::Panicking))
        .listener(recording.clone())
        // Long enough that a pipeline waiting on the stuck listener could not go unnoticed on
        // a loaded machine: three changes would take at least three timeouts.
        .listener_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let dir = id("vendors");
    let started = Instant::now();
    cache.get(&dir).await.unwrap();
    mock.update_directory("vendors", |entries| entries.push(json!({"id": "new"})));
    cache.verify(&dir).await.unwrap();
    assert!(cache.invalidate(&dir).await.unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a stuck listener delayed the cache: {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let kinds: Vec<_> = recording
        .changes
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Populate,
            ChangeKind::Overwrite,
            ChangeKind::Invalidate
        ]
    );
    // Three changes, two bad listeners: six failures audited.
    assert_eq!(sink.count(AuditEventKind::CallbackFailed), 6);
    assert!(cache.backend().get(&dir).await.unwrap().is_none());
    assert_eq!(sink.count(AuditEventKind::CacheInvalidate), 1);
}

#[tokio::test]
async fn an_unreadable_stored_copy_is_a_miss_and_audited() {
    let read_once = AtomicBool::new(false);
    let mock = mock_with("vendors", MockDirectory::generated(5, 8));
    let sink = Arc::new(MemoryAuditSink::new());
    let cache = DirectoryCache::builder()
        .source(testkit::client(&mock))
        .backend(InterceptedBackend::new(
            MemoryBackend::builder().build(),
            move |id, read| {
                // The first read finds an unreadable value.
                let corrupt = !read_once.swap(true, Ordering::SeqCst);
                Box::pin(async move {
                    if corrupt {
                        return Err(Error::Corrupt {
                            directory_id: id,
                            reason: "unknown format version 99".into(),
                        });
                    }
                    read
                })
            },
        ))
        .auditor(Auditor::new(sink.clone(), "test"))
        .build()
        .unwrap();
    let lookup = cache.get(&id("vendors")).await.unwrap();
    assert_eq!(lookup.outcome, Outcome::Miss);
    assert_eq!(sink.count(AuditEventKind::BackendError), 1);
    assert_eq!(
        cache.get(&id("vendors")).await.unwrap().outcome,
        Outcome::Hit
    );
}

#[tokio::test]
async fn every_audit_line_is_json_and_none_holds_a_secret_or_an_entry() {
    let mock = mock_with("vendors", MockDirectory::generated(20, 9));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let (sink, writer) = JsonLinesSink::open(&path).unwrap();
    let cache = DirectoryCache::builder()
        .source(testkit::client_with_budget(
            &mock,
            Duration::from_millis(300),
        ))
        .auditor(Auditor::new(Arc::new(sink), "instance-a").with_hits(true))
        .build()
        .unwrap();
    let vendors = id("vendors");
    cache.get(&vendors).await.unwrap();
    cache.get(&vendors).await.unwrap();
    mock.update_directory("vendors", |entries| {
        entries.pop();
    });
    cache.verify(&vendors).await.unwrap();
    mock.inject(Target::AnyDirectory, Fault::Status(500), 100);
    cache.get(&id("missing")).await.unwrap_err();
    cache.invalidate(&vendors).await.unwrap();
    drop(cache);
    writer.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let names: Vec<String> = mock
        .directory_entries("vendors")
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect();
    let mut events = Vec::new();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["instance_id"], "instance-a");
        events.push(event["event"].as_str().unwrap().to_owned());
        assert!(!line.contains(mock.client_secret()), "{line}");
        for name in &names {
            assert!(!line.contains(name.as_str()), "entry content in {line}");
        }
    }
    for expected in [
        "cache_populate",
        "cache_hit",
        "consistency_mismatch",
        "fetch_failed",
        "cache_invalidate",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} missing in {events:?}"
        );
    }
}

#[tokio::test]
async fn stats_agree_with_what_happened() {
    let mock = mock_with("vendors", MockDirectory::generated(5, 10));
    let cache = cache_for(&mock);
    for _ in 0..4 {
        cache.get(&id("vendors")).await.unwrap();
    }
    let stats = cache.stats().await;
    assert_eq!((stats.hits, stats.misses), (3, 1));
    assert_eq!(stats.hit_ratio, 0.75);
    assert_eq!(stats.cache_size, 1);
    assert!(stats.p99_latency_ms > 0.0);
}
