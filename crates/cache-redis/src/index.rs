//! The index of cached directories on Redis, so that counting them (`/v1/stats`'
//! `cache_size`) is one command on one key, never a SCAN of the keyspace.
//!
//! A sorted set (`<prefix>:index`) of directory ids, each scored by the Unix millisecond at
//! which Redis drops that copy (its expiry plus the retention window, as its `PX` says). A put
//! adds or re-scores the id, a remove takes it out, and a count first drops the ids whose copy
//! has expired, so the count follows Redis' own expiry. The index lives outside any
//! directory's hash slot, so it is updated by its own command next to the write (Redis
//! Cluster runs a script only on the keys of one slot).

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_core::{DirectoryId, Error};
use redis::Script;

use crate::RedisBackend;

/// Drops the ids whose copy expired by `ARGV[1]` (Unix ms) and counts the rest.
static COUNT_LIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
",
    )
});

fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl RedisBackend {
    /// Records that the copy of `id` is held for `keep` from now.
    pub(crate) async fn index_put(&self, id: &DirectoryId, keep: Duration) -> Result<(), Error> {
        let inner = &*self.inner;
        let until = unix_millis(inner.clock.now() + keep);
        let cmd = redis::cmd("ZADD")
            .arg(inner.keys.index())
            .arg(until)
            .arg(id.as_str())
            .clone();
        let _added: i64 = inner
            .pool
            .query("index_put", inner.command_timeout, &cmd)
            .await?;
        Ok(())
    }

    /// Records that the copy of `id` is gone.
    pub(crate) async fn index_remove(&self, id: &DirectoryId) -> Result<(), Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("ZREM")
            .arg(inner.keys.index())
            .arg(id.as_str())
            .clone();
        let _removed: i64 = inner
            .pool
            .query("index_remove", inner.command_timeout, &cmd)
            .await?;
        Ok(())
    }

    /// How many copies Redis holds now, by the index.
    pub(crate) async fn index_count(&self) -> Result<usize, Error> {
        let inner = &*self.inner;
        let mut invocation = COUNT_LIVE.prepare_invoke();
        invocation
            .key(inner.keys.index())
            .arg(unix_millis(inner.clock.now()));
        let count: u64 = inner
            .pool
            .invoke("len", inner.command_timeout, &invocation)
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }
}
