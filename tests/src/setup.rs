//! The environment, config file and scratch directory one dircache process runs with, and one-shot runs.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use genesys_mock::GenesysMock;
use tempfile::TempDir;

use crate::binary::dircache_binary;
use crate::fixtures::ADMIN_TOKEN;

/// How long a one-shot command may run before the test gives up on it.
const ONE_SHOT_TIMEOUT: Duration = Duration::from_secs(60);

/// What a dircache process is started with: a fresh scratch directory (also its `HOME` and
/// working directory), exactly the environment variables set here (nothing inherited but
/// `PATH`), and optionally a `--config` file.
pub struct Setup {
    dir: TempDir,
    env: BTreeMap<String, String>,
    config: Option<PathBuf>,
}

impl Setup {
    /// Pointed at `mock` (API and login URLs, client id and secret), with
    /// [`ADMIN_TOKEN`], an audit log in the scratch directory, `RUST_LOG=info` and no colours.
    pub fn for_mock(mock: &GenesysMock) -> Result<Setup> {
        let setup = Setup::without_upstream()?
            .env("GENESYS_API_URL", mock.api_url())
            .env("GENESYS_LOGIN_URL", mock.login_url())
            .env("GENESYS_CLIENT_ID", mock.client_id())
            .env("GENESYS_CLIENT_SECRET", mock.client_secret())
            .env("DIRCACHE_ADMIN_TOKEN", ADMIN_TOKEN);
        let audit = setup.path("audit.jsonl");
        Ok(setup.env("DIRCACHE_AUDIT_LOG", audit.display().to_string()))
    }

    /// No upstream settings at all (for `dircache demo`): only `RUST_LOG=info` and no colours.
    pub fn without_upstream() -> Result<Setup> {
        let dir = tempfile::tempdir().context("creating a scratch directory")?;
        Ok(Setup {
            dir,
            env: BTreeMap::new(),
            config: None,
        }
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1"))
    }

    /// Sets environment variable `key` for the process.
    #[must_use]
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Setup {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    /// Leaves environment variable `key` unset.
    #[must_use]
    pub fn without(mut self, key: &str) -> Setup {
        self.env.remove(key);
        self
    }

    /// Writes `toml` to a file in the scratch directory and passes it with `--config`.
    pub fn config_file(mut self, toml: &str) -> Result<Setup> {
        let path = self.path("dircache.toml");
        std::fs::write(&path, toml).with_context(|| format!("writing {}", path.display()))?;
        self.config = Some(path);
        Ok(self)
    }

    /// `name` inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The audit log file [`Setup::for_mock`] configures.
    pub fn audit_log(&self) -> PathBuf {
        self.path("audit.jsonl")
    }

    /// `dircache [--config FILE] <args>` with this setup's environment and nothing else.
    pub fn command(&self, args: &[&str]) -> Result<Command> {
        let mut command = Command::new(dircache_binary()?);
        command
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .env("HOME", self.dir.path())
            .envs(&self.env)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command.args(args);
        Ok(command)
    }

    /// Runs a one-shot command to completion (at most a minute).
    pub fn run(&self, args: &[&str]) -> Result<Outcome> {
        self.run_within(args, ONE_SHOT_TIMEOUT)
    }

    /// Runs a one-shot command; a process still running after `timeout` is killed and the run
    /// is an error that shows what it printed.
    pub fn run_within(&self, args: &[&str], timeout: Duration) -> Result<Outcome> {
        // Files, not pipes: a process that prints a lot cannot block on a full pipe.
        let mut stdout = tempfile::tempfile()?;
        let mut stderr = tempfile::tempfile()?;
        let mut child = self
            .command(args)?
            .stdout(stdout.try_clone()?)
            .stderr(stderr.try_clone()?)
            .spawn()
            .context("starting dircache")?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                child.kill()?;
                child.wait()?;
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = read_all(&mut stdout)?;
        let stderr = read_all(&mut stderr)?;
        match status {
            Some(status) => Ok(Outcome {
                status,
                stdout,
                stderr,
            }),
            None => bail!(
                "`dircache {}` still ran after {timeout:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
                args.join(" ")
            ),
        }
    }
}

impl fmt::Debug for Setup {
    // Values stay out: some are credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setup")
            .field("dir", &self.dir.path())
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish()
    }
}

/// How a one-shot command ended and what it printed.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Outcome {
    /// The exit code, `None` when a signal ended the process.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Reads a file a child wrote through a shared handle, from its start.
pub(crate) fn read_all(file: &mut File) -> Result<String> {
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
