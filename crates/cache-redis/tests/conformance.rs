//! The backend conformance suite on `RedisBackend` and on `TieredBackend`, each behaviour on
//! its own `redis-server`.

mod support;

use std::sync::Arc;

use cache_core::CacheBackend;
use testkit::RedisServer;

mod redis {
    use super::*;

    cache_core::conformance_tests!(async {
        let server = RedisServer::start().expect("redis-server starts");
        let backend: Arc<dyn CacheBackend> = Arc::new(support::redis_backend(&server.url()).await);
        (server, backend)
    });
}

mod tiered {
    use super::*;

    cache_core::conformance_tests!(async {
        let server = RedisServer::start().expect("redis-server starts");
        let backend: Arc<dyn CacheBackend> = Arc::new(support::tiered_backend(&server.url()).await);
        (server, backend)
    });
}

/// Two backends with different prefixes on one server do not see each other's directories.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_keep_backends_apart_on_one_server() {
    use cache_core::conformance::{now_millis, sample_directory};
    let server = RedisServer::start().expect("redis-server starts");
    let a = cache_redis::RedisBackend::builder(&server.url())
        .prefix("team-a")
        .build()
        .await
        .unwrap();
    let b = cache_redis::RedisBackend::builder(&server.url())
        .prefix("team-b")
        .build()
        .await
        .unwrap();
    let directory = sample_directory("shared-name", 2, now_millis());
    a.put(directory.clone()).await.unwrap();
    assert_eq!(
        a.list().await.unwrap(),
        vec![directory.directory_id().clone()]
    );
    assert!(b.list().await.unwrap().is_empty());
    assert!(b.get(directory.directory_id()).await.unwrap().is_none());
    assert_eq!(
        a.directory_key(directory.directory_id()),
        "team-a:{shared-name}:dir"
    );
    let raw = server.cli(&["EXISTS", "team-a:{shared-name}:dir"]).unwrap();
    assert_eq!(raw.trim(), "1");
}
