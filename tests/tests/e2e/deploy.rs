//! The operations kit in `deploy/`: the alert rules pass `promtool check rules` and their tests,
//! every dashboard query names only metrics a live `/metrics` exports, the unit is hardened.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dircache_e2e::{ADMIN_TOKEN, prometheus, serving_with};
use genesys_mock::{Fault, MockDirectory, RetryAfter};
use serde_json::Value;
use testkit::RedisServer;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

/// The `dircache_*` metric names in a PromQL expression, histogram series folded into their
/// family.
fn metrics_in(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("dircache_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        names.insert(family.to_owned());
    }
    names
}

#[test]
fn the_alert_rules_pass_promtool_and_their_tests() -> Result<()> {
    testkit::promtool::check_rules(&[&deploy("prometheus/dircache.rules.yml")])?;
    testkit::promtool::test_rules(&[&deploy("prometheus/dircache.rules.test.yml")])?;
    let rules = std::fs::read_to_string(deploy("prometheus/dircache.rules.yml"))?;
    let alerts = rules.matches("- alert: ").count();
    assert_eq!(
        rules.matches("summary: ").count(),
        alerts,
        "a summary per alert"
    );
    assert_eq!(
        rules.matches("description: ").count(),
        alerts,
        "a description per alert"
    );
    Ok(())
}

/// Every metric the dashboard's panels and the alert rules name.
fn metrics_named_by_the_kit() -> Result<BTreeSet<String>> {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(deploy("grafana/dircache.json"))?)?;
    let panels = dashboard["panels"].as_array().context("panels")?;
    let mut named = BTreeSet::new();
    for panel in panels {
        let targets = panel["targets"].as_array().context("targets")?;
        assert!(!targets.is_empty(), "{panel}");
        for target in targets {
            let expr = target["expr"].as_str().context("expr")?;
            let metrics = metrics_in(expr);
            assert!(!metrics.is_empty(), "{expr} names no dircache metric");
            named.extend(metrics);
        }
    }
    let rules = std::fs::read_to_string(deploy("prometheus/dircache.rules.yml"))?;
    named.extend(metrics_in(&rules));
    Ok(named)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_and_alert_query_names_a_metric_that_metrics_exports() -> Result<()> {
    let named = metrics_named_by_the_kit()?;
    // Some families appear only once what they count happened: a webhook nobody listens on
    // (listener failures), a read during the shared pause that a 429 set (rate-limit waits), an
    // unknown id beyond its share (budget refusals) and a Redis that goes away (backend errors).
    let mut redis = RedisServer::start()?;
    let (mock, served) = serving_with("agents", MockDirectory::generated(100, 1), |setup| {
        setup
            .env("DIRCACHE_BACKEND", "redis")
            .env("DIRCACHE_REDIS_URL", redis.url())
            .env("DIRCACHE_PAGE_SIZE", "2")
            .env("DIRCACHE_UPSTREAM_RPM", "1200")
            // Unknown ids get no share of the budget: a read of one is refused (budget
            // refusals); the directories read here are declared.
            .env("DIRCACHE_UNKNOWN_SHARE", "0")
            .config_file(
                "[[webhooks]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"s\"\n\
                 [directories.agents]\nsource = \"routing_directory\"\n\
                 [directories.queues]\nsource = \"routing_directory\"\n",
            )
            .expect("a config file is written")
    })
    .await?;
    mock.put_directory("queues", MockDirectory::generated(3, 2));
    mock.fail_directory("agents", Fault::rate_limited(RetryAfter::Seconds(2)), 1);
    let (agents, queues) = tokio::join!(served.read_directory("agents"), async {
        // Well inside the 2 s pause the 429 on `agents` set for every request.
        tokio::time::sleep(Duration::from_millis(500)).await;
        served.read_directory("queues").await
    });
    agents?;
    queues?;
    served.read_directory("agents").await?;
    assert_eq!(
        served.verify("agents", Some(ADMIN_TOKEN)).await?.status,
        200
    );
    assert_eq!(
        served
            .delete_directory("agents", Some(ADMIN_TOKEN))
            .await?
            .status,
        204
    );
    served.read_directory("agents").await?;
    assert_eq!(served.get_directory("nobody").await?.status, 429);
    redis.stop();
    // Not in the in-process tier: the read goes to the Redis that is gone.
    served.get_directory("elsewhere").await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = served.get("/metrics").await?.text();
        let exported = prometheus::parse(&text)?.families();
        let unknown: Vec<&String> = named.difference(&exported).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "not in /metrics: {unknown:?}\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn the_unit_runs_serve_hardened_with_secrets_as_credentials() -> Result<()> {
    let unit = std::fs::read_to_string(deploy("dircache.service"))?;
    for line in [
        "ExecStart=/usr/local/bin/dircache serve",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "LoadCredential=genesys-client-secret:",
        "Environment=GENESYS_CLIENT_SECRET_FILE=%d/genesys-client-secret",
        "Environment=DIRCACHE_ADMIN_TOKEN_FILE=%d/admin-token",
    ] {
        assert!(
            unit.lines().any(|l| l.starts_with(line)),
            "{line} in the unit"
        );
    }
    Ok(())
}
