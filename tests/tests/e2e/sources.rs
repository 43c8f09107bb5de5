//! Declared directories (SPEC §7) through the binary: a real-shaped source served, listed by
//! `GET /v1/directories` and `dircache directories`, undeclared ids refused before any I/O,
//! and a 100,000-entry directory on memory, Redis and tiered backends.

use anyhow::Result;
use dircache_e2e::{Start, exited, mock_builder, setup, start_mock};
use genesys_mock::{GenesysMock, MockSource};
use serde_json::Value;
use testkit::{Dircache, RedisServer};

const QUEUE: &str = "5f0b8b3c-9d1e-4c2a-8f6b-0a1b2c3d4e5f";

/// A setup for `mock` declaring `support_queue` (queue members) and `skills`.
fn declaring(mock: &GenesysMock, extra: &str) -> Result<Dircache> {
    let toml = format!(
        "[directories.support_queue]\nsource = \"queue_members\"\nqueue_id = \"{QUEUE}\"\n\
         ttl = 120\n[directories.skills]\nsource = \"skills\"\nmax_entries = 100000\n{extra}"
    );
    Ok(setup(mock)?.config_file(&toml)?)
}

#[tokio::test]
async fn a_declared_source_is_served_whole_and_listed() -> Result<()> {
    let mock = start_mock()?;
    let members = MockSource::QueueMembers(QUEUE.into());
    let expected = members.generated(230, 4);
    mock.put_listing(&members, expected.clone());
    let served = declaring(&mock, "")?.start().await?;

    let document = served.read_directory("support_queue").await?.json()?;
    assert_eq!(document["entries"], Value::Array(expected));
    assert_eq!(document["source"], "queue_members");
    assert_eq!(document["ttl_seconds"], 120);
    assert_eq!(mock.stats().requests_for_listing(&members), 3);
    assert_eq!(mock.stats().directory_requests, 0);

    let listed = served.get("/v1/directories").await?.json()?;
    assert_eq!(listed["undeclared"], "routing_directory");
    let rows = listed["directories"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    let queue = rows
        .iter()
        .find(|r| r["directory_id"] == "support_queue")
        .unwrap();
    assert_eq!(queue["source"], "queue_members");
    assert_eq!(queue["parameters"]["queue_id"], QUEUE);
    assert_eq!(queue["max_entries"], 100_000);
    let skills = rows.iter().find(|r| r["directory_id"] == "skills").unwrap();
    assert_eq!(skills["ttl_seconds"], 300);
    served.stop().await?;

    let setup = declaring(&mock, "")?;
    let json: Value =
        serde_json::from_str(&exited(setup.run(&["directories", "--output", "json"])?, 0).stdout)?;
    assert_eq!(json, listed);
    let table = exited(setup.run(&["directories"])?, 0).stdout;
    assert!(
        table.contains("support_queue") && table.contains("queue_members"),
        "{table}"
    );
    assert!(table.contains(&format!("queue_id={QUEUE}")), "{table}");
    Ok(())
}

#[tokio::test]
async fn undeclared_ids_can_be_refused_before_any_request() -> Result<()> {
    let mock = start_mock()?;
    let served = declaring(&mock, "[cache]\nundeclared = \"refuse\"\n")?
        .start()
        .await?;
    let answer = served.get_directory("vendors").await?;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(answer.error_code()?, "unknown_directory");
    let stats = mock.stats();
    assert_eq!((stats.token_requests, stats.directory_requests), (0, 0));
    assert!(stats.by_listing.is_empty());
    served.stop().await?;

    let env = setup(&mock)?.env("DIRCACHE_UNDECLARED", "refuse");
    let outcome = exited(env.run(&["get", "vendors"])?, 1);
    assert!(outcome.stderr.contains("not declared"), "{outcome}");
    assert_eq!(mock.stats().token_requests, 0);
    Ok(())
}

/// 100,000 skills, read as one directory on each backend, twice: the second read (by a second
/// instance, on Redis) is a hit with the same entries, and upstream was asked the 200 pages once.
#[tokio::test]
async fn a_100000_entry_directory_round_trips_on_every_backend() -> Result<()> {
    // Three fills of 200 pages within a minute: an OAuth client allowed 1,000 requests a
    // minute, and dircache told so (the default 300 would hold the third fill back).
    let mock = mock_builder().rate_limit_per_minute(1000).start()?;
    let skills = MockSource::Skills;
    let expected = Value::Array(skills.generated(100_000, 8));
    mock.put_listing(&skills, expected.as_array().unwrap().clone());
    let redis = RedisServer::start()?;
    let url = redis.url();
    let backends: [(&str, Vec<(&str, &str)>); 3] = [
        ("memory", vec![]),
        (
            "redis",
            vec![
                ("DIRCACHE_BACKEND", "redis"),
                ("DIRCACHE_REDIS_URL", &url),
                ("DIRCACHE_L1", "off"),
            ],
        ),
        (
            "tiered",
            vec![
                ("DIRCACHE_BACKEND", "redis"),
                ("DIRCACHE_REDIS_URL", &url),
                ("DIRCACHE_REDIS_PREFIX", "tiered"),
            ],
        ),
    ];
    for (name, env) in backends {
        mock.reset_stats();
        let with = |setup: Dircache| {
            env.iter()
                .fold(setup.env("DIRCACHE_UPSTREAM_RPM", "1000"), |s, (k, v)| {
                    s.env(k, *v)
                })
        };
        let first = with(declaring(&mock, "")?).start().await?;
        let filled = first.read_directory("skills").await?;
        assert_eq!(filled.header("x-cache"), Some("MISS"), "{name}");
        assert_eq!(filled.json()?["entries"], expected, "{name}");
        // The fewest pages: 500 skills a page.
        assert_eq!(mock.stats().requests_for_listing(&skills), 200, "{name}");
        // Memory: the same instance hits; Redis and tiered: a second instance reads Redis.
        let second = match name {
            "memory" => None,
            _ => Some(with(declaring(&mock, "")?).start().await?),
        };
        let read = second
            .as_ref()
            .unwrap_or(&first)
            .read_directory("skills")
            .await?;
        assert_eq!(read.header("x-cache"), Some("HIT"), "{name}");
        let document = read.json()?;
        assert_eq!(document["entries"], expected, "{name}");
        // What the source was comes through Redis with the copy.
        assert_eq!(document["source"], "skills", "{name}");
        assert_eq!(mock.stats().requests_for_listing(&skills), 200, "{name}");
        first.stop().await?;
        if let Some(second) = second {
            second.stop().await?;
        }
    }
    Ok(())
}
