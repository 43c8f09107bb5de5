//! `DirectoryCache`: the pipeline that answers directory requests from the cache or upstream.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use audit::{AuditEventKind, Auditor};
use futures::{FutureExt, Stream, StreamExt};
use serde_json::{Value, json};

use crate::flight::{Flights, SharedRefresh};
use crate::form_worker::FormWorker;
use crate::listener::{ChangeKind, ChangeListener, ChangeNotifier, DirectoryChange};
use crate::metrics::{self, RequestMetrics};
use crate::pipeline::Pipeline;
use crate::refresh::{Cause, RefreshRequest};
use crate::stats::StatsRecorder;
use crate::{
    CacheBackend, CacheField, CacheStats, CachedDirectory, Clock, ContentCoding, DirectoryId,
    DirectorySource, Error, Limits, MemoryBackend, Outcome, Route, TtlMatrix,
};

/// A directory as answered by [`DirectoryCache::get`].
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The cached copy served.
    pub directory: Arc<CachedDirectory>,
    /// How it was served.
    pub outcome: Outcome,
}

/// The cache pipeline: hit / miss / stale, one upstream fetch per directory however many
/// callers, refresh-ahead, stale-if-error, verification, invalidation and warming.
///
/// Cheap to clone: clones share everything.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use cache_core::{DirectoryCache, DirectoryId};
///
/// let client = genesys_client::GenesysClient::from_env()?;
/// let cache = DirectoryCache::builder().source(client).build()?;
/// let lookup = cache.get(&DirectoryId::new("external_vendors")?).await?;
/// println!("{} entries ({})", lookup.directory.entry_count(), lookup.outcome.as_str());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DirectoryCache {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) pipeline: Arc<Pipeline>,
    flights: Arc<Flights>,
    stale_if_error: Duration,
    stale_retry_budget: Duration,
    /// The last part of a TTL, in thousandths, in which a hit starts a refresh (0: never).
    refresh_ahead_permille: u32,
    warm_concurrency: usize,
    stats: StatsRecorder,
    metrics: RequestMetrics,
}

impl DirectoryCache {
    /// Starts building a cache.
    pub fn builder() -> DirectoryCacheBuilder {
        DirectoryCacheBuilder::default()
    }

    /// The cached copy of `id`: fresh from the cache (`Hit`), fetched from upstream (`Miss`),
    /// or expired but served because upstream is failing (`Stale`).
    pub async fn get(&self, id: &DirectoryId) -> Result<Lookup, Error> {
        self.get_for(id, Route::Directory).await
    }

    /// [`Self::get`], counted in the metrics under `route` (a lookup reads its directory so).
    pub async fn get_for(&self, id: &DirectoryId, route: Route) -> Result<Lookup, Error> {
        self.read(id, route, Cause::Read).await
    }

    /// A read for `cause`, counted under `route`.
    async fn read(&self, id: &DirectoryId, route: Route, cause: Cause) -> Result<Lookup, Error> {
        // One clock read serves both the latency and the freshness check.
        let started = quanta::Instant::now();
        let result = self.lookup(id, started, cause).await;
        let outcome = result.as_ref().ok().map(|lookup| lookup.outcome);
        let elapsed = started.elapsed();
        self.inner.stats.record(outcome, elapsed);
        self.inner
            .metrics
            .record(route, outcome, elapsed.as_secs_f64());
        result
    }

