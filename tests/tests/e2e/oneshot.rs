//! The one-shot commands: get, warm, invalidate, verify, stats, and the self-contained demo, and the upstream request rate they keep to.

use std::time::{Duration, Instant};

use anyhow::Result;
use dircache_e2e::{exited, mock_with, setup, start_mock};
use genesys_mock::{Fault, MockDirectory};
use serde_json::{Value, json};
use testkit::Dircache;

/// Whether `text` holds a UUID-shaped token (8-4-4-4-12 hex digits), as Genesys correlation ids are.
fn has_uuid(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|word| {
            let groups: Vec<usize> = word.split('-').map(str::len).collect();
            groups == [8, 4, 4, 4, 12]
        })
}

#[test]
fn the_uuid_check_finds_correlation_ids_only() {
    assert!(has_uuid(
        "dircache: forbidden (correlation id 0f8fad5b-d9cb-469f-a165-70867728950e)"
    ));
    assert!(!has_uuid("dircache: forbidden 0f8fad5b-d9cb-469f-a165"));
}

#[test]
fn get_prints_the_document_as_json_or_as_a_table() -> Result<()> {
    let mock = mock_with("vendors", MockDirectory::generated(12, 5))?;
    let setup = setup(&mock)?;
    let entries = mock.directory_entries("vendors").unwrap();

    let json = exited(setup.run(&["get", "vendors", "--output", "json"])?, 0);
    let document: Value = serde_json::from_str(&json.stdout)?;
    assert_eq!(document["directory_id"], "vendors");
    assert_eq!(document["entries"], Value::Array(entries.clone()));
    assert_eq!(document["entry_count"], 12);
    assert!(document["fingerprint"].is_string(), "{document}");

    // The table is the default output.
    for args in [
        &["get", "vendors", "--output", "table"][..],
        &["get", "vendors"],
    ] {
        let table = exited(setup.run(args)?, 0);
        for entry in &entries {
            for field in ["id", "name"] {
                let value = entry[field].as_str().unwrap_or_default();
                assert!(table.stdout.contains(value), "{field} {value}:\n{table}");
            }
        }
        assert!(
            table
                .stdout
                .contains("12 entries in vendors (MISS), fingerprint xxh3:"),
            "{table}"
        );
    }
    Ok(())
}

#[test]
fn get_refuses_a_bad_id_without_asking_upstream() -> Result<()> {
    let mock = start_mock()?;
    for id in ["../x", ".."] {
        let outcome = exited(setup(&mock)?.run(&["get", id])?, 2);
        assert!(outcome.stderr.contains(id), "names the id: {outcome}");
    }
    let stats = mock.stats();
    assert_eq!((stats.token_requests, stats.directory_requests), (0, 0));
    Ok(())
}

#[test]
fn get_failures_exit_1_with_one_reason_and_the_correlation_id() -> Result<()> {
    let mock = mock_with("private", MockDirectory::generated(3, 1))?;
    let setup = setup(&mock)?;

    let missing = exited(setup.run(&["get", "nobody"])?, 1);
    assert!(
        missing
            .stderr
            .lines()
            .any(|line| line.starts_with("dircache: ")),
        "{missing}"
    );

    mock.fail_directory("private", Fault::Forbidden, 1);
    // Without logs asked for, the reason is all there is on stderr.
    let forbidden = exited(setup.without("RUST_LOG").run(&["get", "private"])?, 1);
    assert_eq!(forbidden.stderr.lines().count(), 1, "{forbidden}");
    let reason = forbidden
        .stderr
        .lines()
        .find(|line| line.starts_with("dircache: "))
        .unwrap_or_else(|| panic!("a `dircache: <reason>` line: {forbidden}"));
    assert!(has_uuid(reason), "the Genesys correlation id: {forbidden}");
    assert!(
        reason.contains("routing:directory:read") && reason.contains("correlation id"),
        "the permission missing, and what the id is: {forbidden}"
    );
    Ok(())
}

#[test]
fn warm_prints_one_line_per_directory_and_fails_if_any_failed() -> Result<()> {
    let mock = mock_with("a", MockDirectory::generated(4, 1))?;
    mock.put_directory("b", MockDirectory::generated(6, 2));
    let setup = setup(&mock)?;
    let status_of = |stdout: &str, id: &str| {
        stdout
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|words| words.first() == Some(&id))
            .and_then(|words| words.get(1).map(|word| (*word).to_owned()))
    };

    // A repeated id is warmed once.
    let warmed = exited(setup.run(&["warm", "a", "b", "a"])?, 0);
    let mut lines: Vec<&str> = warmed.stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["a MISS", "b MISS"], "{warmed}");
    assert_eq!(mock.stats().requests_for("a"), 1);
    assert_eq!(mock.stats().requests_for("b"), 1);

    let partly = exited(setup.run(&["warm", "a", "nobody"])?, 1);
    assert_eq!(
        status_of(&partly.stdout, "a").as_deref(),
        Some("MISS"),
        "{partly}"
    );
    assert_eq!(
        status_of(&partly.stdout, "nobody").as_deref(),
        Some("ERROR"),
        "{partly}"
    );
    assert!(partly.stdout.contains("not found"), "{partly}");
    assert!(
        partly
            .stderr
            .contains("dircache: 1 of 2 directories could not be warmed"),
        "{partly}"
    );
    Ok(())
}

