//! Fixtures for the Redis tests: backends on a test `redis-server`, and instances of the
//! pipeline over genesys-mock.

#![allow(
    dead_code,
    unused_imports,
    unreachable_pub,
    reason = "each test file is a crate of its own and uses its own part of the support"
)]

use std::sync::Arc;
use std::time::Duration;

use audit::{Auditor, MemoryAuditSink};
use cache_core::{CacheBackend, DirectoryCache, MemoryBackend};
use cache_redis::{RedisBackend, TieredBackend};
use genesys_mock::{GenesysMock, MockDirectory};

pub use testkit::directory_id as id;

/// A Redis backend on `url`, with the defaults.
pub async fn redis_backend(url: &str) -> RedisBackend {
    RedisBackend::builder(url)
        .build()
        .await
        .expect("the backend builds")
}

/// A tiered backend (default L1) in front of Redis at `url`.
pub async fn tiered_backend(url: &str) -> TieredBackend {
    TieredBackend::new(MemoryBackend::builder().build(), redis_backend(url).await)
}

/// A genesys-mock serving `directory` as `id`, each response delayed by `latency`.
pub fn mock_with(id: &str, directory: MockDirectory, latency: Duration) -> GenesysMock {
    let mock = GenesysMock::builder().latency(latency).start().unwrap();
    mock.put_directory(id, directory);
    mock
}

/// One dircache instance: its own Genesys client and pipeline over `backend`, auditing into
/// the returned sink.
pub fn instance(
    mock: &GenesysMock,
    backend: Arc<dyn CacheBackend>,
) -> (DirectoryCache, Arc<MemoryAuditSink>) {
    let sink = Arc::new(MemoryAuditSink::new());
    let cache = DirectoryCache::builder()
        .source(testkit::client(mock))
        .shared_backend(backend)
        .auditor(Auditor::new(sink.clone(), "test-instance"))
        .build()
        .unwrap();
    (cache, sink)
}

/// One instance over a Redis backend at `url`, with that backend, to look at what it stored.
pub async fn instance_on_redis(
    url: &str,
    mock: &GenesysMock,
) -> (DirectoryCache, Arc<MemoryAuditSink>, RedisBackend) {
    let backend = redis_backend(url).await;
    let (cache, sink) = instance(mock, Arc::new(backend.clone()));
    (cache, sink, backend)
}
