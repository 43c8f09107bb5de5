//! `serve_rss`: how much resident memory `dircache serve` grows by per cached entry, against the
//! size of that entry's JSON as upstream sent it.
//!
//! Not a criterion timing: it records `rss_bytes_per_entry` for `cargo xtask bench`: (RSS growth
//! ÷ entries cached) ÷ (upstream JSON bytes of those entries ÷ entries cached). The growth is
//! measured from after start-up and one warm-up request (a directory fetched and served, so the
//! runtime, the HTTP stacks and the token are in place) to after every other directory was
//! fetched once. Arguments (cargo passes `--bench`) are ignored.

use std::time::Duration;

use dircache_benches::{Connection, DIRECTORY, ENTRIES, Error, Upstream, record, resident_bytes};
use genesys_mock::MockDirectory;
use hyper::StatusCode;
use serde_json::Value;
use testkit::Dircache;

/// Directories cached after the warm-up, each of [`ENTRIES`] entries.
const DIRECTORIES: usize = 200;
/// Seed of the first one's entries; each of the others has the next.
const SEED: u64 = 0x5e_57a7;
/// One page per directory: the client's limiter (300 requests a minute, in bursts of 30) paces
/// upstream requests, so fewer pages fill the cache sooner. What is stored is the same.
const PAGE_SIZE: &str = "500";
/// Time for work a fill leaves behind (listener and audit tasks) to finish before RSS is read.
const SETTLE: Duration = Duration::from_millis(500);
/// Bytes in a mebibyte, for the printed line.
const MIB: f64 = 1024.0 * 1024.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = Upstream::start()?;
    let mock = upstream.mock();
    let ids: Vec<String> = (0..DIRECTORIES).map(|i| format!("rss_{i:03}")).collect();
    let mut json_bytes = 0;
    for (seed, id) in (SEED..).zip(&ids) {
        let directory = MockDirectory::generated(ENTRIES, seed);
        json_bytes += directory
            .entries()
            .iter()
            .map(|entry| serde_json::to_vec(entry).map(|json| json.len()))
            .sum::<Result<usize, _>>()?;
        mock.put_directory(id, directory);
    }
    let server = Dircache::for_mock(mock)?
        .env("RUST_LOG", "warn")
        .env("DIRCACHE_PAGE_SIZE", PAGE_SIZE)
        .serve()?;
    let addr = server.addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let (before, after, served_bytes) = runtime.block_on(async {
        let mut connection = Connection::open(addr).await?;
        get_miss(&mut connection, DIRECTORY).await?;
        tokio::time::sleep(SETTLE).await;
        let before = resident_bytes(server.pid())?;
        let mut served_bytes = 0;
        for id in &ids {
            served_bytes += get_miss(&mut connection, id).await?;
        }
        tokio::time::sleep(SETTLE).await;
        let after = resident_bytes(server.pid())?;
        all_cached(&mut connection, DIRECTORIES + 1).await?;
        Ok::<_, Error>((before, after, served_bytes))
    })?;

    let entries = (DIRECTORIES * ENTRIES) as f64;
    let growth = after.saturating_sub(before) as f64;
    let rss_per_entry = growth / entries;
    let json_per_entry = json_bytes as f64 / entries;
    let ratio = rss_per_entry / json_per_entry;
    println!(
        "serve_rss: {DIRECTORIES} directories of {ENTRIES} entries cached: RSS {:.1} MiB -> {:.1} \
         MiB, {rss_per_entry:.0} bytes per entry; upstream JSON {json_per_entry:.0} bytes per \
         entry ({:.1} MiB in all; serve's documents {:.1} MiB): {ratio:.2} RSS bytes per JSON byte",
        before as f64 / MIB,
        after as f64 / MIB,
        json_bytes as f64 / MIB,
        served_bytes as f64 / MIB,
    );
    let written = record(
        "serve_rss",
        &[
            ("rss_bytes_per_entry", ratio),
            ("rss_growth_bytes", growth),
            ("entries", entries),
            ("json_bytes", json_bytes as f64),
            ("served_bytes", served_bytes as f64),
        ],
    )?;
    if let Some(path) = written {
        println!("serve_rss: recorded in {}", path.display());
    }
    let status = server.stop()?.status;
    if !status.success() {
        return Err(format!("serve exited with {status} after SIGTERM").into());
    }
    Ok(())
}

/// GETs directory `id`, which must be a MISS (fetched now, so cached now); its body's length.
async fn get_miss(connection: &mut Connection, id: &str) -> Result<usize, Error> {
    let path = format!("/v1/directories/{id}");
    let answer = connection.get(&path).await?;
    let x_cache = answer.headers.get("x-cache").and_then(|v| v.to_str().ok());
    if answer.status == StatusCode::OK && x_cache == Some("MISS") {
        Ok(answer.body.len())
    } else {
        Err(Error::Answer {
            addr: connection.addr(),
            path,
            reason: format!(
                "{} with X-Cache {x_cache:?}, where 200 MISS was expected: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ),
        })
    }
}

/// Checks in serve's stats that it holds `expected` directories: none was evicted, so the
/// growth measured is that of all of them.
async fn all_cached(connection: &mut Connection, expected: usize) -> Result<(), Error> {
    let answer = connection.get("/v1/stats").await?;
    let stats: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let cached = stats.get("cache_size").and_then(Value::as_u64);
    if cached == Some(expected as u64) {
        Ok(())
    } else {
        Err(Error::Answer {
            addr: connection.addr(),
            path: "/v1/stats".to_owned(),
            reason: format!(
                "cache_size {cached:?}, where {expected} was expected: {}",
                String::from_utf8_lossy(&answer.body)
            ),
        })
    }
}
