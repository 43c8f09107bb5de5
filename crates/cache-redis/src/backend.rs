//! `RedisBackend`: the `CacheBackend` shared by every instance, on a bb8 pool of Redis
//! connections.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cache_core::{
    CacheBackend, CachedDirectory, Clock, DirectoryId, Error, InvalidationNotice,
    InvalidationNotices, NegativeCache, PutOutcome, RefreshLock,
};
use redis::Value;
use tokio::sync::broadcast;

use crate::builder::RedisBackendBuilder;
use crate::codec;
use crate::error::RedisBackendError;
use crate::keys::Keys;
use crate::notices::Notices;
use crate::pool::Pool;
use crate::scripts::PUT_NEWER;

/// How many keys one SCAN call looks at: large enough to list quickly, small enough not to
/// hold the server up between calls.
const SCAN_COUNT: u32 = 1_000;

/// A [`CacheBackend`] on Redis (one server or a cluster), shared by every `dircache`
/// instance: atomic newer-wins writes, a cross-instance refresh lock and an invalidation
/// channel.
///
/// Cloning is cheap and every clone shares one pool and one subscriber connection. See the
/// crate documentation for the key layout, the value format and the outage behaviour.
///
/// ```no_run
/// # async fn run() -> Result<(), cache_core::Error> {
/// use std::time::Duration;
/// use cache_redis::RedisBackend;
///
/// let backend = RedisBackend::builder("redis://:s3cret@127.0.0.1:6380/0")
///     .prefix("dircache")
///     .command_timeout(Duration::from_millis(500))
///     .build()
///     .await?;
/// println!("{backend:?}"); // the password is not shown
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBackend {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) keys: Keys,
    pub(crate) command_timeout: Duration,
    pub(crate) retention: Duration,
    pub(crate) clock: Clock,
    pub(crate) notices: Notices,
    pub(crate) instance_tag: String,
    /// The server URLs with their passwords replaced, for `Debug`.
    pub(crate) shown_urls: Vec<String>,
}

impl RedisBackend {
    /// A builder for the Redis server at `url`: `redis://[user:password@]host[:port][/db]`,
    /// or `rediss://…` for TLS (the certificate is verified against the system's roots).
    pub fn builder(url: &str) -> RedisBackendBuilder {
        RedisBackendBuilder::new(vec![url.to_owned()], false)
    }

