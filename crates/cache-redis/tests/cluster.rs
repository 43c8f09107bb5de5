//! The backend on a three-node Redis Cluster: the conformance suite, the refresh lock and the
//! invalidation channel, with directories spread over every node.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cache_core::conformance::{self, now_millis, sample_directory};
use cache_core::{CacheBackend, InvalidationNotice, MemoryBackend};
use cache_redis::{RedisBackend, TieredBackend};
use support::id;
use testkit::RedisCluster;

async fn cluster_backend(cluster: &RedisCluster, prefix: &str) -> RedisBackend {
    RedisBackend::cluster_builder(cluster.urls())
        .prefix(prefix)
        .build()
        .await
        .expect("the cluster backend builds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_passes_the_conformance_suite_and_coordinates() {
    let cluster = RedisCluster::start().expect("a redis cluster starts");

    let redis = cluster_backend(&cluster, "conformance-redis").await;
    assert!(format!("{redis:?}").contains("cluster: true"));
    conformance::run_all(Arc::new(redis.clone())).await;
    let tiered = TieredBackend::new(
        MemoryBackend::builder().build(),
        cluster_backend(&cluster, "conformance-tiered").await,
    );
    conformance::run_all(Arc::new(tiered)).await;

    // Enough directories that every node holds some: list must SCAN each master.
    let ids: Vec<String> = (0..60).map(|i| format!("spread-{i}")).collect();
    for name in &ids {
        redis
            .put(sample_directory(name, 1, now_millis()))
            .await
            .unwrap();
    }
    let mut nodes_with_keys = 0;
    for node in cluster.nodes() {
        let count: usize = node.cli(&["DBSIZE"]).unwrap().trim().parse().unwrap();
        nodes_with_keys += usize::from(count > 0);
    }
    assert_eq!(
        nodes_with_keys, 3,
        "the directories should be spread over all three nodes"
    );
    let listed = redis.list().await.unwrap();
    for name in &ids {
        assert!(listed.contains(&id(name)), "{name} missing from {listed:?}");
    }

    // The refresh lock and its release notice work across nodes.
    let other = cluster_backend(&cluster, "conformance-redis").await;
    let lock = redis.refresh_lock().unwrap();
    let token = lock
        .try_acquire(&id("spread-7"), Duration::from_secs(30))
        .await
        .unwrap()
        .expect("the lock is free");
    assert!(
        other
            .refresh_lock()
            .unwrap()
            .try_acquire(&id("spread-7"), Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    let waiter = {
        let other = other.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            other
                .refresh_lock()
                .unwrap()
                .wait_released(&id("spread-7"), Duration::from_secs(10))
                .await
                .unwrap();
            started.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release(&id("spread-7"), &token).await.unwrap();
    let waited = waiter.await.unwrap();
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");

    // Invalidation notices reach other instances through any node.
    let mut notices = other.invalidations().unwrap().subscribe();
    redis
        .invalidations()
        .unwrap()
        .publish(&id("spread-3"))
        .await
        .unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(1), notices.recv())
        .await
        .expect("the notice arrives within a second")
        .unwrap();
    assert_eq!(notice, InvalidationNotice::Directory(id("spread-3")));
}
