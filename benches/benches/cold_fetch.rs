//! `cold_fetch`: a cold get through the pipeline beside a bare reqwest fetch of the same pages.

use cache_core::Outcome;
use criterion::{Criterion, SamplingMode};
use dircache_benches::{ENTRIES, Upstream, runtime};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = runtime()?;
    let upstream = Upstream::start()?;
    let cache = upstream.cache()?;
    let id = upstream.directory_id();
    // Both sides start with a token in hand and a connection open.
    let first = runtime.block_on(cache.get(id))?;
    assert_eq!(first.directory.entry_count(), ENTRIES);
    let raw = runtime.block_on(upstream.raw_fetch())?;
    assert_eq!(runtime.block_on(raw.fetch())?.len(), ENTRIES);

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("cold_fetch");
    // Each iteration is two HTTP round trips: flat sampling suits iterations this long.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("pipeline", |b| {
        b.to_async(&runtime).iter(|| async {
            cache.invalidate(id).await.expect("invalidation succeeds");
            let lookup = cache.get(id).await.expect("the directory is fetched");
            assert_eq!(lookup.outcome, Outcome::Miss);
            lookup.directory
        });
    });
    group.bench_function("raw", |b| {
        b.to_async(&runtime).iter(|| async {
            let entries = raw.fetch().await.expect("the pages are fetched");
            assert_eq!(entries.len(), ENTRIES);
            entries
        });
    });
    group.finish();
    criterion.final_summary();
    Ok(())
}