    /// A builder for a Redis Cluster reached through any of `nodes` (URLs as for
    /// [`RedisBackend::builder`]); the rest of the cluster is discovered from them.
    pub fn cluster_builder<I, S>(nodes: I) -> RedisBackendBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisBackendBuilder::new(nodes.into_iter().map(Into::into).collect(), true)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        self.inner.keys.prefix()
    }

    /// The key where the copy of `id` is stored (`<prefix>:{<id>}:dir`).
    pub fn directory_key(&self, id: &DirectoryId) -> String {
        self.inner.keys.directory(id)
    }

    /// The key of the refresh lock of `id` (`<prefix>:{<id>}:lock`).
    pub fn lock_key(&self, id: &DirectoryId) -> String {
        self.inner.keys.lock(id)
    }

    /// The raw bytes stored for `id`, undecoded (for diagnostics and size measurements).
    pub async fn stored_bytes(&self, id: &DirectoryId) -> Result<Option<Vec<u8>>, Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("GET").arg(inner.keys.directory(id)).clone();
        Ok(inner.pool.query("get", inner.command_timeout, &cmd).await?)
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.inner.command_timeout
    }

    /// SCANs one server (or one cluster master) for directory keys.
    async fn scan_node(
        &self,
        node: Option<(&str, u16)>,
        found: &mut BTreeSet<DirectoryId>,
    ) -> Result<(), RedisBackendError> {
        let inner = &*self.inner;
        let pattern = inner.keys.directory_pattern();
        let mut cursor: u64 = 0;
        loop {
            let cmd = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .clone();
            let (next, keys): (u64, Vec<Vec<u8>>) = inner
                .pool
                .query_node("list", inner.command_timeout, node, &cmd)
                .await?;
            found.extend(keys.iter().filter_map(|k| inner.keys.directory_id_of(k)));
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// The cluster's masters, from `CLUSTER SLOTS`.
    async fn cluster_masters(&self) -> Result<Vec<(String, u16)>, RedisBackendError> {
        let inner = &*self.inner;
        let slots: Value = inner
            .pool
            .query(
                "list",
                inner.command_timeout,
                &redis::cmd("CLUSTER").arg("SLOTS").clone(),
            )
            .await?;
        masters_of(slots).ok_or_else(|| RedisBackendError::Protocol {
            operation: "list",
            reason: "CLUSTER SLOTS did not answer a list of slot ranges".to_owned(),
        })
    }
}

/// The distinct master addresses in a `CLUSTER SLOTS` answer.
fn masters_of(slots: Value) -> Option<Vec<(String, u16)>> {
    let Value::Array(ranges) = slots else {
        return None;
    };
    let mut masters = BTreeSet::new();
    for range in ranges {
        let Value::Array(parts) = range else {
            return None;
        };
        let Some(Value::Array(master)) = parts.get(2) else {
            return None;
        };
        let host = match master.first()? {
            Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok()?,
            Value::SimpleString(text) => text.clone(),
            _ => return None,
        };
        let Value::Int(port) = master.get(1)? else {
            return None;
        };
        masters.insert((host, u16::try_from(*port).ok()?));
    }
    Some(masters.into_iter().collect())
}

/// How long Redis keeps a copy: until its expiry plus the retention window (at least 1 ms).
pub(crate) fn keep_for(expires_at: SystemTime, retention: Duration, now: SystemTime) -> Duration {
    expires_at
        .checked_add(retention)
        .and_then(|until| until.duration_since(now).ok())
        .unwrap_or_default()
        .max(Duration::from_millis(1))
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("RedisBackend")
            .field("urls", &inner.shown_urls)
            .field("cluster", &inner.pool.is_cluster())
            .field("prefix", &inner.keys.prefix())
            .field("command_timeout", &inner.command_timeout)
            .field("retention", &inner.retention)
            .field("pool", &inner.pool)
            .finish()
    }
}

impl RedisBackend {
    /// The copy of `id` in Redis; `known` itself when Redis holds that very copy (see
    /// [`codec::decode_known`]).
    pub(crate) async fn get_known(
        &self,
        id: &DirectoryId,
        known: Option<&Arc<CachedDirectory>>,
    ) -> Result<Option<Arc<CachedDirectory>>, Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("GET").arg(inner.keys.directory(id)).clone();
        let value: Option<Vec<u8>> =
            match inner.pool.query("get", inner.command_timeout, &cmd).await {
                Ok(value) => value,
                Err(RedisBackendError::Command { source, .. })
                    if source.code() == Some("WRONGTYPE") =>
                {
                    return Err(Error::Corrupt {
                        directory_id: id.clone(),
                        reason: "the key holds a Redis type other than a string".to_owned(),
                    });
                }
                Err(e) => return Err(e.into()),
            };
        match value {
            None => Ok(None),
            Some(bytes) => Ok(Some(codec::decode_known(id, &bytes, known)?)),
        }
    }
}

#[async_trait]
impl CacheBackend for RedisBackend {
    async fn get(&self, id: &DirectoryId) -> Result<Option<Arc<CachedDirectory>>, Error> {
        self.get_known(id, None).await
    }

    /// Nothing is kept in process: every copy is read from Redis.
    fn peek(&self, _id: &DirectoryId) -> Option<Arc<CachedDirectory>> {
        None
    }

    async fn put(&self, directory: Arc<CachedDirectory>) -> Result<PutOutcome, Error> {
        let inner = &*self.inner;
        let value = codec::encode(&directory)?;
        let keep = keep_for(directory.expires_at(), inner.retention, inner.clock.now());
        let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = PUT_NEWER.prepare_invoke();
        invocation
            .key(inner.keys.directory(directory.directory_id()))
            .arg(value)
            .arg(keep_ms)
            .arg(&codec::MAGIC[..]);
        let answer: Value = inner
            .pool
            .invoke("put", inner.command_timeout, &invocation)
            .await?;
        let id = directory.directory_id();
        match answer {
            Value::Int(1) => {
                // The copy is written whatever the index says; a count is only statistics.
                if let Err(e) = self.index_put(id, keep).await {
                    tracing::warn!(directory_id = %id, error = %e, "redis: the index of cached directories was not updated");
                }
                Ok(PutOutcome::Written)
            }
            Value::BulkString(kept) => {
                Ok(PutOutcome::KeptNewer(Arc::new(codec::decode(id, &kept)?)))
            }
            other => Err(Error::Backend {
                backend: "redis",
                reason: format!("the newer-wins write of `{id}` answered {other:?}"),
                source: None,
            }),
        }
    }

