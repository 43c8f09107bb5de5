//! `serve_lookup`: lookup requests/s of `dircache serve` (`…/entries?phone=…`, one match) beside
//! HIT requests/s of the whole directory, for a cached one-entry directory, on the same server
//! under the same load in the same run.
//!
//! Not a criterion timing: it records `lookup_vs_hit` for `cargo xtask bench`. Arguments (cargo
//! passes `--bench`) are ignored. The load is `serve_hit`'s (keep-alive connections, one request
//! in flight each); the two paths take turns, many times, and the figure is the median of the
//! rounds' ratios, so that whatever else runs on the machine weighs on both alike.

use std::time::Duration;

use dircache_benches::{Connection, Error, Load, Throughput, median, record};
use genesys_mock::{GenesysMock, MockDirectory};
use hyper::StatusCode;
use serde_json::json;
use testkit::Dircache;

/// Keep-alive connections to the server, each with one request in flight at a time.
const CONNECTIONS: usize = 32;
/// Load on each path before the rounds.
const WARM_UP: Duration = Duration::from_secs(1);
/// Turns each path takes. One round's ratio spreads from about 0.85 to 1.1 on a shared 2-core
/// machine; the median of 21 moves by a few hundredths from run to run, that of 9 by twice that.
const ROUNDS: usize = 21;
/// Load at the start of a turn before its answers are counted.
const SETTLE: Duration = Duration::from_millis(100);
/// Time each turn's answers are counted in.
const MEASURE: Duration = Duration::from_millis(350);
const DIRECTORY: &str = "one_entry";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = GenesysMock::start()?;
    mock.put_directory(
        DIRECTORY,
        MockDirectory::new(vec![json!({
            "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "name": "José Ñúñez",
            "email": "jose.nunez@example.com",
            "phone": "+1 (317) 555-0100",
            "selfUri": "/api/v2/routing/directories/entries/0f8fad5b-d9cb-469f-a165-70867728950e",
        })]),
    );
    let served = Dircache::for_mock(&mock)?.env("RUST_LOG", "warn").serve()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let hit_path = format!("/v1/directories/{DIRECTORY}");
    let lookup_path = format!("/v1/directories/{DIRECTORY}/entries?phone=%2B13175550100");

    let (hit, lookup) = runtime.block_on(async {
        let mut loads = Vec::new();
        for path in [&hit_path, &lookup_path] {
            let body_len = hit_body(served.addr(), path).await?;
            let mut load = Load::open(served.addr(), path, body_len, CONNECTIONS).await?;
            load.run(WARM_UP, Duration::ZERO).await?;
            loads.push((load, Vec::<Throughput>::new()));
        }
        for round in 0..ROUNDS {
            let turns = loads.len();
            for i in 0..turns {
                let (load, rounds) = &mut loads[(round + i) % turns];
                rounds.push(load.run(SETTLE, MEASURE).await?);
            }
        }
        let mut rounds = loads.into_iter().map(|(_, rounds)| rounds);
        Ok::<_, Error>((
            rounds.next().unwrap_or_default(),
            rounds.next().unwrap_or_default(),
        ))
    })?;

    let ratios: Vec<f64> = lookup
        .iter()
        .zip(&hit)
        .map(|(lookup, hit)| lookup.per_second() / hit.per_second())
        .collect();
    for (round, (lookup, hit)) in lookup.iter().zip(&hit).enumerate() {
        println!(
            "  round {}: hit {:.0}/s, lookup {:.0}/s ({:.2})",
            round + 1,
            hit.per_second(),
            lookup.per_second(),
            lookup.per_second() / hit.per_second()
        );
    }
    let lookup_vs_hit = median(ratios);
    println!("serve_lookup: median of the rounds' ratios: lookup {lookup_vs_hit:.2} of hit");
    let written = record("serve_lookup", &[("lookup_vs_hit", lookup_vs_hit)])?;
    if let Some(path) = written {
        println!("serve_lookup: recorded in {}", path.display());
    }
    let status = served.stop()?.status;
    if !status.success() {
        return Err(format!("serve exited with {status} after SIGTERM").into());
    }
    Ok(())
}

/// Reads `path` until it is a HIT (the first read fills the cache); the length of its body.
async fn hit_body(addr: std::net::SocketAddr, path: &str) -> Result<usize, Error> {
    let mut connection = Connection::open(addr).await?;
    for _ in 0..2 {
        let answer = connection.get(path).await?;
        let x_cache = answer.headers.get("x-cache").and_then(|v| v.to_str().ok());
        if answer.status == StatusCode::OK && x_cache == Some("HIT") {
            return Ok(answer.body.len());
        }
    }
    Err(Error::Answer {
        addr,
        path: path.to_owned(),
        reason: "not a 200 HIT on the second read".to_owned(),
    })
}
