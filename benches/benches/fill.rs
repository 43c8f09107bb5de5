//! `fill`: building the cached copy of the 500-entry directory from its snapshot, as the pipeline
//! does on every miss (`CachedDirectory::from_snapshot`; then the eager compressed forms, which
//! the pipeline makes on a blocking thread after the miss is answered), with
//! the default eager encodings, zstd and gzip (`fill/eager`), and with none
//! (`DIRCACHE_EAGER_ENCODINGS=none`, `fill/none`), side by side in one run.
//!
//! The snapshot is read once from genesys-mock by the pipeline's own client, so the bytes are
//! those a real fill builds from; the upstream fetch itself is `cold_fetch`'s to measure.

use std::time::SystemTime;

use cache_core::{
    CachedDirectory, ContentCoding, DEFAULT_EAGER_ENCODINGS, DirectoryId, InvalidationDirective,
    Limits, Ttl,
};
use criterion::Criterion;
use dircache_benches::{DIRECTORY, ENTRIES, Upstream, runtime};
use genesys_client::{DirectorySnapshot, FetchOptions, FetchOutcome};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = Upstream::start()?;
    let runtime = runtime()?;
    let fetched = runtime.block_on(
        upstream
            .client()?
            .fetch_directory(DIRECTORY, &FetchOptions::new()),
    )?;
    let FetchOutcome::Modified(snapshot) = fetched else {
        return Err("an unconditional fetch answered 304".into());
    };
    let id = upstream.directory_id();
    let ttl = Ttl::from_secs(300)?;
    let eager = fill(id, ttl, &snapshot, &DEFAULT_EAGER_ENCODINGS)?;
    assert_eq!(eager.entry_count(), ENTRIES);
    println!(
        "fill: {ENTRIES} entries, a {}-byte body; eager forms: zstd {} bytes, gzip {} bytes",
        eager.body().len(),
        eager
            .encoded(ContentCoding::Zstd)
            .map_or(0, |form| form.len()),
        eager
            .encoded(ContentCoding::Gzip)
            .map_or(0, |form| form.len()),
    );

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("fill");
    // Each iteration takes milliseconds with compression: fewer samples fit the time.
    group.sample_size(30);
    group.bench_function("eager", |b| {
        b.iter(|| {
            fill(
                id,
                ttl,
                std::hint::black_box(&snapshot),
                &DEFAULT_EAGER_ENCODINGS,
            )
            .expect("a copy")
        });
    });
    group.bench_function("none", |b| {
        b.iter(|| fill(id, ttl, std::hint::black_box(&snapshot), &[]).expect("a copy"));
    });
    group.finish();
    criterion.final_summary();
    Ok(())
}

/// The cached copy of `snapshot` with the forms in `eager` made, as the pipeline builds it.
fn fill(
    id: &DirectoryId,
    ttl: Ttl,
    snapshot: &DirectorySnapshot,
    eager: &[ContentCoding],
) -> Result<CachedDirectory, cache_core::Error> {
    let directory = CachedDirectory::from_snapshot(
        id.clone(),
        "routing_directory",
        snapshot,
        ttl,
        SystemTime::now(),
        InvalidationDirective::Fresh,
        Limits {
            max_entries: ENTRIES,
        },
    )?;
    directory.prepare_encodings(eager);
    Ok(directory)
}
