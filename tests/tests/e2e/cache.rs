//! Serving directories: miss then hit with every upstream field, ETag and 304, one upstream fetch for a stampede, the TTL matrix.

use std::time::Duration;

use anyhow::Result;
use dircache_e2e::{Answer, Start, mock_builder, setup, start_mock};
use genesys_mock::{MockDirectory, Paging, generate_entries};
use serde_json::{Value, json};
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread")]
async fn a_miss_then_a_hit_serve_every_upstream_field_with_an_etag() -> Result<()> {
    let mock = start_mock()?;
    let mut entries = generate_entries(40, 11);
    // Fields dircache has no model for must come back as upstream sent them.
    entries.push(json!({
        "id": "extra-1",
        "name": "Zoë Ünal",
        "email": null,
        "vendorTier": "gold",
        "nested": {"scores": [1, 2.5, null], "ok": true, "mark": "✓"},
    }));
    mock.put_directory(
        "vendors",
        MockDirectory::new(entries).paging(Paging::NextUriOnly),
    );
    let served = setup(&mock)?
        .env("DIRCACHE_PAGE_SIZE", "15")
        .start()
        .await?;
    let upstream = mock.directory_entries("vendors").unwrap();

    let miss = served.get_directory("vendors").await?;
    assert_eq!(miss.status, 200, "{}", miss.text());
    assert_eq!(miss.header("x-cache"), Some("MISS"));
    assert!(
        miss.header("content-type")
            .is_some_and(|kind| kind.starts_with("application/json")),
        "content type {:?}",
        miss.header("content-type")
    );
    let document = miss.json()?;
    assert_eq!(document["directory_id"], "vendors");
    assert_eq!(document["entries"], Value::Array(upstream.clone()));
    assert_eq!(document["entry_count"], 41);
    assert_eq!(document["ttl_seconds"], 300);
    assert_eq!(document["invalidation_directive"], "fresh");
    for timestamp in ["created_at", "expires_at"] {
        assert!(document[timestamp].is_string(), "{timestamp} in {document}");
    }
    for validator in ["last_modified", "etag"] {
        assert!(
            document.get(validator).is_some(),
            "{validator} missing from {document}"
        );
    }
    let fingerprint = document["fingerprint"].as_str().unwrap_or_default();
    assert!(!fingerprint.is_empty(), "fingerprint in {document}");
    let etag = format!("W/\"{fingerprint}\"");
    assert_eq!(miss.header("etag"), Some(etag.as_str()));
    // 41 entries at 15 a page: three pages, each read once, all at the configured size.
    assert_eq!(mock.stats().requests_for("vendors"), 3);
    assert!(
        mock.requests()
            .iter()
            .filter(|request| request.page_size.is_some())
            .all(|request| request.page_size == Some(15))
    );

    let hit = served.get_directory("vendors").await?;
    assert_eq!(hit.status, 200);
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    assert_eq!(hit.header("etag"), Some(etag.as_str()));
    let again = hit.json()?;
    assert_eq!(again["entries"], Value::Array(upstream));
    assert_eq!(again["created_at"], document["created_at"]);
    assert_eq!(mock.stats().requests_for("vendors"), 3, "a hit stays local");

    let conditional = served
        .send(
            served
                .request(reqwest::Method::GET, "/v1/directories/vendors")
                .header("if-none-match", &etag),
        )
        .await?;
    assert_eq!(conditional.status, 304);
    assert_eq!(conditional.header("etag"), Some(etag.as_str()));
    assert!(conditional.body.is_empty());

    let other_tag = served
        .send(
            served
                .request(reqwest::Method::GET, "/v1/directories/vendors")
                .header("if-none-match", "W/\"xxh3:0000\""),
        )
        .await?;
    assert_eq!(other_tag.status, 200, "a different validator gets the body");
    assert_eq!(other_tag.json()?["directory_id"], "vendors");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_four_concurrent_cold_requests_make_one_upstream_fetch() -> Result<()> {
    // Upstream latency keeps the first fetch in flight while every request arrives.
    let mock = mock_builder().latency(Duration::from_millis(150)).start()?;
    mock.put_directory("hot", MockDirectory::generated(480, 5));
    let served = setup(&mock)?
        .env("DIRCACHE_PAGE_SIZE", "200")
        .start()
        .await?;
    let upstream = Value::Array(mock.directory_entries("hot").unwrap());

    let mut requests = JoinSet::new();
    for _ in 0..64 {
        let request = served.client().get(served.url("/v1/directories/hot"));
        requests.spawn(async move { Answer::read(request.send().await?).await });
    }
    let mut misses = 0;
    while let Some(answer) = requests.join_next().await {
        let answer = answer??;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.json()?["entries"], upstream);
        misses += usize::from(answer.header("x-cache") == Some("MISS"));
    }
    assert!(misses >= 1, "the first answer is a miss");
    let stats = mock.stats();
    // 480 entries at 200 a page: one fetch is three pages.
    assert_eq!(stats.requests_for("hot"), 3, "{stats:?}");
    assert_eq!(stats.token_requests, 1, "{stats:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ttls_come_from_the_config_file_matrix_with_env_over_file() -> Result<()> {
    let mock = start_mock()?;
    for id in ["fast", "slow"] {
        mock.put_directory(id, MockDirectory::generated(3, 2));
    }
    let cases = [
        ("[ttl.directories]\nfast = 30\n", None, 300),
        (
            "[ttl]\ndefault = 120\n\n[ttl.directories]\nfast = 30\n",
            None,
            120,
        ),
        (
            "[ttl]\ndefault = 120\n\n[ttl.directories]\nfast = 30\n",
            Some("600"),
            600,
        ),
    ];
    for (toml, env_default, expected_default) in cases {
        let mut setup = setup(&mock)?.config_file(toml)?;
        if let Some(seconds) = env_default {
            setup = setup.env("DIRCACHE_TTL_DEFAULT", seconds);
        }
        let served = setup.start().await?;
        let fast = served.get_directory("fast").await?;
        assert_eq!(fast.status, 200, "{}", fast.text());
        assert_eq!(fast.json()?["ttl_seconds"], 30, "{toml}");
        let slow = served.get_directory("slow").await?;
        assert_eq!(slow.status, 200, "{}", slow.text());
        assert_eq!(
            slow.json()?["ttl_seconds"],
            expected_default,
            "{toml} with DIRCACHE_TTL_DEFAULT={env_default:?}"
        );
    }
    Ok(())
}
