//! `ServerProcess`: a server process found by the address line it prints, ended by SIGTERM,
//! and killed on drop if it lingers.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::Error;

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often its output is looked at while it starts or stops.
const POLL: Duration = Duration::from_millis(10);

/// A running server process, listening on the address it printed. Dropping it sends SIGTERM,
/// then kills it if it lingers, so no test or bench leaves a server behind.
#[derive(Debug)]
pub struct ServerProcess {
    name: String,
    child: Child,
    addr: SocketAddr,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with its stdout and stderr in `<scratch>/<name>.stdout|.stderr` (files,
    /// not pipes: a server that prints a lot cannot block on a full pipe), and waits until it
    /// prints a whole line `<prefix><addr>`. `name` says which server it is in messages.
    pub fn start(
        name: &str,
        mut command: Command,
        scratch: &Path,
        prefix: &str,
    ) -> Result<ServerProcess, Error> {
        let stdout = scratch.join(format!("{name}.stdout"));
        let stderr = scratch.join(format!("{name}.stderr"));
        let create = |path: &Path| {
            File::create(path).map_err(|source| Error::Scratch {
                path: path.to_owned(),
                source,
            })
        };
        command.stdout(create(&stdout)?).stderr(create(&stderr)?);
        let child = command.spawn().map_err(|source| Error::Process {
            name: name.to_owned(),
            action: "start",
            source,
        })?;
        // From here on, dropping `server` ends the process whatever goes wrong.
        let mut server = ServerProcess {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            stdout,
            stderr,
        };
        server.addr = server.wait_for_address(prefix)?;
        Ok(server)
    }

    fn wait_for_address(&mut self, prefix: &str) -> Result<SocketAddr, Error> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let printed = read(&self.stdout)?;
            if let Some(addr) = address_in(&printed, prefix) {
                return addr.map_err(|reason| Error::Process {
                    name: self.name.clone(),
                    action: "read the address of",
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
                });
            }
            if let Some(status) = self.try_wait()? {
                return Err(Error::Exited {
                    name: self.name.clone(),
                    status,
                    stderr: self.stderr(),
                });
            }
            if Instant::now() >= deadline {
                return Err(self.timeout("print its address", START_TIMEOUT));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed on stdout so far, or why that cannot be read.
    pub fn stdout(&self) -> String {
        read_or_say(&self.stdout)
    }

    /// Everything it printed on stderr so far (its logs), or why that cannot be read.
    pub fn stderr(&self) -> String {
        read_or_say(&self.stderr)
    }

    /// Sends SIGTERM and waits (at most 15 s) for it to exit; how it exited.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        self.terminate()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(self.timeout("exit after SIGTERM", STOP_TIMEOUT));
            }
            std::thread::sleep(POLL);
        }
    }

    fn timeout(&self, what: &'static str, waited: Duration) -> Error {
        Error::Timeout {
            name: self.name.clone(),
            what,
            waited,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// SIGTERM through `kill(1)`: the workspace forbids the unsafe code a libc call needs.
    fn terminate(&self) -> Result<(), Error> {
        let failed = |source| Error::Process {
            name: self.name.clone(),
            action: "send SIGTERM to",
            source,
        };
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .map_err(failed)?;
        if status.success() {
            Ok(())
        } else {
            Err(failed(std::io::Error::other(format!(
                "kill -TERM: {status}"
            ))))
        }
    }

    fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        self.child.try_wait().map_err(|source| Error::Process {
            name: self.name.clone(),
            action: "wait for",
            source,
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if self.terminate().is_ok() {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(POLL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a file a child process writes, read whole.
pub(crate) fn read(path: &Path) -> Result<String, Error> {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|source| Error::Scratch {
            path: path.to_owned(),
            source,
        })
}

fn read_or_say(path: &Path) -> String {
    read(path).unwrap_or_else(|e| format!("({} unreadable: {e})", path.display()))
}

/// The address on the first line of `printed` that starts with `prefix`: `None` while there is
/// no such line, an error when the line does not end in an address.
fn address_in(printed: &str, prefix: &str) -> Option<Result<SocketAddr, String>> {
    // A line is only complete once its newline is written.
    let complete = &printed[..printed.rfind('\n').map_or(0, |end| end + 1)];
    let line = complete.lines().find(|line| line.starts_with(prefix))?;
    let addr = line[prefix.len()..].trim().trim_end_matches('/');
    Some(
        addr.parse()
            .map_err(|e| format!("printed {line:?}, not an address: {e}")),
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    const PREFIX: &str = "test listening on http://";

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    /// Whether process `pid` still exists (a reaped process has no `/proc` entry).
    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn the_address_is_read_from_a_whole_line_only() {
        let addr: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let line = format!("starting\n{PREFIX}127.0.0.1:4321\n");
        assert_eq!(address_in(&line, PREFIX), Some(Ok(addr)));
        assert_eq!(
            address_in(&line.replace("4321", "4321/"), PREFIX),
            Some(Ok(addr))
        );
        assert_eq!(address_in(&format!("{PREFIX}127.0.0.1:43"), PREFIX), None);
        assert_eq!(address_in("starting\n", PREFIX), None);
        let err = address_in(&format!("{PREFIX}somewhere\n"), PREFIX).unwrap();
        assert!(err.unwrap_err().contains("somewhere"));
    }

    #[test]
    fn a_server_is_found_by_its_line_and_stopped_by_sigterm() {
        let scratch = tempfile::tempdir().unwrap();
        let mut server = ServerProcess::start(
            "sleeper",
            shell(&format!("echo '{PREFIX}127.0.0.1:4321'; exec sleep 60")),
            scratch.path(),
            PREFIX,
        )
        .unwrap();
        assert_eq!(server.addr(), "127.0.0.1:4321".parse().unwrap());
        assert_eq!(server.stdout(), format!("{PREFIX}127.0.0.1:4321\n"));
        let pid = server.pid();
        assert!(alive(pid));
        let started = Instant::now();
        let status = server.stop().unwrap();
        assert_eq!(status.signal(), Some(15), "{status}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!alive(pid), "the process is gone");
    }

    #[test]
    fn a_server_that_exits_before_listening_is_reported_with_its_stderr() {
        let scratch = tempfile::tempdir().unwrap();
        let err = ServerProcess::start(
            "doomed",
            shell("echo 'invalid configuration: DIRCACHE_TTL_DEFAULT' >&2; exit 2"),
            scratch.path(),
            PREFIX,
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("doomed exited"), "{message}");
        assert!(message.contains("DIRCACHE_TTL_DEFAULT"), "{message}");
    }

    #[test]
    fn dropping_a_server_ends_its_process() {
        let scratch = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(
            "dropped",
            shell(&format!("echo '{PREFIX}127.0.0.1:1'; exec sleep 60")),
            scratch.path(),
            PREFIX,
        )
        .unwrap();
        let pid = server.pid();
        drop(server);
        assert!(!alive(pid), "the process is gone");
    }
}
