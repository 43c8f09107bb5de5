//! Pipeline behaviours that depend on time, on tokio's paused clock with a scripted source.

mod support;

use std::sync::Arc;
use std::time::Duration;

use audit::{AuditEventKind, Auditor, MemoryAuditSink};
use cache_core::conformance::{now_millis, sample_directory};
use cache_core::{
    CacheBackend, Clock, DirectoryCache, Error, InvalidationDirective, Limits, MemoryBackend,
    Outcome, Ttl, TtlMatrix, VerifyResult,
};
use support::{ScriptedSource, entries, id};

fn cache_with(
    source: &Arc<ScriptedSource>,
    configure: impl FnOnce(cache_core::DirectoryCacheBuilder) -> cache_core::DirectoryCacheBuilder,
) -> DirectoryCache {
    configure(
        DirectoryCache::builder()
            .shared_source(source.clone())
            .clock(Clock::following_tokio()),
    )
    .build()
    .unwrap()
}

/// A cache over a source of two entries that answers after `delay`.
fn slow(delay: Duration) -> (Arc<ScriptedSource>, DirectoryCache) {
    let source = Arc::new(ScriptedSource::new(entries(2, "a")));
    source.delay(delay);
    let cache = cache_with(&source, |b| b);
    (source, cache)
}

#[tokio::test(start_paused = true)]
async fn a_fresh_copy_is_a_hit_until_its_ttl_then_a_miss() {
    let source = Arc::new(ScriptedSource::new(entries(3, "a")));
    let cache = cache_with(&source, |b| b.refresh_ahead(0.0));
    let dir = id("vendors");
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Miss);
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Hit);
    assert_eq!(source.calls(), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    let lookup = cache.get(&dir).await.unwrap();
    assert_eq!(lookup.outcome, Outcome::Miss);
    assert_eq!(source.calls(), 2);
    // Same content upstream: the copy is revalidated, not overwritten.
    assert_eq!(
        lookup.directory.directive(),
        InvalidationDirective::Revalidated
    );
}

#[tokio::test(start_paused = true)]
async fn the_ttl_matrix_gives_each_directory_its_own_ttl() {
    let source = Arc::new(ScriptedSource::new(entries(1, "a")));
    let matrix = TtlMatrix::new(Ttl::DEFAULT)
        .with(id("emergency_contacts"), Ttl::from_secs(60).unwrap())
        .with(id("internal_agents"), Ttl::from_secs(120).unwrap());
    let cache = cache_with(&source, |b| b.ttl(matrix).refresh_ahead(0.0));
    for dir in ["emergency_contacts", "internal_agents", "external_vendors"] {
        let lookup = cache.get(&id(dir)).await.unwrap();
        let expected = match dir {
            "emergency_contacts" => 60,
            "internal_agents" => 120,
            _ => 300,
        };
        assert_eq!(lookup.directory.meta().ttl_seconds, expected);
    }
    let outcome = async |dir| cache.get(&id(dir)).await.unwrap().outcome;
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(outcome("emergency_contacts").await, Outcome::Miss);
    assert_eq!(outcome("internal_agents").await, Outcome::Hit);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(outcome("internal_agents").await, Outcome::Miss);
    assert_eq!(outcome("external_vendors").await, Outcome::Hit);
}

