//! The backend conformance suite: one `pub async fn` per behaviour every `CacheBackend` must
//! show, the shared test directories, and a backend wrapper that scripts reads.
//!
//! A backend's tests call each behaviour (one test per behaviour names the failure) or
//! [`run_all`]. Each behaviour panics with a message naming the backend and what went wrong,
//! uses directory ids of its own (prefixed `conformance.`), and removes them first, so a rerun
//! on a persistent backend starts clean. A behaviour expects no other writer on the backend
//! while it runs: give each test its own backend (or, for a shared server, its own key prefix).
//!
//! Times in the test directories are whole milliseconds: a backend must keep at least
//! millisecond precision.
//!
//! ```
//! use std::sync::Arc;
//! use cache_core::{CacheBackend, MemoryBackend, conformance};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let backend: Arc<dyn CacheBackend> = Arc::new(MemoryBackend::builder().build());
//! conformance::run_all(backend).await;
//! # });
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod intercepted;
mod refusals;

pub use intercepted::{InterceptedBackend, Read, ReadHook};
pub use refusals::refusals_are_remembered_until_expiry;

use genesys_client::{Entry, Fingerprint};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::{
    CacheBackend, CacheBackendExt, CachedDirectory, DirectoryId, DirectoryMeta,
    InvalidationDirective, InvalidationNotice, LockToken, PutOutcome, RefreshLock, Ttl,
};

/// Generates one `#[tokio::test]` per conformance behaviour, so that a failure names the
/// behaviour. `$setup` is an async expression, evaluated afresh in each test, that gives a
/// `(guard, Arc<dyn CacheBackend>)`; the guard (a server process, say) lives until the
/// behaviour has run. The calling crate needs tokio's `macros` and `rt-multi-thread` features.
///
/// ```ignore
/// mod memory {
///     cache_core::conformance_tests!(async {
///         let backend: std::sync::Arc<dyn cache_core::CacheBackend> =
///             std::sync::Arc::new(cache_core::MemoryBackend::builder().build());
///         ((), backend)
///     });
/// }
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($setup:expr) => {
        $crate::conformance_tests!(@list test [$setup]);
    };
    // The one list of behaviours, handed to the test generator or to `run_all`.
    (@list $mode:ident [$($arg:tt)*]) => {
        $crate::conformance_tests!(@$mode [$($arg)*]
            ping_and_name,
            put_then_get_round_trips,
            get_unknown_is_none,
            older_put_keeps_newer,
            newer_or_equal_put_replaces,
            remove_then_gone,
            list_shows_puts_not_removals,
            len_and_contains_agree,
            concurrent_puts_leave_newest,
            expired_copy_is_still_returned,
            large_non_ascii_directory_round_trips,
            peek_is_the_stored_copy_or_nothing,
            refresh_lock_excludes_until_released,
            refresh_lock_waiters_wake_on_release,
            refresh_lock_of_a_dead_holder_expires,
            invalidation_notices_reach_subscribers,
            refusals_are_remembered_until_expiry,
        );
    };
    (@test [$setup:expr] $($behaviour:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $behaviour() {
            let (_guard, backend) = $setup.await;
            $crate::conformance::$behaviour(backend).await;
        }
    )*};
    (@run [$backend:expr] $($behaviour:ident),* $(,)?) => {$(
        $crate::conformance::$behaviour(::std::sync::Arc::clone(&$backend)).await;
    )*};
}

/// The TTL of every [`sample_directory`].
pub const SAMPLE_TTL: Ttl = Ttl::DEFAULT;

