//! `serve_rss`: how much resident memory `dircache serve` grows by per cached entry, against the
//! size of that entry's JSON as upstream sent it.
//!
//! Not a criterion timing: it records `rss_bytes_per_entry` for `cargo xtask bench`: (RSS growth
//! ÷ entries cached) ÷ (upstream JSON bytes of those entries ÷ entries cached), measured by
//! [`Growth`] from after start-up and one warm-up request to after every other directory was
//! fetched once. Arguments (cargo passes `--bench`) are ignored.

use dircache_benches::{ENTRIES, Growth, Upstream, json_size};
use genesys_mock::MockDirectory;
use testkit::Dircache;

/// Directories cached after the warm-up, each of [`ENTRIES`] entries.
const DIRECTORIES: usize = 200;
/// Seed of the first one's entries; each of the others has the next.
const SEED: u64 = 0x5e_57a7;
/// One page per directory: fewer pages fill the cache sooner. What is stored is the same.
const PAGE_SIZE: &str = "500";
/// The OAuth client's rate told to serve: 200 fills of ids it has never cached are not held
/// back by the budget (at 300 a minute, ids with no cached copy get a fifth of it, and the
/// bench's fills would be refused 429), which the bench does not measure.
const UPSTREAM_RPM: &str = "100000";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = Upstream::start()?;
    let mock = upstream.mock();
    let ids: Vec<String> = (0..DIRECTORIES).map(|i| format!("rss_{i:03}")).collect();
    let mut json_bytes = 0;
    for (seed, id) in (SEED..).zip(&ids) {
        let directory = MockDirectory::generated(ENTRIES, seed);
        json_bytes += json_size(directory.entries())?;
        mock.put_directory(id, directory);
    }
    let setup = Dircache::for_mock(mock)?
        .env("RUST_LOG", "warn")
        .env("DIRCACHE_PAGE_SIZE", PAGE_SIZE)
        .env("DIRCACHE_UPSTREAM_RPM", UPSTREAM_RPM);
    Growth {
        bench: "serve_rss",
        figure: "rss_bytes_per_entry",
        ids: &ids,
        entries: DIRECTORIES * ENTRIES,
        json_bytes,
    }
    .measure(setup)
}
