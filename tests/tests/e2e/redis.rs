//! Several `dircache` processes on one Redis (a real `redis-server`, or a three-node Redis
//! Cluster): one upstream fetch for all, invalidations everywhere, outages, damaged values, L1
//! on and off, the one-shot commands, and the Redis settings.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use dircache_e2e::{
    ADMIN_TOKEN, AUDIT_LOG, Answer, Served, Start, exited, mock_builder, mock_with, setup,
    start_mock,
};
use genesys_mock::{GenesysMock, MockDirectory};
use serde_json::{Value, json};
use testkit::{Dircache, RedisCluster, RedisServer};
use tokio::task::JoinSet;

/// A setup for `mock` whose cache is the Redis at `url` (one URL, or several comma-separated
/// cluster nodes).
fn on_redis(mock: &GenesysMock, url: &str) -> Result<Dircache> {
    Ok(setup(mock)?
        .env("DIRCACHE_BACKEND", "redis")
        .env("DIRCACHE_REDIS_URL", url))
}

/// A fresh redis-server, and a mock holding `vendors`.
fn redis_and_vendors(vendors: MockDirectory) -> Result<(RedisServer, GenesysMock)> {
    Ok((RedisServer::start()?, mock_with("vendors", vendors)?))
}

/// [`on_redis`] with no in-process L1: every read goes to Redis.
fn without_l1(mock: &GenesysMock, url: &str) -> Result<Dircache> {
    Ok(on_redis(mock, url)?.env("DIRCACHE_L1", "off"))
}

/// `X-Cache` of a 200 answer; anything else fails with the answer's body.
fn cache_status(answer: &Answer) -> Result<&str> {
    ensure!(
        answer.status == 200,
        "status {}: {}",
        answer.status,
        answer.text()
    );
    answer.header("x-cache").context("no X-Cache header")
}

/// `X-Cache` of `GET /v1/directories/{id}`, which must answer 200.
async fn x_cache(served: &Served, id: &str) -> Result<String> {
    Ok(cache_status(&served.get_directory(id).await?)?.to_owned())
}

/// The `entries` of a directory document.
fn entries(answer: &Answer) -> Result<Value> {
    Ok(answer.json()?["entries"].clone())
}

