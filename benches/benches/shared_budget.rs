//! `shared_budget`: how many upstream requests three `dircache serve` on one Redis send in
//! 60 s under load, against the `DIRCACHE_UPSTREAM_RPM` they share.
//!
//! A count, not a timing: it records `overshoot` for `cargo xtask bench` (the directory
//! requests genesys-mock received within 60 s of the first ÷ 120) and `upstream_requests`. The
//! load: workers on each instance GET directories never read before (each a miss that needs
//! upstream) for the whole minute, so the budget is what limits them. Unknown ids may use the
//! whole budget here (`DIRCACHE_UNKNOWN_SHARE=1`), so that every request draws on it.
//! Arguments (cargo passes `--bench`) are ignored.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dircache_benches::{Connection, Error, Upstream, record};
use genesys_mock::{MockDirectory, RequestKind};
use testkit::{Dircache, RedisServer};

/// The rate the three instances share.
const RATE: u32 = 120;
/// Instances on the one Redis.
const INSTANCES: usize = 3;
/// Workers sending GETs to each instance, one connection each.
const WORKERS: usize = 4;
/// Directories the mock holds: more than the load can read in a minute.
const DIRECTORIES: usize = 20_000;
/// How long the load runs: the window measured, and a little more.
const LOAD: Duration = Duration::from_secs(62);
/// The window of the rate.
const WINDOW: Duration = Duration::from_secs(60);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let redis = RedisServer::start()?;
    let upstream = Upstream::start()?;
    let mock = upstream.mock();
    for i in 0..DIRECTORIES {
        mock.put_directory(
            &format!("budget_{i}"),
            MockDirectory::generated(2, i as u64),
        );
    }
    let servers = (0..INSTANCES)
        .map(|_| {
            Dircache::for_mock(mock)?
                .env("RUST_LOG", "warn")
                .env("DIRCACHE_BACKEND", "redis")
                .env("DIRCACHE_REDIS_URL", redis.url())
                .env("DIRCACHE_UPSTREAM_RPM", RATE.to_string())
                .env("DIRCACHE_UNKNOWN_SHARE", "1")
                .serve()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let before = mock.stats().directory_requests;
    let next = Arc::new(AtomicUsize::new(0));
    let load = runtime.block_on(async {
        let started = Instant::now();
        let mut workers = Vec::new();
        for server in &servers {
            for _ in 0..WORKERS {
                let (addr, next) = (server.addr(), Arc::clone(&next));
                workers.push(tokio::spawn(async move {
                    let mut connection = Connection::open(addr).await?;
                    let (mut served, mut refused) = (0u64, 0u64);
                    while started.elapsed() < LOAD {
                        let i = next.fetch_add(1, Ordering::Relaxed) % DIRECTORIES;
                        let answer = connection
                            .get(&format!("/v1/directories/budget_{i}"))
                            .await?;
                        match answer.status.as_u16() {
                            200 => served += 1,
                            _ => refused += 1,
                        }
                    }
                    Ok::<_, Error>((served, refused))
                }));
            }
        }
        let (mut served, mut refused) = (0, 0);
        for worker in workers {
            let (s, r) = worker.await??;
            served += s;
            refused += r;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((served, refused))
    });
    let (served, refused) = load.map_err(|e| e as Box<dyn std::error::Error>)?;
    let directory_requests: Vec<Instant> = mock
        .requests()
        .iter()
        .filter(|request| matches!(request.kind, RequestKind::Directory(_)))
        .map(|request| request.at)
        .skip(usize::try_from(before).unwrap_or(0))
        .collect();
    let first = directory_requests
        .first()
        .copied()
        .ok_or("no upstream request")?;
    let in_window = directory_requests
        .iter()
        .filter(|at| at.duration_since(first) <= WINDOW)
        .count();
    let overshoot = in_window as f64 / f64::from(RATE);
    println!(
        "shared_budget: {INSTANCES} instances on one Redis at DIRCACHE_UPSTREAM_RPM={RATE}, \
         {WORKERS} workers each for {} s: {in_window} directory requests upstream in the 60 s \
         after the first ({} in all); {served} GETs answered 200, {refused} refused: \
         {overshoot:.2} of the rate",
        LOAD.as_secs(),
        directory_requests.len()
    );
    let written = record(
        "shared_budget",
        &[
            ("overshoot", overshoot),
            ("upstream_requests", in_window as f64),
        ],
    )?;
    if let Some(path) = written {
        println!("recorded in {}", path.display());
    }
    Ok(())
}
