//! `redis_bytes_vs_json`: a realistic 500-entry directory takes at most 0.35 of its upstream
//! JSON in Redis.

mod support;

use std::time::Duration;

use genesys_mock::MockDirectory;
use support::{id, instance_on_redis, mock_with};
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_entry_directory_is_stored_in_at_most_035_of_its_json() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = mock_with("agents", MockDirectory::generated(500, 42), Duration::ZERO);
    let (cache, _, backend) = instance_on_redis(&server.url(), &mock).await;
    cache.get(&id("agents")).await.unwrap();

    let stored = backend
        .stored_bytes(&id("agents"))
        .await
        .unwrap()
        .unwrap()
        .len();
    // The entities alone, as upstream sends them: less than the pages it serves (which add
    // paging fields), so the ratio measured here is an upper bound.
    let entries = mock.directory_entries("agents").unwrap();
    let json = serde_json::to_vec(&entries).unwrap().len();
    let ratio = stored as f64 / json as f64;
    println!("redis_bytes_vs_json {ratio:.3} ({stored} bytes stored, {json} bytes of JSON)");
    assert!(
        ratio <= 0.35,
        "stored {stored} bytes for {json} bytes of JSON: {ratio:.3}"
    );
}