/// A deterministic test directory: `entries` entries with non-ASCII names and every kind of
/// field (`null`, nested objects, unknown fields), checked upstream at `checked_at`, created
/// a minute earlier, with the [`SAMPLE_TTL`], an `ETag` and a `Last-Modified`.
///
/// The same arguments always give the same bytes. Shared by every backend's tests.
///
/// # Panics
///
/// When `id` is not a valid [`DirectoryId`].
pub fn sample_directory(id: &str, entries: usize, checked_at: SystemTime) -> Arc<CachedDirectory> {
    let directory_id = DirectoryId::new(id)
        .unwrap_or_else(|e| panic!("sample_directory needs a valid directory id: {e}"));
    let entries: Vec<Entry> = (0..entries).map(|i| sample_entry(id, i)).collect();
    let entries_json =
        serde_json::to_vec(&entries).expect("a list of JSON objects always serialises");
    let fingerprint = Fingerprint::of(&entries);
    let tag: String = fingerprint
        .as_str()
        .chars()
        .skip("xxh3:".len())
        .take(16)
        .collect();
    let meta = DirectoryMeta {
        directory_id,
        source: crate::Declaration::ROUTING_DIRECTORY.source.to_owned(),
        ttl_seconds: SAMPLE_TTL.as_secs(),
        created_at: checked_at
            .checked_sub(Duration::from_secs(60))
            .unwrap_or(checked_at),
        checked_at,
        last_modified: Some("Wed, 21 Oct 2026 07:28:00 GMT".to_owned()),
        etag: Some(format!("W/\"{tag}\"")),
        fingerprint,
        invalidation_directive: InvalidationDirective::Fresh,
        entry_count: entries.len(),
    };
    let directory = CachedDirectory::from_parts(meta, &entries_json)
        .unwrap_or_else(|e| panic!("sample_directory cannot build `{id}`: {e}"));
    Arc::new(directory)
}

fn sample_entry(directory: &str, i: usize) -> Entry {
    let tier = ["gold", "silver", "bronze"][i % 3];
    let address = if i.is_multiple_of(3) {
        Value::Null
    } else {
        json!(format!("{i} Rue de l'Été, Genève"))
    };
    let fields = json!({
        "id": format!("{directory}-{i:04}"),
        "name": format!("Zoë Ångström-Øster 名前 {i}"),
        "address": address,
        "email": format!("zoe.{i}@example.com"),
        "phone": format!("+41 22 555 {i:04}"),
        "custom_attributes": {"tier": tier, "floor": i % 7, "note": "☎ \"quoted\" \\ \u{0001}"},
        "division": {"id": "d-1", "selfUri": "/api/v2/authorization/divisions/d-1"},
    });
    Entry::try_from(fields).expect("a json! object literal is an object")
}

/// The current time, cut to whole milliseconds (the precision backends must keep).
pub fn now_millis() -> SystemTime {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    let millis = u64::try_from(since_epoch.as_millis()).expect("milliseconds fit in u64");
    UNIX_EPOCH + Duration::from_millis(millis)
}

/// Runs every behaviour in turn on `backend`.
pub async fn run_all(backend: Arc<dyn CacheBackend>) {
    crate::conformance_tests!(@list run [backend]);
}

/// The backend answers `ping` and has a short lowercase name.
pub async fn ping_and_name(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    assert!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
        "backend name {name:?} is not a short lowercase word"
    );
    if let Err(e) = backend.ping().await {
        panic!("[{name}] ping failed: {e}");
    }
}

/// A put copy comes back from `get` with the same metadata and the same bytes.
pub async fn put_then_get_round_trips(backend: Arc<dyn CacheBackend>) {
    let first = sample_directory("conformance.round-trip", 3, now_millis());
    clean(&*backend, &[first.directory_id()]).await;

    put_and_read_back(
        &*backend,
        &first,
        "the first put of a directory must be written",
    )
    .await;

    // A revalidated copy: created_at differs from checked_at, the directive is `revalidated`.
    let later = first.checked_at() + Duration::from_millis(1_500);
    let revalidated = Arc::new(
        first
            .revalidated(later, Ttl::from_secs(60).expect("60 s is a valid TTL"))
            .expect("a sample directory revalidates"),
    );
    put_and_read_back(&*backend, &revalidated, "a later copy must be written").await;
}

/// `get` of a directory never written is `Ok(None)`; removing it is `false`.
pub async fn get_unknown_is_none(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let id = DirectoryId::new("conformance.never-written").expect("valid id");
    clean(&*backend, &[&id]).await;
    match backend.get(&id).await {
        Ok(None) => {}
        Ok(Some(found)) => panic!("[{name}] get of an unknown id returned {found:?}"),
        Err(e) => panic!("[{name}] get of an unknown id failed: {e}"),
    }
    match backend.remove(&id).await {
        Ok(false) => {}
        Ok(true) => panic!("[{name}] remove of an unknown id said it removed something"),
        Err(e) => panic!("[{name}] remove of an unknown id failed: {e}"),
    }
}