    async fn lookup(
        &self,
        id: &DirectoryId,
        started: quanta::Instant,
        cause: Cause,
    ) -> Result<Lookup, Error> {
        let inner = &*self.inner;
        let pipeline = &*inner.pipeline;
        let backend: &dyn CacheBackend = &*pipeline.backend;
        let now = pipeline.clock.now_given(started);
        // The hit path: an in-process copy, no I/O, no future to allocate.
        if let Some(directory) = backend.peek(id)
            && directory.is_fresh_at(now)
        {
            return Ok(self.hit(directory, now));
        }
        pipeline.declared(id)?;
        let cached = match backend.get(id).await {
            Ok(cached) => cached,
            Err(e) => {
                // An unreadable or unreachable copy is a miss, never a failed request.
                pipeline.backend_failed("get", id, &e);
                None
            }
        };
        let now = pipeline.clock.now();
        if let Some(directory) = cached.as_ref().filter(|d| d.is_fresh_at(now)) {
            return Ok(self.hit(Arc::clone(directory), now));
        }
        if let Some(refusal) = pipeline.remembered_refusal(id).await {
            return Err(refusal);
        }
        let stale = cached
            .clone()
            .filter(|d| now < d.expires_at() + inner.stale_if_error);
        let retry_budget = stale.as_ref().map(|_| inner.stale_retry_budget);
        let refreshed = self
            .refresh(RefreshRequest {
                id: id.clone(),
                seen: cached,
                retry_budget,
                cause,
            })
            .await;
        match (refreshed, stale) {
            (Ok(refreshed), _) => Ok(Lookup {
                directory: refreshed.directory,
                outcome: Outcome::Miss,
            }),
            (Err(e), Some(directory)) if e.allows_stale() => {
                pipeline.auditor.record(
                    AuditEventKind::StaleServed,
                    id.as_str(),
                    json!({
                        "expired_seconds_ago": pipeline.clock.since(directory.expires_at()).as_secs(),
                        "fingerprint": directory.fingerprint().as_str(),
                        "error": e.to_string(),
                    }),
                );
                Ok(Lookup {
                    directory,
                    outcome: Outcome::Stale,
                })
            }
            (Err(e), _) => Err(e),
        }
    }

    fn hit(&self, directory: Arc<CachedDirectory>, now: SystemTime) -> Lookup {
        self.refresh_ahead_if_due(&directory, now);
        let auditor = &self.inner.pipeline.auditor;
        if auditor.hits_enabled() {
            auditor.hit(directory.directory_id().as_str(), Value::Null);
        }
        Lookup {
            directory,
            outcome: Outcome::Hit,
        }
    }

    /// Joins the refresh of `request.id` under way, or starts it (now, not when awaited).
    fn refresh(&self, request: RefreshRequest) -> SharedRefresh {
        let pipeline = Arc::clone(&self.inner.pipeline);
        let id = request.id.clone();
        self.inner.flights.join(&id, move || {
            async move { pipeline.refresh(request).await }.boxed()
        })
    }

    /// Starts a background refresh of a fresh copy read in the last part of its TTL, so that
    /// a directory that is read keeps being served from the cache.
    fn refresh_ahead_if_due(&self, directory: &Arc<CachedDirectory>, now: SystemTime) {
        let inner = &*self.inner;
        let ttl_ms = u64::from(directory.meta().ttl_seconds) * 1000;
        let window = Duration::from_millis(ttl_ms * u64::from(inner.refresh_ahead_permille) / 1000);
        if window.is_zero() || now + window < directory.expires_at() {
            return;
        }
        let id = directory.directory_id();
        if inner.flights.is_under_way(id) {
            return;
        }
        // The refresh runs in its own task; nobody waits for it.
        drop(self.refresh(RefreshRequest {
            id: id.clone(),
            seen: Some(Arc::clone(directory)),
            retry_budget: Some(inner.stale_retry_budget),
            cause: Cause::Read,
        }));
    }

    /// Removes `id` from the cache (every instance, for a shared backend), tells listeners and
    /// audits it. `true` if a copy was cached.
    pub async fn invalidate(&self, id: &DirectoryId) -> Result<bool, Error> {
        let pipeline = &*self.inner.pipeline;
        let removed = pipeline.backend.remove(id).await.inspect_err(|e| {
            pipeline.backend_failed("remove", id, e);
        })?;
        let forgot = pipeline.forget_refusal(id).await?;
        pipeline.publish_invalidation(id).await;
        metrics::invalidation();
        pipeline.auditor.record(
            AuditEventKind::CacheInvalidate,
            id.as_str(),
            json!({ "removed": removed, "negative_removed": forgot }),
        );
        pipeline.notifier.notify(DirectoryChange::new(
            ChangeKind::Invalidate,
            id.clone(),
            None,
            0,
            pipeline.clock.now(),
        ));
        Ok(removed)
    }

