//! Redis killed and restarted under running instances: reads keep being answered from L1,
//! readiness fails, and everything recovers by itself when Redis is back.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cache_core::conformance::{now_millis, sample_directory};
use cache_core::{CacheBackend, DirectoryId, InvalidationNotice, Outcome};
use genesys_mock::MockDirectory;
use support::{id, instance, mock_with, tiered_backend};
use testkit::RedisServer;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_served_from_l1_and_recovers_without_a_rebuild() {
    let mut server = RedisServer::start().expect("redis-server starts");
    let mock = mock_with("vendors", MockDirectory::generated(25, 5), Duration::ZERO);
    let backend = tiered_backend(&server.url()).await;
    let (cache, _) = instance(&mock, Arc::new(backend.clone()));
    let mut notices = backend.invalidations().unwrap().subscribe();
    let dir = id("vendors");
    let filled = cache.get(&dir).await.unwrap();
    assert_eq!(filled.outcome, Outcome::Miss);
    cache.ping().await.expect("ready while Redis is up");

    server.stop();

    for _ in 0..5 {
        let started = Instant::now();
        let lookup = cache
            .get(&dir)
            .await
            .expect("answered from L1 while Redis is down");
        assert_eq!(lookup.outcome, Outcome::Hit);
        assert_eq!(lookup.directory.body(), filled.directory.body());
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "an L1 hit waited on Redis"
        );
    }
    let started = Instant::now();
    assert!(cache.ping().await.is_err(), "not ready while Redis is down");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "ping is bounded by its timeout"
    );
    // A write while Redis is down reaches L1 and reports Redis's error.
    let written = sample_directory("written-while-down", 2, now_millis());
    assert!(backend.put(written.clone()).await.is_err());
    assert!(holds(backend.l1(), written.directory_id()).await);

    server
        .restart()
        .expect("redis-server restarts on the same port");

    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.ping().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "not ready 10 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Redis came back empty: writes go to it again, through the same backend.
    assert!(backend.put(written.clone()).await.unwrap().is_written());
    assert!(holds(backend.l2(), written.directory_id()).await);
    assert!(cache.invalidate(&dir).await.is_ok());
    let refetched = cache.get(&dir).await.unwrap();
    assert_eq!(refetched.outcome, Outcome::Miss);
    assert!(
        backend.l2().get(&dir).await.unwrap().is_some(),
        "the refill reached Redis"
    );

    // The subscriber resubscribed by itself and told receivers they may have missed notices.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, notices.recv()).await {
            Ok(Ok(InvalidationNotice::All)) => break,
            Ok(Ok(_)) => {}
            other => panic!("no resubscription notice: {other:?}"),
        }
    }
}

/// Whether `tier` holds a copy of `id`.
async fn holds(tier: &dyn CacheBackend, id: &DirectoryId) -> bool {
    tier.get(id).await.unwrap().is_some()
}
