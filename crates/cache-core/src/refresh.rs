//! One refresh of one directory: fetch upstream, build the cached copy, store it, tell others.

use std::sync::Arc;
use std::time::Duration;

use audit::AuditEventKind;
use genesys_client::{FetchOptions, FetchOutcome};
use serde::Serialize;
use serde_json::json;

use crate::listener::{ChangeKind, DirectoryChange};
use crate::pipeline::Pipeline;
use crate::{
    CachedDirectory, DirectoryId, Error, InvalidationDirective, LockToken, PutOutcome, RefreshLock,
    metrics,
};

/// What a refresh did to the cached copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshKind {
    /// Cached for the first time.
    Populated,
    /// Upstream had changed: the copy was replaced.
    Overwritten,
    /// Upstream confirmed the copy unchanged: its TTL was restarted.
    Revalidated,
    /// Another caller or instance had refreshed it meanwhile: its copy was taken.
    Joined,
}

impl RefreshKind {
    /// The name used in metrics and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Populated => "populate",
            Self::Overwritten => "overwrite",
            Self::Revalidated => "revalidate",
            Self::Joined => "joined",
        }
    }
}

/// The result of a refresh.
#[derive(Clone, Debug)]
pub(crate) struct Refreshed {
    pub(crate) directory: Arc<CachedDirectory>,
    pub(crate) kind: RefreshKind,
}

/// Why a refresh runs; a verification always asks upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Nothing fresh was cached, or a fresh copy is about to expire.
    Read,
    /// A read asked for by `warm`: the operator named the id, so it is never unknown.
    Warm,
    /// An explicit consistency check.
    Verify,
}

/// A refresh to run: the directory, the copy the caller saw, and how long upstream may take.
#[derive(Clone, Debug)]
pub(crate) struct RefreshRequest {
    pub(crate) id: DirectoryId,
    pub(crate) seen: Option<Arc<CachedDirectory>>,
    pub(crate) retry_budget: Option<Duration>,
    pub(crate) cause: Cause,
}

impl Pipeline {
    /// Refreshes `request.id` once for this process (the caller has joined the in-process
    /// flight) and, on a shared backend, once for every instance: the instance holding the
    /// refresh lock fetches, the others wait for its copy.
    pub(crate) async fn refresh(&self, request: RefreshRequest) -> Result<Refreshed, Error> {
        let Some(lock) = self.backend.refresh_lock() else {
            // One process: the flight is the only coordination needed, and the caller read
            // the backend just before joining it.
            return self.fetch_and_store(&request).await;
        };
        match lock.try_acquire(&request.id, self.lock_lease).await {
            Ok(Some(token)) => {
                // Checked after taking the lock, not before: an instance that released the
                // lock just before we took it has stored its copy by now.
                let result = match self.newer_copy(&request).await {
                    Some(newer) => Ok(newer),
                    None => self.fetch_holding(lock, &request, &token).await,
                };
                if let Err(e) = lock.release(&request.id, &token).await {
                    self.backend_failed("lock_release", &request.id, &e);
                }
                result
            }
            Ok(None) => {
                // Another instance is fetching: take its result rather than spend a request.
                if let Err(e) = lock.wait_released(&request.id, self.lock_wait).await {
                    self.backend_failed("lock_wait", &request.id, &e);
                }
                match self.newer_copy(&request).await {
                    Some(newer) => Ok(newer),
                    None => self.fetch_and_store(&request).await,
                }
            }
            Err(e) => {
                self.backend_failed("lock_acquire", &request.id, &e);
                self.fetch_and_store(&request).await
            }
        }
    }

