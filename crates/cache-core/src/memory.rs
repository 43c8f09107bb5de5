//! `MemoryBackend`: the in-process `CacheBackend` on moka, bounded by entries and bytes, with
//! per-entry expiry.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use audit::{AuditEventKind, Auditor};
use metrics::{Counter, Gauge};
use moka::Expiry;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use serde_json::json;

use crate::{
    CacheBackend, CachedDirectory, Clock, DirectoryId, Error, InProcessNegatives,
    InvalidationNotices, NegativeCache, PutOutcome, RefreshLock,
};

const EVICTIONS: &str = "dircache_evictions_total";
const CACHED_DIRECTORIES: &str = "dircache_cached_directories";
const CACHED_BYTES: &str = "dircache_cached_bytes";

/// Describes the in-memory backend's metrics (HELP text) to the installed recorder.
pub(crate) fn describe() {
    metrics::describe_counter!(
        EVICTIONS,
        "Directories evicted from the in-memory cache, by cause: size (a bound was reached) or \
         expired (kept past expiry for the retention window, then dropped)."
    );
    metrics::describe_gauge!(
        CACHED_DIRECTORIES,
        "Directories held in the in-memory cache, fresh or retained for stale-if-error."
    );
    metrics::describe_gauge!(
        CACHED_BYTES,
        "Approximate bytes of the directories held in the in-memory cache."
    );
}

/// An in-process [`CacheBackend`] on [`moka`]: bounded by directory count and by bytes, each
/// copy dropped once it has been expired for longer than the retention window.
///
/// The backend keeps expired copies for the retention window because freshness is the
/// pipeline's decision: an expired copy is what stale-if-error serves while upstream fails.
///
/// Cloning is cheap and every clone shares one cache; there is no need to wrap it in an `Arc`.
///
/// Metrics (`dircache_evictions_total`, `dircache_cached_directories`,
/// `dircache_cached_bytes`) are registered with the recorder installed when
/// [`MemoryBackendBuilder::build`] runs, so install the recorder first.
///
/// ```
/// use std::sync::Arc;
/// use cache_core::{CacheBackend, MemoryBackend};
///
/// let backend: Arc<dyn CacheBackend> = Arc::new(
///     MemoryBackend::builder()
///         .max_entries(1_000)
///         .max_bytes(64 * 1024 * 1024)
///         .build(),
/// );
/// assert_eq!(backend.name(), "memory");
/// ```
#[derive(Clone)]
pub struct MemoryBackend {
    cache: Cache<DirectoryId, Arc<CachedDirectory>>,
    ledger: Arc<Ledger>,
    bounds: Bounds,
    retained: RetainAfterExpiry,
    negatives: InProcessNegatives,
}

impl MemoryBackend {
    /// A builder with the defaults: 10,000 directories, 256 MiB, one hour of retention, no
    /// auditing.
    pub fn builder() -> MemoryBackendBuilder {
        MemoryBackendBuilder::default()
    }

