//! `memory_hit`: a pipeline hit on the memory backend beside a bare moka `get` of the same `Arc`.

use std::sync::Arc;

use cache_core::{CachedDirectory, DirectoryId, Outcome};
use criterion::Criterion;
use dircache_benches::{ENTRIES, Upstream, runtime};

/// The bare cache holds as many directories as the memory backend does by default.
const MOKA_CAPACITY: u64 = 10_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = runtime()?;
    let upstream = Upstream::start()?;
    let cache = upstream.cache()?;
    let id = upstream.directory_id();
    let filled = runtime.block_on(cache.get(id))?;
    assert_eq!(filled.outcome, Outcome::Miss);
    assert_eq!(filled.directory.entry_count(), ENTRIES);

    let moka: moka::future::Cache<DirectoryId, Arc<CachedDirectory>> =
        moka::future::Cache::new(MOKA_CAPACITY);
    runtime.block_on(moka.insert(id.clone(), Arc::clone(&filled.directory)));
    // Not a figure, shown for transparency: the memory backend is built on moka's sync cache,
    // while SPEC §6 names the future cache as the baseline.
    let moka_sync: moka::sync::Cache<DirectoryId, Arc<CachedDirectory>> =
        moka::sync::Cache::new(MOKA_CAPACITY);
    moka_sync.insert(id.clone(), Arc::clone(&filled.directory));

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("memory_hit");
    group.bench_function("pipeline", |b| {
        b.to_async(&runtime).iter(|| async {
            let lookup = cache.get(id).await.expect("a cached directory is served");
            assert_eq!(lookup.outcome, Outcome::Hit);
            lookup.directory
        });
    });
    group.bench_function("moka", |b| {
        b.to_async(&runtime)
            .iter(|| async { moka.get(id).await.expect("the directory is in moka") });
    });
    group.bench_function("moka_sync", |b| {
        b.to_async(&runtime)
            .iter(|| async { moka_sync.get(id).expect("the directory is in moka") });
    });
    group.finish();
    criterion.final_summary();
    Ok(())
}