#[test]
fn invalidate_verify_and_stats_work_one_shot() -> Result<()> {
    let mock = mock_with("vendors", MockDirectory::generated(7, 3))?;
    let setup = setup(&mock)?;

    // With the memory backend every one-shot command starts from an empty cache.
    let invalidated = exited(setup.run(&["invalidate", "vendors"])?, 0);
    assert!(
        invalidated.stdout.contains("vendors was not cached"),
        "{invalidated}"
    );

    let verified = exited(setup.run(&["verify", "vendors", "--output", "json"])?, 0);
    let report: Value = serde_json::from_str(&verified.stdout)?;
    assert_eq!(report["directory_id"], "vendors", "{report}");
    assert_eq!(report["result"], "filled", "{report}");
    assert_eq!(report["entry_count"], 7, "{report}");
    let verified = setup.run(&["verify", "vendors"])?;
    assert!(
        verified
            .stdout
            .starts_with("vendors: filled (by fingerprint comparison)"),
        "{verified}"
    );

    let stats = exited(setup.run(&["stats", "--output", "json"])?, 0);
    let stats: Value = serde_json::from_str(&stats.stdout)?;
    for field in ["hits", "misses", "hit_ratio", "cache_size", "backend"] {
        assert!(stats.get(field).is_some(), "{field} in {stats}");
    }
    assert_eq!(stats["backend"], "memory");
    assert_eq!(
        (&stats["hits"], &stats["cache_size"]),
        (&json!(0), &json!(0))
    );
    Ok(())
}

#[test]
fn demo_needs_no_credentials_and_walks_through_the_cache() -> Result<()> {
    let outcome = exited(Dircache::new()?.run(&["demo"])?, 0);
    let miss = outcome.stdout.find("X-Cache: MISS");
    let hit = outcome.stdout.find("X-Cache: HIT");
    assert!(
        matches!((miss, hit), (Some(miss), Some(hit)) if miss < hit),
        "MISS, then HIT: {outcome}"
    );
    for step in [
        "304 Not Modified",
        "changed (by conditional request)",
        "204; the next GET → X-Cache: MISS",
        "dircache_requests_total{outcome=\"hit\",route=\"directory\"} 2",
        "2 hits, 2 misses",
        "X-Cache: MISS: 230 members of queue 5f0b8b3c-9d1e-4c2a-8f6b-0a1b2c3d4e5f in 3 upstream requests",
        "GET /v1/directories → support_queue (queue_members)",
    ] {
        assert!(outcome.stdout.contains(step), "{step:?} in {outcome}");
    }
    Ok(())
}

#[test]
fn the_upstream_request_rate_is_the_configured_one() -> Result<()> {
    let mock = start_mock()?;
    let ids = ["rate-a", "rate-b", "rate-c", "rate-d"];
    for id in ids {
        mock.put_directory(id, MockDirectory::generated(2, 3));
    }
    let warm = |rpm: &str| -> Result<Duration> {
        let started = Instant::now();
        exited(
            setup(&mock)?
                .env("DIRCACHE_UPSTREAM_RPM", rpm)
                .run(&[&["warm"][..], &ids].concat())?,
            0,
        );
        Ok(started.elapsed())
    };
    // 30 a minute allows a burst of 3 and then one request every 2 s: the fourth directory
    // waits for its turn.
    let paced = warm("30")?;
    assert!(paced >= Duration::from_millis(1500), "{paced:?}");
    let free = warm("6000")?;
    assert!(free < paced, "{free:?} vs {paced:?}");
    assert_eq!(mock.stats().directory_requests, 8);
    Ok(())
}

#[test]
fn find_prints_the_matches_or_the_entry_and_refuses_a_bad_query() -> Result<()> {
    let entries = vec![
        json!({"id": "e1", "name": "José Ñúñez", "email": "jose@example.com", "phone": "+1 317 555 0100"}),
        json!({"id": "e2", "name": "Ana Smith", "email": "ana@example.com", "phone": "+44 20 7946 0018"}),
    ];
    let mock = mock_with("people", MockDirectory::new(entries.clone()))?;
    let setup = setup(&mock)?;

    let json = exited(
        setup.run(&[
            "find",
            "people",
            "--phone",
            "(317) 555-0100",
            "--output",
            "json",
        ])?,
        0,
    );
    let document: Value = serde_json::from_str(&json.stdout)?;
    assert_eq!(document["matches"], json!([entries[0]]));
    assert_eq!(document["query"], json!({"phone": "(317) 555-0100"}));
    assert_eq!(
        (
            document["match_count"].as_u64(),
            document["truncated"].as_bool()
        ),
        (Some(1), Some(false))
    );

    let table = exited(setup.run(&["find", "people", "--name", "nunez"])?, 0);
    assert!(
        table.stdout.contains("José Ñúñez") && !table.stdout.contains("Ana"),
        "{table}"
    );
    assert!(
        table
            .stdout
            .contains("1 of 1 matches for name=\"nunez\" in people (MISS)"),
        "{table}"
    );
    let limited = exited(
        setup.run(&["find", "people", "--q", "example", "--limit", "1"])?,
        0,
    );
    assert!(
        limited.stdout.contains("0 of 0 matches"),
        "an e-mail matches whole: {limited}"
    );

    let entry = exited(
        setup.run(&["find", "people", "--entry", "e2", "--output", "json"])?,
        0,
    );
    assert_eq!(serde_json::from_str::<Value>(&entry.stdout)?, entries[1]);
    let missing = exited(setup.run(&["find", "people", "--entry", "nobody"])?, 1);
    assert!(missing.stderr.contains("no entry with id"), "{missing}");

    let upstream = mock.stats().requests_for("people");
    for args in [
        &["find", "people"][..],
        &["find", "people", "--phone", "1", "--name", "a"],
        &["find", "people", "--name", " "],
        &["find", "people", "--q", "a", "--limit", "0"],
    ] {
        let refused = exited(setup.run(args)?, 2);
        assert!(!refused.stderr.is_empty(), "{args:?}");
    }
    assert_eq!(
        mock.stats().requests_for("people"),
        upstream,
        "refused before any request"
    );
    Ok(())
}
