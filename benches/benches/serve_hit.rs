//! `serve_hit`: HIT requests/s of `dircache serve` for a cached 500-entry directory, beside a bare
//! axum handler returning the same bytes, under the same load in the same run; and the same
//! with `Accept-Encoding: zstd`, beside the bare handler returning serve's zstd bytes.
//!
//! Not a criterion timing: it records `hit_vs_static` (serve's requests/s ÷ the static
//! server's), `zstd_hit_vs_static` (the same for zstd answers) and `zstd_bytes_vs_json` (the
//! zstd body's length ÷ the JSON's) for `cargo xtask bench`. Arguments (cargo passes
//! `--bench`) are ignored.
//!
//! Both servers are processes of their own (the static one is the `static_server` binary of
//! this package), so they get the same conditions: a multi-thread runtime over all cores, a
//! heap of their own, and the same load generator in this process, which shares those cores
//! with them (the reason the figure is a ratio). The servers take turns, many times, and the
//! figure is the median of the rounds' ratios, so that whatever else runs on the machine
//! weighs on both alike.

use std::path::Path;
use std::time::Duration;

use dircache_benches::{
    Connection, DIRECTORY, ENTRIES, Error, Load, STATIC_LISTENING, Throughput, Upstream, median,
    record,
};
use hyper::StatusCode;
use hyper::header::CONTENT_TYPE;
use serde_json::Value;
use testkit::{Dircache, ServerProcess};

/// Keep-alive connections to each server, each with one request in flight at a time.
const CONNECTIONS: usize = 32;
/// Load on each server before the rounds: connections, caches and the scheduler settle.
const WARM_UP: Duration = Duration::from_secs(1);
/// Turns each server takes. The figure is the median, over rounds, of serve's requests/s ÷ the
/// static server's in the same round: a burst of other work on the machine skews one round,
/// not the figure.
const ROUNDS: usize = 9;
/// Load on a server at the start of its turn before its answers are counted.
const SETTLE: Duration = Duration::from_millis(100);
/// Time each turn's answers are counted in (3.15 s per server in all).
const MEASURE: Duration = Duration::from_millis(350);

/// A server under load and its throughput in each round.
struct Target {
    label: &'static str,
    addr: std::net::SocketAddr,
    load: Load,
    rounds: Vec<Throughput>,
}

impl Target {
    /// Its answers over all of its measured time, per second.
    fn per_second(&self) -> f64 {
        let answers: u64 = self.rounds.iter().map(|round| round.answers).sum();
        let elapsed: Duration = self.rounds.iter().map(|round| round.elapsed).sum();
        answers as f64 / elapsed.as_secs_f64()
    }