    /// How many directories are held. Eventually consistent: pending evictions are counted
    /// until [`MemoryBackend::run_pending_tasks`] (or the cache's own housekeeping) runs.
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// The weight charged against `max_bytes`: each directory counts its size in bytes, but at
    /// least `max_bytes / max_entries`, which is how one moka capacity enforces both bounds.
    /// Eventually consistent, like [`MemoryBackend::entry_count`].
    pub fn weighted_size(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// The approximate bytes of the directories held (what `dircache_cached_bytes` reports),
    /// without the minimum weight [`MemoryBackend::weighted_size`] charges.
    pub fn cached_bytes(&self) -> u64 {
        u64::try_from(self.ledger.bytes.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Runs the cache's pending housekeeping now (evictions, expiry, counts), so that the
    /// counts and metrics are exact afterwards.
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }

    /// The clock this backend judges retention by.
    pub fn clock(&self) -> Clock {
        self.retained.clock
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("max_entries", &self.bounds.max_entries)
            .field("max_bytes", &self.bounds.max_bytes)
            .field("retention", &self.bounds.retention)
            .field("entry_count", &self.cache.entry_count())
            .field("cached_bytes", &self.cached_bytes())
            .finish()
    }
}

#[async_trait]
impl CacheBackend for MemoryBackend {
    async fn get(&self, id: &DirectoryId) -> Result<Option<Arc<CachedDirectory>>, Error> {
        // moka drops a copy on its own timer; this clock decides, so that a copy past its
        // retention is gone at the same moment for the pipeline, whatever moka's timer says.
        Ok(self
            .cache
            .get(id)
            .filter(|directory| self.retained.remaining(directory) != Some(Duration::ZERO)))
    }

    fn peek(&self, id: &DirectoryId) -> Option<Arc<CachedDirectory>> {
        self.cache.get(id)
    }

    async fn put(&self, directory: Arc<CachedDirectory>) -> Result<PutOutcome, Error> {
        let candidate = Arc::clone(&directory);
        // The compute runs under moka's per-key lock, so the comparison and the write are one
        // step: a concurrent put of an older copy cannot slip in between them.
        let result = self
            .cache
            .entry(directory.directory_id().clone())
            .and_compute_with(move |stored| match stored {
                Some(stored) if stored.value().checked_at() > candidate.checked_at() => Op::Nop,
                _ => Op::Put(candidate),
            });
        match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => {
                self.ledger.stored(&directory);
                Ok(PutOutcome::Written)
            }
            CompResult::Unchanged(stored) => Ok(PutOutcome::KeptNewer(stored.into_value())),
            CompResult::StillNone(_) | CompResult::Removed(_) => Err(Error::Backend {
                backend: "memory",
                reason: format!(
                    "the copy of `{}` was neither written nor kept",
                    directory.directory_id()
                ),
                source: None,
            }),
        }
    }

    async fn remove(&self, id: &DirectoryId) -> Result<bool, Error> {
        Ok(self.cache.remove(id).is_some())
    }

    async fn list(&self) -> Result<Vec<DirectoryId>, Error> {
        Ok(self.cache.iter().map(|(id, _)| (*id).clone()).collect())
    }

    async fn len(&self) -> Result<usize, Error> {
        self.cache.run_pending_tasks();
        Ok(usize::try_from(self.cache.entry_count()).unwrap_or(usize::MAX))
    }

    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }

    // One process needs no cross-instance coordination: the pipeline's in-process single
    // flight already makes one fetch per directory.
    fn refresh_lock(&self) -> Option<&dyn RefreshLock> {
        None
    }

    fn invalidations(&self) -> Option<&dyn InvalidationNotices> {
        None
    }

    fn negatives(&self) -> &dyn NegativeCache {
        &self.negatives
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

/// Builds a [`MemoryBackend`].
#[derive(Debug)]
#[must_use]
pub struct MemoryBackendBuilder {
    bounds: Bounds,
    eviction_auditor: Auditor,
    retention_clock: Clock,
}

impl Default for MemoryBackendBuilder {
    fn default() -> Self {
        Self {
            bounds: Bounds {
                max_entries: 10_000,
                max_bytes: 256 * 1024 * 1024,
                retention: Duration::from_secs(3600),
            },
            eviction_auditor: Auditor::disabled(),
            retention_clock: Clock::new(),
        }
    }
}

impl MemoryBackendBuilder {
    /// The most directories held at once (default 10,000); beyond it the least recently used
    /// ones are evicted. Zero holds nothing.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.bounds.max_entries = max_entries;
        self
    }

    /// The most bytes of directories held at once, as measured by
    /// [`CachedDirectory::size_bytes`] (default 256 MiB); beyond it the least recently used
    /// ones are evicted.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.bounds.max_bytes = max_bytes;
        self
    }