    async fn remove(&self, id: &DirectoryId) -> Result<bool, Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("DEL").arg(inner.keys.directory(id)).clone();
        let removed: i64 = inner
            .pool
            .query("remove", inner.command_timeout, &cmd)
            .await?;
        self.index_remove(id).await?;
        Ok(removed > 0)
    }

    /// SCANs every server (each master of a cluster) for this prefix's directory keys.
    ///
    /// SCAN walks the whole keyspace of each server, not only this prefix's keys, a thousand
    /// keys per call (each call under the command timeout, so a large keyspace takes many
    /// round trips but never blocks Redis); use it for statistics and tools, not per request.
    async fn list(&self) -> Result<Vec<DirectoryId>, Error> {
        let mut found = BTreeSet::new();
        if self.inner.pool.is_cluster() {
            for (host, port) in self.cluster_masters().await? {
                self.scan_node(Some((&host, port)), &mut found).await?;
            }
        } else {
            self.scan_node(None, &mut found).await?;
        }
        Ok(found.into_iter().collect())
    }

    /// One command on the index of cached directories (see `index.rs`), never a SCAN.
    async fn len(&self) -> Result<usize, Error> {
        self.index_count().await
    }

    async fn ping(&self) -> Result<(), Error> {
        let inner = &*self.inner;
        let pong: String = inner
            .pool
            .query("ping", inner.command_timeout, &redis::cmd("PING"))
            .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(RedisBackendError::Protocol {
                operation: "ping",
                reason: format!("PING answered {pong:?}"),
            }
            .into())
        }
    }

    fn refresh_lock(&self) -> Option<&dyn RefreshLock> {
        Some(self)
    }

    fn invalidations(&self) -> Option<&dyn InvalidationNotices> {
        Some(self)
    }

    fn negatives(&self) -> &dyn NegativeCache {
        self
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[async_trait]
impl InvalidationNotices for RedisBackend {
    async fn publish(&self, id: &DirectoryId) -> Result<(), Error> {
        let inner = &*self.inner;
        let cmd = redis::cmd("PUBLISH")
            .arg(inner.keys.invalidations_channel())
            .arg(format!("{} {id}", inner.instance_tag))
            .clone();
        let _receivers: i64 = inner
            .pool
            .query("publish", inner.command_timeout, &cmd)
            .await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<InvalidationNotice> {
        self.inner.notices.subscribe_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_kept_until_expiry_plus_retention() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(
            keep_for(now + Duration::from_secs(300), hour, now),
            hour + Duration::from_secs(300)
        );
        assert_eq!(
            keep_for(now - Duration::from_secs(60), hour, now),
            hour - Duration::from_secs(60)
        );
        // Past expiry and retention: kept for the least Redis accepts, not refused.
        assert_eq!(
            keep_for(now - hour * 2, hour, now),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn cluster_masters_are_read_from_cluster_slots() {
        let node = |host: &str, port: i64| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |start, end, master: Value, replica: Option<Value>| {
            let mut parts = vec![Value::Int(start), Value::Int(end), master];
            parts.extend(replica);
            Value::Array(parts)
        };
        let slots = Value::Array(vec![
            range(
                0,
                5460,
                node("127.0.0.1", 7000),
                Some(node("127.0.0.1", 7003)),
            ),
            range(5461, 10922, node("127.0.0.1", 7001), None),
            range(10923, 16383, node("127.0.0.1", 7000), None),
        ]);
        assert_eq!(
            masters_of(slots),
            Some(vec![
                ("127.0.0.1".to_owned(), 7000),
                ("127.0.0.1".to_owned(), 7001)
            ])
        );
        assert_eq!(masters_of(Value::Int(1)), None);
    }
}
