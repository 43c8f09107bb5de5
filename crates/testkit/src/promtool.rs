//! `promtool`: the checks of a `/metrics` text (`check metrics`) and of alert rules (`check
//! rules`, `test rules`) against Prometheus's own rules.
//!
//! A test that calls it needs `promtool` on the `PATH` (Debian: `apt-get install -y
//! prometheus`; `.ci/run` installs it). Without it the check fails with an error that says so:
//! tests fail rather than skip, so a green run always means the check ran.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const INSTALL_HINT: &str = "promtool is not installed, and this test runs it: install it with `apt-get install -y prometheus` (.ci/run does)";

/// Runs `promtool check metrics` on `text` (a Prometheus text exposition): `Ok` when it finds
/// nothing wrong (names, HELP lines, counters ending in `_total`…), else an error holding what
/// it said and the text.
pub fn check_metrics(text: &str) -> io::Result<()> {
    promtool(&["check", "metrics"], Some(text))
}

/// Runs `promtool check rules` on the rule files `paths`: `Ok` when they parse and every
/// expression is valid PromQL.
pub fn check_rules(paths: &[&Path]) -> io::Result<()> {
    let mut args: Vec<&OsStr> = vec!["check".as_ref(), "rules".as_ref()];
    args.extend(paths.iter().map(|path| path.as_os_str()));
    promtool(&args, None)
}

/// Runs `promtool test rules` on the rule test files `paths` (each names its rule files,
/// relative to itself): `Ok` when every expected alert fired as written.
pub fn test_rules(paths: &[&Path]) -> io::Result<()> {
    let mut args: Vec<&OsStr> = vec!["test".as_ref(), "rules".as_ref()];
    args.extend(paths.iter().map(|path| path.as_os_str()));
    promtool(&args, None)
}

/// Runs `promtool args…`, with `stdin` on its standard input; its output is the error when it
/// fails.
fn promtool<S: AsRef<OsStr>>(args: &[S], stdin: Option<&str>) -> io::Result<()> {
    let spawned = Command::new("promtool")
        .args(args)
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
    let mut input = child.stdin.take().expect("promtool's stdin is piped");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes())?;
    }
    drop(input);
    let output = child.wait_with_output()?;
    if output.status.success() {
        return Ok(());
    }
    let shown: Vec<String> = args
        .iter()
        .map(|arg| arg.as_ref().to_string_lossy().into_owned())
        .collect();
    let mut message = format!(
        "promtool {} ({}):\n{}{}",
        shown.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if let Some(text) = stdin {
        message.push_str(&format!("\n--- the text checked ---\n{text}"));
    }
    Err(io::Error::other(message))
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
