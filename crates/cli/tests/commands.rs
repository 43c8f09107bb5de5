//! The one-shot commands, `demo` and configuration refusals, run as the real binary.

mod common;

use common::{against, bare, parts, run};
use genesys_mock::{Fault, GenesysMock, MockDirectory, Target};
use serde_json::Value;

// The binary under test is built with the features of this test run.
#[cfg(feature = "demo")]
#[test]
fn demo_walks_through_the_cache_and_exits_0() {
    let (status, stdout, stderr) = parts(&run(bare().arg("demo")));
    assert_eq!(status, 0, "{stdout}\n{stderr}");
    for step in [
        "X-Cache: MISS",
        "X-Cache: HIT",
        "304 Not Modified",
        "changed (by conditional request)",
        "204; the next GET → X-Cache: MISS",
        "dircache_requests_total{outcome=\"hit\"} 2",
        "2 hits, 2 misses",
    ] {
        assert!(stdout.contains(step), "{step:?} missing from\n{stdout}");
    }
}

#[cfg(not(feature = "demo"))]
#[test]
fn demo_without_the_demo_feature_exits_2_naming_the_feature() {
    let (status, stdout, stderr) = parts(&run(bare().arg("demo")));
    assert_eq!(status, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("`demo` feature"), "{stderr}");
}

#[test]
fn a_bad_setting_exits_2_naming_it_without_echoing_secrets() {
    let output = run(bare()
        .args(["get", "internal_agents"])
        .env("GENESYS_CLIENT_ID", "client")
        .env("GENESYS_CLIENT_SECRET", "sup3r-s3cret")
        .env("DIRCACHE_TTL_DEFAULT", "10"));
    let (status, stdout, stderr) = parts(&output);
    assert_eq!(status, 2);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("dircache: invalid configuration: DIRCACHE_TTL_DEFAULT: "),
        "{stderr}"
    );
    assert!(!stderr.contains("sup3r-s3cret"));

    let (status, _, stderr) = parts(&run(bare().arg("stats")));
    assert_eq!(status, 2);
    assert!(
        stderr.starts_with("dircache: invalid configuration: GENESYS_CLIENT_ID: "),
        "{stderr}"
    );
}

#[test]
fn a_config_file_with_an_unknown_key_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dircache.toml");
    std::fs::write(
        &path,
        "[genesys]\nclient_id = \"c\"\nclient_secret = \"s\"\n[cache]\nmax_entires = 10\n",
    )
    .unwrap();
    let (status, _, stderr) = parts(&run(bare().arg("--config").arg(&path).arg("stats")));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.starts_with("dircache: invalid configuration: cache.max_entires: "),
        "{stderr}"
    );

    let (status, _, stderr) = parts(&run(bare()
        .env("DIRCACHE_CONFIG", dir.path().join("missing.toml"))
        .arg("stats")));
    assert_eq!(status, 2);
    assert!(
        stderr.starts_with("dircache: invalid configuration: DIRCACHE_CONFIG: cannot read "),
        "{stderr}"
    );
}

#[test]
fn get_prints_the_served_document_or_a_table() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("vendors", MockDirectory::generated(12, 5));

    let (status, stdout, stderr) = parts(&run(
        against(&mock).args(["get", "vendors", "--output", "json"])
    ));
    assert_eq!(status, 0, "{stderr}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["directory_id"], "vendors");
    assert_eq!(document["entries"].as_array().unwrap().len(), 12);

    let (status, stdout, _) = parts(&run(against(&mock).args(["get", "vendors"])));
    assert_eq!(status, 0);
    let name = mock.directory_entries("vendors").unwrap()[0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stdout.contains(&name), "{name} missing from\n{stdout}");
    assert!(
        stdout.contains("12 entries in vendors (MISS), fingerprint xxh3:"),
        "{stdout}"
    );
}

#[test]
fn failures_exit_1_with_the_correlation_id_and_bad_ids_exit_2() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("secret", MockDirectory::generated(2, 1));
    mock.inject(Target::Directory("secret".into()), Fault::Forbidden, 1);
    let (status, _, stderr) = parts(&run(against(&mock).args(["get", "secret"])));
    assert_eq!(status, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("dircache: "), "{stderr}");
    assert!(
        stderr.contains("routing:directory:read") && stderr.contains("correlation id"),
        "{stderr}"
    );

    let (status, _, stderr) = parts(&run(against(&mock).args(["get", ".."])));
    assert_eq!(status, 2, "{stderr}");
    assert_eq!(mock.stats().directory_requests, 1, "no request for `..`");
}

#[test]
fn warm_prints_a_line_per_directory_and_fails_if_one_failed() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("a", MockDirectory::generated(3, 1));
    mock.put_directory("b", MockDirectory::generated(3, 2));

    let (status, stdout, _) = parts(&run(against(&mock).args(["warm", "a", "b", "a"])));
    assert_eq!(status, 0);
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["a MISS", "b MISS"]);

    let (status, stdout, stderr) = parts(&run(against(&mock).args(["warm", "a", "gone"])));
    assert_eq!(status, 1);
    assert!(stdout.lines().any(|l| l == "a MISS"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("gone ERROR ") && l.contains("not found")),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("dircache: 1 of 2 directories could not be warmed"),
        "{stderr}"
    );
}

#[test]
fn invalidate_verify_and_stats_start_from_an_empty_memory_cache() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("a", MockDirectory::generated(4, 1));

    let (status, stdout, _) = parts(&run(against(&mock).args(["invalidate", "a"])));
    assert_eq!((status, stdout.as_str()), (0, "a was not cached\n"));

    let (status, stdout, _) = parts(&run(
        against(&mock).args(["verify", "a", "--output", "json"])
    ));
    assert_eq!(status, 0);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (report["result"].as_str(), report["entry_count"].as_u64()),
        (Some("filled"), Some(4))
    );
    let (status, stdout, _) = parts(&run(against(&mock).args(["verify", "a"])));
    assert_eq!(status, 0);
    assert!(
        stdout.starts_with("a: filled (by fingerprint comparison)"),
        "{stdout}"
    );

    let (status, stdout, _) = parts(&run(against(&mock).args(["stats", "--output", "json"])));
    assert_eq!(status, 0);
    let stats: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (stats["hits"].as_u64(), stats["cache_size"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(stats["backend"], "memory");
}

#[test]
fn the_upstream_request_rate_is_the_configured_one() {
    let mock = GenesysMock::start().unwrap();
    let ids = ["rate-a", "rate-b", "rate-c", "rate-d"];
    for id in ids {
        mock.put_directory(id, MockDirectory::generated(2, 3));
    }
    let warm = |rpm: &str| {
        let started = std::time::Instant::now();
        let (status, stdout, stderr) = parts(&run(against(&mock)
            .env("DIRCACHE_UPSTREAM_RPM", rpm)
            .arg("warm")
            .args(ids)));
        assert_eq!(status, 0, "{stdout}\n{stderr}");
        started.elapsed()
    };
    // 30 a minute allows a burst of 3 and then one request every 2 s: the fourth directory
    // waits for its turn.
    let paced = warm("30");
    assert!(paced >= std::time::Duration::from_millis(1500), "{paced:?}");
    let free = warm("6000");
    assert!(free < paced, "{free:?} vs {paced:?}");
    assert_eq!(mock.stats().directory_requests, 8);
}
