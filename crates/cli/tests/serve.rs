//! `dircache serve` as a process: the startup line, the API, `/metrics` (checked by promtool)
//! agreeing with `/v1/stats`, and a clean exit on SIGTERM with the audit log flushed.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::against;
use genesys_mock::{GenesysMock, MockDirectory};
use serde_json::Value;

const TOKEN: &str = "s3rve-adm1n-t0ken";

/// A running `dircache serve`, killed if a test fails before stopping it.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(mut command: Command) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drained as it comes, so the server never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("dircache listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}: {}", stderr.lock().unwrap()))
            .to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"),
            "{base}"
        );
        Server {
            child,
            base,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(&mut self) -> i32 {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().expect("exited, not killed by the signal");
            }
            assert!(
                Instant::now() < deadline,
                "still running 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the sample `name` in a Prometheus text exposition.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_the_api_and_stops_cleanly_on_sigterm() {
    let mock = GenesysMock::start().unwrap();
    mock.put_directory("internal_agents", MockDirectory::generated(300, 9));
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut command = against(&mock);
    command
        .env("DIRCACHE_ADMIN_TOKEN", TOKEN)
        .env("DIRCACHE_AUDIT_LOG", &audit)
        .env("DIRCACHE_INSTANCE_ID", "serve-test");
    let mut server = Server::start(command);
    let http = reqwest::Client::new();

    let url = server.url("/v1/directories/internal_agents");
    let miss = http.get(&url).send().await.unwrap();
    assert_eq!(
        (miss.status().as_u16(), &miss.headers()["x-cache"]),
        (200, &"MISS".parse().unwrap())
    );
    for _ in 0..3 {
        let hit = http.get(&url).send().await.unwrap();
        assert_eq!(hit.headers()["x-cache"], "HIT");
    }
    let deleted = http.delete(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(deleted.status(), 204);

    let stats: Value = http
        .get(server.url("/v1/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(stats["instance_id"], "serve-test");
    let metrics = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&metrics, "dircache_requests_total{outcome=\"hit\"}"),
        3.0
    );
    assert_eq!(
        sample(&metrics, "dircache_requests_total{outcome=\"miss\"}"),
        1.0
    );
    assert_eq!(sample(&metrics, "dircache_invalidations_total"), 1.0);
    assert_eq!(
        sample(&metrics, "dircache_request_duration_seconds_count"),
        4.0
    );
    promtool_accepts(&metrics);

    assert_eq!(server.terminate(), 0, "{}", server.logs());
    let logs = server.logs();
    assert!(
        logs.contains("/v1/directories/internal_agents") && logs.contains("HIT"),
        "one line per request: {logs}"
    );
    assert!(
        !logs.contains(TOKEN) && !logs.contains(mock.client_secret()),
        "{logs}"
    );

    let events: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["cache_populate", "cache_invalidate"], "{events:?}");
    assert!(events.iter().all(|e| e["instance_id"] == "serve-test"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_listen_address_exits_2_before_listening() {
    let mock = GenesysMock::start().unwrap();
    let output = against(&mock)
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("dircache: invalid configuration: --listen: "),
        "{stderr}"
    );
}

/// `promtool check metrics` finds nothing wrong: names, HELP, counters ending in `_total`.
fn promtool_accepts(metrics: &str) {
    use std::io::Write;

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool is needed for this test (Debian: apt-get install prometheus): {e}")
        });
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}\n{metrics}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
