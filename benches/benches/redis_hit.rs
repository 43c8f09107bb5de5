//! `redis_hit`: a pipeline hit on Redis with no L1 beside a bare `GET` of the same key and a
//! decode of its bytes; and the stored size beside the directory's JSON (`redis_bytes`).

use cache_core::{DirectoryCache, Outcome};
use cache_redis::RedisBackend;
use criterion::Criterion;
use dircache_benches::{ENTRIES, Upstream, record, runtime};
use testkit::RedisServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = runtime()?;
    let upstream = Upstream::start()?;
    // A server of its own, never the machine's shared Redis.
    let server = RedisServer::start()?;
    let backend = runtime.block_on(RedisBackend::builder(&server.url()).build())?;
    let cache = DirectoryCache::builder()
        .source(upstream.client()?)
        .backend(backend.clone())
        .refresh_ahead(0.0)
        .build()?;
    let id = upstream.directory_id();
    let filled = runtime.block_on(cache.get(id))?;
    assert_eq!(filled.outcome, Outcome::Miss);
    assert_eq!(filled.directory.entry_count(), ENTRIES);

    let stored = runtime
        .block_on(backend.stored_bytes(id))?
        .ok_or("the directory is stored in Redis")?;
    let json = filled.directory.entries_json().len();
    // The entries as served (keys sorted, no whitespace): smaller than upstream's pages, which
    // also carry the paging fields, so the ratio is the less flattering one.
    let ratio = stored.len() as f64 / json as f64;
    println!(
        "redis_bytes: {} bytes stored for {json} bytes of entries JSON ({ratio:.3})",
        stored.len()
    );
    record(
        "redis_hit",
        &[
            ("redis_bytes_vs_json", ratio),
            ("stored_bytes", stored.len() as f64),
            ("json_bytes", json as f64),
        ],
    )?;

    let key = backend.directory_key(id);
    let client = redis::Client::open(server.url())?;
    let raw = runtime.block_on(client.get_multiplexed_async_connection())?;

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("redis_hit");
    group.bench_function("pipeline", |b| {
        b.to_async(&runtime).iter(|| async {
            let lookup = cache.get(id).await.expect("a cached directory is served");
            assert_eq!(lookup.outcome, Outcome::Hit);
            lookup.directory
        });
    });
    group.bench_function("raw", |b| {
        b.to_async(&runtime).iter(|| {
            let mut raw = raw.clone();
            let key = key.clone();
            async move {
                let bytes: Vec<u8> = redis::AsyncCommands::get(&mut raw, &key)
                    .await
                    .expect("the value is read");
                cache_redis::decode(id, &bytes).expect("the value decodes")
            }
        });
    });
    group.finish();
    criterion.final_summary();
    drop(raw);
    Ok(())
}