/// A copy checked upstream earlier than the stored one is refused (`KeptNewer`, carrying the
/// stored copy) and the stored one stays.
pub async fn older_put_keeps_newer(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let now = now_millis();
    let newer = sample_directory("conformance.older-put", 4, now);
    let older = sample_directory(
        "conformance.older-put",
        2,
        now - Duration::from_millis(1_000),
    );
    clean(&*backend, &[newer.directory_id()]).await;

    assert!(put(&*backend, &newer).await.is_written());
    match put(&*backend, &older).await {
        PutOutcome::KeptNewer(kept) => assert_same(name, &newer, &Some(kept)),
        PutOutcome::Written => panic!("[{name}] a put of an older copy must report KeptNewer"),
    }
    assert_same(name, &newer, &get(&*backend, newer.directory_id()).await);
}

/// A copy checked later than the stored one replaces it, and so does one checked at the same
/// time (the last write of equals wins).
pub async fn newer_or_equal_put_replaces(backend: Arc<dyn CacheBackend>) {
    let now = now_millis();
    let id = "conformance.newer-put";
    let first = sample_directory(id, 2, now);
    let newer = sample_directory(id, 3, now + Duration::from_millis(1_000));
    let equal = sample_directory(id, 5, now + Duration::from_millis(1_000));
    clean(&*backend, &[first.directory_id()]).await;

    assert!(put(&*backend, &first).await.is_written());
    put_and_read_back(&*backend, &newer, "a put of a newer copy must be written").await;
    put_and_read_back(
        &*backend,
        &equal,
        "a put with an equal checked_at must be written",
    )
    .await;
}

/// `remove` is `true` once, then `false`, and the copy is gone.
pub async fn remove_then_gone(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let directory = sample_directory("conformance.remove", 2, now_millis());
    let id = directory.directory_id();
    clean(&*backend, &[id]).await;

    put(&*backend, &directory).await;
    assert!(
        remove(&*backend, id).await,
        "[{name}] the first remove of a cached directory must return true"
    );
    assert!(
        !remove(&*backend, id).await,
        "[{name}] a second remove must return false"
    );
    assert!(
        get(&*backend, id).await.is_none(),
        "[{name}] get after remove must be None"
    );
}

/// `list` includes every directory put and none removed.
pub async fn list_shows_puts_not_removals(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let now = now_millis();
    let kept = sample_directory("conformance.list-kept", 1, now);
    let also = sample_directory("conformance.list-also", 1, now);
    let removed = sample_directory("conformance.list-removed", 1, now);
    let ids = [
        kept.directory_id(),
        also.directory_id(),
        removed.directory_id(),
    ];
    clean(&*backend, &ids).await;

    for directory in [&kept, &also, &removed] {
        put(&*backend, directory).await;
    }
    remove(&*backend, removed.directory_id()).await;
    let listed = list(&*backend).await;
    for present in [&kept, &also] {
        assert!(
            listed.contains(present.directory_id()),
            "[{name}] list {listed:?} lacks `{}`",
            present.directory_id()
        );
    }
    assert!(
        !listed.contains(removed.directory_id()),
        "[{name}] list {listed:?} still has the removed `{}`",
        removed.directory_id()
    );
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        listed.len(),
        "[{name}] list has duplicates: {listed:?}"
    );
}

/// `len`, `is_empty` and `contains` agree with `list`, `put` and `remove`.
pub async fn len_and_contains_agree(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let now = now_millis();
    let directory = sample_directory("conformance.len", 1, now);
    let id = directory.directory_id();
    clean(&*backend, &[id]).await;

    let before = len(&*backend).await;
    assert_eq!(
        before,
        list(&*backend).await.len(),
        "[{name}] len disagrees with list"
    );
    assert!(
        !contains(&*backend, id).await,
        "[{name}] contains before put"
    );

    put(&*backend, &directory).await;
    assert_eq!(
        len(&*backend).await,
        before + 1,
        "[{name}] len after a put of a new id"
    );
    assert!(contains(&*backend, id).await, "[{name}] contains after put");
    assert!(
        !backend.is_empty().await.expect("is_empty"),
        "[{name}] is_empty with a directory cached"
    );

    let replacement = sample_directory("conformance.len", 2, now + Duration::from_millis(1));
    put(&*backend, &replacement).await;
    assert_eq!(
        len(&*backend).await,
        before + 1,
        "[{name}] replacing a copy must not change len"
    );

    remove(&*backend, id).await;
    assert_eq!(len(&*backend).await, before, "[{name}] len after remove");
    assert!(
        !contains(&*backend, id).await,
        "[{name}] contains after remove"
    );
}

