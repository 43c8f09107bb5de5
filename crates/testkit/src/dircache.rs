//! `Dircache`: the `dircache` binary run as a user runs it, with exactly the settings a test or
//! bench gives it: `serve` on a free port, or a one-shot command to its end.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use genesys_mock::GenesysMock;
use tempfile::TempDir;

use crate::process::read;
use crate::{Error, ServerProcess, dircache_binary};

/// How long a one-shot command may run before [`Dircache::run`] gives up on it.
const ONE_SHOT_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a one-shot command is looked at while it runs.
const POLL: Duration = Duration::from_millis(10);
/// The stdout line `serve` prints once it listens, before its address (SPEC §5).
const LISTENING: &str = "dircache listening on http://";
/// The same line when it serves HTTPS (`DIRCACHE_TLS_CERT` and `DIRCACHE_TLS_KEY` set).
const LISTENING_TLS: &str = "dircache listening on https://";
/// The name of a `serve` process in messages and of its output files.
const SERVE: &str = "dircache-serve";

/// What a `dircache` process is started with: a fresh scratch directory (also its `HOME` and
/// working directory), exactly the environment variables set here (nothing inherited but
/// `PATH`, so a `DIRCACHE_*` or `GENESYS_*` variable of the shell cannot change what is tested
/// or measured), and optionally a `--config` file.
///
/// ```no_run
/// use testkit::Dircache;
///
/// let mock = genesys_mock::GenesysMock::start()?;
/// let served = Dircache::for_mock(&mock)?.env("RUST_LOG", "warn").serve()?;
/// println!("dircache serves {}", served.url("/v1/stats"));
/// let stats = Dircache::for_mock(&mock)?.run(&["stats", "--output", "json"])?;
/// assert_eq!(stats.code(), Some(0), "{stats}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dircache {
    dir: TempDir,
    env: BTreeMap<String, String>,
    config: Option<PathBuf>,
}

impl Dircache {
    /// No settings at all (for `dircache demo`, or to see a missing setting refused).
    pub fn new() -> Result<Dircache, Error> {
        let dir = tempfile::tempdir().map_err(|source| Error::Scratch {
            path: std::env::temp_dir(),
            source,
        })?;
        Ok(Dircache {
            dir,
            env: BTreeMap::new(),
            config: None,
        })
    }

    /// Pointed at `mock`: its API and login URLs, client id and secret; nothing else.
    pub fn for_mock(mock: &GenesysMock) -> Result<Dircache, Error> {
        Ok(Dircache::new()?
            .env("GENESYS_API_URL", mock.api_url())
            .env("GENESYS_LOGIN_URL", mock.login_url())
            .env("GENESYS_CLIENT_ID", mock.client_id())
            .env("GENESYS_CLIENT_SECRET", mock.client_secret()))
    }

    /// Sets environment variable `key` for the process.
    #[must_use]
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Dircache {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    /// Leaves environment variable `key` unset.
    #[must_use]
    pub fn without(mut self, key: &str) -> Dircache {
        self.env.remove(key);
        self
    }

    /// Writes `toml` to a file in the scratch directory and passes it with `--config`.
    pub fn config_file(mut self, toml: &str) -> Result<Dircache, Error> {
        let path = self.path("dircache.toml");
        std::fs::write(&path, toml).map_err(|source| Error::Scratch {
            path: path.clone(),
            source,
        })?;
        self.config = Some(path);
        Ok(self)
    }

    /// `name` inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `dircache [--config FILE] <args>` with this setup's environment and nothing else.
    pub fn command(&self, args: &[&str]) -> Result<Command, Error> {
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

    /// Starts `dircache serve --listen 127.0.0.1:0` and waits until it prints the address it
    /// listens on (over HTTPS when `DIRCACHE_TLS_CERT` is set); it is stopped by SIGTERM when
    /// dropped.
    pub fn serve(self) -> Result<Served, Error> {
        let command = self.command(&["serve", "--listen", "127.0.0.1:0"])?;
        let tls = self.env.contains_key("DIRCACHE_TLS_CERT");
        let listening = if tls { LISTENING_TLS } else { LISTENING };
        let process = ServerProcess::start(SERVE, command, self.dir.path(), listening)?;
        Ok(Served {
            process,
            scheme: if tls { "https" } else { "http" },
            setup: self,
        })
    }

    /// Runs a one-shot command to completion (at most a minute).
    pub fn run(&self, args: &[&str]) -> Result<Outcome, Error> {
        self.run_within(args, ONE_SHOT_TIMEOUT)
    }

    /// Runs a one-shot command; a process still running after `timeout` is killed and the run
    /// is an error that shows what it printed.
    pub fn run_within(&self, args: &[&str], timeout: Duration) -> Result<Outcome, Error> {
        let name = format!("dircache {}", args.join(" "));
        let failed = |action| {
            let name = name.clone();
            move |source| Error::Process {
                name,
                action,
                source,
            }
        };
        // Files, not pipes: a process that prints a lot cannot block on a full pipe.
        let output = || tempfile::tempfile().map_err(failed("capture the output of"));
        let (mut stdout, mut stderr) = (output()?, output()?);
        let mut command = self.command(args)?;
        command
            .stdout(
                stdout
                    .try_clone()
                    .map_err(failed("capture the output of"))?,
            )
            .stderr(
                stderr
                    .try_clone()
                    .map_err(failed("capture the output of"))?,
            );
        let mut child = command.spawn().map_err(failed("start"))?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(failed("wait for"))? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                child.kill().map_err(failed("kill"))?;
                child.wait().map_err(failed("wait for"))?;
                break None;
            }
            std::thread::sleep(POLL);
        };
        let stdout = read_all(&mut stdout).map_err(failed("read the output of"))?;
        let stderr = read_all(&mut stderr).map_err(failed("read the output of"))?;
        match status {
            Some(status) => Ok(Outcome {
                status,
                stdout,
                stderr,
            }),
            None => Err(Error::Timeout {
                name,
                what: "finish",
                waited: timeout,
                stdout,
                stderr,
            }),
        }
    }
}

impl fmt::Debug for Dircache {
    // Values stay out: some are credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dircache")
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

/// A running `dircache serve`; dropping it sends SIGTERM, then kills it if it lingers.
#[derive(Debug)]
pub struct Served {
    process: ServerProcess,
    scheme: &'static str,
    setup: Dircache,
}

impl Served {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// `http://<addr><path>` (`https://` when it serves TLS).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr())
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything it printed on stderr (its logs) so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// The setup it was started with (its scratch directory holds the files it writes).
    pub fn setup(&self) -> &Dircache {
        &self.setup
    }

    /// Sends SIGTERM and waits (at most 15 s) for it to exit; what it left behind is returned.
    pub fn stop(self) -> Result<Stopped, Error> {
        let Served {
            mut process, setup, ..
        } = self;
        let status = process.stop()?;
        Ok(Stopped {
            status,
            stdout: process.stdout(),
            stderr: process.stderr(),
            setup,
        })
    }
}

/// A `serve` process after SIGTERM: how it exited, what it printed, and its scratch directory.
#[derive(Debug)]
pub struct Stopped {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr (its logs).
    pub stderr: String,
    setup: Dircache,
}

impl Stopped {
    /// The content of file `name` of its scratch directory (an audit log it wrote), `None`
    /// when there is no such file.
    pub fn file(&self, name: &str) -> Option<String> {
        let path = self.setup.path(name);
        path.exists().then(|| read(&path).ok()).flatten()
    }
}

/// Reads a file a child wrote through a shared handle, from its start.
fn read_all(file: &mut File) -> std::io::Result<String> {
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
