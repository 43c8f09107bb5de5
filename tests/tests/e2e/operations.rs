//! The operator's endpoints: health, readiness, unknown paths, `/v1/stats` and `/metrics`.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use dircache_e2e::{Start, prometheus, setup, start_mock};
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
    let mock = start_mock()?;
    mock.put_directory("vendors", MockDirectory::generated(20, 1));
    let served = setup(&mock)?
        .env("DIRCACHE_INSTANCE_ID", "e2e-metrics")
        .start()
        .await?;
    for _ in 0..3 {
        assert_eq!(served.get_directory("vendors").await?.status, 200);
    }
    assert_eq!(served.get_directory("nobody").await?.status, 404);

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

    promtool_check(&text)
}

/// `promtool check metrics` when promtool is installed (CI installs it); a note otherwise.
fn promtool_check(text: &str) -> Result<()> {
    let spawned = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            println!("note: promtool is not installed; `promtool check metrics` was skipped");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    child
        .stdin
        .take()
        .context("promtool's stdin")?
        .write_all(text.as_bytes())?;
    let output = child.wait_with_output()?;
    assert!(
        output.status.success(),
        "promtool check metrics: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
