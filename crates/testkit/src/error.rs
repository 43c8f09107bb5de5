//! What can go wrong while the harness finds, starts, runs or stops a server process.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// A failure of the process harness ([`Dircache`](crate::Dircache),
/// [`ServerProcess`](crate::ServerProcess)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no `dircache` binary to run: the one named by `DIRCACHE_BIN` is missing, or
    /// building it failed.
    #[error("no dircache binary to run: {reason}")]
    Binary {
        /// What is wrong.
        reason: String,
    },
    /// A scratch file or folder could not be made, written or read.
    #[error("scratch file {}", path.display())]
    Scratch {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A process could not be started, signalled or waited for.
    #[error("could not {action} {name}")]
    Process {
        /// The process (`dircache serve`, a bench's baseline server).
        name: String,
        /// What was tried.
        action: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A server process exited before it said where it listens.
    #[error("{name} exited ({status}) before listening; its stderr:\n{stderr}")]
    Exited {
        /// The server.
        name: String,
        /// How it exited.
        status: ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A process did not do something in time (print its address, exit after SIGTERM, end a
    /// one-shot command); it was killed, and what it printed is kept.
    #[error(
        "{name} did not {what} within {waited:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    )]
    Timeout {
        /// The process.
        name: String,
        /// What it failed to do.
        what: &'static str,
        /// How long the harness waited.
        waited: Duration,
        /// What it printed on stdout.
        stdout: String,
        /// What it printed on stderr.
        stderr: String,
    },
}
