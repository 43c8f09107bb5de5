//! `stampede`: how many upstream requests 1,000 concurrent cold gets of one directory cost.
//!
//! A count, not a timing: it runs once and records `upstream_requests` for `cargo xtask bench`.
//! Arguments (cargo passes `--bench`) are ignored.

use std::sync::Arc;
use std::time::Duration;

use cache_core::Outcome;
use dircache_benches::{ENTRIES, PAGE_SIZE, Upstream, record};
use tokio::sync::Barrier;

/// How many callers ask at once.
const CALLERS: usize = 1_000;
/// Upstream's time per response: long enough that every caller arrives while the fetch is
/// still under way, as callers do when a popular directory expires.
const LATENCY: Duration = Duration::from_millis(50);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = Upstream::start_with_latency(LATENCY)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cache = upstream.cache()?;
    let id = upstream.directory_id().clone();

    let outcomes = runtime.block_on(async {
        let start = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (cache, id, start) = (cache.clone(), id.clone(), Arc::clone(&start));
                tokio::spawn(async move {
                    start.wait().await;
                    cache.get(&id).await
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(CALLERS);
        for caller in callers {
            let lookup = caller.await??;
            assert_eq!(lookup.directory.entry_count(), ENTRIES);
            outcomes.push(lookup.outcome);
        }
        Ok::<_, Box<dyn std::error::Error>>(outcomes)
    })?;

    let requests = upstream.upstream_requests();
    let token_requests = upstream.mock().stats().token_requests;
    let misses = outcomes.iter().filter(|o| **o == Outcome::Miss).count();
    let hits = outcomes.iter().filter(|o| **o == Outcome::Hit).count();
    println!(
        "stampede: {CALLERS} concurrent cold gets of a {ENTRIES}-entry directory at page size \
         {PAGE_SIZE}: {requests} directory requests and {token_requests} token request(s) \
         upstream; {misses} answered MISS, {hits} HIT"
    );
    let as_f64 = |n: u64| n as f64;
    let written = record(
        "stampede",
        &[
            ("upstream_requests", as_f64(requests)),
            ("token_requests", as_f64(token_requests)),
            ("callers", CALLERS as f64),
        ],
    )?;
    if let Some(path) = written {
        println!("stampede: recorded in {}", path.display());
    }
    Ok(())
}
