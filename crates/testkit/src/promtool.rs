//! `promtool check metrics`: the one check of a `/metrics` text against Prometheus's own rules.
//!
//! A test that calls it needs `promtool` on the `PATH` (Debian: `apt-get install -y
//! prometheus`; `.ci/run` installs it). Without it the check fails with an error that says so:
//! tests fail rather than skip, so a green run always means the check ran.

use std::io::{self, Write};
use std::process::{Command, Stdio};

const INSTALL_HINT: &str = "promtool is not installed, and this test runs `promtool check metrics`: install it with `apt-get install -y prometheus` (.ci/run does)";

/// Runs `promtool check metrics` on `text` (a Prometheus text exposition): `Ok` when it finds
/// nothing wrong (names, HELP lines, counters ending in `_total`…), else an error holding what
/// it said and the text.
pub fn check_metrics(text: &str) -> io::Result<()> {
    let spawned = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT));
        }
        Err(error) => return Err(error),
    };
    child
        .stdin
        .take()
        .expect("promtool's stdin is piped")
        .write_all(text.as_bytes())?;
    let output = child.wait_with_output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "promtool check metrics ({}):\n{}{}\n--- the text checked ---\n{text}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::check_metrics;

    #[test]
    fn promtool_accepts_a_described_counter_and_refuses_a_misnamed_one() {
        let good = "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total 1\n";
        check_metrics(good).unwrap();
        let bad = "# HELP app_requests Requests.\n# TYPE app_requests counter\napp_requests 1\n";
        let message = check_metrics(bad).unwrap_err().to_string();
        assert!(message.contains("app_requests"), "{message}");
    }
}
