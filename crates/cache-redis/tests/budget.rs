//! The upstream budget shared through Redis: several instances together stay under one rate,
//! a 429 on one pauses all, unknown ids keep to their share, and an outage falls back to each
//! instance's local budget and back again by itself.

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use cache_redis::RedisBudget;
use genesys_client::{Error, FetchOptions, GenesysClient, RequestClass, UpstreamBudget};
use genesys_mock::{Fault, GenesysMock, MockDirectory, RequestKind, RetryAfter};
use support::redis_backend;
use testkit::RedisServer;
use tokio::task::JoinSet;
use tokio::time::Instant;

fn rate(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// One instance's budget on the Redis at `url` for the mock's OAuth client.
async fn budget(url: &str, mock_client_id: &str, per_minute: u32, share: f64) -> Arc<RedisBudget> {
    let backend = redis_backend(url).await;
    Arc::new(RedisBudget::new(
        &backend,
        mock_client_id,
        rate(per_minute),
        share,
        rate(60),
    ))
}

/// A client of `mock` drawing on `budget`, with `retry_budget` for each fetch.
fn client(mock: &GenesysMock, budget: Arc<RedisBudget>, retry_budget: Duration) -> GenesysClient {
    testkit::client_builder(mock)
        .retry_policy(testkit::retry_policy(retry_budget))
        .budget(budget)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_at_sixty_a_minute_send_at_most_sixty_in_the_window() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = GenesysMock::start().unwrap();
    for i in 0..150 {
        mock.put_directory(&format!("d{i}"), MockDirectory::generated(3, i));
    }
    let mut tasks = JoinSet::new();
    for instance in 0..3 {
        let budget = budget(&server.url(), mock.client_id(), 60, 1.0).await;
        let client = client(&mock, budget, Duration::from_secs(2));
        for i in (instance..150).step_by(3) {
            let client = client.clone();
            tasks.spawn(async move {
                client
                    .fetch_directory(&format!("d{i}"), &FetchOptions::new())
                    .await
            });
        }
    }
    let mut fetched = 0;
    let mut refused = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(_) => fetched += 1,
            Err(Error::RateLimited { retry_after, .. }) => {
                assert!(retry_after.is_some_and(|wait| wait > Duration::from_secs(50)));
                refused += 1;
            }
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    // Every request of the three instances went in the same 60 s window.
    assert_eq!(mock.stats().directory_requests, 60);
    assert_eq!((fetched, refused), (60, 90));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_one_instance_pauses_the_others_until_its_retry_after() {
    let server = RedisServer::start().expect("redis-server starts");
    let mock = GenesysMock::start().unwrap();
    for id in ["a", "b", "c"] {
        mock.put_directory(id, MockDirectory::generated(3, 1));
    }
    let a = client(
        &mock,
        budget(&server.url(), mock.client_id(), 600, 1.0).await,
        Duration::from_secs(8),
    );
    let b = client(
        &mock,
        budget(&server.url(), mock.client_id(), 600, 1.0).await,
        Duration::from_secs(8),
    );
    let c_budget = budget(&server.url(), mock.client_id(), 600, 1.0).await;
    let c = client(&mock, Arc::clone(&c_budget), Duration::from_secs(8));

    mock.fail_directory("a", Fault::rate_limited(RetryAfter::Seconds(2)), 1);
    let on_a = tokio::spawn(async move { a.fetch_directory("a", &FetchOptions::new()).await });
    let deadline = StdInstant::now() + Duration::from_secs(5);
    while mock.stats().status_count(429) == 0 {
        assert!(StdInstant::now() < deadline, "the 429 never came");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let limited_at = StdInstant::now();
    // A has the 429 a moment after the mock sent it, and shares the pause then.
    while !server
        .cli(&["KEYS", "*:paused"])
        .unwrap()
        .contains("paused")
    {
        assert!(StdInstant::now() < deadline, "the pause was never shared");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A caller of C that cannot wait that long is refused with the wait, at once.
    let short = c_budget
        .take(
            RequestClass::Known,
            Instant::now() + Duration::from_millis(200),
        )
        .await;
    assert!(
        matches!(short, Err(Error::RateLimited { retry_after: Some(wait), .. }) if wait > Duration::from_millis(1_000)),
        "{short:?}"
    );
    let options = FetchOptions::new();
    let (on_b, on_c) = tokio::join!(
        b.fetch_directory("b", &options),
        c.fetch_directory("c", &options),
    );
    on_b.unwrap();
    on_c.unwrap();
    on_a.await.unwrap().unwrap();
    assert!(limited_at.elapsed() >= Duration::from_millis(1_700));
    let requests = mock.requests();
    let refused = requests.iter().find(|r| r.status == 429).unwrap().at;
    // Tokens come from the login service, which the budget does not cover.
    let directory_requests = requests
        .iter()
        .filter(|r| matches!(r.kind, RequestKind::Directory(_)));
    for request in directory_requests.filter(|r| r.at > refused) {
        assert!(
            request.at.duration_since(refused) >= Duration::from_millis(1_900),
            "{:?} was sent {:?} after the 429",
            request.kind,
            request.at.duration_since(refused)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_beyond_their_share_are_refused_at_once_known_ones_go_on() {
    let server = RedisServer::start().expect("redis-server starts");
    // 10 a minute, of which unknown ids may use 2, for two instances together.
    let first = budget(&server.url(), "client", 10, 0.2).await;
    let second = budget(&server.url(), "client", 10, 0.2).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    first.take(RequestClass::Unknown, deadline).await.unwrap();
    second.take(RequestClass::Unknown, deadline).await.unwrap();
    let started = StdInstant::now();
    let refused = first.take(RequestClass::Unknown, deadline).await;
    assert!(
        matches!(refused, Err(Error::BudgetExhausted { retry_after }) if retry_after > Duration::from_secs(50)),
        "{refused:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(200));
    for _ in 0..8 {
        second.take(RequestClass::Known, deadline).await.unwrap();
    }
    let spent = first
        .take(
            RequestClass::Known,
            Instant::now() + Duration::from_millis(100),
        )
        .await;
    assert!(matches!(spent, Err(Error::RateLimited { .. })), "{spent:?}");
    let keys = server.cli(&["KEYS", "*"]).unwrap();
    assert!(keys.contains("dircache:{budget:"), "{keys}");
    assert!(!keys.contains("client"), "the client id is hashed: {keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_an_instance_falls_back_to_its_local_budget_and_returns() {
    let mut server = RedisServer::start().expect("redis-server starts");
    let budget = budget(&server.url(), "client", 6_000, 1.0).await;
    let soon = || Instant::now() + Duration::from_millis(100);
    budget.take(RequestClass::Known, soon()).await.unwrap();
    assert!(!budget.is_on_fallback());

    server.stop();
    // The fallback is 60 a minute with a burst of 6: six go at once, the seventh must wait
    // a second, longer than this caller may.
    for _ in 0..6 {
        budget.take(RequestClass::Known, soon()).await.unwrap();
    }
    assert!(budget.is_on_fallback());
    assert!(matches!(
        budget.take(RequestClass::Known, soon()).await,
        Err(Error::RateLimited { .. })
    ));

    server.restart().expect("redis-server restarts");
    let deadline = StdInstant::now() + Duration::from_secs(10);
    loop {
        // The fallback has room again after a second; each take asks Redis once it may.
        let _ = budget
            .take(RequestClass::Known, Instant::now() + Duration::from_secs(2))
            .await;
        if !budget.is_on_fallback() {
            break;
        }
        assert!(
            StdInstant::now() < deadline,
            "never back on the shared budget"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let keys = server.cli(&["KEYS", "*"]).unwrap();
    assert!(
        keys.contains(":all"),
        "the shared log is used again: {keys}"
    );
}