    /// Fetches and stores while renewing the held lock, so that a slow fetch keeps it.
    async fn fetch_holding(
        &self,
        lock: &dyn RefreshLock,
        request: &RefreshRequest,
        token: &LockToken,
    ) -> Result<Refreshed, Error> {
        let fetch = self.fetch_and_store(request);
        tokio::pin!(fetch);
        let mut renew = tokio::time::interval(self.lock_lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                result = &mut fetch => return result,
                _ = renew.tick() => {
                    if let Err(e) = lock.extend(&request.id, token, self.lock_lease).await {
                        self.backend_failed("lock_extend", &request.id, &e);
                    }
                }
            }
        }
    }

    /// For a read: a fresh copy another instance stored since the caller looked, if any. A
    /// verification always asks upstream, so it never takes one.
    async fn newer_copy(&self, request: &RefreshRequest) -> Option<Refreshed> {
        if request.cause == Cause::Verify {
            return None;
        }
        // A failing read was already reported by the caller's own read just before; this
        // one only decides whether to fetch, so a failure means "fetch".
        let stored = self.backend.get(&request.id).await.ok()??;
        let newer = match &request.seen {
            Some(seen) => stored.checked_at() > seen.checked_at(),
            None => true,
        };
        (newer && stored.is_fresh_at(self.clock.now())).then_some(Refreshed {
            directory: stored,
            kind: RefreshKind::Joined,
        })
    }

    async fn fetch_and_store(&self, request: &RefreshRequest) -> Result<Refreshed, Error> {
        let id = &request.id;
        let options = fetch_options(request).class(self.request_class(request));
        let outcome = match self.source.fetch(id, &options).await {
            Ok(outcome) => outcome,
            Err(e) => {
                metrics::refresh("failed");
                self.auditor.record(
                    AuditEventKind::FetchFailed,
                    id.as_str(),
                    json!({
                        "status": e.status(),
                        "correlation_id": e.correlation_id(),
                        "retryable": e.is_temporary(),
                        "error": e.to_string(),
                    }),
                );
                self.remember_refusal(id, &e).await;
                return Err(Error::Upstream {
                    directory_id: id.clone(),
                    source: e,
                });
            }
        };
        let (directory, kind) = self.cached_copy(request, outcome).inspect_err(|e| {
            metrics::refresh("failed");
            self.auditor.record(
                AuditEventKind::FetchFailed,
                id.as_str(),
                json!({ "error": e.to_string() }),
            );
        })?;
        let directory = Arc::new(directory);
        match self.backend.put(Arc::clone(&directory)).await {
            Ok(PutOutcome::Written) => {}
            Ok(PutOutcome::KeptNewer(newer)) => {
                // A newer copy landed while we fetched: it is the better answer.
                return Ok(Refreshed {
                    directory: newer,
                    kind: RefreshKind::Joined,
                });
            }
            // The copy is still the right answer for this caller, just not cached.
            Err(e) => self.backend_failed("put", id, &e),
        }
        // Made on the forms' own thread: a 500-entry directory takes milliseconds to compress,
        // longer than its fetch. A backend that stores a form (Redis keeps the zstd one) made
        // it already when the copy was written.
        self.forms.prepare(&directory);
        self.announce(request, &directory, kind).await;
        Ok(Refreshed { directory, kind })
    }

    fn cached_copy(
        &self,
        request: &RefreshRequest,
        outcome: FetchOutcome,
    ) -> Result<(CachedDirectory, RefreshKind), Error> {
        let id = &request.id;
        let ttl = self.ttl.ttl_for(id);
        let now = self.clock.now();
        match (outcome, &request.seen) {
            (FetchOutcome::NotModified, Some(seen)) => {
                Ok((seen.revalidated(now, ttl)?, RefreshKind::Revalidated))
            }
            (FetchOutcome::NotModified, None) => Err(Error::Internal {
                directory_id: id.clone(),
                reason: "upstream answered 304 to an unconditional request".into(),
            }),
            // No validators upstream: the content fingerprint says whether it changed.
            (FetchOutcome::Modified(snapshot), Some(seen))
                if snapshot.fingerprint == *seen.fingerprint() =>
            {
                Ok((seen.revalidated(now, ttl)?, RefreshKind::Revalidated))
            }
            (FetchOutcome::Modified(snapshot), seen) => {
                let (directive, kind) = match seen {
                    Some(_) => (InvalidationDirective::Overwrite, RefreshKind::Overwritten),
                    None => (InvalidationDirective::Fresh, RefreshKind::Populated),
                };
                let (source, limits) = self.cached_as(id);
                let directory = CachedDirectory::from_snapshot(
                    id.clone(),
                    source,
                    &snapshot,
                    ttl,
                    now,
                    directive,
                    limits,
                )?;
                Ok((directory, kind))
            }
        }
    }

    /// Audits, counts and tells listeners and other instances what a refresh did.
    async fn announce(
        &self,
        request: &RefreshRequest,
        directory: &CachedDirectory,
        kind: RefreshKind,
    ) {
        let id = &request.id;
        metrics::refresh(kind.as_str());
        let (event, change) = match kind {
            RefreshKind::Populated => (AuditEventKind::CachePopulate, Some(ChangeKind::Populate)),
            RefreshKind::Overwritten => (AuditEventKind::CacheRefresh, Some(ChangeKind::Overwrite)),
            RefreshKind::Revalidated => (AuditEventKind::CacheRevalidate, None),
            RefreshKind::Joined => return,
        };
        self.auditor.record(
            event,
            id.as_str(),
            json!({
                "entry_count": directory.entry_count(),
                "fingerprint": directory.fingerprint().as_str(),
                "previous_fingerprint": request.seen.as_ref().map(|s| s.fingerprint().as_str()),
                "ttl_seconds": directory.meta().ttl_seconds,
            }),
        );
        if let Some(change) = change {
            self.notifier.notify(DirectoryChange::new(
                change,
                id.clone(),
                Some(directory.fingerprint().clone()),
                directory.entry_count(),
                self.clock.now(),
            ));
        }
        if kind == RefreshKind::Overwritten {
            self.publish_invalidation(id).await;
        }
    }
}

fn fetch_options(request: &RefreshRequest) -> FetchOptions {
    let mut options = FetchOptions::new();
    if let Some(seen) = &request.seen {
        if let Some(etag) = seen.etag() {
            options = options.if_none_match(etag);
        }
        if let Some(last_modified) = seen.last_modified() {
            options = options.if_modified_since(last_modified);
        }
    }
    if let Some(budget) = request.retry_budget {
        options = options.retry_budget(budget);
    }
    options
}