    /// Gets many directories, a bounded number at a time; yields each result as it completes.
    /// The ids are the caller's own choice, so they are never unknown: their fetches may use
    /// the whole upstream budget.
    pub fn warm(
        &self,
        ids: Vec<DirectoryId>,
    ) -> impl Stream<Item = (DirectoryId, Result<Outcome, Error>)> + Send + '_ {
        futures::stream::iter(ids)
            .map(move |id| async move {
                let result = self
                    .read(&id, Route::Directory, Cause::Warm)
                    .await
                    .map(|lookup| lookup.outcome);
                (id, result)
            })
            .buffer_unordered(self.inner.warm_concurrency)
    }

    /// Request statistics and the number of cached directories.
    pub async fn stats(&self) -> CacheStats {
        let pipeline = &*self.inner.pipeline;
        let size = match pipeline.backend.len().await {
            Ok(size) => size,
            Err(e) => {
                metrics::backend_error(pipeline.backend.name(), "len");
                tracing::warn!(error = %e, "cache backend failed to count directories");
                0
            }
        };
        self.inner.stats.snapshot(size)
    }

    /// Whether the backend can be reached (readiness).
    pub async fn ping(&self) -> Result<(), Error> {
        self.inner.pipeline.backend.ping().await
    }

    /// The backend this cache stores into.
    pub fn backend(&self) -> &Arc<dyn CacheBackend> {
        &self.inner.pipeline.backend
    }

    /// The TTL matrix.
    pub fn ttl(&self) -> &TtlMatrix {
        &self.inner.pipeline.ttl
    }
}

/// Builds a [`DirectoryCache`]; only the source is required.
#[must_use]
#[derive(Debug, Default)]
pub struct DirectoryCacheBuilder {
    source: Option<Arc<dyn DirectorySource>>,
    backend: Option<Arc<dyn CacheBackend>>,
    ttl: TtlMatrix,
    limits: Limits,
    eager_encodings: Option<Vec<ContentCoding>>,
    stale_if_error: Option<Duration>,
    stale_retry_budget: Option<Duration>,
    refresh_ahead: Option<f64>,
    warm_concurrency: Option<usize>,
    auditor: Option<Auditor>,
    listeners: Vec<Arc<dyn ChangeListener>>,
    listener_timeout: Option<Duration>,
    lock_lease: Option<Duration>,
    lock_wait: Option<Duration>,
    negative_ttl: Option<Duration>,
    declared: crate::DeclaredDirectories,
    clock: Option<Clock>,
}

impl DirectoryCacheBuilder {
    /// Where directories come from (required): a `GenesysClient`, or any [`DirectorySource`].
    pub fn source(self, source: impl DirectorySource) -> Self {
        self.shared_source(Arc::new(source))
    }

