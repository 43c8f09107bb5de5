//! The upstream economy (SPEC §9) seen from outside: remembered refusals.

use anyhow::Result;
use dircache_e2e::{ADMIN_TOKEN, AUDIT_LOG, Start, setup, start_mock};
use genesys_mock::{Fault, MockDirectory};
use serde_json::Value;

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
