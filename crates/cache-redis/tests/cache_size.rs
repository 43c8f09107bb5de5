//! `len` (the `cache_size` of `/v1/stats`) on Redis is read from a maintained index of cached
//! ids: right after puts, removes and expiries, and never a SCAN of the keyspace.

mod support;

use std::time::{Duration, SystemTime};

use cache_core::CacheBackend;
use cache_core::conformance::{SAMPLE_TTL, now_millis, sample_directory};
use cache_redis::RedisBackend;
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_size_follows_puts_removes_and_expiries_without_a_scan() {
    let server = RedisServer::start().expect("redis-server starts");
    let backend = RedisBackend::builder(&server.url())
        .retention(Duration::ZERO)
        .build()
        .await
        .unwrap();
    for name in ["a", "b", "c"] {
        let directory = sample_directory(&format!("size.{name}"), 2, now_millis());
        assert!(backend.put(directory).await.unwrap().is_written());
    }
    // Checked upstream a TTL ago, less a second: Redis drops it in a second.
    let soon = SystemTime::now() - Duration::from_secs(u64::from(SAMPLE_TTL.as_secs()) - 1);
    let expiring = sample_directory("size.expiring", 2, soon);
    backend.put(expiring).await.unwrap();
    assert_eq!(backend.len().await.unwrap(), 4);
    // A second put of the same directory is still one.
    backend
        .put(sample_directory(
            "size.a",
            2,
            now_millis() + Duration::from_millis(5),
        ))
        .await
        .unwrap();
    assert_eq!(backend.len().await.unwrap(), 4);

    assert!(backend.remove(&support::id("size.b")).await.unwrap());
    assert_eq!(backend.len().await.unwrap(), 3);

    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        backend.len().await.unwrap(),
        2,
        "the expired copy is not counted"
    );

    let stats = server.cli(&["INFO", "commandstats"]).unwrap();
    assert!(stats.contains("cmdstat_zcard"), "{stats}");
    assert!(
        !stats.contains("cmdstat_scan"),
        "len must not SCAN: {stats}"
    );
}