    /// Like [`Self::source`], for a source that is already shared.
    pub fn shared_source(mut self, source: Arc<dyn DirectorySource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Where copies are stored (default: a [`MemoryBackend`] with default bounds, which keeps
    /// copies for the stale window and judges retention by this cache's clock). A backend
    /// given here keeps its own retention and clock: build it with the same ones.
    pub fn backend(self, backend: impl CacheBackend) -> Self {
        self.shared_backend(Arc::new(backend))
    }

    /// Like [`Self::backend`], for a backend that is already shared.
    pub fn shared_backend(mut self, backend: Arc<dyn CacheBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// The TTL of each directory (default: 300 s for all).
    pub fn ttl(mut self, ttl: TtlMatrix) -> Self {
        self.ttl = ttl;
        self
    }

    /// What a directory must meet to be cached (default: at most 500 entries).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The compressed forms of a body made when a copy is written (default zstd and gzip);
    /// the others are made when first asked for, then kept with the copy.
    pub fn eager_encodings(mut self, codings: &[ContentCoding]) -> Self {
        self.eager_encodings = Some(codings.to_vec());
        self
    }

    /// How long after expiry a copy may still be served while upstream fails (default 3600 s).
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = Some(window);
        self
    }

    /// How long upstream may take, retries included, when an expired copy could be served
    /// instead (default 2 s): a caller with a stale copy in hand does not wait out the whole
    /// retry budget.
    pub fn stale_retry_budget(mut self, budget: Duration) -> Self {
        self.stale_retry_budget = Some(budget);
        self
    }

    /// The last fraction of a TTL in which a read starts a background refresh (default 0.2;
    /// 0 turns refresh-ahead off).
    pub fn refresh_ahead(mut self, fraction: f64) -> Self {
        self.refresh_ahead = Some(fraction);
        self
    }

    /// How many directories `warm` fetches at a time (default 8).
    pub fn warm_concurrency(mut self, concurrency: usize) -> Self {
        self.warm_concurrency = Some(concurrency);
        self
    }

    /// Where audit events go (default: nowhere).
    pub fn auditor(mut self, auditor: Auditor) -> Self {
        self.auditor = Some(auditor);
        self
    }

    /// Adds a change listener, called after a fill, an overwrite and an invalidation.
    pub fn listener(mut self, listener: Arc<dyn ChangeListener>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// How long one listener call may take before it is abandoned (default 5 s).
    pub fn listener_timeout(mut self, timeout: Duration) -> Self {
        self.listener_timeout = Some(timeout);
        self
    }

    /// For a shared backend: the lease of the cross-instance refresh lock (default 30 s,
    /// renewed while the fetch runs) and how long other instances wait for the holder's
    /// result before fetching themselves (default 35 s).
    pub fn refresh_lock(mut self, lease: Duration, wait: Duration) -> Self {
        self.lock_lease = Some(lease);
        self.lock_wait = Some(wait);
        self
    }

    /// How long upstream's 404 and 403 answers are remembered, so that asking again costs no
    /// upstream request (default 30 s, at most [`MAX_NEGATIVE_TTL`](crate::MAX_NEGATIVE_TTL);
    /// zero turns negative caching off).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// The ids that are declared, hence never unknown: their first fetch may use the whole
    /// upstream budget, not only the unknown share (default: none).
    pub fn declared(mut self, declared: crate::DeclaredDirectories) -> Self {
        self.declared = declared;
        self
    }

    /// The clock freshness is judged by (default: a [`Clock`] anchored now).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the cache.
    pub fn build(self) -> Result<DirectoryCache, Error> {
        let source = self.source.ok_or(Error::Config {
            setting: CacheField::Source.into(),
            reason: "a cache needs a directory source (e.g. a GenesysClient)".into(),
        })?;
        let refresh_ahead = self.refresh_ahead.unwrap_or(0.2);
        if !(0.0..1.0).contains(&refresh_ahead) {
            return Err(Error::Config {
                setting: CacheField::RefreshAhead.into(),
                reason: format!("{refresh_ahead} is not a fraction of the TTL in 0..1"),
            });
        }
        let warm_concurrency = self.warm_concurrency.unwrap_or(8);
        if warm_concurrency == 0 {
            return Err(Error::Config {
                setting: CacheField::WarmConcurrency.into(),
                reason: "must be at least 1".into(),
            });
        }
        let negative_ttl = self.negative_ttl.unwrap_or(Duration::from_secs(30));
        if negative_ttl > crate::MAX_NEGATIVE_TTL {
            return Err(Error::Config {
                setting: CacheField::NegativeTtl.into(),
                reason: format!(
                    "{} s is longer than the {} s a refusal may be remembered",
                    negative_ttl.as_secs(),
                    crate::MAX_NEGATIVE_TTL.as_secs()
                ),
            });
        }
        let auditor = self.auditor.unwrap_or_else(Auditor::disabled);
        let clock = self.clock.unwrap_or_default();
        let stale_if_error = self.stale_if_error.unwrap_or(Duration::from_secs(3600));
        let backend = self.backend.unwrap_or_else(|| {
            Arc::new(
                MemoryBackend::builder()
                    .retention(stale_if_error)
                    .clock(clock)
                    .auditor(auditor.clone())
                    .build(),
            )
        });
        let notifier = ChangeNotifier::new(
            self.listeners,
            self.listener_timeout.unwrap_or(Duration::from_secs(5)),
            auditor.clone(),
        );
        let pipeline = Pipeline {
            source,
            backend,
            ttl: self.ttl,
            limits: self.limits,
            forms: FormWorker::start(
                self.eager_encodings
                    .as_deref()
                    .unwrap_or(&crate::DEFAULT_EAGER_ENCODINGS),
            ),
            clock,
            auditor,
            notifier,
            lock_lease: self.lock_lease.unwrap_or(Duration::from_secs(30)),
            lock_wait: self.lock_wait.unwrap_or(Duration::from_secs(35)),
            negative_ttl,
            declared: self.declared,
        };
        Ok(DirectoryCache {
            inner: Arc::new(Inner {
                pipeline: Arc::new(pipeline),
                flights: Arc::default(),
                stale_if_error,
                stale_retry_budget: self.stale_retry_budget.unwrap_or(Duration::from_secs(2)),
                refresh_ahead_permille: (refresh_ahead * 1000.0).round() as u32,
                warm_concurrency,
                stats: StatsRecorder::default(),
                metrics: RequestMetrics::register(),
            }),
        })
    }
}
