//! The operator's endpoints: health, readiness, unknown paths, `/v1/stats` and `/metrics`.

use anyhow::{Context, Result};
use dircache_e2e::{ADMIN_TOKEN, Start, prometheus, serving_with, setup, start_mock};
use genesys_mock::MockDirectory;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_unknown_paths() -> Result<()> {
    let mock = start_mock()?;
    let served = setup(&mock)?.start().await?;

    let health = served.get("/healthz").await?;
    assert_eq!(
        (health.status, health.json()?),
        (200, json!({"status": "ok"}))
    );
    let ready = served.get("/readyz").await?;
    assert_eq!(
        (ready.status, ready.json()?),
        (200, json!({"status": "ready"}))
    );
    let unknown = served.get("/v2/nothing-here").await?;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    assert_eq!(unknown.error_code()?, "no_route");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_valid_prometheus_text_that_agrees_with_stats() -> Result<()> {
    let (_mock, served) = serving_with("vendors", MockDirectory::generated(20, 1), |setup| {
        setup.env("DIRCACHE_INSTANCE_ID", "e2e-metrics")
    })
    .await?;
    for _ in 0..3 {
        served.read_directory("vendors").await?;
    }
    assert_eq!(served.get_directory("nobody").await?.status, 404);
    let deleted = served
        .delete_directory("vendors", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(deleted.status, 204);

    let stats = served.get("/v1/stats").await?;
    assert_eq!(stats.status, 200, "{}", stats.text());
    let stats = stats.json()?;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(2), Some(1)),
        "{stats}"
    );
    assert_eq!(stats["backend"], "memory", "{stats}");
    assert_eq!(stats["instance_id"], "e2e-metrics", "{stats}");
    for field in [
        "cache_size",
        "stale",
        "errors",
        "hit_ratio",
        "avg_latency_ms",
        "p99_latency_ms",
    ] {
        assert!(stats[field].is_number(), "{field} in {stats}");
    }
    let ratio = stats["hit_ratio"].as_f64().unwrap_or(-1.0);
    assert!((0.0..=1.0).contains(&ratio) && ratio > 0.0, "{stats}");

    let metrics = served.get("/metrics").await?;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    let exposition = prometheus::parse(&text).with_context(|| format!("/metrics:\n{text}"))?;
    assert!(!exposition.samples.is_empty(), "{text}");
    for family in exposition.families() {
        assert!(family.starts_with("dircache_"), "{family} in\n{text}");
        assert!(
            exposition
                .help
                .get(&family)
                .is_some_and(|help| !help.is_empty()),
            "{family} has no HELP text in\n{text}"
        );
    }
    let outcome =
        |outcome: &str| exposition.sum("dircache_requests_total", &[("outcome", outcome)]);
    assert_eq!(outcome("hit"), stats["hits"].as_f64(), "{text}");
    assert_eq!(outcome("miss"), stats["misses"].as_f64(), "{text}");
    let sum = |name: &str| exposition.sum(name, &[]);
    assert_eq!(sum("dircache_invalidations_total"), Some(1.0), "{text}");
    // One duration per GET of a directory, the 404 among them; not the DELETE.
    assert_eq!(
        sum("dircache_request_duration_seconds_count"),
        Some(4.0),
        "{text}"
    );

    Ok(testkit::promtool::check_metrics(&text)?)
}