    /// How long a copy is kept after it expires (default 3600 s), so that stale-if-error can
    /// still serve it while upstream fails. Match it to the pipeline's stale window.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.bounds.retention = retention;
        self
    }

    /// Where `cache_evict` events go (default: nowhere).
    pub fn auditor(mut self, auditor: Auditor) -> Self {
        self.eviction_auditor = auditor;
        self
    }

    /// The clock retention is judged by (default [`Clock::new`]); give it the pipeline's.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.retention_clock = clock;
        self
    }

    /// Builds the backend and registers its metrics with the installed recorder.
    pub fn build(self) -> MemoryBackend {
        describe();
        let Bounds {
            max_entries,
            max_bytes,
            retention,
        } = self.bounds;
        // moka has one capacity. Charging every directory at least `min_weight` and lowering
        // the capacity to a multiple of it makes that capacity hold at most `max_entries`
        // directories and at most `max_bytes` bytes; it is only conservative when small and
        // large directories are mixed.
        let (min_weight, capacity) = if max_entries == 0 {
            (1, 0)
        } else if max_bytes < max_entries {
            (1, max_bytes)
        } else {
            let min_weight = u32::try_from(max_bytes / max_entries).unwrap_or(u32::MAX);
            (
                min_weight,
                u64::from(min_weight).saturating_mul(max_entries),
            )
        };
        let retained = RetainAfterExpiry {
            retention,
            clock: self.retention_clock,
        };
        let ledger = Arc::new(Ledger::new(self.eviction_auditor));
        let listener_ledger = Arc::clone(&ledger);
        let cache = Cache::builder()
            .max_capacity(capacity)
            // LRU rather than moka's default TinyLFU: a copy was just fetched at the cost of
            // rate-limited upstream calls, and admission control could refuse it, so the next
            // get would fetch it again. A `Written` put must mean it is held.
            .eviction_policy(EvictionPolicy::lru())
            .weigher(move |_id, directory: &Arc<CachedDirectory>| {
                u32::try_from(directory.size_bytes())
                    .unwrap_or(u32::MAX)
                    .max(min_weight)
            })
            .expire_after(retained)
            .eviction_listener(move |id, directory, cause| {
                listener_ledger.removed(&id, &directory, cause);
            })
            .build();
        MemoryBackend {
            cache,
            ledger,
            bounds: self.bounds,
            negatives: InProcessNegatives::new(max_entries, self.retention_clock),
            retained,
        }
    }
}

/// The configured bounds, kept for `Debug`.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    max_entries: u64,
    max_bytes: u64,
    retention: Duration,
}

/// Keeps each copy until its `expires_at` plus the retention window, by the pipeline's clock.
#[derive(Clone, Copy)]
struct RetainAfterExpiry {
    retention: Duration,
    clock: Clock,
}

impl RetainAfterExpiry {
    fn remaining(&self, directory: &CachedDirectory) -> Option<Duration> {
        // A retention too long to add to a time means "keep until evicted for size".
        let until = directory.expires_at().checked_add(self.retention)?;
        Some(until.duration_since(self.clock.now()).unwrap_or_default())
    }
}

impl Expiry<DirectoryId, Arc<CachedDirectory>> for RetainAfterExpiry {
    fn expire_after_create(
        &self,
        _id: &DirectoryId,
        directory: &Arc<CachedDirectory>,
        _created_at: Instant,
    ) -> Option<Duration> {
        self.remaining(directory)
    }

    fn expire_after_update(
        &self,
        _id: &DirectoryId,
        directory: &Arc<CachedDirectory>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.remaining(directory)
    }
}

/// Accounts for the copies the cache holds and records evictions.
///
/// Every copy written is counted once by [`Ledger::stored`] and uncounted once when moka
/// reports its removal, whatever the cause (replaced, removed, evicted), so the gauges follow
/// the content without reading moka's counts, which the eviction listener cannot reach.
struct Ledger {
    auditor: Auditor,
    evicted_for_size: Counter,
    evicted_expired: Counter,
    directories_gauge: Gauge,
    bytes_gauge: Gauge,
    directories: AtomicI64,
    bytes: AtomicI64,
}

impl Ledger {
    fn new(auditor: Auditor) -> Self {
        Self {
            auditor,
            evicted_for_size: metrics::counter!(EVICTIONS, "cause" => "size"),
            evicted_expired: metrics::counter!(EVICTIONS, "cause" => "expired"),
            directories_gauge: metrics::gauge!(CACHED_DIRECTORIES),
            bytes_gauge: metrics::gauge!(CACHED_BYTES),
            directories: AtomicI64::new(0),
            bytes: AtomicI64::new(0),
        }
    }

    fn stored(&self, directory: &CachedDirectory) {
        let bytes = size_of_directory(directory);
        self.directories.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        // Increments rather than sets: concurrent updates cannot then leave a stale value.
        self.directories_gauge.increment(1.0);
        self.bytes_gauge.increment(bytes as f64);
    }

