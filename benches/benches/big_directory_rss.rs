//! `big_directory_rss`: `rss_bytes_per_entry` for one directory of 100,000 users (SPEC §6
//! `big_directory_rss_per_entry`): how much resident memory `dircache serve` grows by per
//! cached entry of one big declared directory, against that entry's upstream JSON size.
//!
//! Not a criterion timing: [`Growth`] measures from after start-up and one warm-up request to
//! after the big directory was fetched once (200 pages of 500 users) and served. Whatever the
//! cache builds beside the entries on fill (a lookup index, say) is included. Arguments (cargo
//! passes `--bench`) are ignored.

use dircache_benches::{Growth, Upstream, json_size};
use genesys_mock::MockSource;
use testkit::Dircache;

/// Entries of the big directory.
const ENTRIES: usize = 100_000;
/// Seed of its users.
const SEED: u64 = 0xb16_d1ec;
/// Its id, declared as the `users` source.
const ID: &str = "all_users";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = Upstream::start()?;
    let mock = upstream.mock();
    let users = MockSource::Users.generated(ENTRIES, SEED);
    let json_bytes = json_size(&users)?;
    mock.put_listing(&MockSource::Users, users);
    let setup = Dircache::for_mock(mock)?
        .env("RUST_LOG", "warn")
        // 200 pages: not paced by the client's limiter, which the bench does not measure.
        .env("DIRCACHE_UPSTREAM_RPM", "100000")
        .config_file(&format!("[directories.{ID}]\nsource = \"users\"\n"))?;
    Growth {
        bench: "big_directory_rss",
        figure: "big_directory_rss_per_entry",
        ids: &[ID.to_owned()],
        entries: ENTRIES,
        json_bytes,
    }
    .measure(setup)
}
