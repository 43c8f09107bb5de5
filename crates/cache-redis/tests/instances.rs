//! Several dircache instances (pipelines with their own Genesys clients) sharing one Redis:
//! one upstream fetch between them (the refresh lock re-checked once held), invalidation seen
//! everywhere, newer-wins writes, and an unreadable stored value treated as a miss.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use audit::AuditEventKind;
use cache_core::conformance::{InterceptedBackend, now_millis, sample_directory};
use cache_core::{CacheBackend, Error, Outcome, PutOutcome};
use genesys_mock::MockDirectory;
use support::{id, instance, instance_on_redis, mock_with, redis_backend, tiered_backend};
use testkit::RedisServer;
use tokio::sync::{Barrier, Notify};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_upstream_fetch() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = mock_with("vendors", MockDirectory::generated(40, 1), Duration::ZERO);
    let (a, _) = instance(&mock, Arc::new(redis_backend(&server.url()).await));
    let (b, _) = instance(&mock, Arc::new(redis_backend(&server.url()).await));

    let first = a.get(&id("vendors")).await.unwrap();
    assert_eq!(first.outcome, Outcome::Miss);
    let second = b.get(&id("vendors")).await.unwrap();
    assert_eq!(
        second.outcome,
        Outcome::Hit,
        "B is served A's copy from Redis"
    );
    assert_eq!(second.directory.body(), first.directory.body());
    assert_eq!(mock.stats().requests_for("vendors"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_cold_readers_on_three_instances_make_one_upstream_fetch() {
    let server = RedisServer::start().expect("redis-server starts");
    // A slow upstream, so that the refresh lock is really contended.
    let mock = mock_with(
        "vendors",
        MockDirectory::generated(120, 2),
        Duration::from_millis(200),
    );
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(instance(&mock, Arc::new(tiered_backend(&server.url()).await)).0);
    }
    let start = Arc::new(Barrier::new(60));
    let mut readers = Vec::new();
    for cache in &instances {
        for _ in 0..20 {
            let cache = cache.clone();
            let start = Arc::clone(&start);
            readers.push(tokio::spawn(async move {
                start.wait().await;
                cache.get(&id("vendors")).await
            }));
        }
    }
    let mut fingerprints = Vec::new();
    for reader in readers {
        let lookup = reader.await.unwrap().expect("every reader is answered");
        fingerprints.push(lookup.directory.fingerprint().clone());
    }
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), 1, "every reader saw the same snapshot");
    assert_eq!(
        mock.stats().requests_for("vendors"),
        1,
        "sixty cold readers on three instances made one upstream request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_on_one_instance_reaches_the_others_within_a_second() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = mock_with("vendors", MockDirectory::generated(10, 3), Duration::ZERO);
    let a_backend = tiered_backend(&server.url()).await;
    let b_backend = tiered_backend(&server.url()).await;
    let (a, _) = instance(&mock, Arc::new(a_backend.clone()));
    let (b, _) = instance(&mock, Arc::new(b_backend.clone()));
    let dir = id("vendors");

    let old = a.get(&dir).await.unwrap().directory;
    assert_eq!(b.get(&dir).await.unwrap().outcome, Outcome::Hit);
    assert!(
        b_backend.l1().get(&dir).await.unwrap().is_some(),
        "B holds a copy in L1"
    );

    mock.update_directory("vendors", |entries| entries.truncate(4));
    assert!(a.invalidate(&dir).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(1);
    while b_backend.l1().get(&dir).await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "B still holds its L1 copy a second later"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = b.get(&dir).await.unwrap();
    assert_eq!(
        after.outcome,
        Outcome::Miss,
        "B does not serve the old copy"
    );
    assert_ne!(after.directory.fingerprint(), old.fingerprint());
    assert_eq!(after.directory.entry_count(), 4);

    // An overwrite found by a verification on B reaches A's L1 the same way.
    assert_eq!(a.get(&dir).await.unwrap().outcome, Outcome::Hit);
    assert!(
        a_backend.l1().get(&dir).await.unwrap().is_some(),
        "A holds a copy in L1"
    );
    mock.update_directory("vendors", |entries| entries.truncate(2));
    let report = b.verify(&dir).await.unwrap();
    assert!(report.changed);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let held = a_backend.l1().get(&dir).await.unwrap();
        if held.is_none_or(|d| d.entry_count() == 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A still holds the overwritten copy"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(a.get(&dir).await.unwrap().directory.entry_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_leave_the_newer_snapshot_whichever_writes_last() {
    let server = RedisServer::start().expect("redis-server starts");
    let one = redis_backend(&server.url()).await;
    let two = redis_backend(&server.url()).await;
    let now = now_millis();
    for round in 0..20u64 {
        let name = format!("race-{round}");
        let older = sample_directory(&name, 3, now - Duration::from_millis(500 + round));
        let newer = sample_directory(&name, 5, now + Duration::from_millis(round));
        if round == 0 {
            // Newer first, then older: the older write is refused and the newer copy returned.
            assert!(one.put(newer.clone()).await.unwrap().is_written());
            match two.put(older.clone()).await.unwrap() {
                PutOutcome::KeptNewer(kept) => assert_eq!(kept.meta(), newer.meta()),
                PutOutcome::Written => panic!("an older copy replaced a newer one"),
            }
        } else if round == 1 {
            assert!(two.put(older.clone()).await.unwrap().is_written());
            assert!(one.put(newer.clone()).await.unwrap().is_written());
        } else {
            let (a, b) = tokio::join!(one.put(older.clone()), two.put(newer.clone()));
            a.unwrap();
            assert!(b.unwrap().is_written());
        }
        let stored = one.get(older.directory_id()).await.unwrap().unwrap();
        assert_eq!(stored.meta(), newer.meta(), "round {round}");
        assert_eq!(stored.body(), newer.body(), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_stored_value_is_a_miss_and_audited() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = mock_with("vendors", MockDirectory::generated(10, 4), Duration::ZERO);
    let (cache, sink, backend) = instance_on_redis(&server.url(), &mock).await;
    let dir = id("vendors");
    let key = backend.directory_key(&dir);

    server
        .cli(&["SET", &key, "\u{1}garbage that is no dircache value"])
        .unwrap();
    match backend.get(&dir).await {
        Err(Error::Corrupt { reason, .. }) => assert!(
            reason.contains("magic") || reason.contains("shorter"),
            "{reason}"
        ),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let lookup = cache
        .get(&dir)
        .await
        .expect("a corrupt copy is a miss, not a failure");
    assert_eq!(lookup.outcome, Outcome::Miss);
    assert_eq!(lookup.directory.entry_count(), 10);
    let audited = sink
        .events()
        .into_iter()
        .filter(|e| e.event == AuditEventKind::BackendError)
        .collect::<Vec<_>>();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].details["operation"], "get");
    // The refetched copy replaced the garbage.
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Hit);

    // A key of another Redis type is just as unreadable.
    server.cli(&["DEL", &key]).unwrap();
    server.cli(&["HSET", &key, "field", "value"]).unwrap();
    assert!(matches!(
        backend.get(&dir).await,
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Miss);
    assert_eq!(cache.get(&dir).await.unwrap().outcome, Outcome::Hit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1s_sharing_one_redis_backend_drop_each_others_copies() {
    use cache_core::MemoryBackend;
    use cache_redis::TieredBackend;

    let server = RedisServer::start().expect("redis-server starts");
    let shared = redis_backend(&server.url()).await;
    let a = TieredBackend::new(MemoryBackend::builder().build(), shared.clone());
    let b = TieredBackend::new(MemoryBackend::builder().build(), shared);
    let directory = sample_directory("shared", 2, now_millis());
    let dir = directory.directory_id().clone();
    assert!(a.put(directory).await.unwrap().is_written());
    assert!(b.get(&dir).await.unwrap().is_some());
    assert!(
        b.l1().get(&dir).await.unwrap().is_some(),
        "B's L1 was filled"
    );

    a.invalidations().unwrap().publish(&dir).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while b.l1().get(&dir).await.unwrap().is_some() || a.l1().get(&dir).await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "a notice through the shared backend was ignored"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_locking_just_after_another_released_takes_its_copy_without_fetching() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = mock_with("vendors", MockDirectory::generated(8, 1), Duration::ZERO);
    let (read, go) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let first = AtomicBool::new(true);
    let gated = InterceptedBackend::new(redis_backend(&server.url()).await, {
        let (read, go) = (Arc::clone(&read), Arc::clone(&go));
        move |_id, found| {
            // The first read says it has read, then waits to be let go.
            let hold = first
                .swap(false, Ordering::SeqCst)
                .then(|| (Arc::clone(&read), Arc::clone(&go)));
            Box::pin(async move {
                if let Some((read, go)) = hold {
                    read.notify_one();
                    go.notified().await;
                }
                found
            })
        }
    });
    let (a, _) = instance(&mock, Arc::new(gated));
    let (b, _) = instance(&mock, Arc::new(redis_backend(&server.url()).await));

    // A reads Redis (nothing there) and is held before it asks for the refresh lock.
    let a_get = tokio::spawn(async move { a.get(&id("vendors")).await });
    read.notified().await;
    // Meanwhile B fills the directory and releases its lock.
    assert_eq!(b.get(&id("vendors")).await.unwrap().outcome, Outcome::Miss);
    assert_eq!(mock.stats().requests_for("vendors"), 1);
    // A takes the free lock, finds B's copy under it, and does not fetch again.
    go.notify_one();
    let lookup = a_get.await.unwrap().unwrap();
    assert_eq!(lookup.directory.entry_count(), 8);
    assert_eq!(mock.stats().requests_for("vendors"), 1);
}
