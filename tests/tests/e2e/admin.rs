//! The mutating endpoints: the admin token they need, invalidation, and verify after an upstream change.

use anyhow::Result;
use dircache_e2e::{ADMIN_TOKEN, Answer, Start, mock_with, serving, setup};
use genesys_mock::MockDirectory;
use serde_json::{Value, json};

fn assert_unauthorized(answer: &Answer, what: &str) -> Result<()> {
    assert_eq!(answer.status, 401, "{what}: {}", answer.text());
    assert!(
        answer
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.starts_with("Bearer")),
        "{what}: WWW-Authenticate in {:?}",
        answer.headers
    );
    assert_eq!(answer.error_code()?, "unauthorized", "{what}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_and_verify_need_the_admin_token() -> Result<()> {
    let (_mock, served) = serving("vendors", MockDirectory::generated(8, 1)).await?;
    served.read_directory("vendors").await?;

    let wrong = "e2e-Admin-4hTn8RvC1mZt";
    assert_unauthorized(
        &served.delete_directory("vendors", None).await?,
        "DELETE, no token",
    )?;
    assert_unauthorized(
        &served.delete_directory("vendors", Some(wrong)).await?,
        "DELETE, wrong",
    )?;
    assert_unauthorized(&served.verify("vendors", None).await?, "verify, no token")?;
    assert_unauthorized(
        &served.verify("vendors", Some(wrong)).await?,
        "verify, wrong",
    )?;
    let still = served.get_directory("vendors").await?;
    assert_eq!(
        still.header("x-cache"),
        Some("HIT"),
        "refused calls change nothing"
    );

    let deleted = served
        .delete_directory("vendors", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert!(deleted.body.is_empty());
    let refilled = served.get_directory("vendors").await?;
    assert_eq!(refilled.status, 200);
    assert_eq!(refilled.header("x-cache"), Some("MISS"));

    let never_cached = served
        .delete_directory("elsewhere", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(never_cached.status, 204, "{}", never_cached.text());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_admin_token_configured_mutations_are_refused() -> Result<()> {
    let mock = mock_with("vendors", MockDirectory::generated(8, 1))?;
    let served = setup(&mock)?
        .without("DIRCACHE_ADMIN_TOKEN")
        .start()
        .await?;
    served.read_directory("vendors").await?;

    for token in [None, Some(ADMIN_TOKEN), Some("")] {
        let delete = served.delete_directory("vendors", token).await?;
        assert_unauthorized(&delete, &format!("DELETE with {token:?}"))?;
        let verify = served.verify("vendors", token).await?;
        assert_unauthorized(&verify, &format!("verify with {token:?}"))?;
    }
    let still = served.get_directory("vendors").await?;
    assert_eq!(still.header("x-cache"), Some("HIT"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_an_upstream_change_and_serves_the_new_content() -> Result<()> {
    let (mock, served) = serving("rota", MockDirectory::generated(30, 9)).await?;
    let first = served.get_directory("rota").await?.json()?;
    let old_fingerprint = first["fingerprint"].clone();

    mock.update_directory("rota", |entries| {
        entries[0]["name"] = json!("Renamed by the e2e test");
        entries.pop();
    });
    let report = served.verify("rota", Some(ADMIN_TOKEN)).await?;
    assert_eq!(report.status, 200, "{}", report.text());
    let report = report.json()?;
    assert_eq!(report["directory_id"], "rota");
    assert_eq!(report["changed"], true, "{report}");
    assert_eq!(report["result"], "changed", "{report}");
    // No validators upstream: only the content fingerprint can tell.
    assert_eq!(report["method"], "fingerprint", "{report}");
    assert_eq!(report["previous_fingerprint"], old_fingerprint, "{report}");
    assert_ne!(report["fingerprint"], old_fingerprint, "{report}");
    assert_eq!(report["entry_count"], 29, "{report}");
    assert!(report["expires_at"].is_string(), "{report}");

    let after = served.get_directory("rota").await?;
    assert_eq!(after.header("x-cache"), Some("HIT"));
    let document = after.json()?;
    assert_eq!(
        document["entries"],
        Value::Array(mock.directory_entries("rota").unwrap())
    );
    assert_eq!(document["fingerprint"], report["fingerprint"]);
    assert_eq!(document["invalidation_directive"], "overwrite");
    let etag = format!(
        "W/\"{}\"",
        report["fingerprint"].as_str().unwrap_or_default()
    );
    assert_eq!(after.header("etag"), Some(etag.as_str()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_with_validators_asks_conditionally_and_fills_what_is_not_cached() -> Result<()> {
    let (mock, served) =
        serving("agents", MockDirectory::generated(12, 3).validators(true)).await?;

    let filled = served.verify("agents", Some(ADMIN_TOKEN)).await?;
    assert_eq!(filled.status, 200, "{}", filled.text());
    assert_eq!(filled.json()?["result"], "filled", "{}", filled.text());
    let cached = served.get_directory("agents").await?;
    assert_eq!(
        cached.header("x-cache"),
        Some("HIT"),
        "verify filled the cache"
    );
    let fingerprint = cached.json()?["fingerprint"].clone();

    let report = served.verify("agents", Some(ADMIN_TOKEN)).await?.json()?;
    assert_eq!(report["changed"], false, "{report}");
    assert_eq!(report["result"], "unchanged", "{report}");
    assert_eq!(report["method"], "conditional", "{report}");
    assert_eq!(report["fingerprint"], fingerprint, "{report}");
    assert_eq!(report["previous_fingerprint"], fingerprint, "{report}");
    let last = mock.requests().pop().expect("verify asked upstream");
    assert!(
        last.if_none_match.is_some() || last.if_modified_since.is_some(),
        "a conditional request: {last:?}"
    );
    assert_eq!(last.status, 304);

    let revalidated = served.get_directory("agents").await?;
    assert_eq!(revalidated.header("x-cache"), Some("HIT"));
    assert_eq!(revalidated.json()?["invalidation_directive"], "revalidated");
    Ok(())
}
