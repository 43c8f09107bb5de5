//! A tour of the cache pipeline against genesys-mock: miss, hit, an upstream change found by
//! verify, invalidation and the statistics. No credentials and no network needed.
//!
//! `cargo run --release -p cache-core --example tour`

use std::sync::Arc;

use audit::{Auditor, MemoryAuditSink};
use cache_core::{DirectoryCache, DirectoryId};
use genesys_client::{GenesysClient, SecretString};
use genesys_mock::{GenesysMock, MockDirectory};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = GenesysMock::start()?;
    mock.put_directory(
        "external_vendors",
        MockDirectory::generated(480, 42).validators(true),
    );
    println!(
        "genesys-mock listening on {} (a fake Genesys Cloud org)",
        mock.base_url()
    );

    let client = GenesysClient::builder()
        .api_url(&mock.api_url())
        .login_url(&mock.login_url())
        .client_id(mock.client_id())
        .client_secret(SecretString::from(mock.client_secret().to_owned()))
        .build()?;
    let audit = Arc::new(MemoryAuditSink::new());
    let cache = DirectoryCache::builder()
        .source(client)
        .auditor(Auditor::new(audit.clone(), "tour"))
        .build()?;
    let vendors = DirectoryId::new("external_vendors")?;

    let first = cache.get(&vendors).await?;
    println!(
        "1. get external_vendors → {}: {} entries in {} upstream requests (2 pages of 250)",
        first.outcome.as_str(),
        first.directory.entry_count(),
        mock.stats().requests_for("external_vendors"),
    );
    let second = cache.get(&vendors).await?;
    println!(
        "2. get again → {}: no upstream request (still {})",
        second.outcome.as_str(),
        mock.stats().requests_for("external_vendors"),
    );

    mock.update_directory("external_vendors", |entries| {
        entries[0]["name"] = "Zoë Ångström (renamed upstream)".into();
    });
    let report = cache.verify(&vendors).await?;
    println!(
        "3. someone renamed an entry upstream; verify ({}) → changed: {}, {} → {}",
        report.method,
        report.changed,
        short(report.previous_fingerprint.as_ref().map(|f| f.as_str())),
        short(Some(report.fingerprint.as_str())),
    );
    let renamed = cache.get(&vendors).await?.directory.entries()?;
    println!(
        "   the cache now serves {:?}",
        renamed[0].name().unwrap_or_default()
    );

    cache.invalidate(&vendors).await?;
    let after = cache.get(&vendors).await?;
    println!(
        "4. invalidate, then get → {} (fetched again)",
        after.outcome.as_str()
    );

    let stats = cache.stats().await;
    println!(
        "5. stats: {} hits, {} misses, hit ratio {:.2}, p99 {:.2} ms, {} directory cached",
        stats.hits, stats.misses, stats.hit_ratio, stats.p99_latency_ms, stats.cache_size
    );
    let events: Vec<_> = audit.events().iter().map(|e| e.event.as_str()).collect();
    println!("   audit trail: {}", events.join(", "));
    Ok(())
}

fn short(fingerprint: Option<&str>) -> String {
    fingerprint.map_or_else(|| "none".into(), |f| format!("{}…", &f[..15.min(f.len())]))
}
