//! The `CacheBackend` trait: where cached directories live, and its optional coordination.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{CachedDirectory, DirectoryId, Error, NegativeCache};

/// What a [`CacheBackend::put`] did.
#[derive(Clone, Debug)]
pub enum PutOutcome {
    /// The copy was stored.
    Written,
    /// The backend holds a copy checked upstream later than this one, and kept it: here it
    /// is, so that the caller can answer with it without reading it again.
    KeptNewer(Arc<CachedDirectory>),
}

impl PutOutcome {
    /// Whether the copy was stored.
    pub fn is_written(&self) -> bool {
        matches!(self, Self::Written)
    }
}

/// Where cached directories are stored: in process ([`crate::MemoryBackend`]) or shared (Redis).
///
/// The core is small and has no default methods; conveniences live in [`CacheBackendExt`].
/// Backends are used as `Arc<dyn CacheBackend>`.
#[async_trait]
#[allow(
    clippy::len_without_is_empty,
    reason = "the core trait stays small: is_empty is a convenience of CacheBackendExt"
)]
pub trait CacheBackend: Send + Sync + fmt::Debug + 'static {
    /// The cached copy of `id`, fresh or not, if the backend has one.
    ///
    /// An undecodable stored value is `Err(Error::Corrupt)`; the pipeline treats it as a miss.
    async fn get(&self, id: &DirectoryId) -> Result<Option<Arc<CachedDirectory>>, Error>;

    /// The copy of `id` this backend holds in process, if any, at once: no I/O, no waiting.
    ///
    /// This is the hit path. A backend that keeps copies in process (the memory backend, an
    /// L1 in front of a shared store) answers from them; a backend that keeps nothing in
    /// process returns `None`, and the pipeline goes on to [`CacheBackend::get`].
    fn peek(&self, id: &DirectoryId) -> Option<Arc<CachedDirectory>>;

    /// Stores `directory` atomically, unless the backend holds a copy of the same directory
    /// that upstream confirmed later (`checked_at`): a write never replaces a newer snapshot
    /// with an older one.
    async fn put(&self, directory: Arc<CachedDirectory>) -> Result<PutOutcome, Error>;

    /// Removes the copy of `id`; `true` if there was one.
    async fn remove(&self, id: &DirectoryId) -> Result<bool, Error>;

    /// The ids of every cached directory.
    async fn list(&self) -> Result<Vec<DirectoryId>, Error>;

    /// How many directories are cached (for statistics; a backend counts without listing
    /// where it can).
    async fn len(&self) -> Result<usize, Error>;

    /// Whether the backend can be reached now (for readiness probes).
    async fn ping(&self) -> Result<(), Error>;

    /// The cross-instance refresh lock, for backends shared by several processes.
    fn refresh_lock(&self) -> Option<&dyn RefreshLock>;

    /// Where upstream's recent refusals (404, 403) are remembered: every backend has one,
    /// shared by every instance for a shared backend.
    fn negatives(&self) -> &dyn NegativeCache;

    /// The cross-instance invalidation channel, for backends shared by several processes.
    fn invalidations(&self) -> Option<&dyn InvalidationNotices>;

    /// A short name for errors, logs and metrics (`memory`, `redis`).
    fn name(&self) -> &'static str;
}

/// Conveniences over any [`CacheBackend`].
#[async_trait]
pub trait CacheBackendExt: CacheBackend {
    /// Whether no directory is cached.
    async fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len().await? == 0)
    }

    /// Whether `id` is cached.
    async fn contains(&self, id: &DirectoryId) -> Result<bool, Error> {
        Ok(self.get(id).await?.is_some())
    }
}

impl<T: CacheBackend + ?Sized> CacheBackendExt for T {}

#[async_trait]
impl<T: CacheBackend + ?Sized> CacheBackend for Arc<T> {
    async fn get(&self, id: &DirectoryId) -> Result<Option<Arc<CachedDirectory>>, Error> {
        (**self).get(id).await
    }

    fn peek(&self, id: &DirectoryId) -> Option<Arc<CachedDirectory>> {
        (**self).peek(id)
    }

    async fn put(&self, directory: Arc<CachedDirectory>) -> Result<PutOutcome, Error> {
        (**self).put(directory).await
    }

    async fn remove(&self, id: &DirectoryId) -> Result<bool, Error> {
        (**self).remove(id).await
    }

    async fn list(&self) -> Result<Vec<DirectoryId>, Error> {
        (**self).list().await
    }

    async fn len(&self) -> Result<usize, Error> {
        (**self).len().await
    }

    async fn ping(&self) -> Result<(), Error> {
        (**self).ping().await
    }

    fn refresh_lock(&self) -> Option<&dyn RefreshLock> {
        (**self).refresh_lock()
    }

    fn negatives(&self) -> &dyn NegativeCache {
        (**self).negatives()
    }

    fn invalidations(&self) -> Option<&dyn InvalidationNotices> {
        (**self).invalidations()
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// Proof of holding a [`RefreshLock`]: a random token only the holder knows.
#[derive(Clone, PartialEq, Eq)]
pub struct LockToken(String);

impl LockToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockToken(..)")
    }
}

/// A lock across instances, so that one instance fetches a directory while the others wait
/// for its result.
#[async_trait]
pub trait RefreshLock: Send + Sync + fmt::Debug {
    /// Tries to take the lock of `id` for `lease`; `None` when another holder has it.
    async fn try_acquire(
        &self,
        id: &DirectoryId,
        lease: Duration,
    ) -> Result<Option<LockToken>, Error>;

    /// Extends a held lock; `false` when it was lost (expired and taken by someone else).
    async fn extend(
        &self,
        id: &DirectoryId,
        token: &LockToken,
        lease: Duration,
    ) -> Result<bool, Error>;

    /// Releases a held lock (only if `token` still holds it).
    async fn release(&self, id: &DirectoryId, token: &LockToken) -> Result<(), Error>;

    /// Waits until the lock of `id` is released or `timeout` passes.
    async fn wait_released(&self, id: &DirectoryId, timeout: Duration) -> Result<(), Error>;
}

/// What a notice on an [`InvalidationNotices`] channel tells an instance to drop.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidationNotice {
    /// The copy of this directory changed or was removed.
    Directory(DirectoryId),
    /// Notices may have been missed (the channel was lost and has been re-established): every
    /// in-process copy may be out of date.
    All,
}

/// A channel on which instances tell each other that a directory's copy changed or was removed,
/// so that each drops its in-process copy.
#[async_trait]
pub trait InvalidationNotices: Send + Sync + fmt::Debug {
    /// Tells every instance that `id` changed.
    async fn publish(&self, id: &DirectoryId) -> Result<(), Error>;

    /// Notices from every instance (this one included). A lagged receiver may have missed
    /// notices and should act as on [`InvalidationNotice::All`].
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<InvalidationNotice>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_token_does_not_show_in_debug() {
        assert_eq!(format!("{:?}", LockToken::new("s3cr3t")), "LockToken(..)");
    }
}
