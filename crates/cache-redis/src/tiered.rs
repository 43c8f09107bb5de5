//! `TieredBackend`: an in-process `MemoryBackend` (L1) in front of the shared `RedisBackend`
//! (L2), kept coherent by the invalidation channel.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use cache_core::{
    CacheBackend, CachedDirectory, DirectoryId, Error, InvalidationNotice, InvalidationNotices,
    MemoryBackend, NegativeCache, PutOutcome, RefreshLock,
};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use crate::RedisBackend;

/// A [`MemoryBackend`] (L1) in front of a [`RedisBackend`] (L2).
///
/// - `get`: L2 is asked and its copy fills L1 (the later `checked_at` of the two is
///   answered); a fresh L1 copy is answered by `peek`, without I/O. With L2 unreachable, the
///   L1 copy, fresh or not, is answered (the pipeline decides what to do with an expired one).
/// - `put`: newer-wins on both; when L2 keeps a newer copy, L1 takes that one. With L2
///   unreachable, L1 is still updated and L2's error is returned.
/// - `remove`: from both. `list`, `ping`, the refresh lock and the invalidation channel are
///   L2's.
/// - Every invalidation notice drops that directory from L1 as soon as it arrives
///   (milliseconds), this instance's own included (several L1s may share one `RedisBackend`;
///   the copy is simply read from Redis again); a resubscription after the channel was lost
///   drops all of L1.
///
/// Cloning is cheap and clones share both tiers.
///
/// ```no_run
/// # async fn run() -> Result<(), cache_core::Error> {
/// use std::sync::Arc;
/// use cache_core::{CacheBackend, MemoryBackend};
/// use cache_redis::{RedisBackend, TieredBackend};
///
/// let l2 = RedisBackend::builder("redis://127.0.0.1:6380").build().await?;
/// let backend: Arc<dyn CacheBackend> =
///     Arc::new(TieredBackend::new(MemoryBackend::builder().build(), l2));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TieredBackend {
    inner: Arc<Inner>,
}

struct Inner {
    l1: MemoryBackend,
    l2: RedisBackend,
    /// Bumped by every notice and removal: an L2 read that started before a bump does not
    /// fill L1, or a copy dropped meanwhile could come back.
    epoch: Arc<AtomicU64>,
    dropper: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dropper.abort();
    }
}

impl TieredBackend {
    /// Puts `l1` in front of `l2` and starts dropping L1 copies as invalidation notices arrive.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn new(l1: MemoryBackend, l2: RedisBackend) -> Self {
        let epoch = Arc::new(AtomicU64::new(0));
        let dropper = tokio::spawn(drop_notified(
            l1.clone(),
            Arc::clone(&epoch),
            l2.subscribe(),
        ));
        Self {
            inner: Arc::new(Inner {
                l1,
                l2,
                epoch,
                dropper,
            }),
        }
    }

    /// The in-process tier.
    pub fn l1(&self) -> &MemoryBackend {
        &self.inner.l1
    }

    /// The shared tier.
    pub fn l2(&self) -> &RedisBackend {
        &self.inner.l2
    }
}

/// Drops L1 copies as notices arrive, until the channel closes.
async fn drop_notified(
    l1: MemoryBackend,
    epoch: Arc<AtomicU64>,
    mut notices: broadcast::Receiver<InvalidationNotice>,
) {
    loop {
        let notice = notices.recv().await;
        epoch.fetch_add(1, Ordering::AcqRel);
        match notice {
            Ok(InvalidationNotice::Directory(id)) => {
                let _ = l1.remove(&id).await;
            }
            // Resubscribed after a loss, fell behind, or a notice this build does not know:
            // any copy may be out of date.
            Ok(_) | Err(RecvError::Lagged(_)) => drop_all(&l1).await,
            Err(RecvError::Closed) => return,
        }
    }
}