    /// Its requests/s ÷ `baseline`'s, round by round.
    fn ratios(&self, baseline: &Target) -> Vec<f64> {
        self.rounds
            .iter()
            .zip(&baseline.rounds)
            .map(|(ours, theirs)| ours.per_second() / theirs.per_second())
            .collect()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upstream = Upstream::start()?;
    let scratch = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let path = format!("/v1/directories/{DIRECTORY}");
    let mock = upstream.mock();

    // The figure's side: warn, so no line is written per request. The access log (info, the
    // default of `serve`) is a deployment choice, measured beside it but not in the figure.
    let quiet = Dircache::for_mock(mock)?.env("RUST_LOG", "warn").serve()?;
    let logged = Dircache::for_mock(mock)?.env("RUST_LOG", "info").serve()?;
    let (body, content_type) = runtime.block_on(fill(quiet.addr(), &path))?;
    let (logged_body, _) = runtime.block_on(fill(logged.addr(), &path))?;

    let body_file = scratch.path().join("body.json");
    std::fs::write(&body_file, &body).map_err(|source| Error::Scratch {
        path: body_file.clone(),
        source,
    })?;
    let bare = start_static(&body_file, None, scratch.path())?;
    let zstd_body = runtime.block_on(zstd_answer(quiet.addr(), &path))?;
    let zstd_file = scratch.path().join("body.json.zst");
    std::fs::write(&zstd_file, &zstd_body).map_err(|source| Error::Scratch {
        path: zstd_file.clone(),
        source,
    })?;
    let bare_zstd = start_static(&zstd_file, Some("zstd"), scratch.path())?;
    let zstd_bytes_vs_json = zstd_body.len() as f64 / body.len() as f64;
    println!(
        "serve_hit: the zstd body is {} bytes of the {}-byte JSON ({zstd_bytes_vs_json:.3})",
        zstd_body.len(),
        body.len()
    );
    let bare_answer =
        runtime.block_on(async { Connection::open(bare.addr()).await?.get(&path).await })?;
    assert_eq!(bare_answer.status, StatusCode::OK);
    assert_eq!(bare_answer.body, body, "the baseline serves serve's bytes");
    assert_eq!(bare_answer.headers.get(CONTENT_TYPE), Some(&content_type));

    println!(
        "serve_hit: GET {path} ({ENTRIES} entries, a {}-byte body) on {CONNECTIONS} keep-alive \
         connections per server; {WARM_UP:?} warm-up each, then {ROUNDS} rounds of {SETTLE:?} + \
         {MEASURE:?} measured per server, taking turns",
        body.len(),
    );
    println!(
        "serve_hit: serve runs with RUST_LOG=warn; per-request access logging (info, serve's \
         default) is a deployment choice, measured separately as serve+log"
    );
    let targets = runtime.block_on(async {
        let mut targets = Vec::new();
        for (label, addr, body_len, coding) in [
            ("static", bare.addr(), body.len(), None),
            ("serve", quiet.addr(), body.len(), None),
            ("serve+log", logged.addr(), logged_body.len(), None),
            (
                "static zstd",
                bare_zstd.addr(),
                zstd_body.len(),
                Some("zstd"),
            ),
            ("serve zstd", quiet.addr(), zstd_body.len(), Some("zstd")),
        ] {
            let mut load = Load::open_accepting(addr, &path, body_len, CONNECTIONS, coding).await?;
            load.run(WARM_UP, Duration::ZERO).await?;
            targets.push(Target {
                label,
                addr,
                load,
                rounds: Vec::new(),
            });
        }
        for round in 0..ROUNDS {
            // Each round starts with another server, so that none always follows the same one.
            for i in 0..targets.len() {
                let at = (round + i) % targets.len();
                let target = &mut targets[at];
                let measured = target.load.run(SETTLE, MEASURE).await?;
                target.rounds.push(measured);
            }
        }
        for target in &targets[1..3] {
            only_hits(target).await?;
        }
        Ok::<_, Error>(targets)
    })?;

    let [
        bare_target,
        quiet_target,
        logged_target,
        bare_zstd_target,
        zstd_target,
    ] = &targets[..]
    else {
        unreachable!("five targets were measured");
    };
    for round in 0..ROUNDS {
        let rate = |target: &Target| target.rounds[round].per_second();
        println!(
            "  round {}: static {:.0}/s, serve {:.0}/s ({:.2}), serve+log {:.0}/s ({:.2})",
            round + 1,
            rate(bare_target),
            rate(quiet_target),
            rate(quiet_target) / rate(bare_target),
            rate(logged_target),
            rate(logged_target) / rate(bare_target),
        );
        println!(
            "  round {}: static zstd {:.0}/s, serve zstd {:.0}/s ({:.2})",
            round + 1,
            rate(bare_zstd_target),
            rate(zstd_target),
            rate(zstd_target) / rate(bare_zstd_target),
        );
    }
    let hit_vs_static = median(quiet_target.ratios(bare_target));
    let logged_vs_static = median(logged_target.ratios(bare_target));
    let zstd_hit_vs_static = median(zstd_target.ratios(bare_zstd_target));
    let (bare_rate, quiet_rate, logged_rate) = (
        bare_target.per_second(),
        quiet_target.per_second(),
        logged_target.per_second(),
    );
    println!(
        "serve_hit: over all rounds static {bare_rate:.0} requests/s, serve {quiet_rate:.0} \
         ({:.2}), serve+log {logged_rate:.0} ({:.2})",
        quiet_rate / bare_rate,
        logged_rate / bare_rate,
    );
    println!(
        "serve_hit: median of the rounds' ratios: serve {hit_vs_static:.2} of static, \
         serve+log {logged_vs_static:.2} of static, serve zstd {zstd_hit_vs_static:.2} of \
         static zstd"
    );
    let written = record(
        "serve_hit",
        &[
            ("hit_vs_static", hit_vs_static),
            ("access_log_vs_static", logged_vs_static),
            ("zstd_hit_vs_static", zstd_hit_vs_static),
            ("zstd_bytes_vs_json", zstd_bytes_vs_json),
            ("static_requests_per_second", bare_rate),
            ("serve_requests_per_second", quiet_rate),
            ("serve_access_log_requests_per_second", logged_rate),
            ("body_bytes", body.len() as f64),
            ("connections", CONNECTIONS as f64),
        ],
    )?;
    if let Some(path) = written {
        println!("serve_hit: recorded in {}", path.display());
    }
    // Only serve promises a clean exit on SIGTERM; the bare server just dies of it.
    drop(bare);
    drop(bare_zstd);
    for (label, served) in [("serve", quiet), ("serve+log", logged)] {
        let status = served.stop()?.status;
        if !status.success() {
            return Err(format!("{label} exited with {status} after SIGTERM").into());
        }
    }
    Ok(())
}

/// Fills serve's cache with the directory (a MISS) and reads it back as a HIT: the body and
/// content type every later answer repeats.
async fn fill(
    addr: std::net::SocketAddr,
    path: &str,
) -> Result<(bytes::Bytes, hyper::header::HeaderValue), Error> {
    let mut connection = Connection::open(addr).await?;
    let mut body = None;
    for expected in ["MISS", "HIT"] {
        let answer = connection.get(path).await?;
        let x_cache = answer.headers.get("x-cache").and_then(|v| v.to_str().ok());
        if answer.status != StatusCode::OK || x_cache != Some(expected) {
            return Err(Error::Answer {
                addr,
                path: path.to_owned(),
                reason: format!(
                    "{} with X-Cache {x_cache:?}, where 200 {expected} was expected",
                    answer.status
                ),
            });
        }
        let content_type = answer.headers.get(CONTENT_TYPE).cloned();
        body = Some((answer.body, content_type));
    }
    let (body, content_type) = body.expect("two answers were read");
    let content_type = content_type.ok_or_else(|| Error::Answer {
        addr,
        path: path.to_owned(),
        reason: "no Content-Type".to_owned(),
    })?;
    Ok((body, content_type))
}

/// Checks in serve's own stats that every request counted was a hit: one miss (the fill), no
/// stale answer, no error.
async fn only_hits(target: &Target) -> Result<(), Error> {
    let addr = target.addr;
    let answer = Connection::open(addr).await?.get("/v1/stats").await?;
    let stats: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let count = |key: &str| stats.get(key).and_then(Value::as_u64);
    let counted: u64 = target.rounds.iter().map(|round| round.answers).sum();
    let all_hits = count("misses") == Some(1)
        && count("stale") == Some(0)
        && count("errors") == Some(0)
        && count("hits").is_some_and(|hits| hits >= counted);
    if all_hits {
        Ok(())
    } else {
        Err(Error::Answer {
            addr,
            path: "/v1/stats".to_owned(),
            reason: format!(
                "{} ({}): {counted} answers counted, not all of them hits",
                target.label,
                String::from_utf8_lossy(&answer.body)
            ),
        })
    }
}

/// serve's answer to `GET path` with `Accept-Encoding: zstd` (a hit): its zstd bytes.
async fn zstd_answer(addr: std::net::SocketAddr, path: &str) -> Result<bytes::Bytes, Error> {
    let answer = Connection::open(addr)
        .await?
        .accepting(Some("zstd"))
        .get(path)
        .await?;
    let coding = answer.headers.get("content-encoding");
    if answer.status != StatusCode::OK || coding.is_none_or(|coding| coding != "zstd") {
        return Err(Error::Answer {
            addr,
            path: path.to_owned(),
            reason: format!(
                "{} with Content-Encoding {coding:?}, not 200 zstd",
                answer.status
            ),
        });
    }
    Ok(answer.body)
}

/// Starts the bare baseline serving the bytes in `body_file`, labelled with
/// `Content-Encoding: <coding>` when one is given.
fn start_static(
    body_file: &Path,
    coding: Option<&str>,
    scratch: &Path,
) -> Result<ServerProcess, Error> {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_static_server"));
    command.arg(body_file).args(coding).env_clear();
    Ok(ServerProcess::start(
        "static_server",
        command,
        scratch,
        STATIC_LISTENING,
    )?)
}
