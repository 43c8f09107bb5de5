//! `lookup`: `find` by phone in a 100,000-entry cached copy with one match (`lookup/find_phone`,
//! criterion), and what building a copy's lookup index costs beside the pipeline's own CPU for
//! the cold fetch of the same directory (`index_build_vs_fetch`, recorded), with the index's
//! bytes beside the body's at 100,000 entries (`index_bytes_vs_body`, recorded).
//!
//! CPU, not wall time, for the second figure: the cold fetch waits on genesys-mock, which runs
//! on threads of its own; the pipeline's work runs on this bench's one runtime thread, so that
//! thread's time on a CPU is the pipeline's own cost. The fetch includes building the index
//! (every fill does), so the figure is the index's share of a cold fetch.
//!
//! The index timed is the one a fill builds: from a snapshot of the directory fetched once with
//! the pipeline's client (outside the timing), `LookupIndex::from_key_members`, which reads
//! only the key values the fetch located. What a copy read from Redis costs instead, the full
//! parse of the same entries (`LookupIndex::build`), is printed and recorded beside it
//! (`index_full_parse_seconds`).

use std::time::SystemTime;

use cache_core::{
    CachedDirectory, DirectoryCache, DirectoryId, InvalidationDirective, Limits, LookupIndex,
    Outcome, Query, Ttl,
};
use criterion::Criterion;
use dircache_benches::{median, record, runtime, thread_cpu};
use genesys_client::{DirectorySnapshot, Entry, FetchOptions, FetchOutcome};
use genesys_mock::{GenesysMock, MockDirectory};

/// Entries of the copy `find` is measured in (SPEC §6).
const BIG: usize = 100_000;
/// Entries of the directory fetched cold for `index_build_vs_fetch`: 20 pages of 500.
const FETCHED: usize = 10_000;
/// The most entries Genesys answers a page: the fewest requests for the cold fetch.
const PAGE_SIZE: u32 = 500;
/// Cold fetches (and index builds) measured; the figure is the ratio of their medians.
const ROUNDS: usize = 11;
const SEED: u64 = 0x10_0c_4b;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let big = big_directory()?;
    let query = Query::Phone(phone_of(BIG / 2 + 17));
    let found = big.find(&query, cache_core::DEFAULT_LIMIT);
    assert_eq!(found.match_count(), 1, "one entry has that number");
    let index_bytes_vs_body = big.lookup_index().heap_bytes() as f64 / big.body().len() as f64;
    println!(
        "lookup: {BIG} entries, a {}-byte body, a {}-byte index ({index_bytes_vs_body:.3} of the body)",
        big.body().len(),
        big.lookup_index().heap_bytes(),
    );

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("lookup");
    group.bench_function("find_phone", |b| {
        b.iter(|| big.find(std::hint::black_box(&query), cache_core::DEFAULT_LIMIT));
    });
    group.finish();
    criterion.final_summary();
    drop(big);

    let Cpu {
        build,
        full_parse,
        fetch,
    } = build_and_fetch_cpu()?;
    let index_build_vs_fetch = build / fetch;
    println!(
        "lookup: {FETCHED} entries: index build {:.2} ms of CPU (a fill's, from key members; \
         a full parse, as for a copy read from Redis: {:.2} ms, {:.3} of the fetch), cold fetch \
         {:.2} ms of the pipeline's CPU (medians of {ROUNDS}): {index_build_vs_fetch:.3}",
        build * 1e3,
        full_parse * 1e3,
        full_parse / fetch,
        fetch * 1e3,
    );
    let written = record(
        "lookup",
        &[
            ("index_build_vs_fetch", index_build_vs_fetch),
            ("index_bytes_vs_body", index_bytes_vs_body),
            ("index_build_seconds", build),
            ("index_full_parse_seconds", full_parse),
            ("cold_fetch_cpu_seconds", fetch),
        ],
    )?;
    if let Some(path) = written {
        println!("lookup: recorded in {}", path.display());
    }
    Ok(())
}

/// Entry `i`'s phone number: one per entry.
fn phone_of(i: usize) -> String {
    format!("+1 (317) 5{:02} {:04}", i / 10_000, i % 10_000)
}

/// A cached copy of [`BIG`] generated entries, each with a phone number of its own.
fn big_directory() -> Result<CachedDirectory, Box<dyn std::error::Error>> {
    let entries = genesys_mock::generate_entries(BIG, SEED)
        .into_iter()
        .enumerate()
        .map(|(i, mut entry)| {
            entry["phone"] = phone_of(i).into();
            Entry::try_from(entry).map_err(|_| "a generated entry is not an object")
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CachedDirectory::from_snapshot(
        DirectoryId::new("big_directory")?,
        "users",
        &DirectorySnapshot::new(entries),
        Ttl::from_secs(300)?,
        SystemTime::now(),
        InvalidationDirective::Fresh,
        Limits { max_entries: BIG },
    )?)
}

/// Median CPU seconds for a [`FETCHED`]-entry directory.
struct Cpu {
    /// Building its index as a fill does, from the key members of its snapshot.
    build: f64,
    /// Building its index by parsing its entries whole, as for a copy read from Redis.
    full_parse: f64,
    /// The pipeline's cold fetch of it from genesys-mock, index included.
    fetch: f64,
}

/// The median CPU seconds of building the index of a [`FETCHED`]-entry copy (as a fill does,
/// and by a full parse), and of the pipeline's cold fetch of it from genesys-mock.
fn build_and_fetch_cpu() -> Result<Cpu, Box<dyn std::error::Error>> {
    let mock = GenesysMock::start()?;
    mock.put_directory("fetched", MockDirectory::generated(FETCHED, SEED));
    let client = testkit::client_builder(&mock)
        .page_size(PAGE_SIZE)
        .build()?;
    let cache = DirectoryCache::builder()
        .source(client.clone())
        .limits(Limits {
            max_entries: FETCHED,
        })
        .build()?;
    let id = DirectoryId::new("fetched")?;
    let runtime = runtime()?;
    // A token in hand and a connection open, as in `cold_fetch`.
    let first = runtime.block_on(cache.get(&id))?;
    assert_eq!(first.directory.entry_count(), FETCHED);
    // The snapshot a fill builds its index from, fetched once with the same client.
    let FetchOutcome::Modified(snapshot) =
        runtime.block_on(client.fetch_directory("fetched", &FetchOptions::default()))?
    else {
        return Err("a fetch without validators is never `NotModified`".into());
    };
    let members = snapshot
        .key_members
        .as_ref()
        .ok_or("a fetched snapshot has its key members")?;
    assert_eq!(snapshot.entries_json, first.directory.entries_json());

    let mut fetches = Vec::with_capacity(ROUNDS);
    let mut builds = Vec::with_capacity(ROUNDS);
    let mut full_parses = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        runtime.block_on(cache.invalidate(&id))?;
        let before = thread_cpu();
        let lookup = runtime.block_on(cache.get(&id))?;
        fetches.push((thread_cpu() - before).as_secs_f64());
        assert_eq!(lookup.outcome, Outcome::Miss);

        let before = thread_cpu();
        let index = LookupIndex::from_key_members(&snapshot.entries_json, members)?;
        builds.push((thread_cpu() - before).as_secs_f64());
        assert_eq!(index.len(), FETCHED);

        let before = thread_cpu();
        let index = LookupIndex::build(lookup.directory.entries_json())?;
        full_parses.push((thread_cpu() - before).as_secs_f64());
        assert_eq!(index.len(), FETCHED);
    }
    Ok(Cpu {
        build: median(builds),
        full_parse: median(full_parses),
        fetch: median(fetches),
    })
}