/// Polls `path` until it answers `status`, for at most `within`; returns how long that took.
async fn wait_for_status(
    served: &Served,
    path: &str,
    status: u16,
    within: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let answer = served.get(path).await?;
        if answer.status == status {
            return Ok(started.elapsed());
        }
        ensure!(
            started.elapsed() < within,
            "{path} still answered {} (not {status}) after {within:?}: {}",
            answer.status,
            answer.text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `keyspace_hits` from the server's `INFO stats`: how many key reads found their key.
fn keyspace_hits(server: &RedisServer) -> Result<u64> {
    let info = server.cli(&["INFO", "stats"])?;
    info.lines()
        .find_map(|line| line.trim().strip_prefix("keyspace_hits:"))
        .context("no keyspace_hits in INFO stats")?
        .parse()
        .context("keyspace_hits is not a number")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_redis_share_a_directory() -> Result<()> {
    let (redis, mock) = redis_and_vendors(MockDirectory::generated(40, 3))?;
    let a = on_redis(&mock, &redis.url())?.start().await?;
    let b = on_redis(&mock, &redis.url())?.start().await?;

    let miss = a.get_directory("vendors").await?;
    assert_eq!(cache_status(&miss)?, "MISS");
    let hit = b.get_directory("vendors").await?;
    assert_eq!(cache_status(&hit)?, "HIT", "B found A's copy in Redis");
    assert_eq!(hit.json()?, miss.json()?, "the same document on both");
    assert_eq!(
        entries(&hit)?,
        Value::Array(mock.directory_entries("vendors").unwrap())
    );
    assert_eq!(
        mock.stats().requests_for("vendors"),
        1,
        "one upstream fetch for both"
    );

    let stats = b.get("/v1/stats").await?.json()?;
    assert_eq!(stats["backend"], "redis");
    assert_eq!(
        stats["cache_size"], 1,
        "B counts the directory A cached: {stats}"
    );
    assert_eq!(
        redis.cli(&["EXISTS", "dircache:{vendors}:dir"])?.trim(),
        "1",
        "the default prefix and the key layout of the README"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_cold_requests_on_three_instances_make_one_upstream_fetch() -> Result<()> {
    let redis = RedisServer::start()?;
    // Slow enough upstream that all sixty requests arrive while the one fetch is in flight.
    let mock = mock_builder().latency(Duration::from_millis(400)).start()?;
    mock.put_directory("hot", MockDirectory::generated(120, 8));
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(on_redis(&mock, &redis.url())?.start().await?);
    }

    let mut requests = JoinSet::new();
    for served in &instances {
        for _ in 0..20 {
            let request = served.client().get(served.url("/v1/directories/hot"));
            requests.spawn(async move { Answer::read(request.send().await?).await });
        }
    }
    let mut fingerprints = Vec::new();
    while let Some(answer) = requests.join_next().await {
        let answer = answer??;
        cache_status(&answer)?;
        fingerprints.push(answer.json()?["fingerprint"].clone());
    }
    assert_eq!(fingerprints.len(), 60);
    assert!(
        fingerprints.windows(2).all(|pair| pair[0] == pair[1]),
        "every answer is the same copy"
    );
    let stats = mock.stats();
    assert_eq!(stats.requests_for("hot"), 1, "{stats:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalidation_or_an_overwrite_on_one_instance_reaches_the_others_within_a_second()
-> Result<()> {
    let (redis, mock) = redis_and_vendors(MockDirectory::generated(30, 4))?;
    let a = on_redis(&mock, &redis.url())?.start().await?;
    let b = on_redis(&mock, &redis.url())?.start().await?;
    assert_eq!(x_cache(&a, "vendors").await?, "MISS");
    // B now holds the copy in its L1 too.
    assert_eq!(x_cache(&b, "vendors").await?, "HIT");
    assert_eq!(x_cache(&b, "vendors").await?, "HIT");

    let deleted = a.delete_directory("vendors", Some(ADMIN_TOKEN)).await?;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = b.get_directory("vendors").await?;
    assert_eq!(cache_status(&after)?, "MISS", "B dropped its L1 copy");
    assert_eq!(mock.stats().requests_for("vendors"), 2);
    assert_eq!(x_cache(&a, "vendors").await?, "HIT");

    // Upstream changes; A finds out with verify and overwrites the shared copy.
    mock.update_directory("vendors", |entries| {
        entries.push(json!({"id": "new-vendor", "name": "Added Upstream"}));
    });
    let verified = a.verify("vendors", Some(ADMIN_TOKEN)).await?;
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(verified.json()?["changed"], true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let changed = b.get_directory("vendors").await?;
    assert_eq!(
        cache_status(&changed)?,
        "HIT",
        "B read A's new copy from Redis"
    );
    assert_eq!(
        entries(&changed)?,
        Value::Array(mock.directory_entries("vendors").unwrap()),
        "B serves the new content"
    );
    assert_eq!(
        mock.stats().requests_for("vendors"),
        3,
        "only A's verify fetched"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_rides_out_a_redis_outage_and_recovers_without_a_restart() -> Result<()> {
    let mut redis = RedisServer::start()?;
    let mock = start_mock()?;
    for id in ["vendors", "during-outage", "after-outage"] {
        mock.put_directory(id, MockDirectory::generated(20, 5));
    }
    let a = on_redis(&mock, &redis.url())?.start().await?;
    assert_eq!(a.get("/readyz").await?.status, 200);
    let filled = a.get_directory("vendors").await?;
    assert_eq!(cache_status(&filled)?, "MISS");

    redis.stop();

    for _ in 0..3 {
        let answer = a.get_directory("vendors").await?;
        assert_eq!(cache_status(&answer)?, "HIT", "answered from L1");
        assert_eq!(entries(&answer)?, entries(&filled)?);
    }
    wait_for_status(&a, "/readyz", 503, Duration::from_secs(5)).await?;
    let not_ready = a.get("/readyz").await?;
    assert_eq!(not_ready.error_code()?, "not_ready");
    // A directory never cached is still fetched and served; it cannot be shared meanwhile.
    let uncached = a.get_directory("during-outage").await?;
    assert_eq!(cache_status(&uncached)?, "MISS");
    assert_eq!(a.get("/healthz").await?.status, 200, "alive throughout");
    // The shared copy cannot be removed: the invalidation is refused rather than half done.
    let refused = a
        .delete_directory("during-outage", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.error_code()?, "not_ready");

    redis.restart()?;

    let took = wait_for_status(&a, "/readyz", 200, Duration::from_secs(10)).await?;
    assert!(took < Duration::from_secs(10));
    let after = a.get_directory("after-outage").await?;
    assert_eq!(cache_status(&after)?, "MISS");
    assert_eq!(
        redis
            .cli(&["EXISTS", "dircache:{after-outage}:dir"])?
            .trim(),
        "1",
        "the MISS after the outage was written to Redis"
    );
    let b = on_redis(&mock, &redis.url())?.start().await?;
    assert_eq!(
        x_cache(&b, "after-outage").await?,
        "HIT",
        "B, new on the restarted Redis, shares A's copy"
    );
    assert_eq!(mock.stats().requests_for("after-outage"), 1);

    // A's invalidation channel is back too: B's invalidation reaches it.
    let deleted = b
        .delete_directory("after-outage", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(deleted.status, 204);
    let started = Instant::now();
    loop {
        let answer = a.get_directory("after-outage").await?;
        if cache_status(&answer)? == "MISS" {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "A still serves its L1 copy 10 s after B invalidated it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_shot_commands_work_on_the_shared_cache() -> Result<()> {
    let (redis, mock) = redis_and_vendors(MockDirectory::generated(12, 6))?;
    let served = on_redis(&mock, &redis.url())?.start().await?;
    let filled = served.get_directory("vendors").await?;
    assert_eq!(cache_status(&filled)?, "MISS");
    assert_eq!(mock.stats().requests_for("vendors"), 1);
    let one_shot = on_redis(&mock, &redis.url())?;

    let got = exited(one_shot.run(&["get", "vendors"])?, 0);
    assert!(got.stdout.contains("12 entries in vendors (HIT)"), "{got}");
    let got = exited(one_shot.run(&["get", "vendors", "--output", "json"])?, 0);
    let document: Value = serde_json::from_str(&got.stdout)?;
    assert_eq!(document["fingerprint"], filled.json()?["fingerprint"]);
    assert_eq!(
        mock.stats().requests_for("vendors"),
        1,
        "no upstream request"
    );

    let stats = exited(one_shot.run(&["stats", "--output", "json"])?, 0);
    let stats: Value = serde_json::from_str(&stats.stdout)?;
    assert_eq!(
        (stats["backend"].clone(), stats["cache_size"].clone()),
        (json!("redis"), json!(1))
    );

    // Keep serve's L1 copy warm, then invalidate from the command line.
    assert_eq!(x_cache(&served, "vendors").await?, "HIT");
    let invalidated = exited(one_shot.run(&["invalidate", "vendors"])?, 0);
    assert_eq!(invalidated.stdout.trim(), "invalidated vendors");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        x_cache(&served, "vendors").await?,
        "MISS",
        "the running serve dropped it too"
    );
    let again = exited(one_shot.run(&["invalidate", "vendors"])?, 0);
    assert_eq!(
        again.stdout.trim(),
        "invalidated vendors",
        "serve had refilled it"
    );
    let gone = one_shot.run(&["invalidate", "vendors"])?;
    assert_eq!(gone.stdout.trim(), "vendors was not cached", "{gone}");

    // `warm` fills the shared cache for the running serve.
    let requests = mock.stats().requests_for("vendors");
    let warmed = exited(one_shot.run(&["warm", "vendors"])?, 0);
    assert!(warmed.stdout.starts_with("vendors MISS"), "{warmed}");
    assert_eq!(mock.stats().requests_for("vendors"), requests + 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(x_cache(&served, "vendors").await?, "HIT");
    assert_eq!(mock.stats().requests_for("vendors"), requests + 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_value_in_redis_is_a_miss_with_the_right_content() -> Result<()> {
    let (redis, mock) = redis_and_vendors(MockDirectory::generated(25, 9))?;
    let served = without_l1(&mock, &redis.url())?
        .env("DIRCACHE_REDIS_PREFIX", "e2e-damage")
        .start()
        .await?;
    assert_eq!(x_cache(&served, "vendors").await?, "MISS");
    let key = "e2e-damage:{vendors}:dir";
    assert_eq!(
        redis.cli(&["EXISTS", key])?.trim(),
        "1",
        "the prefix is used"
    );
    assert_eq!(
        redis.cli(&["KEYS", "dircache:*"])?.trim(),
        "",
        "and only it"
    );

    redis.cli(&["SET", key, "not a dircache value"])?;

    let answer = served.get_directory("vendors").await?;
    assert_eq!(cache_status(&answer)?, "MISS", "{}", answer.text());
    assert_eq!(
        entries(&answer)?,
        Value::Array(mock.directory_entries("vendors").unwrap())
    );
    assert_eq!(mock.stats().requests_for("vendors"), 2);
    assert_eq!(
        redis.cli(&["GETRANGE", key, "0", "3"])?.trim(),
        "DIRC",
        "overwritten"
    );
    assert_eq!(x_cache(&served, "vendors").await?, "HIT");

    let stopped = served.stop().await?;
    let audit = stopped.file(AUDIT_LOG).unwrap_or_default();
    assert!(
        audit
            .lines()
            .any(|line| line.contains("\"backend_error\"") && line.contains("vendors")),
        "the damaged value is audited:\n{audit}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn without_l1_every_get_reads_redis_and_changes_show_at_once() -> Result<()> {
    let (redis, mock) = redis_and_vendors(MockDirectory::generated(15, 2))?;
    let a = without_l1(&mock, &redis.url())?.start().await?;
    let b = without_l1(&mock, &redis.url())?.start().await?;
    let with_l1 = on_redis(&mock, &redis.url())?.start().await?;
    assert_eq!(x_cache(&a, "vendors").await?, "MISS");
    assert_eq!(x_cache(&with_l1, "vendors").await?, "HIT");

    let before = keyspace_hits(&redis)?;
    for _ in 0..5 {
        assert_eq!(x_cache(&b, "vendors").await?, "HIT");
    }
    let reads = keyspace_hits(&redis)? - before;
    assert!(reads >= 5, "5 hits without L1 read Redis {reads} times");
    let before = keyspace_hits(&redis)?;
    for _ in 0..5 {
        assert_eq!(x_cache(&with_l1, "vendors").await?, "HIT");
    }
    assert_eq!(
        keyspace_hits(&redis)? - before,
        0,
        "L1 hits stay in process"
    );

    // No L1 to drop: B sees A's invalidation on its very next GET.
    assert_eq!(
        a.delete_directory("vendors", Some(ADMIN_TOKEN))
            .await?
            .status,
        204
    );
    assert_eq!(x_cache(&b, "vendors").await?, "MISS");
    assert_eq!(x_cache(&a, "vendors").await?, "HIT");
    assert_eq!(mock.stats().requests_for("vendors"), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_a_directory_on_a_redis_cluster() -> Result<()> {
    let cluster = RedisCluster::start()?;
    let nodes = cluster.urls().join(",");
    let mock = mock_with("vendors", MockDirectory::generated(40, 3))?;
    mock.put_directory("agents", MockDirectory::generated(10, 4));
    let a = on_redis(&mock, &nodes)?.start().await?;
    let b = on_redis(&mock, &nodes)?.start().await?;
    assert_eq!(a.get("/readyz").await?.status, 200);

    for id in ["vendors", "agents"] {
        let miss = a.get_directory(id).await?;
        assert_eq!(cache_status(&miss)?, "MISS");
        let hit = b.get_directory(id).await?;
        assert_eq!(
            cache_status(&hit)?,
            "HIT",
            "{id}: B found A's copy in the cluster"
        );
        assert_eq!(hit.json()?, miss.json()?);
        assert_eq!(mock.stats().requests_for(id), 1, "{id}");
    }
    let stats = b.get("/v1/stats").await?.json()?;
    assert_eq!(stats["cache_size"], 2, "counted on every master: {stats}");

    assert_eq!(
        a.delete_directory("vendors", Some(ADMIN_TOKEN))
            .await?
            .status,
        204
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(x_cache(&b, "vendors").await?, "MISS");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_settings_are_checked_and_the_password_never_shows() -> Result<()> {
    const RIGHT: &str = "e2e-Redis-Right-3kQv8";
    const WRONG: &str = "e2e-Redis-Wrong-9xPz2";
    let redis = RedisServer::start_with_password(RIGHT)?;
    let mock = mock_with("vendors", MockDirectory::generated(5, 1))?;

    let no_url = exited(
        setup(&mock)?
            .env("DIRCACHE_BACKEND", "redis")
            .run(&["get", "vendors"])?,
        2,
    );
    assert!(
        no_url
            .stderr
            .starts_with("dircache: invalid configuration: DIRCACHE_REDIS_URL: "),
        "{no_url}"
    );

    let wrong_url = format!("redis://:{WRONG}@127.0.0.1:{}/", redis.port());
    for args in [
        &["get", "vendors"][..],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        let refused = on_redis(&mock, &wrong_url)?.run_within(args, Duration::from_secs(30))?;
        assert_eq!(refused.code(), Some(2), "{args:?}: {refused}");
        assert!(
            refused
                .stderr
                .contains("dircache: invalid configuration: DIRCACHE_REDIS_URL: "),
            "{args:?}: {refused}"
        );
        assert!(!refused.stderr.contains(WRONG), "{args:?}: {refused}");
        assert!(!refused.stdout.contains(WRONG), "{args:?}: {refused}");
    }
    let from_file = exited(
        setup(&mock)?
            .config_file(&format!(
                "[cache]\nbackend = \"redis\"\n[redis]\nurl = \"{wrong_url}\"\n"
            ))?
            .run(&["get", "vendors"])?,
        2,
    );
    assert!(
        from_file
            .stderr
            .contains("invalid configuration: redis.url: "),
        "{from_file}"
    );
    assert!(!from_file.stderr.contains(WRONG), "{from_file}");

    // The right password, from the TOML file, with debug logs: it works and never shows.
    let right_url = format!("redis://:{RIGHT}@127.0.0.1:{}/", redis.port());
    let served = setup(&mock)?
        .env("RUST_LOG", "debug")
        .config_file(&format!(
            "[cache]\nbackend = \"redis\"\n[redis]\nurl = \"{right_url}\"\nl1 = \"off\"\n"
        ))?
        .start()
        .await?;
    assert_eq!(served.get("/readyz").await?.status, 200);
    assert_eq!(x_cache(&served, "vendors").await?, "MISS");
    assert_eq!(x_cache(&served, "vendors").await?, "HIT");
    let stopped = served.stop().await?;
    assert!(stopped.status.success(), "{stopped:?}");
    for (what, text) in [
        ("stdout", &stopped.stdout),
        ("stderr", &stopped.stderr),
        ("audit log", &stopped.file(AUDIT_LOG).unwrap_or_default()),
    ] {
        assert!(!text.contains(RIGHT), "the password is in the {what}");
    }
    Ok(())
}

/// `dircache_lookup_index_builds_total` of `served`.
async fn index_builds(served: &Served) -> Result<f64> {
    let text = served.get("/metrics").await?.text();
    let exposition = dircache_e2e::prometheus::parse(&text)?;
    Ok(exposition
        .sum("dircache_lookup_index_builds_total", &[])
        .unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread")]
async fn with_l1_each_instance_builds_the_lookup_index_once_per_copy() -> Result<()> {
    let (redis, mock) = redis_and_vendors(MockDirectory::generated(40, 3))?;
    let a = on_redis(&mock, &redis.url())?.start().await?;
    let b = on_redis(&mock, &redis.url())?.start().await?;
    let some_id = mock.directory_entries("vendors").unwrap()[7]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for served in [&a, &b] {
        for path in [
            "/v1/directories/vendors/entries?q=a",
            &format!("/v1/directories/vendors/entries/{some_id}"),
        ] {
            for _ in 0..5 {
                let answer = served.get(path).await?;
                cache_status(&answer)?;
            }
        }
    }
    assert_eq!(mock.stats().requests_for("vendors"), 1);
    assert_eq!(
        index_builds(&a).await?,
        1.0,
        "A built the index of the copy it fetched"
    );
    assert_eq!(
        index_builds(&b).await?,
        1.0,
        "B built it once, when the copy entered its L1"
    );

    // A new copy: one more index on each instance.
    mock.update_directory("vendors", |entries| {
        entries[7]["name"] = "Renamed upstream".into()
    });
    let verified = a.verify("vendors", Some(ADMIN_TOKEN)).await?;
    assert_eq!(verified.json()?["result"], "changed");
    wait_for_status(
        &b,
        &format!("/v1/directories/vendors/entries/{some_id}"),
        200,
        Duration::from_secs(5),
    )
    .await?;
    let renamed = || async {
        let answer = b
            .get(&format!("/v1/directories/vendors/entries/{some_id}"))
            .await?;
        anyhow::Ok(answer.json()?["name"] == "Renamed upstream")
    };
    let started = Instant::now();
    while !renamed().await? {
        ensure!(
            started.elapsed() < Duration::from_secs(5),
            "B never saw the new copy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(index_builds(&a).await?, 2.0);
    assert_eq!(index_builds(&b).await?, 2.0);
    Ok(())
}
