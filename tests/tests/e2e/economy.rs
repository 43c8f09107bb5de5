//! The upstream economy (SPEC §9) seen from outside: remembered refusals, unknown ids kept to
//! their share, and one budget for several instances on one Redis.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use dircache_e2e::{ADMIN_TOKEN, AUDIT_LOG, Start, setup, start_mock};
use genesys_mock::{Fault, MockDirectory};
use serde_json::Value;
use testkit::RedisServer;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_gets_of_a_missing_directory_cost_one_upstream_request_until_a_delete() -> Result<()>
{
    let mock = start_mock()?;
    let served = setup(&mock)?.start().await?;

    let first = served.get_directory("no-such-directory").await?;
    assert_eq!(first.status, 404, "{}", first.text());
    let body = first.json()?;
    assert_eq!(body["error"]["code"], "not_found");
    for _ in 0..49 {
        let again = served.get_directory("no-such-directory").await?;
        assert_eq!(again.status, 404);
        assert_eq!(again.header("x-cache"), Some("HIT"));
        assert_eq!(again.json()?, body, "a remembered 404 has the same body");
    }
    assert_eq!(mock.stats().requests_for("no-such-directory"), 1);

    let deleted = served
        .delete_directory("no-such-directory", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(deleted.status, 204);
    mock.put_directory("no-such-directory", MockDirectory::generated(3, 1));
    let found = served.read_directory("no-such-directory").await?;
    assert_eq!(found.header("x-cache"), Some("MISS"));
    assert_eq!(mock.stats().requests_for("no-such-directory"), 2);

    // A 403 is remembered likewise.
    mock.put_directory("secret", MockDirectory::generated(3, 1));
    mock.fail_directory("secret", Fault::Forbidden, 1);
    assert_eq!(served.get_directory("secret").await?.status, 403);
    let forbidden = served.get_directory("secret").await?;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.header("x-cache"), Some("HIT"));
    assert_eq!(mock.stats().requests_for("secret"), 1);

    let metrics = served.get("/metrics").await?.text();
    assert!(
        metrics.contains("dircache_negative_hits_total{status=\"404\"} 49"),
        "{metrics}"
    );
    let stopped = served.stop().await?;
    let audit = stopped.file(AUDIT_LOG).unwrap_or_default();
    let negative_fills: Vec<Value> = audit
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "cache_populate" && event["details"]["negative"] == true)
        .collect();
    assert_eq!(negative_fills.len(), 2, "one per fill: {audit}");
    assert_eq!(negative_fills[0]["directory_id"], "no-such-directory");
    assert_eq!(negative_fills[0]["details"]["status"], 404);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_negative_ttl_of_zero_asks_upstream_every_time() -> Result<()> {
    let mock = start_mock()?;
    let served = setup(&mock)?
        .env("DIRCACHE_NEGATIVE_TTL", "0")
        .start()
        .await?;
    for _ in 0..3 {
        let answer = served.get_directory("no-such-directory").await?;
        assert_eq!(answer.status, 404);
        assert_eq!(answer.header("x-cache"), None);
    }
    assert_eq!(mock.stats().requests_for("no-such-directory"), 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_unknown_ids_is_refused_beyond_its_share_while_a_cached_directory_refreshes()
-> Result<()> {
    let mock = start_mock()?;
    mock.put_directory("known", MockDirectory::generated(5, 1));
    for i in 0..60 {
        mock.put_directory(&format!("flood-{i}"), MockDirectory::generated(2, i));
    }
    // 60 a minute, of which unknown ids may use 12.
    let served = setup(&mock)?
        .env("DIRCACHE_UPSTREAM_RPM", "60")
        .start()
        .await?;
    served.read_directory("known").await?;

    let mut refused = 0;
    for i in 0..60 {
        let answer = served.get_directory(&format!("flood-{i}")).await?;
        match answer.status {
            200 => {}
            429 => {
                assert_eq!(
                    answer.error_code()?,
                    "budget_exhausted",
                    "{}",
                    answer.text()
                );
                let wait: u64 = answer.header("retry-after").unwrap_or_default().parse()?;
                assert!(wait >= 1, "Retry-After {wait}");
                refused += 1;
            }
            other => panic!("flood-{i}: {other} {}", answer.text()),
        }
    }
    let stats = mock.stats();
    let upstream_for_flood: u64 = (0..60)
        .map(|i| stats.requests_for(&format!("flood-{i}")))
        .sum();
    assert!(
        upstream_for_flood <= 12,
        "{upstream_for_flood} unknown ids went upstream"
    );
    assert_eq!(refused, 60 - upstream_for_flood);

    // The cached directory still refreshes at once.
    let verified = served.verify("known", Some(ADMIN_TOKEN)).await?;
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(mock.stats().requests_for("known"), 2);
    let metrics = served.get("/metrics").await?.text();
    assert!(
        metrics.contains("dircache_upstream_budget_refused_total{reason=\"unknown_share\"}"),
        "{metrics}"
    );
    Ok(testkit::promtool::check_metrics(&metrics)?)
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_on_one_redis_send_at_most_their_shared_rate_in_a_window() -> Result<()> {
    let redis = RedisServer::start()?;
    let mock = start_mock()?;
    for i in 0..120 {
        mock.put_directory(&format!("d{i}"), MockDirectory::generated(2, i));
    }
    let mut instances = Vec::new();
    for _ in 0..3 {
        let instance = setup(&mock)?
            .env("DIRCACHE_BACKEND", "redis")
            .env("DIRCACHE_REDIS_URL", redis.url())
            .env("DIRCACHE_UPSTREAM_RPM", "60")
            .env("DIRCACHE_UNKNOWN_SHARE", "1")
            .start()
            .await?;
        instances.push(Arc::new(instance));
    }
    let mut load = JoinSet::new();
    for i in 0..120 {
        let instance = Arc::clone(&instances[i % 3]);
        load.spawn(async move { instance.get_directory(&format!("d{i}")).await });
    }
    let mut statuses = BTreeMap::new();
    while let Some(answer) = load.join_next().await {
        *statuses.entry(answer??.status).or_insert(0) += 1;
    }
    // Every request of the three went in one 60 s window: 60 upstream, the rest refused.
    assert_eq!(mock.stats().directory_requests, 60, "{statuses:?}");
    assert_eq!(statuses, BTreeMap::from([(200, 60), (429, 60)]));
    let metrics = instances[0].get("/metrics").await?.text();
    assert!(
        metrics.contains("dircache_upstream_budget_fallback 0"),
        "{metrics}"
    );
    Ok(testkit::promtool::check_metrics(&metrics)?)
}