async fn drop_all(l1: &MemoryBackend) {
    let ids = l1.list().await.unwrap_or_default();
    tracing::info!(
        count = ids.len(),
        "dropping every in-process copy: invalidation notices may have been missed"
    );
    for id in ids {
        let _ = l1.remove(&id).await;
    }
}

impl fmt::Debug for TieredBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TieredBackend")
            .field("l1", &self.inner.l1)
            .field("l2", &self.inner.l2)
            .finish()
    }
}

#[async_trait]
impl CacheBackend for TieredBackend {
    async fn get(&self, id: &DirectoryId) -> Result<Option<Arc<CachedDirectory>>, Error> {
        let inner = &*self.inner;
        let epoch = inner.epoch.load(Ordering::Acquire);
        let local = inner.l1.get(id).await?;
        // L2 is asked even when the L1 copy is fresh: the pipeline reads a fresh L1 copy with
        // `peek`, and calls `get` to learn what the other instances stored (after taking the
        // refresh lock, a copy they refreshed ahead of its expiry).
        match inner.l2.get_known(id, local.as_ref()).await {
            Ok(Some(shared)) => {
                let same = local
                    .as_ref()
                    .is_some_and(|local| Arc::ptr_eq(local, &shared));
                if !same && inner.epoch.load(Ordering::Acquire) == epoch {
                    // Newer-wins: an L1 copy checked later than L2's stays.
                    let _ = inner.l1.put(Arc::clone(&shared)).await;
                }
                Ok(Some(match local {
                    Some(local) if local.checked_at() > shared.checked_at() => local,
                    _ => shared,
                }))
            }
            // Redis lost it (restarted empty, evicted): the expired L1 copy can still serve
            // stale-if-error; the pipeline refreshes it either way.
            Ok(None) => Ok(local),
            Err(e) => match local {
                Some(local) => {
                    tracing::warn!(directory_id = %id, error = %e, "redis get failed; answering from the in-process copy");
                    Ok(Some(local))
                }
                None => Err(e),
            },
        }
    }

    /// The L1 copy, fresh or not; the pipeline calls `get` when it is not fresh.
    fn peek(&self, id: &DirectoryId) -> Option<Arc<CachedDirectory>> {
        self.inner.l1.peek(id)
    }

    async fn put(&self, directory: Arc<CachedDirectory>) -> Result<PutOutcome, Error> {
        let inner = &*self.inner;
        match inner.l2.put(Arc::clone(&directory)).await {
            Ok(PutOutcome::Written) => {
                inner.l1.put(directory).await?;
                Ok(PutOutcome::Written)
            }
            Ok(PutOutcome::KeptNewer(newer)) => {
                inner.l1.put(Arc::clone(&newer)).await?;
                Ok(PutOutcome::KeptNewer(newer))
            }
            Err(e) => {
                inner.l1.put(directory).await?;
                Err(e)
            }
        }
    }

    async fn remove(&self, id: &DirectoryId) -> Result<bool, Error> {
        let inner = &*self.inner;
        inner.epoch.fetch_add(1, Ordering::AcqRel);
        let local = inner.l1.remove(id).await?;
        let shared = inner.l2.remove(id).await?;
        Ok(local || shared)
    }

    async fn list(&self) -> Result<Vec<DirectoryId>, Error> {
        self.inner.l2.list().await
    }

    async fn len(&self) -> Result<usize, Error> {
        self.inner.l2.len().await
    }

    async fn ping(&self) -> Result<(), Error> {
        self.inner.l2.ping().await
    }

    fn refresh_lock(&self) -> Option<&dyn RefreshLock> {
        Some(&self.inner.l2)
    }

    fn invalidations(&self) -> Option<&dyn InvalidationNotices> {
        Some(&self.inner.l2)
    }

    /// L2's: a refusal is shared by every instance, and rare enough to read from Redis.
    fn negatives(&self) -> &dyn NegativeCache {
        &self.inner.l2
    }

    fn name(&self) -> &'static str {
        "tiered"
    }
}
