//! One refresh per directory across instances, on expiry and for refresh-ahead alike: three
//! instances reading a hot directory for three TTLs cost what one instance alone would.
//!
//! TTLs are at least 30 s, so this test takes three of them in real time (about 90 s).

mod support;

use std::sync::Arc;
use std::time::Duration;

use cache_core::{DirectoryCache, Outcome, Ttl, TtlMatrix};
use genesys_mock::{GenesysMock, MockDirectory};
use support::{id, tiered_backend};
use testkit::RedisServer;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Three TTLs of reading, less a margin so that the fourth period's refresh is not due yet.
const READING: Duration = Duration::from_secs(88);

/// An instance over its own L1 and the shared Redis at `url`, refreshing `refresh_ahead` of
/// the TTL early (0: only on expiry).
async fn instance(url: &str, mock: &GenesysMock, refresh_ahead: f64) -> DirectoryCache {
    DirectoryCache::builder()
        .source(testkit::client(mock))
        .shared_backend(Arc::new(tiered_backend(url).await))
        .ttl(TtlMatrix::new(Ttl::from_secs(30).unwrap()))
        .refresh_ahead(refresh_ahead)
        .build()
        .unwrap()
}

/// Reads `name` on every instance every 50 ms for [`READING`]; every read must be answered.
async fn read_hot(instances: Vec<DirectoryCache>, name: &'static str) {
    let mut readers = JoinSet::new();
    for cache in instances {
        readers.spawn(async move {
            let started = Instant::now();
            while started.elapsed() < READING {
                let lookup = cache.get(&id(name)).await.expect("a hot read is answered");
                assert_ne!(lookup.outcome, Outcome::Stale);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    while let Some(reader) = readers.join_next().await {
        reader.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_reading_for_three_ttls_refresh_once_per_period() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("on-expiry", MockDirectory::generated(5, 1));
    mock.put_directory("ahead", MockDirectory::generated(5, 2));
    let mut on_expiry = Vec::new();
    let mut ahead = Vec::new();
    for _ in 0..3 {
        on_expiry.push(instance(&server.url(), &mock, 0.0).await);
        ahead.push(instance(&server.url(), &mock, 0.2).await);
    }

    tokio::join!(read_hot(on_expiry, "on-expiry"), read_hot(ahead, "ahead"));

    let stats = mock.stats();
    // On expiry: the fill, then one refresh at 30 s and one at 60 s, for all three together.
    assert_eq!(stats.requests_for("on-expiry"), 3);
    // Refresh-ahead starts in the last fifth of each TTL: the fill, then at 24, 48 and 72 s.
    assert_eq!(stats.requests_for("ahead"), 4);
}
