//! `cold_fetch`: a cold get through the pipeline beside a bare reqwest fetch of the same pages,
//! in alternating turns in the same run.
//!
//! Not a criterion timing: it records `cold_fetch_vs_raw` for `cargo xtask bench`. Arguments
//! (cargo passes `--bench`) are ignored. The two sides take turns of [`TURN`] fetches each,
//! [`ROUNDS`] times, the first side changing from round to round, and the figure is the median
//! of the rounds' ratios. Timed one after the other, as two criterion functions are, the sides
//! saw the machine in different states: the raw side took 2.3 ms a fetch in one run and 4.8 ms
//! in another on the same code, and the ratio moved between 0.83 and 1.52. Taking turns, both
//! sides see the same state, and the figure is the pipeline's cost, not the machine's mood.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cache_core::{DEFAULT_EAGER_ENCODINGS, DirectoryCache, DirectoryId, Outcome};
use dircache_benches::{ENTRIES, RawFetch, Upstream, median, record, runtime};
use tokio::runtime::Runtime;

/// Turns each side takes. One round's ratio spreads by about a tenth either way on a shared
/// 2-core machine; the median of 21 moves by a few hundredths from run to run.
const ROUNDS: usize = 21;
/// Fetches in one turn (about 40 ms).
const TURN: usize = 10;
/// Fetches each side makes before the rounds.
const WARM_UP: usize = 20;
/// How often a fetch looks whether its copy's compressed forms are made (they take a few ms).
const FORMS_POLL: Duration = Duration::from_micros(250);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = runtime()?;
    let upstream = Upstream::start()?;
    let cache = upstream.cache()?;
    let id = upstream.directory_id();
    // Both sides start with a token in hand and a connection open.
    let first = runtime.block_on(cache.get(id))?;
    assert_eq!(first.directory.entry_count(), ENTRIES);
    drop(first);
    let raw = runtime.block_on(upstream.raw_fetch())?;
    let sides = Sides {
        runtime: &runtime,
        cache: &cache,
        id,
        raw: &raw,
    };
    sides.pipeline(WARM_UP);
    sides.raw(WARM_UP);

    let mut pipeline = Vec::with_capacity(ROUNDS);
    let mut bare = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            pipeline.push(sides.pipeline(TURN));
            bare.push(sides.raw(TURN));
        } else {
            bare.push(sides.raw(TURN));
            pipeline.push(sides.pipeline(TURN));
        }
    }

    let per_fetch = |turns: &[Duration]| {
        median(turns.iter().map(Duration::as_secs_f64).collect()) / TURN as f64
    };
    for (round, (pipeline, bare)) in pipeline.iter().zip(&bare).enumerate() {
        println!(
            "  round {}: pipeline {:.2} ms, raw {:.2} ms a fetch ({:.2})",
            round + 1,
            pipeline.as_secs_f64() * 1e3 / TURN as f64,
            bare.as_secs_f64() * 1e3 / TURN as f64,
            pipeline.as_secs_f64() / bare.as_secs_f64(),
        );
    }
    let cold_fetch_vs_raw = median(
        pipeline
            .iter()
            .zip(&bare)
            .map(|(pipeline, bare)| pipeline.as_secs_f64() / bare.as_secs_f64())
            .collect(),
    );
    let (pipeline, bare) = (per_fetch(&pipeline), per_fetch(&bare));
    println!(
        "cold_fetch: {ENTRIES} entries in two pages: pipeline {:.2} ms, raw {:.2} ms a fetch \
         (medians of {ROUNDS} turns); median of the rounds' ratios: {cold_fetch_vs_raw:.2}",
        pipeline * 1e3,
        bare * 1e3,
    );
    let written = record(
        "cold_fetch",
        &[
            ("cold_fetch_vs_raw", cold_fetch_vs_raw),
            ("pipeline_seconds", pipeline),
            ("raw_seconds", bare),
        ],
    )?;
    if let Some(path) = written {
        println!("cold_fetch: recorded in {}", path.display());
    }
    Ok(())
}

/// The two sides compared, on one single-threaded runtime (genesys-mock runs on its own).
struct Sides<'a> {
    runtime: &'a Runtime,
    cache: &'a DirectoryCache,
    id: &'a DirectoryId,
    raw: &'a RawFetch,
}

impl Sides<'_> {
    /// The time callers wait on `fetches` misses, one after the other.
    ///
    /// The eager compressed forms are made after the copy is stored, on their own thread,
    /// while the caller already has its answer: each fetch waits for that thread to make them,
    /// outside the timing, so that one fetch's compression does not run into the next one's
    /// (their cost is `fill`'s figure). It waits rather than asking for the forms: asked for,
    /// a form not yet started is made on the asking thread, this one, as no caller's thread
    /// makes it in production, and the next fetch then ran slower on the same thread.
    fn pipeline(&self, fetches: usize) -> Duration {
        self.runtime.block_on(async {
            let mut waited = Duration::ZERO;
            for _ in 0..fetches {
                self.cache
                    .invalidate(self.id)
                    .await
                    .expect("invalidation succeeds");
                let started = Instant::now();
                let lookup = self
                    .cache
                    .get(self.id)
                    .await
                    .expect("the directory is fetched");
                waited += started.elapsed();
                assert_eq!(lookup.outcome, Outcome::Miss);
                while !DEFAULT_EAGER_ENCODINGS
                    .iter()
                    .all(|coding| lookup.directory.is_encoded(*coding))
                {
                    tokio::time::sleep(FORMS_POLL).await;
                }
            }
            waited
        })
    }

    /// The time `fetches` bare fetches take, one after the other, each parsed and dropped.
    fn raw(&self, fetches: usize) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..fetches {
                let entries = self.raw.fetch().await.expect("the pages are fetched");
                assert_eq!(entries.len(), ENTRIES);
                black_box(entries);
            }
            started.elapsed()
        })
    }
}