/// Fifty concurrent puts of copies of one directory, in shuffled `checked_at` order, leave the
/// newest copy, and the newest copy's put reports `Written`.
pub async fn concurrent_puts_leave_newest(backend: Arc<dyn CacheBackend>) {
    const WRITERS: u64 = 50;
    let name = backend.name();
    let id = "conformance.concurrent";
    let base = now_millis();
    let mut offsets: Vec<u64> = (0..WRITERS).collect();
    fastrand::Rng::with_seed(0x5eed).shuffle(&mut offsets);
    let copies: Vec<_> = offsets
        .iter()
        .map(|&ms| {
            let entries = usize::try_from(ms % 7).expect("small") + 1;
            sample_directory(id, entries, base + Duration::from_millis(ms))
        })
        .collect();
    let newest = copies
        .iter()
        .max_by_key(|c| c.checked_at())
        .cloned()
        .expect("there are writers");
    clean(&*backend, &[newest.directory_id()]).await;

    let start = Arc::new(Barrier::new(copies.len()));
    let writers: Vec<_> = copies
        .into_iter()
        .map(|copy| {
            let backend = Arc::clone(&backend);
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let checked_at = copy.checked_at();
                (checked_at, backend.put(copy).await)
            })
        })
        .collect();
    for writer in writers {
        let (checked_at, outcome) = writer.await.expect("a writer task panicked");
        let outcome = outcome.unwrap_or_else(|e| panic!("[{name}] a concurrent put failed: {e}"));
        if checked_at == newest.checked_at() {
            assert!(
                outcome.is_written(),
                "[{name}] the newest copy's put must be written"
            );
        }
    }
    assert_same(name, &newest, &get(&*backend, newest.directory_id()).await);
}

/// An expired copy (still within any retention window) is returned by `get`: freshness is the
/// pipeline's decision, and stale-if-error needs the copy.
pub async fn expired_copy_is_still_returned(backend: Arc<dyn CacheBackend>) {
    let expired_for = Duration::from_secs(120);
    let checked_at = now_millis() - SAMPLE_TTL.as_duration() - expired_for;
    let directory = sample_directory("conformance.expired", 2, checked_at);
    clean(&*backend, &[directory.directory_id()]).await;
    assert!(
        !directory.is_fresh_at(SystemTime::now()),
        "the fixture must be expired"
    );

    put_and_read_back(&*backend, &directory, "an expired copy is still written").await;
}

/// A directory of 500 entries with non-ASCII text, and an empty one, round-trip byte for byte.
pub async fn large_non_ascii_directory_round_trips(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let now = now_millis();
    let large = sample_directory("conformance.large", 500, now);
    let empty = sample_directory("conformance.empty", 0, now);
    clean(&*backend, &[large.directory_id(), empty.directory_id()]).await;

    for directory in [&large, &empty] {
        assert!(put(&*backend, directory).await.is_written());
        let found = get(&*backend, directory.directory_id()).await;
        assert_same(name, directory, &found);
        let entries = found
            .as_ref()
            .and_then(|f| f.entries().ok())
            .unwrap_or_else(|| panic!("[{name}] the entries of the copy read back do not parse"));
        assert_eq!(
            entries,
            directory.entries().expect("fixture entries parse"),
            "[{name}] entries differ after a round trip"
        );
    }
    let names = large.entries().expect("fixture entries parse");
    assert!(
        names
            .iter()
            .all(|e| e.name().is_some_and(|n| !n.is_ascii())),
        "the fixture must have non-ASCII names"
    );
}

