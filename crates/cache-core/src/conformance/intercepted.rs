//! `InterceptedBackend`: a backend whose reads pass through a test's hook, to script what a
//! read answers or when it answers (a corrupt value once, a read held while another instance
//! acts).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::{
    CacheBackend, CachedDirectory, DirectoryId, Error, InvalidationNotices, NegativeCache,
    PutOutcome, RefreshLock,
};

/// What a read of the wrapped backend answered, handed to the hook.
pub type Read = Result<Option<Arc<CachedDirectory>>, Error>;

/// The hook: gets the id and what the wrapped backend answered, and answers in its place.
pub type ReadHook = dyn Fn(DirectoryId, Read) -> BoxFuture<'static, Read> + Send + Sync;

/// Forwards every method to `inner`, except that each `get` answers what the hook makes of
/// `inner`'s answer, and `peek` answers nothing, so that every read goes through the hook.
pub struct InterceptedBackend<B> {
    inner: B,
    hook: Box<ReadHook>,
}

impl<B: CacheBackend> InterceptedBackend<B> {
    /// Wraps `inner`, passing every read through `hook`.
    pub fn new(
        inner: B,
        hook: impl Fn(DirectoryId, Read) -> BoxFuture<'static, Read> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            hook: Box::new(hook),
        }
    }
}

impl<B: fmt::Debug> fmt::Debug for InterceptedBackend<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InterceptedBackend")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<B: CacheBackend> CacheBackend for InterceptedBackend<B> {
    async fn get(&self, id: &DirectoryId) -> Result<Option<Arc<CachedDirectory>>, Error> {
        let read = self.inner.get(id).await;
        (self.hook)(id.clone(), read).await
    }

    fn peek(&self, _id: &DirectoryId) -> Option<Arc<CachedDirectory>> {
        None
    }

    async fn put(&self, directory: Arc<CachedDirectory>) -> Result<PutOutcome, Error> {
        self.inner.put(directory).await
    }

    async fn remove(&self, id: &DirectoryId) -> Result<bool, Error> {
        self.inner.remove(id).await
    }

    async fn list(&self) -> Result<Vec<DirectoryId>, Error> {
        self.inner.list().await
    }

    async fn len(&self) -> Result<usize, Error> {
        self.inner.len().await
    }

    async fn ping(&self) -> Result<(), Error> {
        self.inner.ping().await
    }

    fn refresh_lock(&self) -> Option<&dyn RefreshLock> {
        self.inner.refresh_lock()
    }

    fn invalidations(&self) -> Option<&dyn InvalidationNotices> {
        self.inner.invalidations()
    }

    fn negatives(&self) -> &dyn NegativeCache {
        self.inner.negatives()
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}