    fn removed(&self, id: &DirectoryId, directory: &CachedDirectory, cause: RemovalCause) {
        let bytes = size_of_directory(directory);
        self.directories.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.directories_gauge.decrement(1.0);
        self.bytes_gauge.decrement(bytes as f64);
        let cause = match cause {
            RemovalCause::Size => {
                self.evicted_for_size.increment(1);
                "size"
            }
            RemovalCause::Expired => {
                self.evicted_expired.increment(1);
                "expired"
            }
            RemovalCause::Explicit | RemovalCause::Replaced => return,
        };
        self.auditor.record(
            AuditEventKind::CacheEvict,
            id.as_str(),
            json!({
                "cause": cause,
                "entry_count": directory.entry_count(),
                "fingerprint": directory.fingerprint().as_str(),
            }),
        );
    }
}

impl Drop for Ledger {
    // moka does not report the copies still held when the cache itself is dropped: take them
    // off the gauges here, so a process that rebuilds its backend reports only the live one.
    fn drop(&mut self) {
        self.directories_gauge
            .decrement(*self.directories.get_mut() as f64);
        self.bytes_gauge.decrement(*self.bytes.get_mut() as f64);
    }
}

fn size_of_directory(directory: &CachedDirectory) -> i64 {
    i64::try_from(directory.size_bytes()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::SystemTime;

    use audit::MemoryAuditSink;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use serde_json::Value;

    use super::*;
    use crate::conformance::{self, now_millis, sample_directory};

    fn backend() -> Arc<dyn CacheBackend> {
        Arc::new(MemoryBackend::builder().build())
    }

    mod conformance_suite {
        crate::conformance_tests!(async { ((), super::backend()) });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_whole_suite_runs_on_one_backend() {
        conformance::run_all(backend()).await;
    }

    /// A backend whose metrics go to a recorder of its own and whose audit events are kept.
    fn observed(builder: MemoryBackendBuilder) -> (MemoryBackend, Snapshotter, MemoryAuditSink) {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let sink = MemoryAuditSink::new();
        let auditor = Auditor::new(Arc::new(sink.clone()), "test-instance");
        let backend = metrics::with_local_recorder(&recorder, || builder.auditor(auditor).build());
        (backend, snapshotter, sink)
    }

    /// Metric values by name and labels (`name{k=v}`); reading resets them, so read once.
    fn read_metrics(snapshotter: &Snapshotter) -> HashMap<String, f64> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                let name = if labels.is_empty() {
                    key.name().to_owned()
                } else {
                    format!("{}{{{}}}", key.name(), labels.join(","))
                };
                let value = match value {
                    DebugValue::Counter(n) => n as f64,
                    DebugValue::Gauge(g) => g.into_inner(),
                    DebugValue::Histogram(_) => f64::NAN,
                };
                (name, value)
            })
            .collect()
    }

    fn id(text: &str) -> DirectoryId {
        DirectoryId::new(text).unwrap()
    }

    #[tokio::test]
    async fn eviction_by_bytes_stays_under_the_bound_and_is_counted_and_audited() {
        // The probe's id has the length of the others, so all weigh the same.
        let one = sample_directory("dir-99", 20, now_millis()).size_bytes() as u64;
        let max_bytes = one * 10 + one / 2;
        let (backend, snapshotter, sink) = observed(
            MemoryBackend::builder()
                .max_bytes(max_bytes)
                .max_entries(1_000),
        );
        let mut written = Vec::new();
        for i in 0..30 {
            let directory = sample_directory(&format!("dir-{i:02}"), 20, now_millis());
            written.push(directory.clone());
            assert!(backend.put(directory).await.unwrap().is_written());
        }
        backend.run_pending_tasks();

        assert!(
            backend.weighted_size() <= max_bytes,
            "{} > {max_bytes}",
            backend.weighted_size()
        );
        assert!(backend.cached_bytes() <= max_bytes);
        let held = backend.entry_count();
        assert_eq!(held, 10, "ten directories of this size fit");
        assert_eq!(backend.list().await.unwrap().len() as u64, held);
        let evicted = 30 - held;

        // Least recently used go first: the last written are still there.
        assert!(backend.get(&id("dir-29")).await.unwrap().is_some());
        assert!(!holds(&backend, &id("dir-00")).await);

        let metrics = read_metrics(&snapshotter);
        assert_eq!(
            metrics[r#"dircache_evictions_total{cause=size}"#],
            evicted as f64
        );
        assert_eq!(metrics[r#"dircache_evictions_total{cause=expired}"#], 0.0);
        assert_eq!(metrics["dircache_cached_directories"], held as f64);
        assert_eq!(metrics["dircache_cached_bytes"], (held * one) as f64);

        let events = sink.events();
        assert_eq!(events.len() as u64, evicted);
        for event in &events {
            assert_eq!(event.event, AuditEventKind::CacheEvict);
            assert_eq!(event.instance_id, "test-instance");
            let directory = written
                .iter()
                .find(|d| d.directory_id().as_str() == event.directory_id)
                .expect("an evicted directory was one written");
            assert_eq!(
                Value::Object(event.details.clone()),
                json!({
                    "cause": "size",
                    "entry_count": 20,
                    "fingerprint": directory.fingerprint().as_str(),
                })
            );
        }
        let line = serde_json::to_string(&events).unwrap();
        assert!(!line.contains("Zoë"), "audit lines carry no entry contents");
    }

    #[tokio::test]
    async fn eviction_by_entry_count_holds_at_most_max_entries() {
        let (backend, snapshotter, sink) = observed(MemoryBackend::builder().max_entries(5));
        for i in 0..12 {
            let directory = sample_directory(&format!("small-{i:02}"), 1, now_millis());
            backend.put(directory).await.unwrap();
        }
        backend.run_pending_tasks();

        assert_eq!(backend.entry_count(), 5);
        assert_eq!(backend.list().await.unwrap().len(), 5);
        for i in 7..12 {
            let kept = id(&format!("small-{i:02}"));
            assert!(
                backend.get(&kept).await.unwrap().is_some(),
                "{kept} evicted"
            );
        }
        let metrics = read_metrics(&snapshotter);
        assert_eq!(metrics[r#"dircache_evictions_total{cause=size}"#], 7.0);
        assert_eq!(metrics["dircache_cached_directories"], 5.0);
        assert_eq!(sink.count(AuditEventKind::CacheEvict), 7);
    }

    async fn holds(backend: &MemoryBackend, id: &DirectoryId) -> bool {
        backend.get(id).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn zero_entries_holds_nothing() {
        let backend = MemoryBackend::builder().max_entries(0).build();
        let directory = sample_directory("nothing", 1, now_millis());
        backend.put(directory.clone()).await.unwrap();
        backend.run_pending_tasks();
        assert!(!holds(&backend, directory.directory_id()).await);
        assert_eq!(backend.entry_count(), 0);
    }

    // moka keeps real time, so this test waits in real time rather than pausing tokio's clock.
    #[tokio::test]
    async fn a_copy_is_kept_for_the_retention_window_after_expiry_then_dropped() {
        let retention = Duration::from_secs(2);
        let (backend, snapshotter, sink) = observed(MemoryBackend::builder().retention(retention));
        let expired_for = Duration::from_millis(500);
        let start = Instant::now();
        let checked_at = now_millis() - conformance::SAMPLE_TTL.as_duration() - expired_for;
        let directory = sample_directory("short-lived", 3, checked_at);
        let long_gone = sample_directory("long-gone", 3, checked_at - Duration::from_secs(60));
        backend.put(directory.clone()).await.unwrap();
        backend.put(long_gone.clone()).await.unwrap();

        let found = backend.get(directory.directory_id()).await.unwrap();
        // A stalled machine may take longer than the window; only then is None acceptable.
        if start.elapsed() < retention - expired_for - Duration::from_millis(100) {
            let found = found.expect("an expired copy is kept for the retention window");
            assert!(!found.is_fresh_at(SystemTime::now()));
        }
        assert!(
            !holds(&backend, long_gone.directory_id()).await,
            "a copy expired for longer than the retention window is not kept"
        );

        tokio::time::sleep(retention).await;
        assert!(!holds(&backend, directory.directory_id()).await);
        backend.run_pending_tasks();
        assert_eq!(backend.entry_count(), 0);
        assert!(backend.list().await.unwrap().is_empty());
        assert_eq!(backend.cached_bytes(), 0);

        let metrics = read_metrics(&snapshotter);
        assert_eq!(metrics[r#"dircache_evictions_total{cause=expired}"#], 2.0);
        assert_eq!(metrics[r#"dircache_evictions_total{cause=size}"#], 0.0);
        assert_eq!(metrics["dircache_cached_directories"], 0.0);
        let causes: Vec<_> = sink
            .events()
            .iter()
            .map(|e| e.details["cause"].clone())
            .collect();
        assert_eq!(causes, [json!("expired"), json!("expired")]);
    }

    #[tokio::test]
    async fn gauges_follow_writes_replacements_and_removals_which_are_not_evictions() {
        let (backend, snapshotter, sink) = observed(MemoryBackend::builder());
        let now = now_millis();
        let a = sample_directory("gauge-a", 1, now);
        let b = sample_directory("gauge-b", 10, now);
        let c = sample_directory("gauge-c", 100, now);
        let b_newer = sample_directory("gauge-b", 40, now + Duration::from_secs(1));
        let b_older = sample_directory("gauge-b", 2, now - Duration::from_secs(1));
        for directory in [&a, &b, &c, &b_newer] {
            assert!(
                backend
                    .put(Arc::clone(directory))
                    .await
                    .unwrap()
                    .is_written()
            );
        }
        assert!(!backend.put(b_older).await.unwrap().is_written());
        assert!(backend.remove(c.directory_id()).await.unwrap());
        backend.run_pending_tasks();

        let expected_bytes = (a.size_bytes() + b_newer.size_bytes()) as u64;
        assert_eq!(backend.entry_count(), 2);
        assert_eq!(backend.cached_bytes(), expected_bytes);
        let metrics = read_metrics(&snapshotter);
        assert_eq!(metrics["dircache_cached_directories"], 2.0);
        assert_eq!(metrics["dircache_cached_bytes"], expected_bytes as f64);
        assert_eq!(metrics[r#"dircache_evictions_total{cause=size}"#], 0.0);
        assert_eq!(metrics[r#"dircache_evictions_total{cause=expired}"#], 0.0);
        assert!(
            sink.is_empty(),
            "removals and replacements are not evictions"
        );
    }

    #[tokio::test]
    async fn forms_made_after_the_put_leave_the_byte_count_as_it_was() {
        let (backend, _snapshotter, _sink) = observed(MemoryBackend::builder());
        let directory = sample_directory("forms", 40, now_millis());
        let weight = directory.size_bytes();
        backend.put(Arc::clone(&directory)).await.unwrap();
        backend.run_pending_tasks();
        assert_eq!(backend.cached_bytes(), weight as u64);
        // Eager forms made on their thread, and one made when a client first asks for it.
        directory.prepare_encodings(&crate::DEFAULT_EAGER_ENCODINGS);
        assert!(directory.encoded(crate::ContentCoding::Brotli).is_some());
        assert_eq!(
            directory.size_bytes(),
            weight,
            "a copy weighs the same all its life"
        );
        assert!(backend.remove(directory.directory_id()).await.unwrap());
        backend.run_pending_tasks();
        assert_eq!(
            backend.cached_bytes(),
            0,
            "what was added is what is taken off"
        );
    }

    #[tokio::test]
    async fn dropping_the_backend_takes_its_copies_off_the_gauges() {
        let (backend, snapshotter, _sink) = observed(MemoryBackend::builder());
        backend
            .put(sample_directory("dropped", 5, now_millis()))
            .await
            .unwrap();
        let clone = backend.clone();
        drop(backend);
        assert!(
            clone.get(&id("dropped")).await.unwrap().is_some(),
            "clones share one cache"
        );
        drop(clone);
        let metrics = read_metrics(&snapshotter);
        assert_eq!(metrics["dircache_cached_directories"], 0.0);
        assert_eq!(metrics["dircache_cached_bytes"], 0.0);
    }

    #[test]
    fn a_single_process_needs_no_coordination() {
        let backend = MemoryBackend::builder().build();
        assert!(backend.refresh_lock().is_none());
        assert!(backend.invalidations().is_none());
        assert_eq!(backend.name(), "memory");
        let debug = format!("{backend:?}");
        assert!(debug.contains("max_entries: 10000"), "{debug}");
    }
}