/// `peek` answers at once with the copy `get` answers, or with nothing for a backend that
/// keeps nothing in process, and never with a removed copy.
pub async fn peek_is_the_stored_copy_or_nothing(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let directory = sample_directory("conformance.peek", 3, now_millis());
    let id = directory.directory_id();
    clean(&*backend, &[id]).await;
    assert!(
        backend.peek(id).is_none(),
        "[{name}] peek of a directory never put"
    );

    put(&*backend, &directory).await;
    if let Some(peeked) = backend.peek(id) {
        assert_same(name, &directory, &Some(peeked));
    }
    remove(&*backend, id).await;
    assert!(
        backend.peek(id).is_none(),
        "[{name}] peek after remove must be None"
    );
}

/// The refresh lock has one holder at a time: a second acquire is refused, a wrong token
/// neither extends nor releases it, and the holder's release frees it.
pub async fn refresh_lock_excludes_until_released(backend: Arc<dyn CacheBackend>) {
    let Some((name, lock, id)) = locking(&*backend, "conformance.lock-excludes") else {
        return;
    };
    let lease = Duration::from_secs(10);
    let token = acquire_free(name, lock, &id, lease).await;
    assert!(
        acquire(name, lock, &id, lease).await.is_none(),
        "[{name}] a held lock must refuse a second holder"
    );
    let stranger = LockToken::new("conformance-stranger");
    assert!(
        lock.extend(&id, &token, lease).await.expect("extend"),
        "[{name}] the holder must be able to extend its lock"
    );
    assert!(
        !lock.extend(&id, &stranger, lease).await.expect("extend"),
        "[{name}] a wrong token must not extend the lock"
    );
    lock.release(&id, &stranger).await.expect("release");
    assert!(
        acquire(name, lock, &id, lease).await.is_none(),
        "[{name}] a wrong token must not release the lock"
    );
    lock.release(&id, &token).await.expect("release");
    let again = acquire(name, lock, &id, lease)
        .await
        .unwrap_or_else(|| panic!("[{name}] a released lock must be acquired again"));
    lock.release(&id, &again).await.expect("release");
}

/// A waiter on a held lock wakes when it is released, not when its timeout passes.
pub async fn refresh_lock_waiters_wake_on_release(backend: Arc<dyn CacheBackend>) {
    let Some((name, lock, id)) = locking(&*backend, "conformance.lock-wakes") else {
        return;
    };
    let token = acquire_free(name, lock, &id, Duration::from_secs(30)).await;
    let timeout = Duration::from_secs(20);
    let started = tokio::time::Instant::now();
    let (waited, ()) = tokio::join!(lock.wait_released(&id, timeout), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        lock.release(&id, &token).await.expect("release");
    });
    waited.unwrap_or_else(|e| panic!("[{name}] wait_released failed: {e}"));
    assert!(
        started.elapsed() < timeout / 2,
        "[{name}] a waiter took {:?} to see a release after 200 ms",
        started.elapsed()
    );
}

/// A lock whose holder died (never released) is free again once its lease has passed.
pub async fn refresh_lock_of_a_dead_holder_expires(backend: Arc<dyn CacheBackend>) {
    let Some((name, lock, id)) = locking(&*backend, "conformance.lock-expires") else {
        return;
    };
    let lease = Duration::from_millis(300);
    let _dead = acquire_free(name, lock, &id, lease).await;
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    let token = acquire(name, lock, &id, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("[{name}] the lock of a dead holder must expire with its lease"));
    lock.release(&id, &token).await.expect("release");
}

/// A published notice reaches every subscriber, the publisher's own included.
pub async fn invalidation_notices_reach_subscribers(backend: Arc<dyn CacheBackend>) {
    let name = backend.name();
    let Some(notices) = backend.invalidations() else {
        return;
    };
    let id = DirectoryId::new("conformance.notice").expect("valid id");
    let mut first = notices.subscribe();
    let mut second = notices.subscribe();
    // A subscriber may still be connecting: publish until the notice arrives.
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            notices
                .publish(&id)
                .await
                .unwrap_or_else(|e| panic!("[{name}] publish failed: {e}"));
            let wait = tokio::time::sleep(Duration::from_millis(500));
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    notice = first.recv() => {
                        if notice.ok() == Some(InvalidationNotice::Directory(id.clone())) {
                            return;
                        }
                    }
                    () = &mut wait => break,
                }
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "[{name}] a published notice never arrived");
    let also = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if second.recv().await.ok() == Some(InvalidationNotice::Directory(id.clone())) {
                return;
            }
        }
    })
    .await;
    assert!(
        also.is_ok(),
        "[{name}] a second subscriber did not hear the notice"
    );
}