#[tokio::test(start_paused = true)]
async fn an_expired_copy_is_served_stale_while_upstream_fails_within_the_window() {
    let source = Arc::new(ScriptedSource::new(entries(2, "a")));
    let sink = Arc::new(MemoryAuditSink::new());
    let cache = cache_with(&source, |b| {
        b.stale_if_error(Duration::from_secs(600))
            .refresh_ahead(0.0)
            .auditor(Auditor::new(sink.clone(), "test"))
    });
    let dir = id("vendors");
    cache.get(&dir).await.unwrap();
    source.fail_with(Some(503));
    tokio::time::advance(Duration::from_secs(301)).await;
    let lookup = cache.get(&dir).await.unwrap();
    assert_eq!(lookup.outcome, Outcome::Stale);
    assert_eq!(lookup.directory.entry_count(), 2);
    assert_eq!(sink.count(AuditEventKind::StaleServed), 1);
    assert_eq!(sink.count(AuditEventKind::FetchFailed), 1);

    // Past expiry + window: the error is the answer.
    tokio::time::advance(Duration::from_secs(600)).await;
    let err = cache.get(&dir).await.unwrap_err();
    assert_eq!(err.upstream().and_then(|e| e.status()), Some(503), "{err}");

    // Upstream back: a normal miss again.
    source.fail_with(None);
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Miss);
    let stats = cache.stats().await;
    assert_eq!(
        (stats.hits, stats.misses, stats.stale, stats.errors),
        (0, 2, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn the_default_backend_keeps_copies_for_the_whole_stale_window() {
    // The default memory backend retains copies for the pipeline's stale window, judged by
    // the pipeline's clock: with a two-hour window, a copy expired 90 minutes ago is served.
    let source = Arc::new(ScriptedSource::new(entries(2, "a")));
    let cache = cache_with(&source, |b| {
        b.stale_if_error(Duration::from_secs(2 * 3600))
            .refresh_ahead(0.0)
    });
    let dir = id("vendors");
    cache.get(&dir).await.unwrap();
    source.fail_with(Some(503));
    tokio::time::advance(Duration::from_secs(300 + 90 * 60)).await;
    let lookup = cache.get(&dir).await.unwrap();
    assert_eq!(lookup.outcome, Outcome::Stale);
    assert_eq!(lookup.directory.entry_count(), 2);
    // Past the window, the copy is gone by the same clock.
    tokio::time::advance(Duration::from_secs(31 * 60)).await;
    assert!(cache.get(&dir).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn a_definite_upstream_answer_is_not_hidden_behind_a_stale_copy() {
    let source = Arc::new(ScriptedSource::new(entries(2, "a")));
    let cache = cache_with(&source, |b| b.refresh_ahead(0.0));
    let dir = id("vendors");
    cache.get(&dir).await.unwrap();
    source.fail_with(Some(400));
    tokio::time::advance(Duration::from_secs(301)).await;
    let err = cache.get(&dir).await.unwrap_err();
    assert!(matches!(err, Error::Upstream { .. }), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_read_late_in_the_ttl_refreshes_ahead_in_the_background() {
    let source = Arc::new(ScriptedSource::new(entries(2, "a")));
    let cache = cache_with(&source, |b| b.refresh_ahead(0.2));
    let dir = id("vendors");
    let first = cache.get(&dir).await.unwrap().directory;
    tokio::time::advance(Duration::from_secs(200)).await;
    cache.get(&dir).await.unwrap();
    assert_eq!(source.calls(), 1, "not due before the last 20 % of the TTL");
    source.set_entries(entries(3, "b"));
    tokio::time::advance(Duration::from_secs(50)).await;
    // Due: this read is still a hit, and a refresh starts behind it.
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Hit);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(source.calls(), 2);
    tokio::time::advance(Duration::from_secs(100)).await;
    // The original expiry has passed, but the refreshed copy is fresh.
    let lookup = cache.get(&dir).await.unwrap();
    assert_eq!(lookup.outcome, Outcome::Hit);
    assert_eq!(lookup.directory.entry_count(), 3);
    assert!(lookup.directory.expires_at() > first.expires_at());
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_slow_fetch() {
    let (source, cache) = slow(Duration::from_secs(3));
    let dir = id("vendors");
    let gets: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            let dir = dir.clone();
            tokio::spawn(async move { cache.get(&dir).await.map(|l| l.outcome) })
        })
        .collect();
    for get in gets {
        assert_eq!(get.await.unwrap().unwrap(), Outcome::Miss);
    }
    assert_eq!(source.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_does_not_cancel_the_fetch_for_the_others() {
    let (source, cache) = slow(Duration::from_secs(2));
    let dir = id("vendors");
    let impatient = tokio::time::timeout(Duration::from_secs(1), cache.get(&dir)).await;
    assert!(impatient.is_err());
    let lookup = cache.get(&dir).await.unwrap();
    assert_eq!(lookup.directory.entry_count(), 2);
    assert_eq!(source.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_directory_over_the_limit_is_refused_and_nothing_is_cached() {
    let source = Arc::new(ScriptedSource::new(entries(11, "a")));
    let cache = cache_with(&source, |b| b.limits(Limits { max_entries: 10 }));
    let dir = id("big");
    let err = cache.get(&dir).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyEntries {
                count: 11,
                limit: 10,
                ..
            }
        ),
        "{err}"
    );
    assert!(cache.backend().get(&dir).await.unwrap().is_none());
    source.set_entries(entries(10, "a"));
    assert_eq!(cache.get(&dir).await.unwrap().directory.entry_count(), 10);
}

#[tokio::test(start_paused = true)]
async fn warm_fetches_every_directory_and_reports_each() {
    let source = Arc::new(ScriptedSource::new(entries(1, "a")));
    source.delay(Duration::from_millis(100));
    let cache = cache_with(&source, |b| b.warm_concurrency(4));
    let ids: Vec<_> = (0..20).map(|i| id(&format!("dir-{i}"))).collect();
    let started = tokio::time::Instant::now();
    let results: Vec<_> = futures::StreamExt::collect::<Vec<_>>(cache.warm(ids.clone())).await;
    assert_eq!(results.len(), 20);
    assert!(results.iter().all(|(_, r)| matches!(r, Ok(Outcome::Miss))));
    // Four at a time: five rounds of 100 ms.
    assert_eq!(started.elapsed(), Duration::from_millis(500));
    for dir in &ids {
        assert_eq!(cache.get(dir).await.unwrap().outcome, Outcome::Hit);
    }
}

#[tokio::test(start_paused = true)]
async fn verify_says_superseded_when_a_newer_copy_lands_while_it_asks_upstream() {
    let source = Arc::new(ScriptedSource::new(entries(2, "a")));
    let clock = Clock::following_tokio();
    let backend = Arc::new(MemoryBackend::builder().clock(clock).build());
    let cache = cache_with(&source, |b| b.shared_backend(backend.clone()).clock(clock));
    let dir = id("vendors");
    cache.get(&dir).await.unwrap();

    // While verify waits on upstream, another instance stores a copy checked later.
    source.delay(Duration::from_secs(5));
    let verifying = tokio::spawn({
        let (cache, dir) = (cache.clone(), dir.clone());
        async move { cache.verify(&dir).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let newer = sample_directory("vendors", 7, now_millis() + Duration::from_secs(3600));
    assert!(backend.put(newer).await.unwrap().is_written());

    let report = verifying.await.unwrap().unwrap();
    assert_eq!(report.result, VerifyResult::Superseded);
    assert_eq!(
        report.entry_count, 7,
        "the report is of the copy cached now"
    );
    assert!(report.changed);
    assert_eq!(source.calls(), 2);
}
