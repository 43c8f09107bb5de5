//! The refresh lock on a real Redis: exclusive, token-checked, released with a notice, and
//! freed by its lease when the holder dies.

mod support;

use std::time::Duration;

use cache_core::{DirectoryId, LockToken, RefreshLock};
use cache_redis::RedisBackend;
use support::{id, redis_backend};
use testkit::RedisServer;
use tokio::time::Instant;

// Exclusion, tokens, release and expiry as every backend must show them are in the
// conformance suite (tests/conformance.rs); these are what Redis adds: other instances, the
// key's PTTL, and waiters let go by a lease running out.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_is_let_go_when_a_dead_holders_lease_ends() {
    let server = RedisServer::start().expect("redis-server starts");
    let (holder, other) = two_instances(&server).await;
    let dir = id("vendors");

    let lease = Duration::from_millis(400);
    let token = holder.try_acquire(&dir, lease).await.unwrap();
    assert!(token.is_some(), "a free lock is acquired");
    // The holder "dies": it never releases nor extends.
    drop(holder);
    assert!(other.try_acquire(&dir, lease).await.unwrap().is_none());

    let waited = wait_released(&other, &dir, Duration::from_secs(10)).await;
    assert!(
        waited < Duration::from_secs(1),
        "waited {waited:?} for a dead holder's lease"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extending_sets_the_lease_on_the_key() {
    let server = RedisServer::start().expect("redis-server starts");
    let backend = redis_backend(&server.url()).await;
    let dir = id("vendors");
    let token = take(&backend, &dir, Duration::from_secs(2)).await;
    assert!(
        backend
            .extend(&dir, &token, Duration::from_secs(60))
            .await
            .unwrap()
    );
    let ttl: i64 = server
        .cli(&["PTTL", &backend.lock_key(&dir)])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        ttl > 50_000,
        "the lease was extended to 60 s, PTTL is {ttl} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_woken_by_the_release_not_by_their_timeout() {
    let server = RedisServer::start().expect("redis-server starts");
    let (holder, waiter) = two_instances(&server).await;
    let dir = id("vendors");
    let token = take(&holder, &dir, Duration::from_secs(30)).await;

    let waiting = tokio::spawn({
        let waiter = waiter.clone();
        let dir = dir.clone();
        async move {
            waiter
                .wait_released(&dir, Duration::from_secs(20))
                .await
                .unwrap();
            Instant::now()
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "the waiter returned while the lock was held"
    );
    let released_at = Instant::now();
    holder.release(&dir, &token).await.unwrap();
    let woken_at = waiting.await.unwrap();
    let delay = woken_at - released_at;
    assert!(
        delay < Duration::from_millis(500),
        "woken {delay:?} after the release"
    );

    // A lock nobody holds is not waited for at all.
    let started = Instant::now();
    waiter
        .wait_released(&id("free"), Duration::from_secs(20))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_gives_up_at_its_timeout() {
    let server = RedisServer::start().expect("redis-server starts");
    let backend = redis_backend(&server.url()).await;
    let dir = id("vendors");
    take(&backend, &dir, Duration::from_secs(30)).await;
    let waited = wait_released(&backend, &dir, Duration::from_millis(600)).await;
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_millis(1_500),
        "waited {waited:?} for a 600 ms timeout"
    );
}

/// How long `backend` waited for the lock of `dir` to be released, giving up at `timeout`.
async fn wait_released(backend: &RedisBackend, dir: &DirectoryId, timeout: Duration) -> Duration {
    let started = Instant::now();
    backend.wait_released(dir, timeout).await.unwrap();
    started.elapsed()
}

/// Takes the lock of `dir` on `backend`, which must be free.
async fn take(backend: &RedisBackend, dir: &DirectoryId, lease: Duration) -> LockToken {
    backend.try_acquire(dir, lease).await.unwrap().unwrap()
}

/// Two instances' backends on `server`: the lock's holder and another.
async fn two_instances(server: &RedisServer) -> (RedisBackend, RedisBackend) {
    (
        redis_backend(&server.url()).await,
        redis_backend(&server.url()).await,
    )
}