/// The backend's name, its refresh lock (`None` for a backend without one) and the id `id`.
fn locking<'a>(
    backend: &'a dyn CacheBackend,
    id: &str,
) -> Option<(&'static str, &'a dyn RefreshLock, DirectoryId)> {
    let lock = backend.refresh_lock()?;
    Some((
        backend.name(),
        lock,
        DirectoryId::new(id).expect("valid id"),
    ))
}

/// Takes the lock of `id`, which must be free.
async fn acquire_free(
    name: &str,
    lock: &dyn RefreshLock,
    id: &DirectoryId,
    lease: Duration,
) -> LockToken {
    acquire(name, lock, id, lease)
        .await
        .unwrap_or_else(|| panic!("[{name}] a free lock must be acquired"))
}

async fn acquire(
    name: &str,
    lock: &dyn RefreshLock,
    id: &DirectoryId,
    lease: Duration,
) -> Option<LockToken> {
    lock.try_acquire(id, lease)
        .await
        .unwrap_or_else(|e| panic!("[{name}] acquiring the lock of `{id}` failed: {e}"))
}

/// Puts `directory`, which must be written (`why` says why), and checks that `get` gives it
/// back as it was put.
async fn put_and_read_back(
    backend: &dyn CacheBackend,
    directory: &Arc<CachedDirectory>,
    why: &str,
) {
    let name = backend.name();
    assert!(put(backend, directory).await.is_written(), "[{name}] {why}");
    assert_same(
        name,
        directory,
        &get(backend, directory.directory_id()).await,
    );
}

fn assert_same(name: &str, expected: &CachedDirectory, found: &Option<Arc<CachedDirectory>>) {
    let id = expected.directory_id();
    let Some(found) = found else {
        panic!("[{name}] get of `{id}` returned None after it was put");
    };
    assert_eq!(
        found.meta(),
        expected.meta(),
        "[{name}] the metadata of `{id}` differs from what was put"
    );
    assert!(
        found.entries_json() == expected.entries_json(),
        "[{name}] the entries JSON of `{id}` differs from what was put ({} bytes, {} expected)",
        found.entries_json().len(),
        expected.entries_json().len()
    );
    assert!(
        found.body() == expected.body(),
        "[{name}] the body of `{id}` differs from what was put"
    );
}

async fn clean(backend: &dyn CacheBackend, ids: &[&DirectoryId]) {
    for id in ids {
        remove(backend, id).await;
    }
}

async fn put(backend: &dyn CacheBackend, directory: &Arc<CachedDirectory>) -> PutOutcome {
    let id = directory.directory_id();
    backend
        .put(Arc::clone(directory))
        .await
        .unwrap_or_else(|e| panic!("[{}] put of `{id}` failed: {e}", backend.name()))
}

async fn get(backend: &dyn CacheBackend, id: &DirectoryId) -> Option<Arc<CachedDirectory>> {
    backend
        .get(id)
        .await
        .unwrap_or_else(|e| panic!("[{}] get of `{id}` failed: {e}", backend.name()))
}

async fn remove(backend: &dyn CacheBackend, id: &DirectoryId) -> bool {
    backend
        .remove(id)
        .await
        .unwrap_or_else(|e| panic!("[{}] remove of `{id}` failed: {e}", backend.name()))
}

async fn list(backend: &dyn CacheBackend) -> Vec<DirectoryId> {
    backend
        .list()
        .await
        .unwrap_or_else(|e| panic!("[{}] list failed: {e}", backend.name()))
}

async fn len(backend: &dyn CacheBackend) -> usize {
    backend
        .len()
        .await
        .unwrap_or_else(|e| panic!("[{}] len failed: {e}", backend.name()))
}

async fn contains(backend: &dyn CacheBackend, id: &DirectoryId) -> bool {
    backend
        .contains(id)
        .await
        .unwrap_or_else(|e| panic!("[{}] contains of `{id}` failed: {e}", backend.name()))
}
