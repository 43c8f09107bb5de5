//! `cold_fetch`: a cold get through the pipeline beside a bare reqwest fetch of the same pages.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cache_core::{ContentCoding, Outcome};
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
        // The time a caller waits on a miss. The eager compressed forms are made after the
        // copy is stored, on their own thread, while the caller already has its answer: each
        // iteration waits for them outside the timing, so that one iteration's compression
        // does not run into the next one's fetch (their cost is `fill`'s figure).
        let cache = &cache;
        b.to_async(&runtime).iter_custom(|iterations| async move {
            let mut waited = Duration::ZERO;
            for _ in 0..iterations {
                cache.invalidate(id).await.expect("invalidation succeeds");
                let started = Instant::now();
                let lookup = cache.get(id).await.expect("the directory is fetched");
                waited += started.elapsed();
                assert_eq!(lookup.outcome, Outcome::Miss);
                for coding in [ContentCoding::Zstd, ContentCoding::Gzip] {
                    black_box(lookup.directory.encoded(coding));
                }
            }
            waited
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
