//! SIGTERM: requests in flight finish, the process exits 0, and the audit log is whole.

use std::time::Duration;

use anyhow::Result;
use dircache_e2e::{
    ADMIN_TOKEN, AUDIT_LOG, Answer, CLIENT_SECRET, Start, mock_builder, serving_with, setup,
    start_mock,
};
use genesys_mock::MockDirectory;
use serde_json::{Value, json};
use testkit::Stopped;

/// RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`.
fn is_rfc3339_utc(timestamp: &str) -> bool {
    let bytes = timestamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let zone = timestamp
        .strip_suffix('Z')
        .or_else(|| timestamp.strip_suffix("+00:00"));
    let fraction_ok = zone.is_some_and(|rest| match rest.get(19..) {
        Some("") => true,
        Some(fraction) => {
            fraction.len() > 1
                && fraction.starts_with('.')
                && fraction[1..].bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    });
    digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(bytes.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19)
        && fraction_ok
}

/// SIGTERM ended the process with status 0 (SPEC §5): a clean exit, not death by the signal.
fn assert_exited_zero(stopped: &Stopped) {
    assert_eq!(
        stopped.status.code(),
        Some(0),
        "stderr:\n{}",
        stopped.stderr
    );
}

#[test]
fn the_timestamp_check_accepts_utc_rfc3339_only() {
    assert!(is_rfc3339_utc("2025-11-28T01:02:03Z"));
    assert!(is_rfc3339_utc("2025-11-28T01:02:03.123456Z"));
    assert!(is_rfc3339_utc("2025-11-28T01:02:03+00:00"));
    assert!(!is_rfc3339_utc("2025-11-28T01:02:03+01:00"));
    assert!(!is_rfc3339_utc("2025-11-28 01:02:03"));
    assert!(!is_rfc3339_utc("2025-11-28T01:02:03.Z"));
    assert!(!is_rfc3339_utc("1764291723"));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_sigterm_the_audit_log_holds_whole_json_lines() -> Result<()> {
    let (mock, served) = serving_with("audited", MockDirectory::generated(25, 8), |setup| {
        setup.env("DIRCACHE_INSTANCE_ID", "e2e-instance-1")
    })
    .await?;
    served.read_directory("audited").await?;
    let deleted = served
        .delete_directory("audited", Some(ADMIN_TOKEN))
        .await?;
    assert_eq!(deleted.status, 204);
    served.read_directory("audited").await?;
    let hit = served.get_directory("audited").await?;
    assert_eq!(hit.header("x-cache"), Some("HIT"));
    mock.update_directory("audited", |entries| {
        entries[1]["name"] = json!("Changed for the audit");
    });
    let verified = served.verify("audited", Some(ADMIN_TOKEN)).await?;
    assert_eq!(verified.status, 200, "{}", verified.text());

    let stopped = served.stop().await?;
    assert_exited_zero(&stopped);
    let log = stopped.file(AUDIT_LOG).expect("the audit log file exists");
    assert!(log.ends_with('\n'), "the last line is complete: {log:?}");
    let mut events = Vec::new();
    for line in log.lines() {
        let record: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}"));
        for field in [
            "timestamp",
            "event",
            "directory_id",
            "instance_id",
            "details",
        ] {
            assert!(record.get(field).is_some(), "{field} missing: {line}");
        }
        let timestamp = record["timestamp"].as_str().unwrap_or_default();
        assert!(is_rfc3339_utc(timestamp), "timestamp {timestamp:?}: {line}");
        assert_eq!(record["instance_id"], "e2e-instance-1", "{line}");
        assert_eq!(record["directory_id"], "audited", "{line}");
        let event = record["event"].as_str().unwrap_or_default().to_owned();
        events.push(event);
    }
    // A hit is not audited; verify's new copy is a refresh that found a mismatch.
    assert_eq!(
        events,
        [
            "cache_populate",
            "cache_invalidate",
            "cache_populate",
            "cache_refresh",
            "consistency_mismatch",
        ]
    );
    // Counts and fingerprints only: no entry content, no credential.
    let entries = mock.directory_entries("audited").unwrap();
    for email in entries.iter().filter_map(|entry| entry["email"].as_str()) {
        assert!(
            !log.contains(email),
            "entry content {email:?} in the audit log"
        );
    }
    assert!(!log.contains(CLIENT_SECRET) && !log.contains(ADMIN_TOKEN));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_at_sigterm_is_answered() -> Result<()> {
    // Each upstream answer takes 700 ms, so the cold fetch is under way when SIGTERM arrives.
    let mock = mock_builder().latency(Duration::from_millis(700)).start()?;
    mock.put_directory("slow", MockDirectory::generated(10, 2));
    let served = setup(&mock)?.start().await?;

    let request = served.client().get(served.url("/v1/directories/slow"));
    let in_flight = tokio::spawn(async move { Answer::read(request.send().await?).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = served.stop().await?;

    let answer = in_flight.await??;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()?["entries"],
        Value::Array(mock.directory_entries("slow").unwrap())
    );
    assert_exited_zero(&stopped);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_on_an_idle_server_exits_zero() -> Result<()> {
    let mock = start_mock()?;
    let served = setup(&mock)?.start().await?;
    let addr = served.addr();
    let stopped = served.stop().await?;
    assert_exited_zero(&stopped);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after exit"
    );
    Ok(())
}
