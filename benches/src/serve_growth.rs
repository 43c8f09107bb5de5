//! How much resident memory `dircache serve` grows by while it caches directories, against the
//! upstream JSON of their entries: the measurement of `serve_rss` and `big_directory_rss`.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::Value;
use testkit::Dircache;

use crate::{Connection, DIRECTORY, Error, record, resident_bytes};

/// Time for work a fill leaves behind (listener and audit tasks) to finish before RSS is read.
const SETTLE: Duration = Duration::from_millis(500);
/// Bytes in a mebibyte, for the printed line.
const MIB: f64 = 1024.0 * 1024.0;

/// One measurement: the directories to cache after the warm-up and what they hold.
#[derive(Debug)]
pub struct Growth<'a> {
    /// The bench target, which names the record.
    pub bench: &'static str,
    /// The figure recorded (RSS bytes per entry ÷ JSON bytes per entry).
    pub figure: &'static str,
    /// The directories fetched once each after the warm-up.
    pub ids: &'a [String],
    /// How many entries they hold in all.
    pub entries: usize,
    /// The upstream JSON size of those entries, each serialised alone.
    pub json_bytes: usize,
}

/// The JSON size of `entries`, each serialised alone: what upstream sends for them.
pub fn json_size(entries: &[Value]) -> Result<usize, serde_json::Error> {
    entries
        .iter()
        .map(|entry| serde_json::to_vec(entry).map(|json| json.len()))
        .sum()
}

impl Growth<'_> {
    /// Serves with `setup`, warms up on [`DIRECTORY`] (runtime, HTTP stacks and token in
    /// place), reads RSS, fetches every directory of `ids` once (each must be a MISS), reads RSS
    /// again, checks that nothing was evicted, and records the figure with its parts.
    pub fn measure(&self, setup: Dircache) -> Result<(), Box<dyn std::error::Error>> {
        let server = setup.serve()?;
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
            for id in self.ids {
                served_bytes += get_miss(&mut connection, id).await?;
            }
            tokio::time::sleep(SETTLE).await;
            let after = resident_bytes(server.pid())?;
            all_cached(&mut connection, self.ids.len() + 1).await?;
            Ok::<_, Error>((before, after, served_bytes))
        })?;

        let entries = self.entries as f64;
        let growth = after.saturating_sub(before) as f64;
        let rss_per_entry = growth / entries;
        let json_per_entry = self.json_bytes as f64 / entries;
        let ratio = rss_per_entry / json_per_entry;
        let (bench, directories) = (self.bench, self.ids.len());
        println!(
            "{bench}: {directories} directories, {entries} entries cached: RSS {:.1} MiB -> \
             {:.1} MiB, {rss_per_entry:.0} bytes per entry; upstream JSON {json_per_entry:.0} \
             bytes per entry ({:.1} MiB in all; serve's documents {:.1} MiB): {ratio:.2} RSS \
             bytes per JSON byte",
            before as f64 / MIB,
            after as f64 / MIB,
            self.json_bytes as f64 / MIB,
            served_bytes as f64 / MIB,
        );
        let written = record(
            bench,
            &[
                (self.figure, ratio),
                ("rss_growth_bytes", growth),
                ("entries", entries),
                ("json_bytes", self.json_bytes as f64),
                ("served_bytes", served_bytes as f64),
            ],
        )?;
        if let Some(path) = written {
            println!("{bench}: recorded in {}", path.display());
        }
        let status = server.stop()?.status;
        if !status.success() {
            return Err(format!("serve exited with {status} after SIGTERM").into());
        }
        Ok(())
    }
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
